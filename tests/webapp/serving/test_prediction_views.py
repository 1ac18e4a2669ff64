"""The predict page (upload photos, watch their answers arrive) and its status endpoint: who may predict with
which job, what the page and the polling show, the "unsure" answers and their reasons."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import GREY
from tests.images import jpeg_bytes
from tests.webapp.experiments.conftest import succeed_job
from webapp.experiments import services
from webapp.experiments.models import Prediction

pytestmark = pytest.mark.django_db


def photo(name="photo.jpg", seed=1):
    return SimpleUploadedFile(name, jpeg_bytes(GREY, seed, size=24), content_type="image/jpeg")


def test_predict_page_defaults_to_the_latest_succeeded_job(client_for, ann, dataset, finished_job, queued_job):
    newer = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none"))
    page = client_for(ann).get(reverse("experiments:predict")).content.decode()
    assert re.search(rf'<option value="{newer.pk}" selected>', page)
    assert f'<option value="{queued_job.pk}"' not in page  # only trained models
    assert 'type="file"' in page and 'multiple' in page and 'id="dropzone"' in page


def test_predict_page_without_any_trained_model(client_for, ann, queued_job):
    page = client_for(ann).get(reverse("experiments:predict")).content.decode()
    assert "No trained model yet" in page


def test_predict_returns_at_once_and_the_page_polls_for_the_results(client_for, ann, finished_job):
    """No worker runs here: the POST must not wait for one; the page and its status endpoint show each result once
    the predict worker has written it."""
    client = client_for(ann)
    response = client.post(reverse("experiments:predict"),
                           {"job": finished_job.pk, "photos": [photo("a.jpg", 1), photo("b.png", 2)]})
    predictions = list(Prediction.objects.order_by("id"))
    assert [p.original_name for p in predictions] == ["a.jpg", "b.png"]
    assert all(p.job == finished_job and p.created_by == ann and p.status == "pending" for p in predictions)
    assert response.status_code == 302 and response.url.endswith(
        f"?job={finished_job.pk}&shown={predictions[0].pk},{predictions[1].pk}")
    page = client.get(response.url).content.decode()
    assert page.count("Predicting…") == 2
    config = json.loads(re.search(r'id="predict-page-config" type="application/json">(.*?)</script>', page).group(1))
    assert config == {"status_url": reverse("experiments:prediction_status"),
                      "pending": [predictions[0].pk, predictions[1].pk]}
    status_url = f"{config['status_url']}?ids={predictions[0].pk},{predictions[1].pk}"
    assert [p["status"] for p in client.get(status_url).json()["predictions"]] == ["pending", "pending"]
    # the result as the predict worker writes it, then the status endpoint and the page
    services.prediction_succeed(prediction_id=predictions[0].pk, result={
        "label": "dog", "confidence": 0.8, "probabilities": [
            {"label": "dog", "probability": 0.8}, {"label": "cat", "probability": 0.15},
            {"label": "panda", "probability": 0.05}]})
    services.prediction_fail(prediction_id=predictions[1].pk, message="b.png: not an image")
    first, second = client.get(status_url).json()["predictions"]
    assert first["status"] == "succeeded" and first["label"] == "dog" and first["file"] == "a.jpg"
    assert [p["label"] for p in first["probabilities"]] == ["dog", "cat", "panda"]
    assert second["status"] == "failed" and second["error"] == "b.png: not an image"
    page = client.get(response.url).content.decode()
    assert "Decision: <strong>dog</strong> (0.800)" in page and "b.png: not an image" in page
    assert "Predicting…" not in page
    charts = json.loads(re.search(r'id="prediction-data" type="application/json">(.*?)</script>', page).group(1))
    assert charts == [{"id": predictions[0].pk, "labels": ["dog", "cat", "panda"],
                       "probabilities": [0.8, 0.15, 0.05], "decision": "dog"}]
    assert 'alt="Uploaded photo a.jpg"' in page
    assert page.count("<tr>") >= 3  # recent predictions table


def test_predict_page_and_api_answer_unsure_below_the_models_threshold(client_for, ann, finished_job):
    from webapp.serving.presenters import prediction_json

    client = client_for(ann)
    response = client.post(reverse("experiments:predict"), {"job": finished_job.pk, "photos": [photo("a.jpg", 1)]})
    prediction = Prediction.objects.get()
    services.prediction_succeed(prediction_id=prediction.pk, result={
        "label": "dog", "confidence": 0.45, "decision": "unsure", "probabilities": [
            {"label": "dog", "probability": 0.45}, {"label": "cat", "probability": 0.4},
            {"label": "panda", "probability": 0.15}]})
    page = client.get(response.url).content.decode()
    assert "Decision: <strong>unsure</strong>" in page and "Decision: <strong>dog</strong>" not in page
    assert "dog (0.450), cat (0.400), panda (0.150)" in page  # the top candidates
    prediction.refresh_from_db()
    data = prediction_json(prediction)
    assert data["decision"] == "unsure" and data["label"] == "dog" and len(data["probabilities"]) == 3
    polled = client.get(reverse("experiments:prediction_status"), {"ids": prediction.pk}).json()["predictions"]
    assert polled == [data | {"unsure_reason": ""}]  # the page's polling sees the same decision (no threshold here)


def test_predict_refuses_bad_uploads_and_other_teams_models(client_for, ann, finished_job, other_job):
    client = client_for(ann)
    bad = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    response = client.post(reverse("experiments:predict"), {"job": finished_job.pk, "photos": [bad]})
    assert response.status_code == 400 and "notes.txt is not a photo" in response.content.decode()
    big = SimpleUploadedFile("big.jpg", b"\xff" * (10 * 1024 * 1024 + 1), content_type="image/jpeg")
    response = client.post(reverse("experiments:predict"), {"job": finished_job.pk, "photos": [big]})
    assert "big.jpg is larger than 10 MB" in response.content.decode()
    response = client.post(reverse("experiments:predict"), {"job": other_job.pk, "photos": [photo()]})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not Prediction.objects.exists()


def test_prediction_status_shows_only_your_teams_predictions(client_for, ann, bob, finished_job,
                                                             django_assert_num_queries):
    mine = services.prediction_create(job=finished_job, upload=photo("anns.jpg"), user=ann)
    url = f"{reverse('experiments:prediction_status')}?ids={mine.pk},x,{mine.pk + 999}"
    assert client_for(bob).get(url).json() == {"predictions": []}
    client = client_for(ann)
    with django_assert_num_queries(3):  # session, user, the predictions
        assert [p["id"] for p in client.get(url).json()["predictions"]] == [mine.pk]


def test_recent_predictions_are_your_own(client_for, ann, carl, finished_job):
    services.prediction_create(job=finished_job, upload=photo("carls.jpg"), user=carl)
    services.prediction_create(job=finished_job, upload=photo("anns.jpg", 2), user=ann)
    page = client_for(ann).get(reverse("experiments:predict")).content.decode()
    assert "anns.jpg" in page and "carls.jpg" not in page
