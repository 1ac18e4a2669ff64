"""Named models over HTTP: pages (promote, roll back), `GET /api/models/`, `POST /api/models/<name>/predict/`.
(A real prediction through a worker, and the bound on waiting requests under a burst: tests/workers/test_serving.py.)"""

import pytest
from django.test import Client
from django.urls import reverse

from tests.webapp.experiments.test_views import photo
from webapp.accounts.models import ApiToken
from webapp.experiments.models import Prediction
from webapp.serving import services
from webapp.serving.api import api_model_predict

pytestmark = pytest.mark.django_db


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Token {ApiToken.create_for(user=user, name='script')[1]}"}


def predict_url(name):
    return reverse("serving:api_model_predict", args=[name])


def test_promote_and_roll_back_from_the_model_page(client_for, ann, birds, finished_job):
    client = client_for(ann)
    for note in ("first", "second"):
        response = client.post(reverse("serving:model_promote", args=["birds"]), {"job": finished_job.pk,
                                                                                   "note": note})
        assert response.status_code == 302
    client.post(reverse("serving:model_rollback", args=["birds", 1]), {"note": "v2 is worse on crows"})
    birds.refresh_from_db()
    assert birds.live_version.number == 1
    page = client.get(reverse("serving:model_detail", args=["birds"])).content.decode()
    assert "v2 is worse on crows" in page and "rolled back to v1" in page and "<strong>live</strong>" in page


def test_another_teams_model_pages_are_404(client_for, bob, birds, finished_job):
    client = client_for(bob)
    assert client.get(reverse("serving:model_detail", args=["birds"])).status_code == 404
    assert client.post(reverse("serving:model_promote", args=["birds"]), {"job": finished_job.pk}).status_code == 404
    assert not birds.versions.exists()


def test_api_lists_the_teams_models(ann, bob, birds, finished_job):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    body = Client().get(reverse("serving:api_models"), **auth(ann)).json()
    assert body == {"models": [{"name": "birds", "team": "lab", "live_version": 1, "versions": [1],
                                "evaluation_dataset": "pets"}]}
    assert Client().get(reverse("serving:api_models"), **auth(bob)).json() == {"models": []}


def test_predict_by_name_records_the_name_and_the_version(ann, birds, finished_job):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    client = Client()
    client.post(predict_url("birds"), {"image": photo()}, **auth(ann))  # no worker here: it ends pending
    client.post(predict_url("birds"), {"image": photo(), "version": "1"}, **auth(ann))
    assert list(Prediction.objects.order_by("pk").values_list("model_name", "model_version", "job")) == [
        ("birds", 2, finished_job.pk), ("birds", 1, finished_job.pk)]


def test_predict_by_name_errors(ann, bob, birds, finished_job):
    client = Client()
    response = client.post(predict_url("birds"), {"image": photo()}, **auth(ann))
    assert response.status_code == 409 and "no live version" in response.json()["error"]
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    response = client.post(predict_url("birds"), {"image": photo(), "version": "7"}, **auth(ann))
    assert response.status_code == 404 and "no version 7" in response.json()["error"]
    response = client.post(predict_url("birds"), {"image": photo()}, **auth(bob))  # another team's name
    assert response.status_code == 404 and "No model named 'birds'" in response.json()["error"]
    response = client.post(predict_url("crows"), {"image": photo()}, **auth(ann))
    assert response.status_code == 404 and "Available models: birds." in response.json()["error"]
    assert not Prediction.objects.exists()


def test_past_the_bound_on_waiting_requests_the_api_answers_503_with_retry_after(settings, ann, birds,
                                                                                 finished_job, rf):
    from webapp.serving.waiting import prediction_wait_slot

    settings.API_PREDICT_MAX_WAITING = 1
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    request = rf.post(predict_url("birds"), {"image": photo()}, **auth(ann))
    with prediction_wait_slot():  # another request of this process is waiting
        response = api_model_predict(request, "birds")
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert "retry" in response.content.decode()
    assert not Prediction.objects.exists()
