"""The predict page picks a named model: its live version answers, and predictions record the name and version."""

import re

import pytest
from django.urls import reverse

from tests.webapp.serving.test_prediction_views import photo
from webapp.experiments.models import Prediction
from webapp.serving import services

pytestmark = pytest.mark.django_db


def test_a_live_named_model_is_the_default_and_predictions_record_its_name_and_version(
        client_for, ann, birds, dataset, finished_job):
    first = services.model_promote(named_model=birds, job=finished_job, user=ann)
    live = services.model_promote(named_model=birds, job=finished_job, user=ann)
    client = client_for(ann)
    page = client.get(reverse("experiments:predict")).content.decode()
    assert re.search(rf'<option value="{birds.pk}" selected>birds \(v2, lab\)</option>', page)

    response = client.post(reverse("experiments:predict"), {"model": birds.pk, "photos": [photo("a.jpg", 1)]})
    prediction = Prediction.objects.get()
    assert (prediction.job, prediction.model_name, prediction.model_version) == (finished_job, "birds", 2)
    assert response["Location"] == f"{reverse('experiments:predict')}?model={birds.pk}&shown={prediction.pk}"
    status = client.get(f"{reverse('experiments:prediction_status')}?ids={prediction.pk}").json()
    assert (status["predictions"][0]["model"], status["predictions"][0]["version"]) == ("birds", 2)
    assert "birds v2, job #" in client.get(response["Location"]).content.decode()

    services.model_rollback(named_model=birds, version=first, user=ann)
    client.post(reverse("experiments:predict"), {"model": birds.pk, "photos": [photo("b.jpg", 2)]})
    assert Prediction.objects.latest("id").model_version == 1 != live.number


def test_a_job_still_predicts_without_a_name_and_one_of_the_two_is_needed(client_for, ann, birds, finished_job):
    client = client_for(ann)
    page = client.get(reverse("experiments:predict")).content.decode()
    assert 'name="model"' not in page  # nothing live yet: only the job picker
    assert re.search(rf'<option value="{finished_job.pk}" selected>', page)
    client.post(reverse("experiments:predict"), {"job": finished_job.pk, "photos": [photo()]})
    assert (Prediction.objects.get().model_name, Prediction.objects.get().model_version) == ("", None)
    response = client.post(reverse("experiments:predict"), {"photos": [photo()]})
    assert response.status_code == 400 and "Pick a model by name, or a job." in response.content.decode()


def test_another_teams_named_model_cannot_be_picked(client_for, ann, bob, birds, finished_job, other_job):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    client = client_for(bob)
    page = client.get(reverse("experiments:predict")).content.decode()
    assert f'<option value="{other_job.pk}" selected>' in page and "birds" not in page
    response = client.post(reverse("experiments:predict"), {"model": birds.pk, "photos": [photo()]})
    assert response.status_code == 400 and not Prediction.objects.exists()
