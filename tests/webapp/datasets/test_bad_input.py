"""Bad input, each case with real files. Archive-level problems reject everything and change nothing (database
and MEDIA_ROOT exactly as before); problems of one file skip it and list it with its reason."""

import io
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from tests.webapp.datasets.conftest import class_zip, db_snapshot, media_snapshot, photo_bytes, zip_bytes
from webapp.datasets.models import Dataset, Image
from webapp.datasets.services import ImportRejected, dataset_import_zip, images_add


@pytest.fixture
def existing(team, member):
    """A dataset with photos already on disk, so "nothing changed" is checked against real content."""
    archive, _ = class_zip({"cats": 3, "dogs": 3}, seed=1000)
    return dataset_import_zip(archive=archive, user=member, name="existing", team=team).dataset


def assert_rejected_without_changes(archive, media_root, *, team, member, dataset=None) -> ImportRejected:
    before = (db_snapshot(), media_snapshot(media_root))
    with pytest.raises(ImportRejected) as caught:
        if dataset is None:
            dataset_import_zip(archive=archive, user=member, name="new", team=team)
        else:
            dataset_import_zip(archive=archive, user=member, dataset=dataset)
    assert (db_snapshot(), media_snapshot(media_root)) == before
    assert not Dataset.objects.filter(name="new").exists()
    return caught.value


def entry_names(rejected: ImportRejected) -> set[str]:
    return {name for name, _ in rejected.entries}


# --- the whole archive is refused -----------------------------------------------------------------------------


def test_not_a_zip(existing, media_root, team, member):
    fake = io.BytesIO(b"this is not a zip at all" * 10)
    error = assert_rejected_without_changes(fake, media_root, team=team, member=member)
    assert "not a zip archive" in error.text


def test_archive_over_the_size_limit(existing, media_root, team, member, settings):
    settings.DATASETS_MAX_ARCHIVE_BYTES = 1000
    archive, _ = class_zip({"cats": 5, "dogs": 5})
    error = assert_rejected_without_changes(archive, media_root, team=team, member=member)
    assert "larger than the limit" in error.text


def test_too_many_entries(existing, media_root, team, member, settings):
    settings.DATASETS_ZIP_MAX_ENTRIES = 5
    archive, _ = class_zip({"cats": 3, "dogs": 3})
    error = assert_rejected_without_changes(archive, media_root, team=team, member=member, dataset=existing)
    assert "6 entries; the limit is 5" in error.text


def test_total_uncompressed_size_over_the_limit(existing, media_root, team, member, settings):
    settings.DATASETS_ZIP_MAX_TOTAL_BYTES = 1024 * 1024
    big = photo_bytes(7, size=(600, 600), fmt="BMP")  # ~1 MiB uncompressed, stored
    archive = zip_bytes({"cats/a.bmp": big, "dogs/b.bmp": photo_bytes(8, size=(300, 300), fmt="BMP")})
    error = assert_rejected_without_changes(archive, media_root, team=team, member=member)
    assert "unpack to" in error.text and "zip bomb" in error.text


def test_compression_ratio_bomb_with_default_limits(existing, media_root, team, member):
    bomb = b"\0" * (8 * 1024 * 1024)  # 8 MiB of zeros deflate to ~8 KiB: ratio ~1000:1
    archive = zip_bytes({"cats/ok.jpg": photo_bytes(1), "dogs/bomb.jpg": bomb}, compression=zipfile.ZIP_DEFLATED)
    assert len(archive.getvalue()) < 100_000
    error = assert_rejected_without_changes(archive, media_root, team=team, member=member)
    assert entry_names(error) == {"dogs/bomb.jpg"} and "compression ratio" in error.entries[0][1]


@pytest.mark.parametrize("bad_name", ["../evil.jpg", "cats/../../evil.jpg", "/etc/cats/evil.jpg",
                                      "C:/cats/evil.jpg", "..\\..\\cats\\evil.jpg"])
def test_path_traversal_and_absolute_paths(existing, media_root, team, member, tmp_path, bad_name):
    archive = zip_bytes({"cats/a.jpg": photo_bytes(1), "dogs/b.jpg": photo_bytes(2), bad_name: photo_bytes(3)})
    error = assert_rejected_without_changes(archive, media_root, team=team, member=member)
    assert entry_names(error) == {bad_name} and "unsafe path" in error.text
    assert not list(tmp_path.rglob("evil.jpg"))


