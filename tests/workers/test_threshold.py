"""An edited unsure threshold reaches real predictions: a real `predict` worker answers with the job's edited
threshold at once (its predictor stays warm), through the predict service and the named-model API alike."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import COLOURS, FAST_JOB, make_dataset
from tests.images import jpeg_bytes
from tests.workers.test_jobs import finished
from webapp.accounts.services import api_token_create, membership_change
from webapp.experiments import selectors, services
from webapp.experiments.models import JobStatus, PredictionStatus
from webapp.serving import services as serving_services

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]


def test_predictions_and_the_api_follow_the_edited_threshold(warm_workers, ann, client):
    dataset = make_dataset("shapes-threshold", seed=5151)
    job = finished(services.job_create(dataset=dataset, user=ann, **FAST_JOB))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    photo = jpeg_bytes(COLOURS["blue"], 777)

    def predict():
        prediction = services.prediction_run(job=job, upload=SimpleUploadedFile("q.jpg", photo), user=ann,
                                             timeout=120)
        assert prediction.status == PredictionStatus.SUCCEEDED, prediction.error_message
        return prediction

    first = predict()
    chosen = selectors.job_threshold(job)["chosen"]
    assert first.decision == ("unsure" if first.confidence < chosen else "confident")
    assert first.confidence < 1.0  # so that a threshold of 1 makes it unsure

    services.job_threshold_set(job=job, threshold=1.0, user=ann)
    stricter = predict()  # the same warm predictor, the job's edited threshold
    assert (stricter.decision, stricter.label) == ("unsure", first.label)
    assert stricter.confidence == pytest.approx(first.confidence, abs=1e-6)

    membership_change(team=dataset.team, user=ann, role="admin")  # promoting is an admin's power
    ann = type(ann).objects.get(pk=ann.pk)  # roles are cached on the user object
    birds = serving_services.named_model_create(team=dataset.team, name="birds", evaluation_dataset=dataset,
                                                user=ann)
    serving_services.model_promote(named_model=birds, job=job, user=ann)
    key = api_token_create(user=ann, name="threshold")[1]

    def api():
        response = client.post("/api/models/birds/predict/", {"image": SimpleUploadedFile("q.jpg", photo)},
                               HTTP_AUTHORIZATION=f"Token {key}")
        assert response.status_code == 200, response.content
        return response.json()

    body = api()
    assert body["decision"] == "unsure" and len(body["probabilities"]) == 3  # probabilities still given
    services.job_threshold_set(job=job, threshold=0.0, user=ann)
    assert api()["decision"] == "confident"
    services.job_threshold_set(job=job, threshold=None, user=ann)  # back to the one chosen on validation
    assert predict().decision == first.decision
