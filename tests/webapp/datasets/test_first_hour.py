"""Issue 14 ("A new user's first hour"), the datasets' part: evaluation-only datasets (item 3: a test/ folder alone,
or a 100 % test split) and the import page's fields (item 8: help under each field, the only team chosen)."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from tests.webapp.datasets.conftest import class_zip, photo_bytes, zip_bytes
from webapp.datasets.models import Dataset, Image

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def post_import(client, team, archive, **fields):
    archive.name = "set.zip"
    return client.post(reverse("datasets:import"), {
        "name": "held-out", "team": team.pk, "description": "", "archive": archive, "validation_percent": 5,
        "test_percent": 10, **fields})


def splits_of(name: str) -> set[str]:
    return set(Image.objects.filter(dataset__name=name).values_list("split", flat=True))


def test_a_zip_with_only_a_test_folder_imports_as_an_evaluation_only_dataset(member_client, team):
    archive = zip_bytes({f"test/{cls}/{i}.jpg": photo_bytes(10 * n + i)
                         for n, cls in enumerate(["cat", "dog"]) for i in range(3)})
    response = post_import(member_client, team, archive)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Image.objects.filter(dataset__name="held-out").count() == 6 and splits_of("held-out") == {"test"}


def test_a_split_layout_with_validation_but_no_train_folder_is_still_refused(member_client, team):
    archive = zip_bytes({"validation/cat/1.jpg": photo_bytes(1), "test/cat/2.jpg": photo_bytes(2)})
    page = post_import(member_client, team, archive).content.decode()
    assert "the split layout needs a train/ folder (or only a test/ folder" in page
    assert not Dataset.objects.exists()


def test_a_100_percent_test_split_is_accepted_and_other_full_splits_are_not(member_client, team):
    archive, _ = class_zip({"cat": 4, "dog": 4})
    assert post_import(member_client, team, archive, validation_percent=0, test_percent=100).status_code == 302
    assert splits_of("held-out") == {"test"}
    archive, _ = class_zip({"cat": 4, "dog": 4}, seed=50)
    page = post_import(member_client, team, archive, name="bad", validation_percent=10,
                       test_percent=90).content.decode()
    assert "evaluation-only dataset" in page and not Dataset.objects.filter(name="bad").exists()


def test_the_import_command_takes_a_100_percent_test_split(tmp_path, team):
    for n, cls in enumerate(["cat", "dog"]):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "photos" / cls / f"{i}.jpg").write_bytes(photo_bytes(20 * n + i))
    call_command("import_dataset", str(tmp_path / "photos"), "--name", "held-out", "--team", team.name,
                 "--test", "1", "--validation", "0", "--no-progress")
    assert splits_of("held-out") == {"test"}


def test_the_import_form_puts_help_under_each_field_and_chooses_the_only_team(member_client, member, team):
    page = member_client.get(reverse("datasets:import")).content.decode()
    form = page[page.index('enctype="multipart/form-data"'):page.index("Expected layouts")]
    assert "<p><label" not in form  # not form.as_p: each field in its own block, its help text with it
    assert re.search(r'<div class="field"><label for="id_test_percent">.*?id="id_test_percent_helptext"', form, re.S)
    assert re.search(r'<input type="hidden" name="team" value="%d"' % team.pk, page)
    assert "Team: <strong>Vision</strong>" in page and "---------" not in page
    member.groups.add(Group.objects.create(name="Second"))
    page = member_client.get(reverse("datasets:import")).content.decode()
    assert '<select name="team"' in page and ">Second</option>" in page
