"""Zip import: both layouts, wrappers, duplicates, deterministic stratified splits, result counts."""

import zipfile

import pytest
from PIL import Image as PILImage

from tests.webapp.datasets.conftest import class_zip, photo_bytes, zip_bytes
from webapp.datasets.models import Dataset, Image, Label
from webapp.datasets.services import dataset_import_zip


def test_class_folders_make_labels_images_files_and_thumbnails(team, member, media_root):
    archive, entries = class_zip({"cats": 20, "dogs": 10})
    result = dataset_import_zip(archive=archive, user=member, name="pets", team=team, description="d")

    dataset = Dataset.objects.get(name="pets")
    assert (dataset.team, dataset.created_by, dataset.description) == (team, member, "d")
    assert sorted(Label.objects.filter(dataset=dataset).values_list("name", flat=True)) == ["cats", "dogs"]
    assert result.total_added == 30 and result.duplicates == 0 and result.rejected == []
    assert {name: sum(per.values()) for name, per in result.added.items()} == {"cats": 20, "dogs": 10}
    image = Image.objects.get(original_name="cats/000.jpg")
    assert image.label.name == "cats" and image.added_by == member
    assert (image.width, image.height) == (24, 24)
    assert (media_root / image.file.name).read_bytes() == entries["cats/000.jpg"]
    # Paths come from the dataset id and the content hash only, never from the entry name.
    assert image.file.name == f"datasets/{dataset.pk}/images/{image.content_hash[:2]}/{image.content_hash}.jpg"
    assert image.thumbnail.name == f"datasets/{dataset.pk}/thumbs/{image.content_hash[:2]}/{image.content_hash}.jpg"
    with PILImage.open(media_root / image.thumbnail.name) as thumb:
        assert thumb.format == "JPEG"
    assert image.thumbnail_url == f"/media/{image.thumbnail.name}"


def test_default_split_is_85_5_10_stratified_per_class(team, member):
    archive, _ = class_zip({"cats": 40, "dogs": 20})
    result = dataset_import_zip(archive=archive, user=member, name="pets", team=team)
    assert result.added["cats"] == {"train": 34, "validation": 2, "test": 4}
    assert result.added["dogs"] == {"train": 17, "validation": 1, "test": 2}
    assert Image.objects.filter(label__name="cats", split="test").count() == 4


def test_split_assignment_is_deterministic_from_content_not_names_or_order(team, member):
    archive, entries = class_zip({"cats": 30})
    dataset_import_zip(archive=archive, user=member, name="a", team=team)
    # Same photos, other names, other order, in another dataset: same split for each content hash.
    renamed = {f"cats/renamed-{i}.jpg": data for i, data in enumerate(reversed(list(entries.values())))}
    dataset_import_zip(archive=zip_bytes(renamed), user=member, name="b", team=team)
    first = dict(Image.objects.filter(dataset__name="a").values_list("content_hash", "split"))
    second = dict(Image.objects.filter(dataset__name="b").values_list("content_hash", "split"))
    assert first == second


def test_custom_fractions(team, member):
    archive, _ = class_zip({"cats": 10})
    result = dataset_import_zip(archive=archive, user=member, name="p", team=team, fractions=(0.6, 0.2, 0.2))
    assert result.added["cats"] == {"train": 6, "validation": 2, "test": 2}


def test_split_layout_keeps_splits_and_accepts_a_wrapper_folder(team, member):
    entries = {}
    for split, count in (("train", 5), ("validation", 2), ("test", 3)):
        for class_name in ("cats", "dogs"):
            for i in range(count):
                entries[f"animals/{split}/{class_name}/{i}.png"] = photo_bytes(hash((split, class_name, i)), fmt="PNG")
    result = dataset_import_zip(archive=zip_bytes(entries), user=member, name="p", team=team)
    assert dict(result.added) == {c: {"train": 5, "validation": 2, "test": 3} for c in ("cats", "dogs")}
    assert Image.objects.filter(split="validation", label__name="dogs").count() == 2
    assert Image.objects.first().file.name.endswith(".png")


