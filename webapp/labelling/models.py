"""The suggester's runs on a dataset (the lifecycle kind "suggestion", on the `train` queue) and what they
suggest. A run reads the dataset's labelled photos and its unlabelled pool when it starts; a dataset has at most
one queued run (the debounce: labels arriving while it waits are all read by it)."""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from webapp.core.models import WorkerRun
from webapp.datasets.models import Dataset, Image, Label


class SuggestionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SuggestionRun(WorkerRun):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="suggestion_runs")
    # The features it reads (classifier.labelling.labelling_spec unless the settings say otherwise: tests).
    backbone = models.CharField(max_length=40)
    weights = models.CharField(max_length=20, default="imagenet")
    input_size = models.PositiveIntegerField(null=True, blank=True)

    status = models.CharField(max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.QUEUED)
    state = models.CharField(max_length=100, blank=True,
                             help_text="The dataset's labelling state it read (selectors.labelling_state)")
    class_names = models.JSONField(default=list, help_text="The classes it knew: a probability's index")
    label_count = models.PositiveIntegerField(default=0, help_text="Labelled photos it learnt from")
    pool_count = models.PositiveIntegerField(default=0, help_text="Unlabelled photos it read")
    suggested = models.BooleanField(default=False, help_text="Every class had enough labels to suggest")
    proposal = models.CharField(max_length=40, blank=True,
                                help_text="How `proposed` was chosen: 'cover' (cold start) or the strategy")
    proposed = models.JSONField(default=list, help_text="Image ids worth labelling next, best first")
    error_curve = models.JSONField(
        default=list, help_text="[[min confidence, expected error or null, held-out photos at it], ...] from "
                                "cross-validated predictions on the labelled photos")
    seconds = models.JSONField(default=dict)

    class Meta(WorkerRun.Meta):
        constraints = [models.UniqueConstraint(fields=["dataset"], condition=Q(status="queued"),
                                               name="one_queued_suggestion_run_per_dataset")]

    def __str__(self):
        return f"Suggestions {self.pk} for {self.dataset}"

    def get_absolute_url(self):
        return reverse("labelling:label", args=[self.dataset_id])

    @property
    def is_finished(self) -> bool:
        return self.status in (SuggestionStatus.SUCCEEDED, SuggestionStatus.FAILED)

    @property
    def weights_arg(self) -> str | None:
        from classifier.backbones import weights_arg

        return weights_arg(self.weights)


class Suggestion(models.Model):
    """The class a run suggests for one unlabelled photo, with its calibrated confidence."""

    run = models.ForeignKey(SuggestionRun, on_delete=models.CASCADE, related_name="suggestions")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="+")
    confidence = models.FloatField()
    probabilities = models.JSONField(default=list, help_text="Per class of run.class_names")

    class Meta:
        ordering = ["-confidence", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "image"], name="one_suggestion_per_photo_and_run")]
        indexes = [models.Index(fields=["run", "-confidence"]), models.Index(fields=["run", "label", "-confidence"])]

    def __str__(self):
        return f"{self.image}: {self.label} ({self.confidence:.2f})"
