"""Issue "Hardening" items in the imports: per-team dataset names, empty photos in an upload, capped rejection
lists with a download, small-entry zip bombs, and files that no row owns (staged imports, media_orphans)."""

import csv
import io
import os
import time
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from tests.webapp.datasets.conftest import class_zip, media_snapshot, photo_bytes, zip_bytes
from webapp.datasets.forms import DatasetImportForm
from webapp.datasets.models import Dataset, Image, Label, image_storage_name
from webapp.datasets.services import ImportRejected, dataset_import_zip


# --- item 6: dataset names are unique per team --------------------------------------------------------------------


def test_dataset_names_are_unique_per_team_and_never_leak_another_teams(team, other_team, member, outsider):
    dataset_import_zip(archive=class_zip({"cats": 1})[0], user=outsider, name="pets", team=other_team)
    mine = dataset_import_zip(archive=class_zip({"cats": 1})[0], user=member, name="pets", team=team).dataset
    assert mine.team == team and Dataset.objects.filter(name="pets").count() == 2
    with pytest.raises(ValidationError, match="already exists in team Vision"):
        dataset_import_zip(archive=class_zip({"dogs": 1})[0], user=member, name="pets", team=team)


def test_import_form_checks_the_name_within_the_chosen_team(team, other_team, member):
    Dataset.objects.create(name="pets", team=other_team)
    archive = SimpleUploadedFile("a.zip", class_zip({"cats": 1})[0].getvalue())
    data = {"name": "pets", "team": team.pk, "validation_percent": 5, "test_percent": 10}
    assert DatasetImportForm(data, {"archive": archive}, user=member).is_valid()
    Dataset.objects.create(name="pets", team=team)
    form = DatasetImportForm(data, {"archive": archive}, user=member)
    assert not form.is_valid() and "already exists in team Vision" in str(form.errors["name"])
    assert "Others" not in str(form.errors)


# --- item 9: small things -----------------------------------------------------------------------------------------


def test_an_empty_photo_in_an_upload_is_skipped_and_listed(client, dataset, member):
    label = Label.objects.create(dataset=dataset, name="cats")
    client.force_login(member)
    photos = [SimpleUploadedFile("good.jpg", photo_bytes(1)), SimpleUploadedFile("empty.jpg", b"")]
    response = client.post(reverse("datasets:upload", args=[dataset.pk]),
                           {"photos": photos, "label": label.pk, "split": "train"}, follow=True)
    assert list(dataset.images.values_list("original_name", flat=True)) == ["good.jpg"]
    page = response.content.decode()
    assert "empty.jpg" in page and "empty file (0 bytes)" in page


def test_the_result_page_caps_the_rejections_and_offers_the_full_list(client, team, member, settings):
    settings.DATASETS_REJECTIONS_SHOWN = 5
    entries = {"cats/good.jpg": photo_bytes(1)} | {f"cats/bad{i:02d}.jpg": b"not a photo" for i in range(12)}
    client.force_login(member)
    response = client.post(reverse("datasets:import"), {
        "name": "p", "team": team.pk, "validation_percent": 0, "test_percent": 0,
        "archive": SimpleUploadedFile("p.zip", zip_bytes(entries).getvalue()),
    }, follow=True)
    page = response.content.decode()
    assert page.count("<li><code>cats/bad") == 5 and "Showing the first 5 of 12" in page
    dataset = Dataset.objects.get(name="p")
    download = client.get(reverse("datasets:import_rejections", args=[dataset.pk]))
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["entry", "reason"] and sorted(r[0] for r in rows[1:]) == sorted(set(entries) - {"cats/good.jpg"})


def test_many_small_highly_compressed_entries_are_refused_before_reading(team, member, media_root):
    """Entries of 64 KiB skip the per-entry ratio check; 1,100 of them (zeros, ~1000:1) must still be refused."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cats/good.jpg", photo_bytes(1))
        zf.writestr("dogs/good.jpg", photo_bytes(2))
        for i in range(1100):
            zf.writestr(f"dogs/{i:04d}.jpg", b"\0" * 64 * 1024)
    buffer.seek(0)
    with pytest.raises(ImportRejected, match="would unpack to 68 MiB.*zip bomb"):  # from the headers, before reading
        dataset_import_zip(archive=buffer, user=member, name="bomb", team=team)
    assert not Dataset.objects.exists() and media_snapshot(media_root) == []


# --- item 1: no file without a row --------------------------------------------------------------------------------


def test_a_rejected_import_leaves_no_staging_behind_and_files_appear_only_with_rows(team, member, media_root):
    with pytest.raises(ImportRejected):
        dataset_import_zip(archive=zip_bytes({"cats/a.jpg": photo_bytes(1), "dogs/x.jpg": b"bad"}), user=member,
                           name="p", team=team)
    assert media_snapshot(media_root) == []
    result = dataset_import_zip(archive=class_zip({"cats": 2})[0], user=member, name="p", team=team)
    files = {str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file()}
    owned = {name for pair in Image.objects.values_list("file", "thumbnail") for name in pair}
    assert files == owned and len(owned) == 2 * result.total_added and not (media_root / "staging").exists()


def test_media_orphans_lists_by_default_and_deletes_or_completes_with_delete(dataset, media_root):
    label = Label.objects.create(dataset=dataset, name="cats")
    owned = image_storage_name(dataset.pk, "a" * 64, ".jpg")
    Image.objects.create(dataset=dataset, label=label, file=owned, content_hash="a" * 64, width=1, height=1)
    orphan = media_root / image_storage_name(dataset.pk, "b" * 64, ".jpg")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"orphan")
    staged = media_root / "staging" / "dead" / owned  # committed, then the process died before the move
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"owned photo")
    (media_root / "staging" / "dead" / "datasets" / "x.jpg").write_bytes(b"staged orphan")
    old = time.time() - 7200
    for path in (media_root / "staging").rglob("*"):
        os.utime(path, (old, old))

    out = io.StringIO()
    call_command("media_orphans", stdout=out)
    assert f"orphan: {orphan.relative_to(media_root)}" in out.getvalue() and "dry run" in out.getvalue()
    assert orphan.exists() and staged.exists()

    call_command("media_orphans", "--delete", stdout=io.StringIO())
    assert (media_root / owned).read_bytes() == b"owned photo"
    files = [str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file()]
    assert files == [owned] and not (media_root / "staging").exists()


def test_media_orphans_leaves_a_young_staging_folder_alone(media_root, db):
    young = media_root / "staging" / "busy" / "datasets" / "1" / "images" / "aa" / "x.jpg"
    young.parent.mkdir(parents=True)
    young.write_bytes(b"an import is writing")
    call_command("media_orphans", "--delete", stdout=io.StringIO())
    assert young.exists()
