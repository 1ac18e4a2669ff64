"""The JSON API and its token authentication. (A real prediction through a worker: tests/browser.)"""

import pytest
from django.test import Client
from django.urls import reverse

from tests.webapp.serving.test_prediction_views import photo
from webapp.accounts.models import ApiToken
from webapp.experiments.models import Prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann_key(ann):
    return ApiToken.create_for(user=ann, name="script")[1]


def auth(key):
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_api_without_or_with_a_bad_token_is_401(finished_job):
    client = Client()
    response = client.post(reverse("experiments:api_predict"), {"image": photo()})
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert client.post(reverse("experiments:api_predict"), {"image": photo()}, **auth("nope")).status_code == 401
    assert client.get(reverse("experiments:api_jobs"), **auth("nope")).json() == {"error": "Invalid token."}
    assert not Prediction.objects.exists()



def test_api_lists_the_users_trained_models(ann_key, finished_job, queued_job, other_job):
    jobs = Client().get(reverse("experiments:api_jobs"), **auth(ann_key)).json()["jobs"]
    assert [job["id"] for job in jobs] == [finished_job.pk]


def test_token_requests_need_no_csrf_and_store_a_prediction(ann, ann_key, finished_job):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("experiments:api_predict"), {"image": photo("cat.jpg"), "job": finished_job.pk},
                           **auth(ann_key))
    prediction = Prediction.objects.get()
    assert (prediction.job, prediction.created_by, prediction.original_name) == (finished_job, ann, "cat.jpg")
    data = response.json()
    assert data["id"] == prediction.pk and data["job"] == finished_job.pk
    # no worker in this test (and the test transaction never commits): the prediction is still pending
    assert response.status_code == 422 and data["status"] == "pending"
    assert ApiToken.objects.get().last_used_at is not None


def test_session_requests_to_the_api_need_the_csrf_token(ann, finished_job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    response = client.post(reverse("experiments:api_predict"), {"image": photo()})
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    client.get(reverse("experiments:predict"))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("experiments:api_predict"), {"image": photo(), "job": finished_job.pk},
                           HTTP_X_CSRFTOKEN=token)
    assert response.status_code in (200, 422) and Prediction.objects.count() == 1


def test_api_refuses_other_teams_jobs_and_non_images(ann_key, finished_job, other_job):
    client = Client()
    response = client.post(reverse("experiments:api_predict"), {"image": photo(), "job": other_job.pk},
                           **auth(ann_key))
    assert response.status_code == 400 and "job" in response.json()["fields"]
    response = client.post(reverse("experiments:api_predict"), {"image": photo("x.exe")}, **auth(ann_key))
    assert response.status_code == 400 and "not a photo" in str(response.json()["fields"]["image"])
    assert not Prediction.objects.exists()


def test_api_without_a_job_names_the_models_instead_of_guessing(ann, ann_key, finished_job):
    response = Client().post(reverse("experiments:api_predict"), {"image": photo()}, **auth(ann_key))
    assert response.status_code == 400 and "no model with a live version" in response.json()["error"]
    from webapp.accounts.services import membership_change
    from webapp.serving import services as serving_services

    membership_change(team=finished_job.dataset.team, user=ann, role="admin")  # promoting is an admin's power
    birds = serving_services.named_model_create(team=finished_job.dataset.team, name="birds",
                                                evaluation_dataset=finished_job.dataset, user=ann)
    serving_services.model_promote(named_model=birds, job=finished_job, user=ann)
    response = Client().post(reverse("experiments:api_predict"), {"image": photo()}, **auth(ann_key))
    assert response.status_code == 400 and "/api/models/<name>/predict/" in response.json()["error"]
    assert "Available models: birds." in response.json()["error"] and not Prediction.objects.exists()


def test_api_predict_is_post_only(ann_key):
    assert Client().get(reverse("experiments:api_predict"), **auth(ann_key)).status_code == 405
