"""Shared by the page benchmarks: a throw-away installation and one dataset of many image rows (no files)."""

import os
import tempfile


def install() -> None:
    """Django on a fresh temp data folder (SQLite unless DATABASE_URL is set), migrated."""
    os.environ.update(MENAGERIE_DATA_DIR=tempfile.mkdtemp(prefix="menagerie-bench-"),
                      DJANGO_SETTINGS_MODULE="webapp.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def big_dataset(team, *, images: int, classes: int, curated: bool = False, name: str = "big"):
    """(dataset, labels): `images` rows in `classes` classes, splits 3:1:1 in every class; with `curated`,
    original names, a tenth flagged and a twentieth excluded."""
    from webapp.datasets.models import Dataset, Image, Label

    dataset = Dataset.objects.create(name=name, team=team)
    labels = [Label.objects.create(dataset=dataset, name=f"class{c:02d}") for c in range(classes)]
    splits = ("train", "train", "train", "validation", "test")
    extra = (lambda i: {"original_name": f"photo-{i:05d}.jpg", "flagged": i % 10 == 0, "excluded": i % 20 == 1}
             ) if curated else (lambda i: {})
    Image.objects.bulk_create(
        (Image(dataset=dataset, label=labels[i % len(labels)], split=splits[i // len(labels) % len(splits)],
               content_hash=f"{i:064x}", file=f"datasets/{dataset.pk}/images/{i:064x}.jpg",
               thumbnail=f"datasets/{dataset.pk}/thumbs/{i:064x}.jpg", width=256, height=256, **extra(i))
         for i in range(images)),
        batch_size=2000,
    )
    return dataset, labels
