"""The lifecycle's services on the database only (no worker process): one claim, one reaper and one message for
every kind of background work; the registry is what Celery's settings are made of."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from tests.factories import FAST_JOB, make_dataset
from webapp.audits.models import DatasetAudit
from webapp.experiments import services
from webapp.experiments.models import Evaluation, Heatmap, Prediction
from webapp.labelling.models import SuggestionRun
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.services import work_beat, work_cancel, work_claim, work_fail, work_reap, worker_died_message
from webapp.serving.models import BatchPrediction, ExportBundle, ModelVersion, NamedModel
from webapp.workers_registry import services as registry
from webapp.workers_registry.models import Worker


@pytest.fixture
def one_of_each(ann):
    """A queued row of every kind (the job's dataset, a version of it for the batch)."""
    dataset = make_dataset("shapes", per_class=4)
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    model = NamedModel.objects.create(team=dataset.team, name="birds", evaluation_dataset=dataset)
    rows = {
        "job": job,
        "evaluation": Evaluation.objects.create(job=job, dataset=dataset),
        "prediction": Prediction.objects.create(job=job, content_hash="0" * 64),
        "heatmap": Heatmap.objects.create(job=job, image=dataset.images.first()),
        "batch": BatchPrediction.objects.create(named_model=model, version=ModelVersion.objects.create(
            named_model=model, number=1, job=job)),
        "bundle": ExportBundle.objects.create(job=job),
        "audit": DatasetAudit.objects.create(dataset=dataset, backbone="mobilenet_v2"),
        "suggestion": SuggestionRun.objects.create(dataset=dataset, backbone="mobilenet_v2"),
    }
    assert set(rows) == set(KINDS)  # a new kind gets a row here too
    return rows


def _reload(row):
    return type(row).objects.get(pk=row.pk)


def test_every_kind_is_claimed_once_and_its_gone_workers_run_is_failed_with_a_readable_message(one_of_each):
    registry.worker_register(name="dead@a", host="h", pid=1, queues=["train"], backbones_with_weights=[])
    registry.worker_register(name="live@b", host="h", pid=2, queues=["train"], backbones_with_weights=[])
    Worker.objects.filter(name="dead@a").update(
        last_seen=timezone.now() - timedelta(seconds=settings.WORKER_DEAD_SECONDS + 1))
    for kind, row in one_of_each.items():
        assert work_claim(kind=kind, pk=row.pk, worker="dead@a"), kind
        assert not work_claim(kind=kind, pk=row.pk, worker="live@b"), kind  # a redelivered message does nothing
        assert _reload(row).status in KINDS[kind].running
    unclaimed = Prediction.objects.create(job=one_of_each["job"], content_hash="1" * 64)  # no worker has it yet

    reaped = work_reap()

    assert reaped == {kind: [row.pk] for kind, row in one_of_each.items()}
    for kind, row in one_of_each.items():
        row = _reload(row)
        assert row.status == KINDS[kind].failed and row.error_message == worker_died_message(KINDS[kind].what)
        assert row.finished_at is not None
    assert _reload(unclaimed).status == "pending"
    assert work_reap() == {}  # nothing left: quiet


def test_a_silent_heartbeat_is_reaped_for_a_worker_the_registry_never_saw(one_of_each):
    bundle = one_of_each["bundle"]
    assert work_claim(kind="bundle", pk=bundle.pk, worker="unknown@c")
    assert work_reap() == {}  # beating recently
    ExportBundle.objects.filter(pk=bundle.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1))
    assert work_reap() == {"bundle": [bundle.pk]}
    assert _reload(bundle).status == "failed" and "this export stopped responding" in _reload(bundle).error_message


def test_a_cancel_stops_a_run_at_its_next_heartbeat_and_a_reaped_one_ends_cancelled(one_of_each):
    job = one_of_each["job"]
    assert work_claim(kind="job", pk=job.pk, worker="w")
    assert work_beat(kind="job", pk=job.pk)
    assert not work_cancel(kind="job", pk=job.pk)  # running: asked to stop
    assert not work_beat(kind="job", pk=job.pk)  # the worker's next beat says stop
    assert work_reap(worker_names=["w"]) == {"job": [job.pk]}
    assert _reload(job).status == "cancelled"
    assert not work_fail(kind="job", pk=job.pk, message="late")  # a stale writer changes nothing


def test_the_celery_routes_and_time_limits_come_from_the_registry():
    for kind in KINDS.values():
        apps.get_model(kind.model)  # each names a model
        for task in (kind.task, *kind.helpers):
            assert settings.CELERY_TASK_ROUTES[task] == {"queue": kind.queue}
            limits = settings.CELERY_TASK_ANNOTATIONS[task]
            assert limits["time_limit"] == (kind.time_limit or settings.JOB_TIME_LIMIT_SECONDS)
            assert limits["soft_time_limit"] < limits["time_limit"]
