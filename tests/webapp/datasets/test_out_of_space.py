"""A full temporary folder during an import: the answer says the server is out of space (507), and nothing is
written. The disk is made full at the OS boundary: the upload's temporary file is /dev/full, whose writes fail with
ENOSPC as a full disk's do; the import code itself runs unchanged."""

import os

import pytest
from django.core.files import uploadedfile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.webapp.datasets.conftest import class_zip, db_snapshot, media_snapshot
from webapp.datasets.models import Dataset

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")


@pytest.fixture
def full_temp_folder(monkeypatch, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # the zip is spooled to a temporary file, as large uploads are
    monkeypatch.setattr(uploadedfile.tempfile, "NamedTemporaryFile", lambda *args, **kwargs: open("/dev/full", "w+b"))


def test_an_import_into_a_full_temporary_folder_says_so_and_writes_nothing(team, member, media_root,
                                                                         full_temp_folder):
    before = db_snapshot()
    client = Client(raise_request_exception=False)
    client.force_login(member)
    archive = class_zip({"cats": 3, "dogs": 3})[0].getvalue()
    assert len(archive) > 1024
    response = client.post(reverse("datasets:import"), {
        "name": "pets", "team": team.pk, "validation_percent": 0, "test_percent": 0,
        "archive": SimpleUploadedFile("pets.zip", archive),
    })
    assert response.status_code == 507
    page = " ".join(response.content.decode().split())
    assert "The server is out of space" in page and "ran out of temporary space" in page and "nothing was saved" in page
    assert not Dataset.objects.exists() and db_snapshot() == before
    assert media_snapshot(media_root) == []


def test_an_api_client_gets_the_same_status_in_json(member, full_temp_folder):
    client = Client(raise_request_exception=False)
    client.force_login(member)
    response = client.post(reverse("experiments:api_predict"), {"image": SimpleUploadedFile("a.jpg", b"x" * 4096)})
    assert response.status_code == 507 and "error" in response.json()
