import secrets
from pathlib import Path

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from classifier.recipes import get_recipe
from classifier.settings import JobSettings
from webapp.core.models import Work
from webapp.core.storage import local_folder
from webapp.datasets.models import Dataset, Image, Split


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    EXTRACTING = "extracting", "Extracting features"
    TRAINING = "training", "Training"
    EVALUATING = "evaluating", "Evaluating"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    NOT_KEPT = "not_kept", "Not kept"  # a fine-tuning follow-up that did not beat its parent's linear head


ACTIVE_STATUSES = [JobStatus.EXTRACTING, JobStatus.TRAINING, JobStatus.EVALUATING]
FINISHED_STATUSES = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.NOT_KEPT]
DEFAULTS = JobSettings()  # the settings' defaults (classifier.settings): the columns' defaults


class TrainingJob(Work):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="jobs")
    backbone = models.CharField(max_length=40, default=DEFAULTS.backbone)
    weights = models.CharField(max_length=20, default=DEFAULTS.weights,
                               help_text='"imagenet" or "none" (random init)')
    pooling = models.CharField(max_length=10, blank=True, default=DEFAULTS.pooling,
                               help_text='"" = 7x7 maps, "avg" = pooled')
    # a row holds a resolved precision (job_create resolves the setting's default, auto)
    precision = models.CharField(max_length=10, default="float32", help_text="float32 or bfloat16")
    precision_reason = models.CharField(max_length=200, blank=True,
                                        help_text="Why this precision: asked for, or what auto measured")
    input_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Backbone input side in pixels; empty = the backbone's own (224)"
    )
    recipe = models.CharField(
        max_length=20, default=DEFAULTS.recipe,
        help_text='"recommended" (searched head, fine-tuned where it pays) or "article" (the article\'s head)',
    )
    head_config = models.JSONField(default=dict, help_text="classifier.head.HeadConfig.to_dict() (recipe article)")
    feature_specs = models.JSONField(
        default=list, blank=True, help_text="The views the job extracts, the main one first: FeatureSpec.to_dict() "
        "of each, planned by job_create from its settings and photos (JobSettings.feature_specs)")
    view_sizes = models.JSONField(
        default=list, blank=True, help_text="Legacy, neither written nor read: the planned input sizes before "
        "feature_specs (migration 0013 copied them there). Kept so older backups still load")
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries",
        help_text="The job this one retries, with the same settings",
    )
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups",
        help_text="The recommended job whose linear head this one tries to beat by fine-tuning the last block, on the "
                  "same photos and decision; it ends with a model only if it wins (else: not kept)",
    )

    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_step = models.CharField(
        max_length=20, blank=True,
        help_text='What the training progress counts: "epochs" (article), "search" trials or "fine-tune" epochs',
    )
    stage_started_at = models.DateTimeField(null=True, blank=True)
    stage_detail = models.CharField(
        max_length=100, blank=True, help_text='What the stage does before its first progress, e.g. "loading the '
        'backbone"; cleared by the first progress')
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Written by the worker while it runs")
    worker = models.CharField(max_length=200, blank=True, help_text="Celery worker running (or last running) it")
    cancel_requested = models.BooleanField(default=False)
    error_message = models.TextField(blank=True, help_text="Shown to users: readable, never a traceback")

    images_cached = models.PositiveIntegerField(default=0, help_text="Features found in the cache")
    images_extracted = models.PositiveIntegerField(default=0, help_text="Features computed by this job")
    skipped_images = models.JSONField(default=list, help_text="[{image_id, name, reason}] left out of the job")
    chunks_total = models.PositiveIntegerField(default=0, help_text="Extraction chunks workers share")
    best_epoch = models.PositiveIntegerField(null=True, blank=True)
    unsure_threshold = models.FloatField(
        null=True, blank=True,
        help_text="Edited confidence threshold below which predictions answer \"unsure\"; empty = the one the "
                  "job chose on validation (saved with the model)",
    )
    threshold_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    threshold_edited_at = models.DateTimeField(null=True, blank=True)
    artifact_dir = models.CharField(
        max_length=255, blank=True, help_text="Trained model folder, relative to ARTIFACTS_DIR (jobs/<id>)"
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="Claimed by a worker (extraction began)")
    training_at = models.DateTimeField(null=True, blank=True, help_text="Training stage began")
    evaluating_at = models.DateTimeField(null=True, blank=True, help_text="Evaluation stage began")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"Job {self.pk} ({self.backbone} on {self.dataset})"

    def get_absolute_url(self):
        return reverse("experiments:job_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def recipe_info(self):
        """Its recipe as plain data (classifier.recipes.Recipe): templates and code read it, never the name."""
        return get_recipe(self.recipe)

    @property
    def specs(self) -> list:
        """The feature specs (classifier.features.FeatureSpec) it planned, the main view first: what its
        extraction, its chunks and its training read."""
        from classifier.features import FeatureSpec

        return [FeatureSpec.from_dict(spec) for spec in self.feature_specs]

    @property
    def planned_sizes(self) -> list[int]:
        """The input sizes of its views, the main one first (the job page)."""
        return [spec.size for spec in self.specs]

    @property
    def epochs_planned(self) -> int:
        return int(self.head_config.get("epochs") or 0)

    @property
    def artifact_path(self) -> Path | None:
        """The trained run's folder (head.keras, model.json, model.keras ...) on this machine, fetched from the
        store when it lives there (webapp.core.storage); None before it exists or once it is gone."""
        try:
            return local_folder(self.artifact_dir, "artifacts") if self.artifact_dir else None
        except FileNotFoundError:
            return None

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()

    @property
    def items_per_second(self) -> float | None:
        """Rate of the current stage or step (images/s while extracting and evaluating; epochs/s or search
        trials/s while training: stage_started_at restarts with each step)."""
        if not self.stage_started_at or not self.progress_done:
            return None
        elapsed = (timezone.now() - self.stage_started_at).total_seconds()
        return self.progress_done / elapsed if elapsed > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        rate = self.items_per_second
        if not rate or self.is_finished:
            return None
        return max(self.progress_total - self.progress_done, 0) / rate


class JobImage(models.Model):
    """The exact images and splits a job used, kept so later dataset edits do not change its results."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="job_images")
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    content_hash = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True, help_text="The image's name when snapshotted")
    label_name = models.CharField(max_length=100)
    split = models.CharField(max_length=10, choices=Split.choices)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "content_hash"], name="unique_image_per_job")]

    def __str__(self):
        return self.original_name or self.content_hash[:12]


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class ExtractionChunk(models.Model):
    """A slice of a job's uncached images: the job's own task and helper tasks on other `train` workers each
    claim chunks (conditional UPDATE) and write the features into the shared cache."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    items = models.JSONField(help_text="[[content_hash, path], ...] to extract")
    status = models.CharField(max_length=10, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    extracted = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, help_text="[{content_hash, path, reason}]")
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="unique_chunk_per_job")]

    def __str__(self):
        return f"Chunk {self.index} of job {self.job_id}"


