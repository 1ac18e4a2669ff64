"""A dataset's description is capped at 10,000 characters in the form, the model and the import service (a 9 MiB
one was accepted); a refused one changes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.webapp.datasets.conftest import class_zip, db_snapshot, media_snapshot
from webapp.core.text import TEXT_MAX_LENGTH
from webapp.datasets.models import Dataset
from webapp.datasets.services import dataset_import_zip

TOO_LONG = "x" * (TEXT_MAX_LENGTH + 1)


def test_the_import_form_refuses_a_description_over_the_limit_and_imports_nothing(client, team, member, media_root):
    client.force_login(member)

    def post(description):
        return client.post(reverse("datasets:import"), {
            "name": "pets", "team": team.pk, "description": description, "validation_percent": 0,
            "test_percent": 0, "archive": SimpleUploadedFile("p.zip", class_zip({"cats": 1, "dogs": 1})[0].getvalue()),
        })

    response = post(TOO_LONG)
    assert response.status_code == 200 and "at most 10000 characters" in response.content.decode()
    assert not Dataset.objects.exists() and media_snapshot(media_root) == []
    assert post("x" * TEXT_MAX_LENGTH).status_code == 302
    assert len(Dataset.objects.get(name="pets").description) == TEXT_MAX_LENGTH


def test_the_model_and_the_service_refuse_it_too(team, member, media_root):
    with pytest.raises(ValidationError, match="description"):
        Dataset(name="pets", team=team, description=TOO_LONG).full_clean()
    before = db_snapshot()
    with pytest.raises(ValidationError, match="at most 10000 characters"):
        dataset_import_zip(archive=class_zip({"cats": 1})[0], user=member, name="pets", team=team,
                           description=TOO_LONG)
    assert db_snapshot() == before and media_snapshot(media_root) == []