def test_symlink_entries(existing, media_root, team, member):
    link = zipfile.ZipInfo("cats/link.jpg")
    link.create_system = 3  # unix
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = zip_bytes({"cats/a.jpg": photo_bytes(1), "dogs/b.jpg": photo_bytes(2),
                         "cats/link.jpg": (link, "/etc/passwd")})
    error = assert_rejected_without_changes(archive, media_root, team=team, member=member)
    assert error.entries == [("cats/link.jpg", "symbolic link")]


def test_nested_archives(existing, media_root, team, member):
    inner = zip_bytes({"cats/x.jpg": photo_bytes(9)}).getvalue()
    archive = zip_bytes({"cats/a.jpg": photo_bytes(1), "dogs/more.zip": inner, "dogs/c.tar.gz": b"\x1f\x8b..."})
    error = assert_rejected_without_changes(archive, media_root, team=team, member=member)
    assert entry_names(error) == {"dogs/more.zip", "dogs/c.tar.gz"} and "nested archive" in error.text


@pytest.mark.parametrize("entries", [
    {"cats/a.jpg": photo_bytes(1), "dogs/deeper/b.jpg": photo_bytes(2)},  # a file too deep
    {"train/cats/a.jpg": photo_bytes(1), "extra/cats/b.jpg": photo_bytes(2)},  # folder beside the splits
    {"validation/cats/a.jpg": photo_bytes(1), "test/cats/b.jpg": photo_bytes(2)},  # no train/
    {"train/a.jpg": photo_bytes(1), "train/cats/b.jpg": photo_bytes(2)},  # photo directly in a split
    {},  # empty archive
], ids=["too-deep", "extra-folder", "no-train", "photo-in-split", "empty"])
def test_bad_layout_shows_the_expected_layouts(existing, media_root, team, member, entries):
    error = assert_rejected_without_changes(zip_bytes(entries), media_root, team=team, member=member)
    assert "Expected one of these layouts" in error.text
    assert "one folder per class" in error.text and "train/, validation/ and test/" in error.text


def test_a_class_with_no_images_rejects_and_removes_files_already_written(existing, media_root, team, member):
    entries = {
        "cats/a.jpg": photo_bytes(1), "cats/b.jpg": photo_bytes(2),  # valid: written before the check fails
        "dogs/notes.txt": b"not a photo",  # a class whose only file is rejected
        "birds/": None,  # an empty class folder
    }
    error = assert_rejected_without_changes(zip_bytes(entries), media_root, team=team, member=member)
    assert {"dogs/", "birds/"} <= entry_names(error) and "class with no images" in error.text
    assert "dogs/notes.txt" in entry_names(error)


def test_a_class_with_no_images_when_adding_to_an_existing_dataset(existing, media_root, team, member):
    entries = {"cats/new.jpg": photo_bytes(50), "emus/": None}
    error = assert_rejected_without_changes(zip_bytes(entries), media_root, team=team, member=member,
                                            dataset=existing)
    assert entry_names(error) == {"emus/"}


def test_duplicate_dataset_name_changes_nothing(existing, media_root, team, member):
    archive, _ = class_zip({"cats": 2})
    before = (db_snapshot(), media_snapshot(media_root))
    with pytest.raises(Exception, match="already exists"):
        dataset_import_zip(archive=archive, user=member, name="existing", team=team)
    assert (db_snapshot(), media_snapshot(media_root)) == before


# --- one entry is skipped and listed, the rest is imported ----------------------------------------------------


def truncated_jpeg() -> bytes:
    data = photo_bytes(77, size=(64, 64))
    return data[: len(data) // 2]


def tiff_bytes() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (8, 8), "red").save(out, format="TIFF")
    return out.getvalue()


def bomb_png() -> bytes:
    """100 million pixels (over the default 40 million limit) in a ~12 KiB PNG."""
    out = io.BytesIO()
    PILImage.new("1", (10_000, 10_000)).save(out, format="PNG")
    return out.getvalue()


