"""Tiny generated images and a small random-init backbone, so most tests run in seconds without ../shared."""

from pathlib import Path

import pytest
from PIL import Image

from classifier.features import FeatureCache, FeatureSpec
from tests.images import noisy_pixels

COLORS = {"blue": (40, 60, 210), "green": (50, 190, 60), "red": (210, 50, 40)}
# VGG16 with a seeded random init at 32 px: cheap, and its features still separate colours.
TINY_SPEC = FeatureSpec("vgg16", weights=None, pooling="avg", input_size=32)


def make_image(path: Path, color, seed: int, size: int = 40) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(noisy_pixels(color, seed, size, width=size + 8)).save(path)
    return path


def make_class_folders(root: Path, per_class: int, seed: int = 0) -> Path:
    """root/<colour>/<n>.{jpg,png}: one folder per class, alternating formats."""
    for c, (label, color) in enumerate(COLORS.items()):
        for i in range(per_class):
            make_image(root / label / f"{label}{i}.{'png' if i % 2 else 'jpg'}", color, seed * 1000 + c * 100 + i)
    return root


@pytest.fixture
def class_folders(tmp_path) -> Path:
    return make_class_folders(tmp_path / "data", per_class=16)


@pytest.fixture
def cache(tmp_path) -> FeatureCache:
    return FeatureCache(tmp_path / "cache")


def items_of(folder: Path) -> list[tuple[str, Path]]:
    from classifier.images import content_hash

    return [(content_hash(p), p) for p in sorted(folder.rglob("*.*"))]
