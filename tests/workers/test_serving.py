"""Named models served by a real `predict` worker behind a live server: the worker warms the live model when it
starts, predictions by name succeed, and a burst never takes the threads that /health/ needs."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.images import jpeg_bytes
from tests.factories import COLOURS, FAST_JOB, make_dataset
from tests.processes import wait_for, worker_env
from tests.workers.test_jobs import finished
from webapp.accounts.services import api_token_create, membership_change
from webapp.experiments import services as experiment_services
from webapp.experiments.models import JobStatus, Prediction, PredictionStatus
from webapp.serving import services

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]

BURST = 12
WAITING = 3


def test_a_burst_waits_within_the_bound_while_health_answers(settings, live_server, start_worker, ann):
    settings.API_PREDICT_MAX_WAITING = WAITING  # the live server runs in this process: it reads these
    settings.API_PREDICT_TIMEOUT_SECONDS = 120  # the waiting requests outlast the predict worker's start
    dataset = make_dataset("shapes")
    train_worker = start_worker(queues="train", env=worker_env())
    job = finished(experiment_services.job_create(dataset=dataset, user=ann, **FAST_JOB))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    membership_change(team=dataset.team, user=ann, role="admin")  # promoting is an admin's power
    birds = services.named_model_create(team=dataset.team, name="birds", evaluation_dataset=dataset, user=ann)
    services.model_promote(named_model=birds, job=job, user=ann, note="first")
    train_worker.stop()
    key = api_token_create(user=ann, name="burst")[1]
    url = f"{live_server.url}/api/models/birds/predict/"
    photo = jpeg_bytes(COLOURS["blue"], 4242)

    def predict(i):
        return requests.post(url, headers={"Authorization": f"Token {key}"}, data={"version": "1"},
                             files={"image": (f"q{i}.jpg", photo, "image/jpeg")}, timeout=150)

    # No predict worker yet: WAITING requests wait for one, the rest are turned away at once.
    with ThreadPoolExecutor(BURST) as pool:
        futures = [pool.submit(predict, i) for i in range(BURST)]
        wait_for(lambda: sum(f.done() for f in futures) == BURST - WAITING, 30, message="the refused requests")
        refused = [f.result() for f in futures if f.done()]
        assert all(r.status_code == 503 and r.headers["Retry-After"] == "1" for r in refused)
        assert Prediction.objects.filter(status=PredictionStatus.PENDING).count() == WAITING
        for _ in range(5):  # the site answers while predictions queue
            started = time.monotonic()
            health = requests.get(f"{live_server.url}/health/", timeout=5)
            assert health.status_code == 200 and time.monotonic() - started < 1.0
        worker = start_worker(queues="predict", env=worker_env())
    waited = [f.result() for f in futures if f.result().status_code != 503]
    assert len(waited) == WAITING
    for response in waited:
        body = response.json()
        assert response.status_code == 200, body
        assert (body["model"], body["version"], body["decision"] in ("confident", "unsure")) == ("birds", 1, True)
    assert f"warmed the live models: jobs [{job.pk}]" in worker.log()
