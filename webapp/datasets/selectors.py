"""Reads of datasets. Views and other apps list and fetch datasets only through `datasets_for_user`."""

from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber

from webapp.accounts.permissions import can, sees_all_teams, team_roles
from webapp.datasets.models import Dataset, Image, ImageChange, Label, Split

IMBALANCE_RATIO = 3  # warn when the largest class has more than this many times the smallest one's images


def datasets_for_user(user) -> QuerySet[Dataset]:
    """Datasets of the user's teams (superusers and the "view all teams" permission: all). Anything else is a 404
    for the views."""
    datasets = Dataset.objects.select_related("team")
    if not user.is_authenticated:
        return datasets.none()
    if sees_all_teams(user):
        return datasets
    return datasets.filter(team__in=user.groups.all())


def datasets_user_can(user, action) -> QuerySet[Dataset]:
    """The datasets of `datasets_for_user` on whose team the user may do `action` (e.g. train: not a viewer's)."""
    datasets = datasets_for_user(user)
    if user.is_authenticated and user.is_superuser:
        return datasets
    return datasets.filter(team_id__in=[team for team in team_roles(user) if can(user, action, team)])


def split_count_annotations(prefix: str = "images") -> dict:
    """Count(...) per split plus the total, for annotating a Dataset or Label queryset in one query."""
    counts = {f"{split}_count": Count(prefix, filter=Q(**{f"{prefix}__split": split})) for split in Split.values}
    return {"image_count": Count(prefix), **counts}


def datasets_with_counts(queryset: QuerySet[Dataset]) -> QuerySet[Dataset]:
    """Annotates image_count, train_count, validation_count, test_count; prefetches `class_counts` (labels with the
    same annotations). Two queries whatever the number of datasets."""
    labels = Label.objects.annotate(**split_count_annotations()).order_by("name")
    return queryset.annotate(**split_count_annotations()).prefetch_related(
        Prefetch("labels", queryset=labels, to_attr="class_counts")
    )


def dataset_counts(dataset: Dataset) -> dict:
    """Per-class and per-split counts of the labelled photos, and the unlabelled pool's size, JSON-ready (two
    queries):

    {"total": 2550, "splits": {"train": .., "validation": .., "test": ..}, "unlabelled": 120,
     "classes": [{"label_id": 1, "name": "cats", "train": .., "validation": .., "test": .., "total": ..}, ...],
     "smallest": 850, "largest": 850, "imbalanced": False}
    `imbalanced` is true when the largest class has more than 3x the smallest one's images.
    """
    labels = Label.objects.filter(dataset=dataset).annotate(**split_count_annotations()).order_by("name")
    classes = [
        {"label_id": label.pk, "name": label.name, "total": label.image_count,
         **{split: getattr(label, f"{split}_count") for split in Split.values}}
        for label in labels
    ]
    splits = {split: sum(c[split] for c in classes) for split in Split.values}
    totals = [c["total"] for c in classes]
    smallest, largest = (min(totals), max(totals)) if totals else (0, 0)
    return {
        "total": sum(totals),
        "splits": splits,
        "classes": classes,
        "smallest": smallest,
        "largest": largest,
        "imbalanced": len(totals) > 1 and largest > IMBALANCE_RATIO * smallest,
        "unlabelled": Image.objects.unlabelled().filter(dataset=dataset, excluded=False).count(),
    }


def dataset_samples(dataset: Dataset, *, per_class: int = 6) -> dict[int, list[Image]]:
    """A few images per class (label id -> images), in one query."""
    numbered = (
        Image.objects.labelled().filter(dataset=dataset)
        .annotate(row=Window(RowNumber(), partition_by=[F("label_id")], order_by=F("id").asc()))
        .filter(row__lte=per_class)
        .order_by("label_id", "id")
    )
    samples: dict[int, list[Image]] = {}
    for image in numbered:
        samples.setdefault(image.label_id, []).append(image)
    return samples


# --- photo browser -----------------------------------------------------------------------------------------------

PHOTO_SORTS = {  # name -> ordering; every one ends with the id so pages never overlap
    "added": ("id",),
    "-added": ("-id",),
    "name": ("original_name", "id"),
    "class": ("class_rank", "id"),  # classes by name, without joining and sorting on the label table
}


def images_matching(dataset: Dataset, *, label: Label | None = None, split: str = "", excluded: bool | None = None,
                    flagged: bool | None = None, name: str = "", sort: str = "added") -> QuerySet[Image]:
    """The dataset's photos matching the photo browser's filters (None / "" = any), in the chosen order. The
    same queryset feeds a page of thumbnails and the "all N matching" bulk actions."""
    images = Image.objects.filter(dataset=dataset)
    if label is not None:
        images = images.filter(label=label)
    if split:
        images = images.filter(split=split)
    if excluded is not None:
        images = images.filter(excluded=excluded)
    if flagged is not None:
        images = images.filter(flagged=flagged)
    if name:
        images = images.filter(original_name__icontains=name)
    if sort == "class":
        names = Label.objects.filter(dataset=dataset).order_by("name").values_list("pk", flat=True)
        images = images.alias(class_rank=Case(*(When(label_id=pk, then=Value(rank)) for rank, pk in enumerate(names)),
                                              default=Value(0)))
    return images.select_related("label").order_by(*PHOTO_SORTS.get(sort, PHOTO_SORTS["added"]))


def dataset_recent_changes(dataset: Dataset, *, limit: int = 20) -> list[ImageChange]:
    return list(ImageChange.objects.filter(dataset=dataset).select_related("user")[:limit])


def image_history(image: Image) -> list[ImageChange]:
    return list(ImageChange.objects.filter(image=image).select_related("user"))
