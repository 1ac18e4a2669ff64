"""The Celery workers as they report themselves (workers/presence.py): one row per worker name.

A row is written by the worker's main process at start and every WORKER_REPORT_SECONDS; a worker whose last
report is older than WORKER_DEAD_SECONDS, or that stopped, is gone (the reaper fails what it was running)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Worker(models.Model):
    name = models.CharField(max_length=200, unique=True, help_text="Celery node name, e.g. train@host")
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField(help_text="The worker's main process")
    queues = models.JSONField(default=list, help_text="Queues it serves, e.g. [\"train\"]")
    ready = models.BooleanField(default=False, help_text="TensorFlow is loaded in its pool: tasks start warm")
    backbones_with_weights = models.JSONField(
        default=list, help_text="Backbones whose ImageNet weights are in the worker's Keras cache"
    )
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Set when the worker shut down cleanly")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_alive(self) -> bool:
        cutoff = timezone.now() - timedelta(seconds=settings.WORKER_DEAD_SECONDS)
        return self.stopped_at is None and self.last_seen >= cutoff
