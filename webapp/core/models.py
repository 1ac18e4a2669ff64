"""Fields shared by the runs a `train` worker claims, reports progress and a heartbeat for, and finishes (dataset
audits, batch predictions). Each keeps its own `status`, with its own choices."""

from django.conf import settings
from django.db import models


class WorkerRun(models.Model):
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True, help_text="Shown to users: readable, never a traceback")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
