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
    precision_speeds = models.JSONField(
        default=dict, blank=True, help_text="Per backbone, images/s it measured in each precision on its CPU "
        "({\"vgg16\": {\"float32\": 7.4, \"bfloat16\": 13.9}}): what precision auto is resolved by")
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


class Throughput(models.Model):
    """How fast a worker runs a backbone, measured on its jobs and remembered across them: the first ETAs of the
    next job (job page, job form) come from here instead of a rate that counts TensorFlow's start-up."""

    worker = models.CharField(max_length=200, help_text="Celery node name, e.g. train@host")
    backbone = models.CharField(max_length=40)
    extract_images_per_second = models.FloatField(
        null=True, blank=True, help_text="Photos through the backbone per second, loading left out")
    train_seconds_per_image_epoch = models.FloatField(
        null=True, blank=True, help_text="An epoch of the article's head: seconds per training photo")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["worker", "backbone"]
        constraints = [models.UniqueConstraint(fields=["worker", "backbone"], name="unique_throughput_per_worker")]

    def __str__(self):
        return f"{self.worker} / {self.backbone}"
