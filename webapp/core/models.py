"""The one lifecycle row behind every kind of background work (webapp/lifecycle): who claimed it, its heartbeat,
its readable error and its timestamps. Each kind keeps its own `status` field and choices (the strings pages,
JSON, webhooks and the API show); webapp/lifecycle/registry.py maps them to the lifecycle's states."""

from django.conf import settings
from django.db import models


class Work(models.Model):
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True, help_text="Shown to users: readable, never a traceback")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class WorkerRun(Work):
    """Work a `train` worker reports progress for, made by a user (dataset audits, batch predictions)."""

    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
