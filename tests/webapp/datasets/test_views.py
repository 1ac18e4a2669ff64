"""Team pages: list, detail, import, upload, delete; visibility through datasets_for_user."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.webapp.datasets.conftest import bulk_images, class_zip, db_snapshot, media_snapshot, photo_bytes, zip_bytes
from webapp.datasets.models import Dataset, Image
from webapp.datasets.selectors import dataset_counts, datasets_for_user


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def test_urls_named_in_the_api_contract():
    assert reverse("datasets:list") == "/datasets/"
    assert reverse("datasets:import") == "/datasets/import/"
    assert reverse("datasets:detail", args=[3]) == "/datasets/3/"
    assert reverse("datasets:upload", args=[3]) == "/datasets/3/upload/"


def test_datasets_for_user_by_team_and_staff(dataset, member, outsider, staff, other_team):
    theirs = Dataset.objects.create(name="theirs", team=other_team)
    assert list(datasets_for_user(member)) == [dataset]
    assert list(datasets_for_user(outsider)) == [theirs]
    assert set(datasets_for_user(staff)) == {dataset, theirs}


def test_pages_need_a_login(client, dataset):
    response = client.get(reverse("datasets:detail", args=[dataset.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_other_teams_datasets_are_404(client, dataset, outsider):
    client.force_login(outsider)
    for name in ("datasets:detail", "datasets:upload"):
        assert client.get(reverse(name, args=[dataset.pk])).status_code == 404
    assert client.post(reverse("datasets:delete", args=[dataset.pk])).status_code == 404
    assert "pets" not in client.get(reverse("datasets:list")).content.decode()


def test_list_shows_counts_without_n_plus_one(member_client, team, django_assert_max_num_queries):
    for i in range(5):
        bulk_images(Dataset.objects.create(name=f"set{i}", team=team), {"a": 30, "b": 10})
    with django_assert_max_num_queries(6):
        response = member_client.get(reverse("datasets:list"))
    assert response.status_code == 200
    row = next(d for d in response.context["datasets"] if d.name == "set3")
    assert (row.image_count, row.train_count, row.validation_count, row.test_count) == (40, 22, 9, 9)
    assert len(row.class_counts) == 2


def test_detail_counts_thumbnails_and_imbalance_warning(member_client, dataset, django_assert_num_queries):
    bulk_images(dataset, {"cats": 400, "dogs": 100, "emus": 20})
    # session, user, dataset, counts, the unlabelled pool's size, the user's roles and permissions (3), labels
    # (filters), photo count, the page's ids, its photos, recent changes, the audit's open findings and its last audit
    with django_assert_num_queries(15):
        response = member_client.get(reverse("datasets:detail", args=[dataset.pk]))
    html = response.content.decode()
    counts = response.context["counts"]
    assert counts["total"] == 520 and counts["splits"] == {"train": 260, "validation": 130, "test": 130}
    assert [(c["name"], c["train"], c["total"]) for c in counts["classes"]] == [
        ("cats", 200, 400), ("dogs", 50, 100), ("emus", 10, 20)]
    assert "Class imbalance" in html and counts["imbalanced"]
    assert html.count("/media/datasets/") == 60  # the photo browser's first page of cached thumbnails
    assert f'{reverse("experiments:job_new")}?dataset={dataset.pk}' in html  # train on it, preselected


def test_no_imbalance_warning_within_3x(member_client, dataset):
    bulk_images(dataset, {"cats": 30, "dogs": 10})
    assert not dataset_counts(dataset)["imbalanced"]
    assert "Class imbalance" not in member_client.get(reverse("datasets:detail", args=[dataset.pk])).content.decode()


def test_import_form_imports_and_shows_the_result(member_client, team):
    archive, _ = class_zip({"cats": 10, "dogs": 4})
    archive.name = "pets.zip"
    response = member_client.post(reverse("datasets:import"), {
        "name": "new pets", "team": team.pk, "description": "", "archive": archive,
        "validation_percent": 10, "test_percent": 20,
    }, follow=True)
    dataset = Dataset.objects.get(name="new pets")
    assert response.redirect_chain[-1][0] == reverse("datasets:detail", args=[dataset.pk])
    result = response.context["result"]
    assert result["added"]["cats"] == {"train": 7, "validation": 1, "test": 2} and result["total_added"] == 14
    assert "Import result" in response.content.decode()
    # Shown once.
    assert member_client.get(reverse("datasets:detail", args=[dataset.pk])).context["result"] is None


def test_import_form_shows_a_rejected_archive_and_changes_nothing(member_client, team, media_root):
    archive = zip_bytes({"cats/a.jpg": photo_bytes(1), "../../evil.jpg": photo_bytes(2)})
    before = (db_snapshot(), media_snapshot(media_root))
    response = member_client.post(reverse("datasets:import"), {
        "name": "bad", "team": team.pk, "archive": archive, "validation_percent": 5, "test_percent": 10})
    assert response.status_code == 400
    html = response.content.decode()
    assert "nothing was imported" in html and "../../evil.jpg" in html and "unsafe path" in html
    assert (db_snapshot(), media_snapshot(media_root)) == before


def test_import_form_validates_team_size_and_fractions(member_client, team, other_team, settings):
    settings.DATASETS_MAX_ARCHIVE_BYTES = 100
    archive, _ = class_zip({"cats": 2})
    response = member_client.post(reverse("datasets:import"), {
        "name": "x", "team": other_team.pk, "archive": archive, "validation_percent": 50, "test_percent": 50})
    form = response.context["form"]
    assert set(form.errors) == {"team", "archive", "__all__"} and not Dataset.objects.exists()


def test_upload_form_adds_photos_to_a_new_class_and_split(member_client, dataset, member):
    files = [SimpleUploadedFile(f"p{i}.jpg", photo_bytes(i), content_type="image/jpeg") for i in range(3)]
    files.append(SimpleUploadedFile("bad.jpg", b"nope", content_type="image/jpeg"))
    response = member_client.post(reverse("datasets:upload", args=[dataset.pk]),
                                  {"photos": files, "new_label": "owls", "split": "validation"}, follow=True)
    result = response.context["result"]
    assert result["added"] == {"owls": {"train": 0, "validation": 3, "test": 0}}
    assert result["rejected"][0][0] == "bad.jpg"
    assert Image.objects.filter(dataset=dataset, label__name="owls", split="validation", added_by=member).count() == 3


def test_upload_form_needs_a_class(member_client, dataset):
    response = member_client.post(reverse("datasets:upload", args=[dataset.pk]),
                                  {"photos": [SimpleUploadedFile("a.jpg", photo_bytes(1))], "split": "train"})
    assert response.status_code == 200 and response.context["form"].errors["__all__"]
    assert not Image.objects.exists()


def test_only_permitted_users_delete_datasets_with_their_files(client, member, staff, team, media_root,
                                                    django_capture_on_commit_callbacks):
    from webapp.datasets.services import dataset_import_zip

    archive, _ = class_zip({"cats": 2})
    dataset = dataset_import_zip(archive=archive, user=member, name="doomed", team=team).dataset
    folder = media_root / dataset.storage_dir
    assert len(list(folder.rglob("*.jpg"))) == 4  # two photos, two thumbnails
    client.force_login(member)
    assert client.post(reverse("datasets:delete", args=[dataset.pk])).status_code == 403
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    client.force_login(staff)  # a superuser
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("datasets:delete", args=[dataset.pk]))
    assert response.status_code == 302 and not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Image.objects.exists() and not folder.exists()
