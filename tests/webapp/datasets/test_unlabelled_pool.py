"""The unlabelled pool: photos with no class beside a dataset's labelled ones. Loose photos of a zip or folder, an
import marked unlabelled, uploads with no class and the server command fill it; duplicates are reported as
for labelled photos; no job trains, evaluates or audits on a photo of it."""

import io
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from classifier.data import split_of_hash
from tests.webapp.datasets.conftest import class_zip, photo_bytes, zip_bytes
from webapp.datasets.models import Image
from webapp.datasets.services import dataset_import_folder, dataset_import_zip, images_add


def _pool(dataset):
    return Image.objects.unlabelled().filter(dataset=dataset)


def test_a_zip_of_loose_photos_fills_the_pool_each_photo_split_by_its_own_hash(team, member):
    archive, _ = class_zip({"cats": 4, "dogs": 4})
    result = dataset_import_zip(archive=archive, user=member, name="pets", team=team,
                                fractions=(0.6, 0.2, 0.2))
    dataset = result.dataset
    assert dataset.fractions == (0.6, 0.2, 0.2)  # kept for the photos labelled in the app
    loose = {f"{i}.jpg": photo_bytes(100 + i) for i in range(6)}
    loose["again.jpg"] = photo_bytes(1)  # the first cat, labelled already: a duplicate, as today
    result = dataset_import_zip(archive=zip_bytes(loose), user=member, dataset=dataset)
    assert (result.unlabelled, result.duplicates, result.total_added, dict(result.added)) == (6, 1, 6, {})
    assert result.as_dict()["unlabelled"] == 6
    pool = list(_pool(dataset))
    assert sorted(p.original_name for p in pool) == sorted(set(loose) - {"again.jpg"})
    assert all(p.split == split_of_hash(p.content_hash, (0.6, 0.2, 0.2)) and p.added_by == member for p in pool)
    assert Image.objects.labelled().filter(dataset=dataset).count() == 8  # the labelled photos are untouched
    again = dataset_import_zip(archive=zip_bytes(loose), user=member, dataset=dataset)
    assert (again.unlabelled, again.duplicates) == (0, 7)


def test_an_unlabelled_import_pools_every_photo_whatever_its_folders(team, member):
    entries = {"holiday/a.jpg": photo_bytes(1), "holiday/b.jpg": photo_bytes(2), "misc/c.jpg": photo_bytes(3)}
    result = dataset_import_zip(archive=zip_bytes(entries), user=member, name="trip", team=team, unlabelled=True)
    assert result.unlabelled == 3 and not result.dataset.labels.exists()
    assert _pool(result.dataset).count() == 3
    # the same zip without the choice: two classes named after the folders
    classes = dataset_import_zip(archive=zip_bytes(entries), user=member, name="trip-classes", team=team)
    assert sorted(classes.dataset.labels.values_list("name", flat=True)) == ["holiday", "misc"]


def test_uploads_without_a_class_and_the_server_command_fill_the_pool(dataset, member, tmp_path):
    photos = [SimpleUploadedFile(f"{i}.jpg", photo_bytes(200 + i)) for i in range(3)]
    result = images_add(dataset=dataset, label=None, split=None, files=photos, user=member)
    assert result.unlabelled == 3 and _pool(dataset).count() == 3

    folder = tmp_path / "incoming"
    (folder / "day1").mkdir(parents=True)
    for i in range(4):
        (folder / "day1" / f"{i}.jpg").write_bytes(photo_bytes(300 + i))
    (folder / "day1" / "dup.jpg").write_bytes(photo_bytes(200))  # uploaded above
    out = io.StringIO()
    call_command("import_dataset", str(folder), "--name", dataset.name, "--team", dataset.team.name,
                 "--unlabelled", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["unlabelled"], report["duplicates"], report["added"]) == (4, 1, {})
    assert _pool(dataset).count() == 7
    assert all(p.split == split_of_hash(p.content_hash, dataset.fractions) for p in _pool(dataset))
    resumed = dataset_import_folder(path=folder, dataset=dataset, unlabelled=True)
    assert (resumed.unlabelled, resumed.duplicates) == (0, 5)


def test_the_upload_page_offers_the_pool(client, dataset, member):
    client.force_login(member)
    response = client.post(reverse("datasets:upload", args=[dataset.pk]),
                           {"photos": [SimpleUploadedFile("a.jpg", photo_bytes(5))], "unlabelled": "on",
                            "split": "train"})
    assert response.status_code == 302 and _pool(dataset).count() == 1
    page = client.get(reverse("datasets:detail", args=[dataset.pk])).content.decode()
    assert "Unlabelled pool: <strong>1</strong>" in page and "1 unlabelled" in page
    photo = _pool(dataset).get()
    assert "unlabelled" in client.get(reverse("datasets:photo", args=[dataset.pk, photo.pk])).content.decode()
    refused = client.post(reverse("datasets:upload", args=[dataset.pk]),
                          {"photos": [SimpleUploadedFile("b.jpg", photo_bytes(6))], "unlabelled": "on",
                           "new_label": "cats", "split": "train"})
    assert refused.status_code == 200 and "have no class" in refused.content.decode()
