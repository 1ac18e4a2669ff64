"""Issue "Curation" item 1 (security part): powers come from team membership and Django permissions, never from
the staff flag alone. A staff user without permissions sees, downloads and deletes nothing of other teams."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests.webapp.experiments.conftest import make_dataset, succeed_job
from webapp.datasets.models import Dataset
from webapp.experiments import services

HEAD = {"epochs": 3, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}


@pytest.fixture
def world(db, django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    lab, other = Group.objects.create(name="lab"), Group.objects.create(name="other")
    users = {
        "member": django_user_model.objects.create_user("ann"),
        "other_team": django_user_model.objects.create_user("bob"),
        "staff": django_user_model.objects.create_user("sam", is_staff=True),
        "auditor": django_user_model.objects.create_user("ida", is_staff=True),
        "superuser": django_user_model.objects.create_superuser("root"),
    }
    users["member"].groups.add(lab)
    users["other_team"].groups.add(other)
    users["auditor"].user_permissions.add(Permission.objects.get(codename="view_all_teams"))
    dataset = make_dataset("pets", lab, per_class=3)
    job = succeed_job(services.job_create(dataset=dataset, user=users["member"], backbone="mobilenet_v2",
                                          weights="none", pooling="avg", input_size=32, head_config=HEAD))
    return users, dataset, job


def urls(dataset, job) -> dict:
    photo = dataset.images.first()
    return {
        "dataset page": reverse("datasets:detail", args=[dataset.pk]),
        "photo": photo.file.url,
        "job page": job.get_absolute_url(),
        "model download": reverse("experiments:job_download", args=[job.pk]),
        "job status": reverse("experiments:job_status", args=[job.pk]),
    }


@pytest.mark.parametrize("who, sees", [
    ("member", True), ("other_team", False), ("staff", False), ("auditor", True), ("superuser", True),
])
def test_reading_another_teams_objects_needs_membership_or_a_permission(client, world, who, sees):
    users, dataset, job = world
    client.force_login(users[who])
    for what, url in urls(dataset, job).items():
        assert client.get(url).status_code == (200 if sees else 404), f"{who} {what}"
    listed = client.get(reverse("datasets:list")).content.decode()
    assert ("pets" in listed) == sees
    jobs = client.get(reverse("experiments:job_list")).content.decode()
    assert (f"#{job.pk}<" in jobs) == sees


def test_anonymous_users_are_sent_to_the_login_page(client, world):
    _, dataset, job = world
    for what, url in urls(dataset, job).items():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), what


@pytest.mark.parametrize("who, status", [("member", 403), ("other_team", 404), ("staff", 404), ("auditor", 403)])
def test_deleting_a_dataset_needs_the_delete_permission(client, world, who, status):
    users, dataset, _ = world
    client.force_login(users[who])
    assert client.post(reverse("datasets:delete", args=[dataset.pk])).status_code == status
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    assert "Delete this dataset" not in client.get(reverse("datasets:detail", args=[dataset.pk])).content.decode()


def test_a_member_with_the_delete_permission_deletes_their_teams_dataset(client, world):
    users, _, _ = world
    lab = Group.objects.get(name="lab")
    spare = make_dataset("spare", lab, per_class=1, seed=3)
    users["member"].user_permissions.add(Permission.objects.get(codename="delete_dataset"))
    client.force_login(users["member"])
    assert "Delete this dataset" in client.get(reverse("datasets:detail", args=[spare.pk])).content.decode()
    assert client.post(reverse("datasets:delete", args=[spare.pk])).status_code == 302
    assert not Dataset.objects.filter(pk=spare.pk).exists()


def test_a_superuser_deletes_any_teams_dataset_and_keeps_the_admin(client, world):
    users, _, _ = world
    spare = make_dataset("spare", Group.objects.get(name="other"), per_class=1, seed=3)
    client.force_login(users["superuser"])
    assert client.post(reverse("datasets:delete", args=[spare.pk])).status_code == 302
    assert not Dataset.objects.filter(pk=spare.pk).exists()
    assert client.get(reverse("admin:datasets_dataset_changelist")).status_code == 200
    assert client.get(reverse("admin:experiments_trainingjob_changelist")).status_code == 200


def test_staff_without_permissions_see_nothing_in_the_admin(client, world):
    users, dataset, _ = world
    client.force_login(users["staff"])
    assert client.get(reverse("admin:datasets_dataset_changelist")).status_code == 403
    assert client.get(reverse("admin:datasets_dataset_change", args=[dataset.pk])).status_code == 403


def test_cancelling_someone_elses_job_needs_the_change_permission(client, world):
    users, dataset, job = world
    teammate = users["other_team"]
    teammate.groups.add(dataset.team)
    queued = services.job_retry(job=job, user=users["member"])
    url = reverse("experiments:job_cancel", args=[queued.pk])
    client.force_login(teammate)
    assert client.post(url).status_code == 403
    teammate.user_permissions.add(Permission.objects.get(codename="change_trainingjob"))
    teammate = type(teammate).objects.get(pk=teammate.pk)  # a fresh permission cache
    client.force_login(teammate)
    assert client.post(url).status_code == 302
