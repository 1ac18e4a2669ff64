"""A job's export bundle built by a real `train` worker: asked for from the web, built once into the job's run
folder, then downloaded; what is inside (the formats run in a fresh process: tests/classifier/test_bundle.py).
It is also the bundle's lifecycle test (tests/workers/test_lifecycle.py has the other kinds'), so that one bundle
build serves both."""

import time
from pathlib import Path

import io
import json
import zipfile

import pytest
from django.urls import reverse

from tests.factories import FAST_JOB, make_dataset
from tests.processes import wait_for, worker_env
from tests.workers.test_jobs import finished
from tests.workers.test_lifecycle import FAST_REAPER
from webapp.core.storage import storage
from webapp.experiments import services as experiment_services
from webapp.experiments.models import JobStatus
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.services import worker_died_message
from webapp.serving.models import BundleStatus, ExportBundle

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]


@pytest.mark.lifecycle
def test_a_killed_build_fails_within_30_s_then_a_train_worker_builds_the_bundle_once_and_the_page_offers_it(
        start_worker, ann, client, tmp_path):
    pause = Path(tmp_path / "pause")
    env = worker_env(MENAGERIE_WORK_PAUSE_FILE=str(pause), **FAST_REAPER)
    dataset = make_dataset("shapes", per_class=6)
    workers = [start_worker(queues="train", env=env, wait=False) for _ in range(2)]  # loading side by side
    for worker in workers:
        worker.wait_ready()
    job = finished(experiment_services.job_create(dataset=dataset, user=ann, **FAST_JOB))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    experiment_services.job_threshold_set(job=job, threshold=0.5, user=ann)  # the bundle answers as the app does
    client.force_login(ann)
    page = reverse("serving:job_bundle", args=[job.pk])
    status_url = reverse("serving:job_bundle_status", args=[job.pk])

    # The first build's worker is SIGKILLed while it holds the claimed build (the pause point); the reaper in the
    # survivor's main process fails it within 30 s, and the page asks again.
    pause.touch()
    client.post(page)
    wait_for(lambda: ExportBundle.objects.filter(job=job, status=BundleStatus.RUNNING).exclude(worker="").exists(),
             120, message="the bundle build to be claimed")
    doomed = next(worker for worker in workers if worker.name == ExportBundle.objects.get(job=job).worker)
    doomed.kill()  # the other worker's main process reaps
    killed_at = time.monotonic()
    wait_for(lambda: ExportBundle.objects.get(job=job).status == BundleStatus.FAILED, 30, interval=0.2,
             message="the bundle to fail after its worker was killed")
    print(f"bundle failed {time.monotonic() - killed_at:.1f} s after its worker was killed")
    assert ExportBundle.objects.get(job=job).error_message == worker_died_message(KINDS["bundle"].what)
    pause.unlink()
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
    assert bundle.status == BundleStatus.SUCCEEDED and storage("artifacts").exists(f"jobs/{job.pk}/bundle.zip")
    client.post(page)  # kept: asking again builds nothing
    assert ExportBundle.objects.get(pk=bundle.pk).finished_at == bundle.finished_at
    assert "Download the bundle" in client.get(page).content.decode()
