from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from django.urls import reverse

from classifier.images import FORMAT_EXTENSIONS  # the formats imports accept -> the extension stored files get
from webapp.core.text import text_max_length


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"
    TEST = "test", "Test"


class Dataset(models.Model):
    """A set of labelled photos. It belongs to a team (a Django auth Group): only the team's members (and staff)
    see it and the jobs and predictions made from it."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, validators=text_max_length())
    team = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="datasets")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    split_fractions = models.JSONField(
        null=True, blank=True,
        help_text="[train, validation, test] for photos labelled in the app (empty: DATASETS_SPLIT_FRACTIONS)")

    class Meta:
        ordering = ["name"]
        # Per team: a global rule would tell one team the names of another's datasets ("already exists").
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="unique_dataset_name_per_team")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("datasets:detail", args=[self.pk])

    @property
    def fractions(self) -> tuple[float, float, float]:
        """The split fractions a photo labelled in the app is assigned with (classifier.data.split_of_hash)."""
        return tuple(self.split_fractions) if self.split_fractions else tuple(settings.DATASETS_SPLIT_FRACTIONS)

    @property
    def storage_dir(self) -> str:
        """Folder (relative to MEDIA_ROOT) holding every file of this dataset: photos and thumbnails."""
        return f"datasets/{self.pk}"


class Label(models.Model):
    """One class of a dataset."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="unique_label_per_dataset")]

    def __str__(self):
        return self.name


def image_storage_name(dataset_id: int, content_hash: str, extension: str) -> str:
    """Where a photo is stored (relative to MEDIA_ROOT): from the dataset id and content hash only."""
    return f"datasets/{dataset_id}/images/{content_hash[:2]}/{content_hash}{extension}"


def thumbnail_storage_name(dataset_id: int, content_hash: str) -> str:
    return f"datasets/{dataset_id}/thumbs/{content_hash[:2]}/{content_hash}.jpg"


def image_upload_path(image: "Image", filename: str) -> str:
    """Storage path from the dataset id and content hash, never from the user's file name (only a known image
    extension is kept). The import services set file names themselves; this serves direct model saves."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in FORMAT_EXTENSIONS.values():
        suffix = ".bin"
    return image_storage_name(image.dataset_id, image.content_hash, suffix)


def thumbnail_upload_path(image: "Image", filename: str) -> str:
    return thumbnail_storage_name(image.dataset_id, image.content_hash)


class ImageQuerySet(models.QuerySet):
    def labelled(self) -> "ImageQuerySet":
        return self.filter(label__isnull=False)

    def unlabelled(self) -> "ImageQuerySet":
        """The unlabelled pool: photos waiting for a class (never trained or evaluated on)."""
        return self.filter(label__isnull=True)


class Image(models.Model):
    """A photo of a dataset. Without a label it is in the dataset's unlabelled pool: it is stored, deduplicated
    and shown like any other photo, but no job trains or scores on it until someone gives it a class."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.CASCADE, related_name="images",
                              help_text="Empty: in the unlabelled pool")
    split = models.CharField(max_length=10, choices=Split.choices, default=Split.TRAIN)
    file = models.FileField(upload_to=image_upload_path, max_length=255)
    thumbnail = models.FileField(
        upload_to=thumbnail_upload_path, max_length=255, blank=True, help_text="JPEG made once at import"
    )
    content_hash = models.CharField(max_length=64, help_text="sha256 of the file's bytes")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255, blank=True, help_text="File name as uploaded; display only")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    excluded = models.BooleanField(default=False, help_text="Stays in the dataset, but jobs do not use it")
    flagged = models.BooleanField(default=False, help_text="Marked for a second look (by a person or the audit)")

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "content_hash"], name="unique_image_content_per_dataset")
        ]
        indexes = [
            models.Index(fields=["dataset", "label", "split"]),
            # The photo browser's filters and sorts (30,000 photos per dataset stay fast).
            models.Index(fields=["dataset", "original_name"]),
            models.Index(fields=["dataset", "excluded"]),
            models.Index(fields=["dataset", "flagged"]),
        ]

    def __str__(self):
        return self.original_name or self.content_hash[:12]

    @property
    def thumbnail_url(self) -> str:
        """The cached thumbnail (under /media/), or the photo itself for a row made without one."""
        return self.thumbnail.url if self.thumbnail else self.file.url


class ImageChange(models.Model):
    """One recorded change of a photo (who, when, old -> new), written by the curation services. A deleted
    photo's lines stay (image empty, its name kept) so the dataset's history still says what happened."""

    class Kind(models.TextChoices):
        LABEL = "label", "Class"
        SPLIT = "split", "Split"
        EXCLUDED = "excluded", "Excluded"
        FLAGGED = "flagged", "Flagged"
        DELETED = "deleted", "Deleted"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="changes")
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes")
    image_name = models.CharField(max_length=255, blank=True, help_text="The photo's name at the time")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    old = models.CharField(max_length=100, blank=True)
    new = models.CharField(max_length=100, blank=True)
    # A class given on the Label page: what the suggester proposed then (empty: no suggestion), and how sure it was.
    suggested = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["dataset", "-at"]), models.Index(fields=["image", "-at"])]

    def __str__(self):
        return f"{self.image_name}: {self.get_kind_display()} {self.old} -> {self.new}"
