"""Dataset photos in an S3 store (issue 26, items 1 and 3), against a real S3 server (SeaweedFS, tests/s3.py): an
import puts its files in the bucket and none on this machine's media folder, only once its rows commit; a rejected
one leaves the bucket as it was; deleting photos or a dataset removes their keys; the media view serves a photo
from the store to its team only; media_orphans finds and removes, or completes, on the store."""

import io
import os
import time
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.s3 import BUCKET
from tests.webapp.datasets.conftest import class_zip, photo_bytes, zip_bytes
from webapp.core import storage
from webapp.datasets.models import Image, Label, image_storage_name
from webapp.datasets.services import ImportRejected, dataset_delete, dataset_import_zip, images_delete


def keys(server) -> list[str]:
    """Every key in the bucket but the server's readiness marker."""
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"] != ".ready")


def local_files(root) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_import_stores_its_photos_in_the_bucket_and_none_in_the_media_folder(s3_storage, media_root, team,
                                                                                member, tmp_path):
    archive, entries = class_zip({"cats": 2, "dogs": 1})
    result = dataset_import_zip(archive=archive, user=member, name="pets", team=team)
    owned = sorted(f"media/{name}" for pair in Image.objects.values_list("file", "thumbnail") for name in pair)
    assert result.total_added == 3 and keys(s3_storage) == owned and len(owned) == 6
    assert local_files(media_root) == []
    assert local_files(tmp_path / "local-cache" / "staging") == []  # published, then the staging folder went
    image = Image.objects.get(original_name="cats/000.jpg")
    assert storage.local_file(image.file.name).read_bytes() == entries["cats/000.jpg"]


def test_a_rejected_import_leaves_the_bucket_as_it_was(s3_storage, team, member, tmp_path):
    dataset_import_zip(archive=class_zip({"cats": 1})[0], user=member, name="pets", team=team)
    before = keys(s3_storage)
    with pytest.raises(ImportRejected):  # "dogs" has no valid photo: the whole archive is refused
        dataset_import_zip(archive=zip_bytes({"cats/a.jpg": photo_bytes(7), "dogs/x.jpg": b"bad"}), user=member,
                           name="more", team=team)
    assert keys(s3_storage) == before and len(before) == 2
    assert local_files(tmp_path / "local-cache" / "staging") == []


def test_deleting_photos_and_a_dataset_removes_their_keys(s3_storage, team, member, other_team, outsider,
                                                           django_capture_on_commit_callbacks):
    mine = dataset_import_zip(archive=class_zip({"cats": 2, "dogs": 2})[0], user=member, name="pets",
                              team=team).dataset
    theirs = dataset_import_zip(archive=class_zip({"cats": 1}, seed=50)[0], user=outsider, name="pets",
                                team=other_team).dataset
    one = mine.images.filter(label__name="cats")[:1]
    gone = [f"media/{name}" for name in one.values_list("file", "thumbnail").get()]
    with django_capture_on_commit_callbacks(execute=True):  # the files go once the deletion commits
        images_delete(images=Image.objects.filter(pk__in=list(one.values_list("pk", flat=True))))
    assert not set(gone) & set(keys(s3_storage)) and len(keys(s3_storage)) == 8
    with django_capture_on_commit_callbacks(execute=True):
        dataset_delete(dataset=mine)
    assert keys(s3_storage) == sorted(f"media/{name}" for pair in theirs.images.values_list("file", "thumbnail")
                                      for name in pair)


def test_the_media_view_serves_a_photo_from_the_store_to_its_team_only(s3_storage, media_root, client, team,
                                                                       member, outsider):
    archive, entries = class_zip({"cats": 1})
    dataset_import_zip(archive=archive, user=member, name="pets", team=team)
    image = Image.objects.get()
    url = reverse("media", args=[image.file.name])
    assert image.file.url == url and image.thumbnail_url == reverse("media", args=[image.thumbnail.name])
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == entries["cats/000.jpg"]
    assert response["Content-Type"] == "image/jpeg" and "private" in response["Cache-Control"]
    thumb = client.get(reverse("media", args=[image.thumbnail.name]))
    assert thumb.status_code == 200 and b"".join(thumb.streaming_content)[:2] == b"\xff\xd8"
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(member)
    download = client.get(reverse("datasets:download", args=[image.dataset_id]))  # the photos read from the store
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert [archive.read(name) for name in archive.namelist()] == [entries["cats/000.jpg"]]
    storage.delete_names([image.file.name])  # the key went (the row is still there): a 404, not an error
    storage.local_cache().clear()
    assert client.get(url).status_code == 404
    assert local_files(media_root) == []


def test_media_orphans_on_the_store_removes_unowned_keys_and_completes_interrupted_publishes(s3_storage, dataset,
                                                                                          tmp_path):
    label = Label.objects.create(dataset=dataset, name="cats")
    owned = image_storage_name(dataset.pk, "a" * 64, ".jpg")
    Image.objects.create(dataset=dataset, label=label, file=owned, content_hash="a" * 64, width=1, height=1)
    orphan = image_storage_name(dataset.pk, "b" * 64, ".jpg")
    storage.write(orphan, b"orphan")
    stage = storage.staging_root() / "dead"  # committed, then the process died before the upload
    (stage / owned).parent.mkdir(parents=True)
    (stage / owned).write_bytes(b"owned photo")
    (stage / "datasets" / "x.jpg").write_bytes(b"staged orphan")
    old = time.time() - 7200
    for path in [stage, *stage.rglob("*")]:
        os.utime(path, (old, old))

    out = io.StringIO()
    call_command("media_orphans", stdout=out)
    assert f"orphan: {orphan}" in out.getvalue() and "1 interrupted moves would be completed" in out.getvalue()
    assert keys(s3_storage) == [f"media/{orphan}"]

    call_command("media_orphans", "--delete", stdout=io.StringIO())
    assert keys(s3_storage) == [f"media/{owned}"]
    assert storage.local_file(owned).read_bytes() == b"owned photo"
    assert not storage.staging_root().exists()
