"""Every prediction path checks the same predict permission (issue 23, item 5): a staff account that sees every
team (view-only) gets 403 from the page, both APIs and batches, and the team's prediction log does not grow; the
team's viewer (predicting is looking) may predict everywhere."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.webapp.serving.test_prediction_views import photo
from tests.webapp.serving.test_batches import class_folders, upload
from webapp.accounts.models import ApiToken, Membership, Role
from webapp.experiments.models import Prediction
from webapp.serving import services
from webapp.serving.models import BatchPrediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(django_user_model):
    user = django_user_model.objects.create_user("ida", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_all_teams"))
    return user


@pytest.fixture
def viewer(django_user_model, lab):
    user = django_user_model.objects.create_user("vic")
    user.groups.add(lab)
    Membership.objects.create(user=user, team=lab, role=Role.VIEWER)
    return user


@pytest.fixture
def live(ann, birds, finished_job):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    return birds


def _predict_everywhere(user, job) -> dict:
    """Status codes of each prediction path for this user; the API calls use a token, the page a session."""
    token = {"HTTP_AUTHORIZATION": f"Token {ApiToken.create_for(user=user, name='script')[1]}"}
    api = Client()
    page = Client()
    page.force_login(user)
    return {
        "api": api.post(reverse("experiments:api_predict"), {"image": photo(), "job": job.pk}, **token),
        "api_model": api.post(reverse("serving:api_model_predict", args=["birds"]), {"image": photo()}, **token),
        "page": page.post(reverse("experiments:predict"), {"job": job.pk, "photos": [photo()]}),
        "page_model": page.post(reverse("experiments:predict"),
                                {"model": job.model_versions.get().named_model_id, "photos": [photo()]}),
        "batch": page.post(reverse("serving:batch_new", args=["birds"]), {"archive": upload(class_folders())}),
    }


def test_a_view_only_account_is_refused_on_every_prediction_path_and_the_log_does_not_grow(auditor, live,
                                                                                          finished_job):
    page = Client()  # the auditor sees the team's job and model ...
    page.force_login(auditor)
    assert page.get(finished_job.get_absolute_url()).status_code == 200
    responses = _predict_everywhere(auditor, finished_job)  # ... but predicts with none of them
    assert {path: r.status_code for path, r in responses.items()} == {path: 403 for path in responses}
    assert "may not predict" in responses["api"].json()["error"]
    assert "may not predict" in responses["api_model"].json()["error"]
    assert not Prediction.objects.exists() and not BatchPrediction.objects.exists()


def test_the_teams_viewer_predicts_on_every_path(viewer, live, finished_job):
    responses = _predict_everywhere(viewer, finished_job)
    assert all(r.status_code != 403 for r in responses.values()), {p: r.status_code for p, r in responses.items()}
    assert Prediction.objects.filter(created_by=viewer).count() == 4
    assert BatchPrediction.objects.count() == 1
