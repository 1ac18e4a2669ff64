"""A model's editable unsure threshold: who may change it, what bad input does, what the pages show."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from tests.webapp.experiments.conftest import FAST_HEAD, succeed_job
from tests.webapp.roles import client_as, world  # noqa: F401
from webapp.experiments import selectors, services
from webapp.experiments.models import Evaluation, TrainingJob
from webapp.serving import services as serving_services


@pytest.fixture
def job(world):  # noqa: F811
    job = services.job_create(dataset=world["dataset"], user=world["users"]["member"], backbone="mobilenet_v2",
                              weights="none", pooling="avg", input_size=32, head_config=FAST_HEAD)
    job = succeed_job(job)
    evaluation = Evaluation.objects.get(job=job)
    evaluation.report |= {"calibration": {"temperature": 1.5, "threshold": 0.62, "fitted_on": 9}}
    evaluation.save()
    return job


def _post(client, job, value):
    return client.post(reverse("experiments:job_threshold", args=[job.pk]), {"threshold": value})


def test_the_threshold_is_the_one_chosen_on_validation_until_someone_edits_it(world, job):  # noqa: F811
    assert selectors.job_threshold(job) == {"chosen": 0.62, "edited": None, "effective": 0.62}
    member = world["users"]["member"]
    services.job_threshold_set(job=job, threshold=0.9, user=member)
    job = TrainingJob.objects.get(pk=job.pk)
    assert selectors.job_threshold(job) == {"chosen": 0.62, "edited": 0.9, "effective": 0.9}
    assert job.threshold_edited_by == member and job.threshold_edited_at is not None
    services.job_threshold_set(job=job, threshold=None, user=member)  # back to the chosen one
    assert selectors.job_threshold(TrainingJob.objects.get(pk=job.pk))["effective"] == 0.62


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_a_threshold_outside_0_1_is_refused_and_changes_nothing(world, job, value):  # noqa: F811
    with pytest.raises(ValidationError):
        services.job_threshold_set(job=job, threshold=value, user=world["users"]["admin"])
    assert TrainingJob.objects.get(pk=job.pk).unsure_threshold is None


def test_a_job_that_did_not_succeed_has_no_threshold_to_edit(world):  # noqa: F811
    queued = services.job_create(dataset=world["dataset"], user=world["users"]["member"], backbone="mobilenet_v2",
                                 weights="none", pooling="avg", input_size=32, head_config=FAST_HEAD)
    with pytest.raises(ValidationError):
        services.job_threshold_set(job=queued, threshold=0.5, user=world["users"]["admin"])
    assert TrainingJob.objects.get(pk=queued.pk).unsure_threshold is None


def test_members_edit_a_jobs_threshold_until_it_serves_then_only_promoters(world, job):  # noqa: F811
    users = world["users"]
    assert services.can_edit_threshold(users["member"], job) and services.can_edit_threshold(users["admin"], job)
    for who in ("viewer", "other_team", "staff", "auditor"):
        assert not services.can_edit_threshold(users[who], job), who
        with pytest.raises(PermissionDenied):
            services.job_threshold_set(job=job, threshold=0.3, user=users[who])
    birds = serving_services.named_model_create(team=world["lab"], name="birds", evaluation_dataset=world["dataset"],
                                                user=users["admin"])
    serving_services.model_promote(named_model=birds, job=job, user=users["admin"])
    assert not services.can_edit_threshold(users["member"], job)  # it may be serving: a promoter's call now
    with pytest.raises(PermissionDenied):
        services.job_threshold_set(job=job, threshold=0.3, user=users["member"])
    services.job_threshold_set(job=job, threshold=0.3, user=users["admin"])
    assert TrainingJob.objects.get(pk=job.pk).unsure_threshold == 0.3


def test_the_job_page_shows_and_edits_the_threshold(client, world, job):  # noqa: F811
    member = client_as(client, world["users"]["member"])
    page = member.get(job.get_absolute_url()).content.decode()
    assert 'id="effective-threshold">0.620<' in page and "chosen on validation" in page
    assert 'id="threshold-form"' in page
    response = _post(member, job, "0.85")
    assert response.status_code == 302 and response.url.endswith("#model-threshold")
    page = member.get(response.url).content.decode()
    assert 'id="effective-threshold">0.850<' in page and "as edited by mel" in page
    assert "(chosen on validation: 0.620)" in page
    assert re.search(r'name="threshold"[^>]*value="0.85"', page)
    _post(member, job, "")  # empty: back to the chosen one
    assert TrainingJob.objects.get(pk=job.pk).unsure_threshold is None


@pytest.mark.parametrize("value", ["2", "-1", "high"])
def test_the_job_page_refuses_a_bad_threshold_readably(client, world, job, value):  # noqa: F811
    member = client_as(client, world["users"]["member"])
    page = member.get(_post(member, job, value).url).content.decode()
    assert "The threshold is a confidence between 0 and 1" in page and "nothing changed" in page
    assert TrainingJob.objects.get(pk=job.pk).unsure_threshold is None


def test_viewers_see_the_threshold_but_cannot_edit_it_and_other_teams_get_404(client, world, job):  # noqa: F811
    viewer = client_as(client, world["users"]["viewer"])
    page = viewer.get(job.get_absolute_url()).content.decode()
    assert 'id="effective-threshold">0.620<' in page and 'id="threshold-form"' not in page
    assert _post(viewer, job, "0.5").status_code == 403
    assert _post(client_as(client, world["users"]["other_team"]), job, "0.5").status_code == 404
    assert _post(client_as(client, None), job, "0.5").status_code in (302, 403)  # anonymous: to the login
    assert TrainingJob.objects.get(pk=job.pk).unsure_threshold is None


def test_the_model_page_shows_each_versions_threshold(client, world, job):  # noqa: F811
    admin = world["users"]["admin"]
    birds = serving_services.named_model_create(team=world["lab"], name="birds", evaluation_dataset=world["dataset"],
                                                user=admin)
    serving_services.model_promote(named_model=birds, job=job, user=admin)
    page = client_as(client, admin).get(birds.get_absolute_url()).content.decode()
    assert "as chosen on validation" in page and f'{job.get_absolute_url()}#model-threshold">change<' in page
    services.job_threshold_set(job=job, threshold=0.7, user=admin)
    page = client.get(birds.get_absolute_url()).content.decode()
    assert "0.700 (edited)" in page


def test_the_job_page_shows_the_cross_fitted_ece_on_the_held_out_photos(client, world, job):  # noqa: F811
    evaluation = Evaluation.objects.get(job=job)
    evaluation.report["calibration"] |= {"ece_before": 0.1, "ece_after": 0.05, "unsure_rate": 0.1,
                                         "ece_held_out_before": 0.12, "ece_held_out_after": 0.021}
    evaluation.save()
    page = client_as(client, world["users"]["viewer"]).get(job.get_absolute_url()).content.decode()
    assert 'id="ece-held-out">0.1200 before, 0.0210 after<' in page and "On the 9 held-out photos" in page