def test_wrapped_class_folders_are_unwrapped(team, member):
    archive, _ = class_zip({"cats": 2, "dogs": 2}, prefix="export/photos/")
    result = dataset_import_zip(archive=archive, user=member, name="p", team=team)
    assert set(result.added) == {"cats", "dogs"}


def test_duplicates_within_the_archive_and_the_dataset_are_skipped_and_counted(team, member, media_root):
    same = photo_bytes(1)
    entries = {"cats/a.jpg": same, "cats/b.jpg": same, "dogs/c.jpg": photo_bytes(2)}
    result = dataset_import_zip(archive=zip_bytes(entries), user=member, name="p", team=team)
    assert result.total_added == 2 and result.duplicates == 1
    dataset = Dataset.objects.get(name="p")
    files_before = [p for p in media_root.rglob("*") if p.is_file()]
    again = {**entries, "dogs/new.jpg": photo_bytes(3)}
    result = dataset_import_zip(archive=zip_bytes(again), user=member, dataset=dataset)
    assert result.total_added == 1 and result.duplicates == 3
    assert Image.objects.filter(dataset=dataset).count() == 3
    files_after = [p for p in media_root.rglob("*") if p.is_file()]
    assert len(files_after) == len(files_before) + 2  # one photo and its thumbnail


def test_same_photo_may_be_in_two_datasets(team, member):
    entries = {"cats/a.jpg": photo_bytes(1)}
    dataset_import_zip(archive=zip_bytes(entries), user=member, name="one", team=team)
    dataset_import_zip(archive=zip_bytes(entries), user=member, name="two", team=team)
    assert Image.objects.count() == 2


def test_junk_files_are_ignored_and_loose_root_files_skipped(team, member):
    entries = {"cats/a.jpg": photo_bytes(1), "__MACOSX/cats/._a.jpg": b"junk", "cats/.DS_Store": b"junk",
               "README.txt": b"hello", "dogs/b.jpg": photo_bytes(2)}
    result = dataset_import_zip(archive=zip_bytes(entries), user=member, name="p", team=team)
    assert result.total_added == 2 and result.ignored == 2
    assert result.rejected == [("README.txt", "outside any class folder")]


def test_deflated_archives_and_other_formats(team, member):
    entries = {"cats/a.webp": photo_bytes(1, fmt="WEBP"), "cats/b.bmp": photo_bytes(2, fmt="BMP"),
               "dogs/c.gif": photo_bytes(3, fmt="GIF", mode="L"), "dogs/d.png": photo_bytes(4, fmt="PNG", mode="RGBA")}
    result = dataset_import_zip(archive=zip_bytes(entries, compression=zipfile.ZIP_DEFLATED), user=member,
                                name="p", team=team)
    assert result.total_added == 4 and result.rejected == []
    assert sorted(name.rsplit(".", 1)[1] for name in Image.objects.values_list("file", flat=True)) == [
        "bmp", "gif", "png", "webp"]


def test_storage_path_ignores_a_misleading_extension(team, member):
    entries = {"cats/photo.png": photo_bytes(1, fmt="JPEG"), "dogs/x.exe": photo_bytes(2)}
    dataset_import_zip(archive=zip_bytes(entries), user=member, name="p", team=team)
    assert all(name.endswith(".jpg") for name in Image.objects.values_list("file", flat=True))


@pytest.mark.django_db
def test_result_as_dict_is_json_ready(team, member):
    import json

    archive, _ = class_zip({"cats": 3})
    result = dataset_import_zip(archive=archive, user=member, name="p", team=team)
    data = json.loads(json.dumps(result.as_dict()))
    assert data["added"] == {"cats": {"train": 1, "validation": 1, "test": 1}} and data["total_added"] == 3
