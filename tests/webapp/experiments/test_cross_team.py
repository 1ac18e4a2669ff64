"""Nothing of team B reaches team A's members through a user in both teams (issue 23, item 4): a heatmap is served
only to those who see its photo, under a name nobody can guess; a job is evaluated on its own team's datasets
only, and an evaluation on another team's dataset made before is shown to nobody."""

import re

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.webapp.experiments.conftest import report_for
from webapp.experiments import services
from webapp.experiments.models import Evaluation, EvaluationStatus, Heatmap

pytestmark = pytest.mark.django_db


@pytest.fixture
def tess(django_user_model, lab, other_team):
    """A member of both teams."""
    user = django_user_model.objects.create_user("tess")
    user.groups.add(lab, other_team)
    return user


def _media(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_a_heatmap_of_another_teams_photo_is_served_only_to_who_sees_the_photo(client, tess, carl, bob,
                                                                              finished_job, other_dataset):
    photo = other_dataset.images.first()  # team B's photo, explained with team A's job by the two-team user
    client.force_login(tess)
    url = reverse("experiments:job_image_heatmap", args=[finished_job.pk, photo.pk])
    assert client.post(url).status_code == 202
    heatmap = Heatmap.objects.get(image=photo)
    assert services.heatmap_claim(heatmap_id=heatmap.pk)
    assert services.heatmap_succeed(heatmap_id=heatmap.pk, png=b"\x89PNG team B's photo", label="cat")
    heatmap.refresh_from_db()
    media_url = client.get(url).json()["url"]
    assert media_url == heatmap.file.url
    assert _media(client, tess, media_url).status_code == 200  # sees the job and the photo
    assert _media(client, carl, media_url).status_code == 404  # team A only: sees the job, not the photo
    assert _media(client, bob, media_url).status_code == 404  # team B only: sees the photo, not the job
    assert _media(client, carl, reverse("experiments:job_image_heatmap", args=[finished_job.pk, photo.pk])
                  ).status_code == 404
    # not job_<id>/<heatmap id>.png: a random name in the job's folder
    assert re.fullmatch(rf"heatmaps/job_{finished_job.pk}/[A-Za-z0-9_-]{{20,}}\.png", heatmap.file.name)
    assert str(heatmap.pk) != heatmap.file.name.rsplit("/", 1)[1].removesuffix(".png")


def test_a_heatmap_of_the_jobs_own_teams_photo_is_served_to_the_team(client, tess, carl, finished_job):
    photo = finished_job.dataset.images.first()
    heatmap = services.heatmap_request(job=finished_job, image=photo)
    assert services.heatmap_claim(heatmap_id=heatmap.pk)
    assert services.heatmap_succeed(heatmap_id=heatmap.pk, png=b"\x89PNG", label="cat")
    heatmap.refresh_from_db()
    assert _media(client, carl, heatmap.file.url).status_code == 200


def test_a_job_is_not_evaluated_on_another_teams_dataset(client, tess, finished_job, other_dataset, dataset):
    with pytest.raises(ValidationError, match="another team") as refused:
        services.evaluation_create(job=finished_job, dataset=other_dataset, user=tess)
    assert "own team's datasets only" in refused.value.messages[0]
    client.force_login(tess)
    page = client.get(finished_job.get_absolute_url()).content.decode()
    options = re.search(r'<select name="dataset"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert dataset.name in options and other_dataset.name not in options  # not offered
    response = client.post(reverse("experiments:job_reevaluate", args=[finished_job.pk]),
                           {"dataset": other_dataset.pk})
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "own team's datasets only" in message
    assert not Evaluation.objects.filter(dataset=other_dataset).exists()
    # the same team's datasets still are
    response = client.post(reverse("experiments:job_reevaluate", args=[finished_job.pk]), {"dataset": dataset.pk})
    assert Evaluation.objects.filter(dataset=dataset, is_job_test_split=False).exists()


def test_an_earlier_evaluation_on_another_teams_dataset_is_shown_to_nobody(client, tess, carl, finished_job,
                                                                          other_dataset):
    report = report_for(other_dataset)
    leaked = Evaluation.objects.create(  # as the two-team user could make one before the fix
        job=finished_job, dataset=other_dataset, status=EvaluationStatus.SUCCEEDED, report=report,
        accuracy=report["accuracy"], loss=report["loss"], macro_f1=report["macro_f1"], image_count=3,
        finished_at=timezone.now())
    for user in (carl, tess):
        client.force_login(user)
        page = client.get(finished_job.get_absolute_url()).content.decode()
        assert other_dataset.name not in page
        assert client.get(f"{finished_job.get_absolute_url()}?evaluation={leaked.pk}").status_code == 404
        assert client.get(reverse("experiments:evaluation_status", args=[leaked.pk])).status_code == 404
