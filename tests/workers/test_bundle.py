"""A job's export bundle built by a real `train` worker: asked for from the web, built once into the job's run
folder, then downloaded; what is inside (the formats run in a fresh process: tests/classifier/test_bundle.py)."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from tests.factories import FAST_JOB, make_dataset
from tests.processes import wait_for, worker_env
from tests.workers.test_jobs import finished
from webapp.experiments import services as experiment_services
from webapp.experiments.models import JobStatus
from webapp.serving.models import BundleStatus, ExportBundle

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]


def test_a_train_worker_builds_the_bundle_once_and_the_page_offers_it(start_worker, ann, client):
    dataset = make_dataset("shapes", per_class=6)
    start_worker(queues="train", env=worker_env())
    job = finished(experiment_services.job_create(dataset=dataset, user=ann, **FAST_JOB))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    experiment_services.job_threshold_set(job=job, threshold=0.5, user=ann)  # the bundle answers as the app does
    client.force_login(ann)
    page = reverse("serving:job_bundle", args=[job.pk])
    status_url = reverse("serving:job_bundle_status", args=[job.pk])
    client.post(page)

    def built():
        state = client.get(status_url).json()
        assert state["status"] != "failed", state["error"]
        return state if state["status"] == "succeeded" else None

    state = wait_for(built, 600, interval=0.5, message="the bundle")
    assert all(state["formats"][f].startswith("ok") for f in ("keras", "tflite", "tflite-int8", "onnx")), state

    response = client.get(state["download_url"])
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert set(archive.namelist()) == {"model.keras", "labels.json", "MODEL_CARD.md", "model_float32.tflite",
                                           "model_int8.tflite", "model.onnx", "predict.py"}
        assert json.loads(archive.read("labels.json")) == ["blue", "green", "red"]
        card = archive.read("MODEL_CARD.md").decode()
        script = archive.read("predict.py").decode()
    assert "Dataset: shapes." in card and "| blue | 3 | 1 | 2 |" in card and "int8 weights and activations" in card
    assert "below 0.5 (as edited in the app)" in card and "THRESHOLDS = {'keras': 0.5, " in script
    # each format checked against the app's decisions on the job's test photos (6 photos), its threshold fitted on
    # its validation photos (3)
    assert "on 6 test photos" in card and "fitted on 3 validation photos" in card
    assert all(f"| {fmt} | " in card for fmt in ("keras", "tflite", "tflite-int8", "onnx"))
    assert "the app's decision on " in state["formats"]["tflite-int8"]

    bundle = ExportBundle.objects.get(job=job)
    assert bundle.status == BundleStatus.SUCCEEDED and bundle.path == job.artifact_path / "bundle.zip"
    client.post(page)  # kept: asking again builds nothing
    assert ExportBundle.objects.get(pk=bundle.pk).finished_at == bundle.finished_at
    assert "Download the bundle" in client.get(page).content.decode()