class EpochMetric(models.Model):
    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="epochs")
    epoch = models.PositiveIntegerField(help_text="1-based")
    loss = models.FloatField()
    accuracy = models.FloatField()
    val_loss = models.FloatField(null=True, blank=True)
    val_accuracy = models.FloatField(null=True, blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["job", "epoch"]
        constraints = [models.UniqueConstraint(fields=["job", "epoch"], name="unique_epoch_per_job")]


class EvaluationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Evaluation(Work):
    """A trained job's scores on a test set: its own test split, or another dataset with the same classes."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="evaluations")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="evaluations")
    status = models.CharField(max_length=10, choices=EvaluationStatus.choices, default=EvaluationStatus.QUEUED)
    error_message = models.TextField(blank=True)
    accuracy = models.FloatField(null=True, blank=True)
    loss = models.FloatField(null=True, blank=True)
    macro_f1 = models.FloatField(null=True, blank=True)
    report = models.JSONField(default=dict, help_text="classifier.evaluate.evaluate() output")
    image_count = models.PositiveIntegerField(default=0)
    skipped_images = models.JSONField(default=list, help_text="[{image_id, name, reason}] left out")
    is_job_test_split = models.BooleanField(
        default=False, help_text="The job's own test split (made by the job), not a re-evaluation"
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="Celery worker running (or last running) it")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Evaluation {self.pk} of job {self.job_id} on {self.dataset}"

    @property
    def is_finished(self) -> bool:
        return self.status in (EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED)


def prediction_upload_path(prediction: "Prediction", filename: str) -> str:
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return f"predictions/{timezone.now():%Y/%m}/{prediction.content_hash}{suffix}"


class PredictionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Prediction(Work):
    # The log outlives its job (deleted: job is NULL; model_name/version and job_summary still say what answered)
    # and its photo (removed after PREDICTION_PHOTO_RETENTION_DAYS: file is empty).
    job = models.ForeignKey(TrainingJob, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="predictions")
    team = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             help_text="Its job's team, kept when the job is deleted (who may see it)")
    job_summary = models.CharField(max_length=200, blank=True, help_text='"#12 mobilenet_v2 on birds"')
    file = models.FileField(upload_to=prediction_upload_path, max_length=255, blank=True)
    content_hash = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=PredictionStatus.choices, default=PredictionStatus.PENDING)
    error_message = models.TextField(blank=True)
    label = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    decision = models.CharField(max_length=10, blank=True, help_text='"confident", or "unsure" below the '
                                "model's threshold (label is then only the top candidate)")
    probabilities = models.JSONField(default=list, help_text="[{label, probability}] sorted, highest first")
    latency_ms = models.FloatField(null=True, blank=True, help_text="Upload received to result stored")
    model_name = models.CharField(max_length=60, blank=True, help_text="The named model asked for, if any")
    model_version = models.PositiveIntegerField(null=True, blank=True, help_text="Its version that answered")
    marked_wrong = models.BooleanField(default=False, help_text="A person (or a batch's class folder) said the label "
                                       "is wrong")
    batch = models.ForeignKey("serving.BatchPrediction", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="predictions", help_text="The batch it came from (its wrong or unsure rows)")
    expected_label = models.CharField(max_length=100, blank=True,
                                      help_text="The true class when known (a batch's class folder)")
    added_image = models.ForeignKey(
        Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The dataset photo made from it, with the right label",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"])]  # the reaper looks for the few pending ones every few seconds

    def __str__(self):
        return f"Prediction {self.pk} ({self.label or self.status})"

    @staticmethod
    def summary_of(job: TrainingJob) -> str:
        return f"#{job.pk} {job.backbone} on {job.dataset.name}"[:200]

    def save(self, *args, **kwargs):
        if self.job_id and (self.team_id is None or not self.job_summary):  # what outlives the job
            self.team_id = self.team_id or self.job.dataset.team_id
            self.job_summary = self.job_summary or self.summary_of(self.job)
        super().save(*args, **kwargs)


class HeatmapStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


def heatmap_upload_path(heatmap: "Heatmap", filename: str) -> str:
    """A random name in the job's folder (removed with the job): /media/ checks who asks, and the name tells
    nothing to guess another one by."""
    return f"heatmaps/job_{heatmap.job_id}/{secrets.token_urlsafe(16)}.png"


class Heatmap(Work):
    """A Grad-CAM overlay of one photo for one job's model, computed once by the predict worker: of a prediction's
    photo, or of a dataset photo (the job page's misclassified gallery)."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="heatmaps")
    prediction = models.OneToOneField(Prediction, null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="heatmap")
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.CASCADE, related_name="heatmaps")
    status = models.CharField(max_length=10, choices=HeatmapStatus.choices, default=HeatmapStatus.PENDING)
    file = models.FileField(upload_to=heatmap_upload_path, max_length=255, blank=True)
    label = models.CharField(max_length=100, blank=True, help_text="The class explained: the predicted one")
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "image"], condition=models.Q(image__isnull=False),
                                    name="one_heatmap_per_job_image"),
            models.CheckConstraint(condition=models.Q(prediction__isnull=True) ^ models.Q(image__isnull=True),
                                   name="heatmap_of_a_prediction_or_an_image"),
        ]

    def __str__(self):
        return f"Heatmap {self.pk} of job {self.job_id} ({self.status})"
