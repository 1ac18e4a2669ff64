"""Mandatory in CI (MENAGERIE_REQUIRE_SHARED=1): the real animals3 photos, zipped on the fly, imported."""

import math
import time
import zipfile

import pytest

from classifier.images import IMAGE_SUFFIXES
from tests.shared import shared_path
from webapp.datasets.models import Image
from webapp.datasets.selectors import dataset_counts
from webapp.datasets.services import dataset_import_zip


@pytest.mark.slow
def test_animals3_zipped_on_the_fly_imports_every_photo_with_exact_counts(team, member, tmp_path):
    root = shared_path("datasets", "animals3")
    files = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
             for d in sorted(root.iterdir()) if d.is_dir()}
    assert set(files) == {"cats", "dogs", "panda"}
    archive_path = tmp_path / "animals3.zip"
    with zipfile.ZipFile(archive_path, "w", compression=zipfile.ZIP_STORED) as zf:
        for class_name, paths in files.items():
            for path in paths:
                zf.write(path, f"animals3/{class_name}/{path.name}")

    started = time.monotonic()
    with archive_path.open("rb") as archive:
        result = dataset_import_zip(archive=archive, user=member, name="animals3", team=team)
    seconds = time.monotonic() - started

    total = sum(len(paths) for paths in files.values())
    print(f"\nanimals3: {total} photos imported in {seconds:.1f} s ({total / seconds:.0f} images/s)")
    assert result.rejected == [] and result.duplicates == 0  # the photos are all distinct and valid
    counts = dataset_counts(result.dataset)
    assert {c["name"]: c["total"] for c in counts["classes"]} == {name: len(p) for name, p in files.items()}
    for row in counts["classes"]:  # stratified 85/5/10 per class, rounded half up
        n = row["total"]
        assert (row["test"], row["validation"]) == (math.floor(n * 0.10 + 0.5), math.floor(n * 0.05 + 0.5))
        assert row["train"] == n - row["test"] - row["validation"]
    assert Image.objects.filter(dataset=result.dataset).exclude(thumbnail="").count() == total