def test_bad_entries_are_skipped_with_reasons(team, member):
    entries = {
        "cats/good.jpg": photo_bytes(1),
        "cats/notes.txt": b"just text",
        "cats/fake.jpg": b"<html>not a jpeg</html>",
        "cats/empty.jpg": b"",
        "cats/truncated.jpg": truncated_jpeg(),
        "dogs/good.png": photo_bytes(2, fmt="PNG"),
        "dogs/scan.tiff": tiff_bytes(),
        "dogs/bomb.png": bomb_png(),
    }
    result = dataset_import_zip(archive=zip_bytes(entries), user=member, name="p", team=team)
    reasons = dict(result.rejected)
    assert result.total_added == 2 and Image.objects.count() == 2
    assert set(reasons) == set(entries) - {"cats/good.jpg", "dogs/good.png"}
    assert reasons["cats/notes.txt"].startswith("not an image")
    assert reasons["cats/fake.jpg"].startswith("not an image")
    assert reasons["cats/empty.jpg"] == "empty file (0 bytes)"
    assert reasons["cats/truncated.jpg"].startswith("damaged or truncated image")
    assert reasons["dogs/scan.tiff"].startswith("unsupported format TIFF")
    assert reasons["dogs/bomb.png"].startswith("too many pixels") and "100000000" in reasons["dogs/bomb.png"]


def test_pixel_limit_is_a_setting(team, member, settings):
    settings.DATASETS_MAX_IMAGE_PIXELS = 30 * 30
    entries = {"cats/small.jpg": photo_bytes(1, size=(20, 20)), "cats/large.jpg": photo_bytes(2, size=(40, 40))}
    result = dataset_import_zip(archive=zip_bytes(entries), user=member, name="p", team=team)
    assert result.total_added == 1 and [name for name, _ in result.rejected] == ["cats/large.jpg"]


def test_entry_over_the_photo_size_limit_is_skipped(team, member, settings):
    small, large = photo_bytes(1, size=(8, 8)), photo_bytes(2, size=(64, 64))
    settings.DATASETS_MAX_IMAGE_BYTES = len(small) + 10
    result = dataset_import_zip(archive=zip_bytes({"cats/s.jpg": small, "cats/l.jpg": large}), user=member,
                                name="p", team=team)
    assert result.total_added == 1 and "size limit" in dict(result.rejected)["cats/l.jpg"]


def test_damaged_zip_entry_is_skipped(team, member):
    good, victim = photo_bytes(1), photo_bytes(2, size=(64, 64))
    raw = zip_bytes({"cats/good.jpg": good, "cats/victim.jpg": victim}).getvalue()
    middle = victim[len(victim) // 2: len(victim) // 2 + 32]
    damaged = raw.replace(middle, bytes(b ^ 0xFF for b in middle), 1)  # CRC no longer matches
    result = dataset_import_zip(archive=io.BytesIO(damaged), user=member, name="p", team=team)
    assert result.total_added == 1 and "damaged zip entry" in dict(result.rejected)["cats/victim.jpg"]


# --- uploads --------------------------------------------------------------------------------------------------


def test_uploads_over_the_size_limit_and_bad_photos_are_skipped(dataset, member, media_root, settings):
    label = dataset.labels.create(name="cats")
    ok = photo_bytes(1, size=(8, 8))
    settings.DATASETS_MAX_IMAGE_BYTES = len(ok) + 10
    files = [SimpleUploadedFile("ok.jpg", ok), SimpleUploadedFile("huge.jpg", photo_bytes(2, size=(80, 80))),
             SimpleUploadedFile("t.jpg", truncated_jpeg()[:len(ok)]), SimpleUploadedFile("dup.jpg", ok)]
    result = images_add(dataset=dataset, label=label, split="test", files=files, user=member)
    assert result.total_added == 1 and result.duplicates == 1
    reasons = dict(result.rejected)
    assert "size limit" in reasons["huge.jpg"] and reasons["t.jpg"].startswith("damaged or truncated")
    image = Image.objects.get()
    assert (image.split, image.label, image.original_name) == ("test", label, "ok.jpg")


def test_encrypted_entry_is_skipped(team, member):
    raw = bytearray(zip_bytes({"cats/good.jpg": photo_bytes(1), "cats/secret.jpg": photo_bytes(2)}).getvalue())
    central = raw.rfind(b"PK\x01\x02")  # the last central directory header: cats/secret.jpg
    raw[central + 8] |= 0x1  # general purpose flag bit 0: encrypted
    result = dataset_import_zip(archive=io.BytesIO(bytes(raw)), user=member, name="p", team=team)
    assert result.total_added == 1 and result.rejected == [("cats/secret.jpg", "encrypted entry")]
