"""Tiny generated datasets and worker environments for the job tests."""

import hashlib

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from tests.images import jpeg_bytes

FAST_JOB = {  # the article's recipe with a small head on a random-init MobileNetV2 at 32 px, pooled: seconds on a CPU
    "recipe": "article", "backbone": "mobilenet_v2", "weights": "none", "pooling": "avg", "input_size": 32,
    "head_config": {"epochs": 3, "batch_size": 8, "hidden": [32], "dropout": [0.1], "learning_rate": 1e-3},
}
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (40, 50, 220)}


def add_image(dataset, label_name: str, data: bytes, split: str, name: str):
    from webapp.datasets.models import Image, Label

    label, _ = Label.objects.get_or_create(dataset=dataset, name=label_name)
    image = Image(dataset=dataset, label=label, split=split, content_hash=hashlib.sha256(data).hexdigest(),
                  width=48, height=48, original_name=name)
    image.file.save(name, ContentFile(data), save=False)
    image.save()
    return image


def make_dataset(name: str, *, per_class: int = 12, classes=("red", "green", "blue"), seed: int = 0,
                 size: int = 48, team=None):
    """`per_class` images per class: 2 test, 1 validation, the rest train."""
    from webapp.datasets.models import Dataset, Split

    team = team or Group.objects.get_or_create(name="lab")[0]
    dataset = Dataset.objects.create(name=name, team=team)
    for label in classes:
        for i in range(per_class):
            split = Split.TEST if i < 2 else Split.VALIDATION if i == 2 else Split.TRAIN
            add_image(dataset, label, jpeg_bytes(COLOURS[label], seed * 1000 + i, size), split,
                      f"{label}-{seed}-{i}.jpg")
    return dataset


def worker_env(**overrides) -> dict:
    """The child environment with a fast heartbeat (the reaper's threshold stays the default unless set)."""
    from tests.processes import child_env

    return child_env(MENAGERIE_JOB_HEARTBEAT_SECONDS="0.5", **overrides)
