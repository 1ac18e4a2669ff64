"""One policy for every kind of background work (webapp/lifecycle), with real workers: a run whose worker is
SIGKILLed (with its pool, as the OOM killer would) is failed within 30 s with a readable message by the reaper in
another live worker's main process, and asked for again it succeeds.

A test-only pause point (WORK_PAUSE_FILE, workers/runtime.py) holds the claimed run, beating, until the worker is
killed; the dead-worker settings are shortened so each kind takes seconds, not the default ~20 s."""

import time
from pathlib import Path

import pytest

from tests.factories import COLOURS, FAST_JOB, make_dataset
from tests.images import jpeg_bytes
from tests.labelling import CHEAP_SUGGESTER, add_pool_photo
from tests.processes import wait_for, worker_env
from tests.workers.test_batches import zipped
from tests.workers.test_jobs import finished
from webapp.accounts.services import membership_change
from webapp.audits import services as audit_services
from webapp.datasets.models import Image
from webapp.experiments import services as experiment_services
from webapp.experiments.models import JobStatus
from webapp.labelling import services as labelling_services
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.services import worker_died_message
from webapp.serving import batch_services
from webapp.serving import services as serving_services
from webapp.serving.models import NamedModel

pytestmark = [pytest.mark.slow, pytest.mark.lifecycle, pytest.mark.usefixtures("clean_broker")]

FAST_REAPER = {"MENAGERIE_WORKER_REPORT_SECONDS": "1", "MENAGERIE_WORKER_DEAD_SECONDS": "4",
               "MENAGERIE_REAPER_INTERVAL_SECONDS": "1"}


def _trained_job(dataset, user):
    job = finished(experiment_services.job_create(dataset=dataset, user=user, **FAST_JOB))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    return job


def _live_model(job, user):
    membership_change(team=job.dataset.team, user=user, role="admin")
    model = serving_services.named_model_create(team=job.dataset.team, name="birds", evaluation_dataset=job.dataset,
                                                user=user)
    version = serving_services.model_promote(named_model=model, job=job, user=user)
    wait_for(lambda: _reload(version.evaluation).is_finished, 120, message="the promotion's evaluation")
    model.refresh_from_db()
    return model


def _photos_zip():
    return zipped({f"{label}/{i}.jpg": jpeg_bytes(COLOURS[label], 7100 + 10 * c + i, size=40)
                   for c, label in enumerate(("red", "green", "blue")) for i in range(2)})


def _reload(row):
    return type(row).objects.get(pk=row.pk)


# kind -> (needs a trained job, ask(dataset, job, user) -> the row; asking again is the same call)
ASK = {
    "job": (False, lambda dataset, job, user: experiment_services.job_create(dataset=dataset, user=user,
                                                                             **FAST_JOB)),
    "evaluation": (True, lambda dataset, job, user: experiment_services.evaluation_create(job=job, dataset=dataset,
                                                                                          user=user)),
    "batch": (True, lambda dataset, job, user: batch_services.batch_create(
        named_model=NamedModel.objects.get(name="birds"), user=user, archive=_photos_zip())),
    "audit": (False, lambda dataset, job, user: audit_services.audit_create(
        dataset=dataset, user=user, backbone="mobilenet_v2", weights="none", input_size=32)),
    "heatmap": (True, lambda dataset, job, user: experiment_services.heatmap_request(
        job=job, image=Image.objects.filter(dataset=dataset).order_by("pk").first())),
    "suggestion": (False, lambda dataset, job, user: labelling_services.suggestion_request(dataset=dataset,
                                                                                           user=user)),
}


@pytest.mark.parametrize("kind", list(ASK))
def test_a_killed_workers_run_fails_within_30_s_and_succeeds_when_asked_again(kind, start_worker, ann, tmp_path,
                                                                             settings):
    # the bundle's kill test is tests/workers/test_bundle.py's (one bundle build for both)
    assert set(ASK) | {"bundle"} == {"job", "evaluation", "batch", "audit", "bundle", "heatmap", "suggestion"}
    needs_job, ask = ASK[kind]
    kind_ = KINDS[kind]
    pause = Path(tmp_path / "pause")
    env = worker_env(MENAGERIE_WORK_PAUSE_FILE=str(pause), **FAST_REAPER)
    dataset = make_dataset("shapes", per_class=6)
    if kind == "suggestion":  # photos to suggest classes for, and cheap features
        add_pool_photo(dataset, jpeg_bytes(COLOURS["red"], 7300, size=40), "pool.jpg")
        for name, value in CHEAP_SUGGESTER.items():
            setattr(settings, name, value)
    workers = [start_worker(queues="train,predict", env=env, wait=False) for _ in range(2)]  # loading side by side
    for worker in workers:
        worker.wait_ready()
    job = _trained_job(dataset, ann) if needs_job else None
    if kind == "batch":  # promoted before the pause: its evaluation runs now
        _live_model(job, ann)

    pause.touch()  # the next claimed run waits, beating, before its work
    row = ask(dataset, job, ann)
    wait_for(lambda: _reload(row).status in kind_.running and _reload(row).worker, 120,
             message=f"the {kind} to be claimed")
    doomed = next(worker for worker in workers if worker.name == _reload(row).worker)
    survivor = next(worker for worker in workers if worker is not doomed)  # its main process reaps
    assert _reload(row).status in kind_.running  # held at the pause point, alive
    doomed.kill()
    killed_at = time.monotonic()
    wait_for(lambda: _reload(row).status == kind_.failed, 30, interval=0.2,
             message=f"the {kind} to fail after its worker was killed")
    print(f"{kind} failed {time.monotonic() - killed_at:.1f} s after its worker was killed")
    assert _reload(row).error_message == worker_died_message(kind_.what)

    pause.unlink()
    again = ask(dataset, job, ann)
    wait_for(lambda: _reload(again).status in (kind_.succeeded, kind_.failed), 600, interval=0.2,
             message=f"the {kind} asked again to finish")
    again = _reload(again)
    assert again.status == kind_.succeeded, again.error_message + survivor.log()
