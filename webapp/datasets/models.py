from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"
    TEST = "test", "Test"


class Dataset(models.Model):
    """A set of labelled photos. It belongs to a team (a Django auth Group): only the team's members (and staff)
    see it and the jobs and predictions made from it."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="datasets")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Label(models.Model):
    """One class of a dataset."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="unique_label_per_dataset")]

    def __str__(self):
        return self.name


def image_upload_path(image: "Image", filename: str) -> str:
    """Storage path from the dataset id and content hash, never from the user's file name."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return f"datasets/{image.dataset_id}/{image.content_hash[:2]}/{image.content_hash}{suffix}"


class Image(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="images")
    split = models.CharField(max_length=10, choices=Split.choices, default=Split.TRAIN)
    file = models.FileField(upload_to=image_upload_path, max_length=255)
    content_hash = models.CharField(max_length=64, help_text="sha256 of the file's bytes")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255, blank=True, help_text="File name as uploaded; display only")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "content_hash"], name="unique_image_content_per_dataset")
        ]
        indexes = [models.Index(fields=["dataset", "label", "split"])]

    def __str__(self):
        return self.original_name or self.content_hash[:12]
