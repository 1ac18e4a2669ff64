"""The web app's imports and the CLI read the same folder the same way, file by file: one layout rule
(classifier.data.layout_detect) and one split rule (classifier.data.split_assign)."""

import io
import zipfile

import pytest

from classifier.data import folder_splits
from tests.webapp.datasets.conftest import photo_bytes
from tests.webapp.datasets.test_import_folder import make_folder
from webapp.datasets.models import Image
from webapp.datasets.services import dataset_import_folder, dataset_import_zip


def cli_reading(folder, fractions) -> dict[str, tuple[str, str]]:
    """{relative path: (class, split)} as `python -m classifier train|audit` reads the folder."""
    splits, _ = folder_splits(folder, fractions)
    return {p.relative_to(folder).as_posix(): (label, split)
            for split, by_label in splits.items() for label, paths in by_label.items() for p in paths}


def web_reading(dataset) -> dict[str, tuple[str, str]]:
    return {name: (label, split) for name, label, split
            in Image.objects.filter(dataset=dataset).values_list("original_name", "label__name", "split")}


def test_web_import_and_cli_assign_the_same_split_to_each_file(team, tmp_path):
    # Sizes where the two old rules differed: 3 (old web: all train), 25 and 45 (half-way roundings).
    folder = make_folder(tmp_path / "photos", {"cats": 3, "dogs": 25, "owls": 45})
    fractions = (0.7, 0.1, 0.2)
    result = dataset_import_folder(path=folder, name="pets", team=team, fractions=fractions)
    web = web_reading(result.dataset)
    assert len(web) == 73 and web == cli_reading(folder, fractions)
    assert [split for _, split in web.values()].count("test") == 1 + 5 + 9  # 0.6 -> 1 (minimum one), 5.0, 9.0


LAYOUTS = {
    "class folders": {"cats": 3, "dogs": 25, "owls": 45},
    "splits with aliases": {"train/cats": 6, "train/dogs": 5, "val/cats": 2, "valid/dogs": 1, "Test/cats": 2,
                            "Test/dogs": 3},
    "wrapped class folders": {"export/photos/cats": 7, "export/photos/dogs": 9},
    "wrapped splits": {"animals/train/cats": 4, "animals/train/dogs": 4, "animals/validation/dogs": 1,
                       "animals/test/cats": 1, "animals/test/dogs": 2},
    "test only": {"test/cats": 3, "test/dogs": 4},
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_folder_imported_as_a_zip_and_read_by_the_cli_gives_the_same_classes_and_splits(layout, team, member,
                                                                                       tmp_path):
    folder, n = tmp_path / "photos", 0
    for class_folder, count in LAYOUTS[layout].items():
        (folder / class_folder).mkdir(parents=True)
        for i in range(count):
            n += 1
            (folder / class_folder / f"{i:03d}.jpg").write_bytes(photo_bytes(n))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*.jpg"), reverse=True):  # listing order must not matter either
            zf.write(path, path.relative_to(folder).as_posix())
    fractions = (0.7, 0.1, 0.2)
    result = dataset_import_zip(archive=archive, user=member, name=layout, team=team, fractions=fractions)

    web, cli = web_reading(result.dataset), cli_reading(folder, fractions)
    assert len(web) == n and web == cli
    assert {label for label, _ in web.values()} == {path.rsplit("/", 1)[-1] for path in LAYOUTS[layout]}
    if layout == "test only":  # an evaluation set, not a class named "test"
        assert {split for _, split in web.values()} == {"test"}
