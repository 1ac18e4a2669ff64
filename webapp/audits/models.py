"""A dataset audit (a job on the `train` queue) and what it found. Findings are keyed by their kind and the
content hashes of their photos, so one dismissed stays dismissed when a later audit finds it again."""

import hashlib

from django.conf import settings
from django.db import models
from django.urls import reverse

from webapp.core.models import WorkerRun
from webapp.datasets.models import Dataset, Image


class AuditStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class DatasetAudit(WorkerRun):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="audits")
    # The feature spec of the default recipe (classifier.recipes.feature_spec): the cache a training job fills.
    backbone = models.CharField(max_length=40)
    weights = models.CharField(max_length=20, default="imagenet")
    input_size = models.PositiveIntegerField(null=True, blank=True)

    status = models.CharField(max_length=10, choices=AuditStatus.choices, default=AuditStatus.QUEUED)
    summary = models.JSONField(default=dict, help_text="class counts, small and look-alike classes, timings")
    image_count = models.PositiveIntegerField(default=0)
    skipped_images = models.JSONField(default=list, help_text="[{image_id, name, reason}] left out")

    def __str__(self):
        return f"Audit {self.pk} of {self.dataset}"

    def get_absolute_url(self):
        return reverse("audits:dataset_audit", args=[self.dataset_id])

    @property
    def is_finished(self) -> bool:
        return self.status in (AuditStatus.SUCCEEDED, AuditStatus.FAILED)

    @property
    def weights_arg(self) -> str | None:
        from classifier.backbones import weights_arg

        return weights_arg(self.weights)


class FindingKind(models.TextChoices):
    LABEL = "label", "Suspected label error"
    DUPLICATE = "duplicate", "Near duplicates"
    LEAK = "leak", "Same photo in two splits or datasets"


def finding_key(kind: str, content_hashes) -> str:
    return hashlib.sha256(f"{kind}:{','.join(sorted(set(content_hashes)))}".encode()).hexdigest()


class AuditFinding(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="audit_findings")
    audit = models.ForeignKey(DatasetAudit, null=True, on_delete=models.SET_NULL, related_name="findings",
                              help_text="The last audit that found it")
    kind = models.CharField(max_length=10, choices=FindingKind.choices)
    key = models.CharField(max_length=64, help_text="finding_key(kind, the photos' content hashes)")
    images = models.ManyToManyField(Image, related_name="+")
    score = models.FloatField(help_text="Label: 1 - out-of-fold probability of the given label; else similarity")
    given_label = models.CharField(max_length=100, blank=True)
    suggested_label = models.CharField(max_length=100, blank=True)
    detail = models.JSONField(default=dict, help_text="splits, datasets, suggested probability")
    dismissed = models.BooleanField(default=False)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-score", "id"]
        constraints = [models.UniqueConstraint(fields=["dataset", "key"], name="unique_finding_per_dataset")]
        indexes = [models.Index(fields=["dataset", "audit", "dismissed"])]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.score:.2f})"
