"""Rows with real files for any test: datasets of small generated photos, and the settings of a fast job."""

import hashlib

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from tests.images import jpeg_bytes

FAST_JOB = {  # the article's recipe with a small head on a random-init MobileNetV2 at 32 px, pooled: seconds on a CPU
    "recipe": "article", "backbone": "mobilenet_v2", "weights": "none", "pooling": "avg", "input_size": 32,
    "head_config": {"epochs": 3, "batch_size": 8, "hidden": [32], "dropout": [0.1], "learning_rate": 1e-3},
}
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (40, 50, 220)}
GREY = (128, 128, 128)  # classes without a colour: for tests that never train on the photos


def add_image(dataset, label_name: str, data: bytes, split: str, name: str, size: int = 48):
    """An Image row with its file; width and height are the photo's own, as an import records them (`size` for
    bytes that are not a photo)."""
    import io

    from PIL import Image as Pillow

    from webapp.datasets.models import Image, Label

    try:
        with Pillow.open(io.BytesIO(data)) as photo:
            width, height = photo.size
    except OSError:  # not a photo, or a broken one (Pillow: unidentified, truncated)
        width = height = size
    label, _ = Label.objects.get_or_create(dataset=dataset, name=label_name)
    image = Image(dataset=dataset, label=label, split=split, content_hash=hashlib.sha256(data).hexdigest(),
                  width=width, height=height, original_name=name)
    image.file.save(name, ContentFile(data), save=False)
    image.save()
    return image


def make_dataset(name: str, *, team=None, classes=("red", "green", "blue"), per_class: int = 12, test: int = 2,
                 validation: int = 1, size: int = 48, seed: int = 0):
    """`per_class` photos per class (`test` in the test split, `validation` in validation, the rest train), each
    of its class's colour (COLOURS; grey for other names) with seeded noise, so every photo is unique."""
    from webapp.datasets.models import Dataset, Split

    team = team or Group.objects.get_or_create(name="lab")[0]
    dataset = Dataset.objects.create(name=name, team=team)
    for c, label in enumerate(classes):
        for i in range(per_class):
            split = Split.TEST if i < test else Split.VALIDATION if i < test + validation else Split.TRAIN
            data = jpeg_bytes(COLOURS.get(label, GREY), seed * 10_000 + c * 100 + i, size)
            add_image(dataset, label, data, split, f"{label}-{i}.jpg" if not seed else f"{label}-{seed}-{i}.jpg",
                      size=size)
    return dataset
