"""Real files made in the tests: photos from Pillow, zips from zipfile. Each test gets its own MEDIA_ROOT."""

import io
import random
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from PIL import Image as PILImage

from webapp.datasets.models import Dataset, Image, Label


def photo_bytes(seed: int, size=(24, 24), fmt="JPEG", mode="RGB") -> bytes:
    """A small, unique (by seed) image file."""
    rng = random.Random(seed)
    image = PILImage.new(mode, size)
    image.putdata([tuple(rng.randrange(256) for _ in mode) if len(mode) > 1 else rng.randrange(256)
                   for _ in range(size[0] * size[1])])
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def zip_bytes(entries: dict, *, compression=zipfile.ZIP_STORED) -> io.BytesIO:
    """entries: name -> bytes, or name -> zipfile.ZipInfo-ready tuple (ZipInfo, bytes) for special entries.
    A name ending in "/" with None makes a directory entry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in entries.items():
            if isinstance(data, tuple):
                zf.writestr(*data)
            elif data is None:
                zf.writestr(zipfile.ZipInfo(name), b"")
            else:
                zf.writestr(name, data)
    buffer.seek(0)
    buffer.name = "upload.zip"
    return buffer


def class_zip(classes: dict[str, int], *, prefix="", seed=0) -> tuple[io.BytesIO, dict]:
    """Zip of class folders with the given number of unique photos each; also returns name -> bytes."""
    entries, n = {}, seed
    for class_name, count in classes.items():
        for i in range(count):
            n += 1
            entries[f"{prefix}{class_name}/{i:03d}.jpg"] = photo_bytes(n)
    return zip_bytes(entries), entries


def media_snapshot(root: Path) -> list[str]:
    """Every file and folder under MEDIA_ROOT."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def db_snapshot() -> tuple:
    return (
        sorted(Dataset.objects.values_list("id", "name")),
        sorted(Label.objects.values_list("id", "dataset_id", "name")),
        sorted(Image.objects.values_list("id", "dataset_id", "label_id", "split", "content_hash")),
    )


@pytest.fixture
def team(db):
    return Group.objects.create(name="Vision")


@pytest.fixture
def other_team(db):
    return Group.objects.create(name="Others")


@pytest.fixture
def member(db, team):
    user = User.objects.create_user("member")  # no password: no slow hashing; tests use force_login
    user.groups.add(team)
    return user


@pytest.fixture
def outsider(db, other_team):
    user = User.objects.create_user("outsider")
    user.groups.add(other_team)
    return user


@pytest.fixture
def staff(db):
    return User.objects.create_user("staff", is_staff=True, is_superuser=True)


@pytest.fixture
def dataset(db, team, member):
    return Dataset.objects.create(name="pets", team=team, created_by=member)


def bulk_images(dataset: Dataset, per_class: dict[str, int], splits=("train", "train", "validation", "test")):
    """Many rows fast (bulk_create, no files): for page and admin query counts."""
    rows, n = [], Image.objects.count()
    for class_name, count in per_class.items():
        label, _ = Label.objects.get_or_create(dataset=dataset, name=class_name)
        for i in range(count):
            n += 1
            h = f"{dataset.pk:08x}{n:056x}"
            rows.append(Image(dataset=dataset, label=label, split=splits[i % len(splits)], content_hash=h,
                              file=f"datasets/{dataset.pk}/images/{h[:2]}/{h}.jpg",
                              thumbnail=f"datasets/{dataset.pk}/thumbs/{h[:2]}/{h}.jpg", width=10, height=10))
    Image.objects.bulk_create(rows, batch_size=1000)
