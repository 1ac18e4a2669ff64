"""Datasets with an unlabelled pool for the labelling tests: labelled photos (tests.factories) plus pool photos of
the same colours, and the settings that make the suggester cheap (a random-init VGG16 at 32 px: its pooled
features separate the colours; no ImageNet weights needed)."""

import hashlib

from django.core.files.base import ContentFile

from tests.factories import COLOURS, make_dataset
from tests.images import jpeg_bytes

CHEAP_SUGGESTER = {"LABELLING_BACKBONE": "vgg16", "LABELLING_WEIGHTS": "none", "LABELLING_INPUT_SIZE": 32}


def add_pool_photo(dataset, data: bytes, name: str):
    """An unlabelled Image row with its file (the split its hash gives, as an import would)."""
    import io

    from PIL import Image as Pillow

    from classifier.data import split_of_hash
    from webapp.datasets.models import Image

    digest = hashlib.sha256(data).hexdigest()
    try:
        with Pillow.open(io.BytesIO(data)) as photo:
            width, height = photo.size
    except OSError:  # not a photo (a test of unreadable ones)
        width = height = 48
    image = Image(dataset=dataset, label=None, split=split_of_hash(digest, dataset.fractions), content_hash=digest,
                  width=width, height=height, original_name=name)
    image.file.save(name, ContentFile(data), save=False)
    image.save()
    return image


def pool_dataset(name: str = "pool", *, labelled_per_class: int = 2, pool_per_class: int = 6, seed: int = 0,
                 classes=("red", "green", "blue")):
    """A dataset with `labelled_per_class` labelled photos per colour class (all train) and `pool_per_class`
    unlabelled photos of each colour; returns (dataset, {image id: the colour it really is})."""
    dataset = make_dataset(name, classes=classes, per_class=labelled_per_class, test=0, validation=0, seed=seed + 1)
    truth = {}
    for c, colour in enumerate(classes):
        for i in range(pool_per_class):
            image = add_pool_photo(dataset, jpeg_bytes(COLOURS[colour], 900_000 + seed * 1000 + c * 100 + i),
                                   f"pool-{colour}-{i}.jpg")
            truth[image.pk] = colour
    return dataset, truth
