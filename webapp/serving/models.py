"""Named models: a team's name ("birds") whose versions are succeeded jobs; one version is live and serves."""

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse

from webapp.core.models import Work, WorkerRun
from webapp.core.storage import storage
from webapp.core.text import text_max_length
from webapp.datasets.models import Dataset
from webapp.experiments.models import Evaluation, TrainingJob


class NamedModel(models.Model):
    team = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="named_models")
    name = models.SlugField(max_length=60, help_text="What scripts and the predict page call it, e.g. birds")
    evaluation_dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="+",
        help_text="Pinned at creation: every version is evaluated on this dataset's test photos",
    )
    live_version = models.OneToOneField(
        "ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The version that answers predictions (none: the name serves nothing yet)",
    )
    description = models.TextField(blank=True, validators=text_max_length())
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="unique_model_name_per_team")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("serving:model_detail", args=[self.name]) + self.team_query

    @property
    def team_query(self) -> str:
        """`?team=...` for its pages' URLs: names are unique per team only, and a user may be in several teams."""
        return "?" + urlencode({"team": self.team.name})


class ModelVersion(models.Model):
    named_model = models.ForeignKey(NamedModel, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    job = models.ForeignKey(TrainingJob, on_delete=models.PROTECT, related_name="model_versions")
    evaluation = models.ForeignKey(
        Evaluation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="This version on the name's pinned evaluation set",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["named_model", "number"], name="unique_version_number")]

    def __str__(self):
        return f"{self.named_model.name} v{self.number}"


class ModelEventAction(models.TextChoices):
    PROMOTE = "promote", "Promoted"
    ROLLBACK = "rollback", "Rolled back to"


class ModelEvent(models.Model):
    """Who made which version live, when and why: the name's history, newest first."""

    named_model = models.ForeignKey(NamedModel, on_delete=models.CASCADE, related_name="events")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=ModelEventAction.choices)
    note = models.TextField(blank=True, help_text="Why", validators=text_max_length())
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_action_display()} {self.version}"


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


BATCH_ACTIVE_STATUSES = [BatchStatus.QUEUED, BatchStatus.RUNNING]


def batch_archive_path(batch: "BatchPrediction", filename: str) -> str:
    return f"batches/{batch.uuid}/photos.zip"


class BatchPrediction(WorkerRun):
    """A zip of photos (or a dataset's photos) predicted by a version of a named model in a `train` worker: a CSV,
    and, when the photos' true classes are known (class folders, a dataset), an evaluation report."""

    uuid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True, help_text="Names its files")
    named_model = models.ForeignKey(NamedModel, on_delete=models.CASCADE, related_name="batches")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="batches",
                                help_text="The version that answered (the live one when the batch was made)")
    archive = models.FileField(upload_to=batch_archive_path, max_length=255, blank=True,
                               help_text="The uploaded zip (its file is deleted once the worker has read it)")
    archive_name = models.CharField(max_length=255, blank=True)
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text="Or: the dataset whose photos were predicted")

    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    cancel_requested = models.BooleanField(default=False)

    csv_file = models.CharField(max_length=255, blank=True, help_text="The result CSV, relative to MEDIA_ROOT")
    photo_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0, help_text="Photos that could not be read")
    unsure_count = models.PositiveIntegerField(default=0)
    wrong_count = models.PositiveIntegerField(default=0, help_text="Labelled photos predicted as another class")
    report = models.JSONField(default=dict, help_text="classifier.evaluate.scores() of the labelled photos")
    evaluation_note = models.CharField(max_length=500, blank=True, help_text="Why there is no evaluation")

    def __str__(self):
        return f"Batch {self.pk} of {self.named_model.name}"

    def get_absolute_url(self):
        return reverse("serving:batch_detail", args=[self.named_model.name, self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status not in BATCH_ACTIVE_STATUSES

    @property
    def source_name(self) -> str:
        return self.archive_name or (f"dataset {self.dataset}" if self.dataset_id else "")


class BundleStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    RUNNING = "running", "Building"
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"


class ExportBundle(Work):
    """A job's export bundle (classifier.bundle: model.keras, labels.json, MODEL_CARD.md, TFLite, ONNX, predict.py),
    built once by a `train` worker (the conversions take minutes) and kept as bundle.zip in the job's run folder."""

    job = models.OneToOneField(TrainingJob, on_delete=models.CASCADE, related_name="export_bundle")
    status = models.CharField(max_length=10, choices=BundleStatus.choices, default=BundleStatus.PENDING)
    step = models.CharField(max_length=200, blank=True, help_text="What the worker is converting now")
    formats = models.JSONField(default=dict, blank=True, help_text="{format: 'ok, N bytes' | 'not included: why'}")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was (last) asked for")
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Bundle of job {self.job_id} ({self.status})"

    @property
    def name(self) -> str:
        """The zip's stored name (artifacts area): bundle.zip in the job's run folder."""
        return f"{self.job.artifact_dir}/bundle.zip"

    def is_stored(self) -> bool:
        return bool(self.job.artifact_dir) and storage("artifacts").exists(self.name)
