"""The writes every kind of background work shares (webapp.lifecycle.registry.KINDS), each a conditional UPDATE
on the status, so a redelivered message, a late cancel or a reaped run is never overwritten by a stale writer.

The web process sends work (enqueue) and cancels it; the worker claims, beats, and succeeds or fails it; the
reaper (every worker's main process, workers/presence.py) fails what a gone worker left running. One policy for
every kind: a run whose worker stopped reporting to the registry (WORKER_DEAD_SECONDS), or whose heartbeat is
older than JOB_STALE_SECONDS (a worker the registry never saw), is failed with a readable message, or cancelled
when that was asked for; it can then be asked for again. Nothing here imports TensorFlow or the workers.
"""

import logging
from datetime import timedelta
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webapp.lifecycle.registry import KINDS, Kind

logger = logging.getLogger(__name__)
_celery = None


def worker_died_message(what: str = "job") -> str:
    """What users read when the worker running their `what` died."""
    return (f"The worker running this {what} stopped responding (it died or was killed, for example out of "
            f"memory) and the {what} was stopped. Retry it; if it keeps failing, try a smaller batch size or "
            "fewer images.")


def celery_app():
    """A Celery app configured from the CELERY_* settings, to send tasks by name and read their results; the web
    process never imports the workers' app (workers/celery_app.py), which binds the task functions."""
    global _celery
    if _celery is None:
        from celery import Celery

        app = Celery("menagerie", set_as_current=False)
        app.config_from_object("django.conf:settings", namespace="CELERY")
        _celery = app
    return _celery


def enqueue(task: str, *args, on_commit: bool = True, **options) -> None:
    """Send the task `task` (a name, e.g. KINDS["job"].task) with `args`; once the transaction commits unless
    on_commit is False (the row it names must be visible to the worker). Rows are the results: nobody waits for
    the task's own (ignore_result, so the sender subscribes to nothing)."""
    options.setdefault("ignore_result", True)

    def send():
        celery_app().send_task(task, args=args, **options)

    if on_commit:
        transaction.on_commit(send)
    else:
        send()


def _model(kind: Kind):
    return apps.get_model(kind.model)


def _queued(kind: Kind) -> Q:
    """Waiting for a worker: a kind that keeps its queued status while it runs (a prediction) is also unclaimed."""
    return Q(status=kind.queued, started_at=None) if kind.queued in kind.running else Q(status=kind.queued)


def _running(kind: Kind) -> Q:
    """Held by a worker."""
    return Q(status__in=kind.running) & (~Q(started_at=None) if kind.queued in kind.running else Q())


def work_claim(*, kind: str, pk: int, worker: str = "", **fields) -> bool:
    """queued -> claimed by `worker` (its name in the worker registry), only if still queued: a redelivered or
    duplicate message gets False and does nothing."""
    kind_ = KINDS[kind]
    now = timezone.now()
    return bool(_model(kind_).objects.filter(_queued(kind_), pk=pk).update(
        status=kind_.claimed, worker=worker, started_at=now, heartbeat_at=now, **fields))


def work_beat(*, kind: str, pk: int) -> bool:
    """The worker is alive and at it; False when the run should stop (cancel asked for, or no longer running:
    reaped, failed)."""
    kind_ = KINDS[kind]
    running = _model(kind_).objects.filter(_running(kind_), pk=pk)
    if not running.update(heartbeat_at=timezone.now()):
        return False
    return not (kind_.cancelled and running.filter(cancel_requested=True).exists())


def work_succeed(*, kind: str, pk: int, **fields) -> bool:
    """Running -> succeeded with its results (`fields`); False (nothing written) when it no longer runs."""
    kind_ = KINDS[kind]
    now = timezone.now()
    return bool(_model(kind_).objects.filter(pk=pk, status__in=kind_.running).update(
        status=kind_.succeeded, finished_at=now, heartbeat_at=now, **fields))


def work_fail(*, kind: str, pk: int, message: str, **fields) -> bool:
    """Queued or running -> failed with a message users can read (the traceback goes to the worker log)."""
    kind_ = KINDS[kind]
    return bool(_model(kind_).objects.filter(pk=pk, status__in=[kind_.queued, *kind_.running]).update(
        status=kind_.failed, error_message=message, finished_at=timezone.now(), **fields))


def work_cancel(*, kind: str, pk: int, **fields) -> bool:
    """Queued: cancelled now (True). Running: asked to stop; its worker sees it at its next heartbeat or check and
    marks it cancelled (work_mark_cancelled)."""
    kind_ = KINDS[kind]
    rows = _model(kind_).objects.filter(pk=pk)
    if rows.filter(_queued(kind_)).update(
            status=kind_.cancelled, cancel_requested=True, finished_at=timezone.now(), **fields):
        return True
    rows.filter(status__in=kind_.running).update(cancel_requested=True)
    return False


def work_mark_cancelled(*, kind: str, pk: int) -> bool:
    """Running -> cancelled (the worker stopping after a cancel)."""
    kind_ = KINDS[kind]
    return bool(_model(kind_).objects.filter(pk=pk, status__in=kind_.running).update(
        status=kind_.cancelled, finished_at=timezone.now()))


def work_reap(*, worker_names: list[str] | None = None, stale_seconds: float | None = None) -> dict[str, list[int]]:
    """The reaper: end every run, of every kind, whose worker is gone (`worker_names`, else the worker registry's
    gone workers) or whose heartbeat is older than `stale_seconds` (JOB_STALE_SECONDS); failed with a readable
    message, or cancelled when that was asked for. Tells each kind's `on_end`. Returns {kind: [ids reaped]} of
    the kinds that had any (so callers log only when something happened)."""
    from webapp.experiments.services import chunks_reap
    from webapp.workers_registry.selectors import gone_worker_names

    if worker_names is None:
        gone = gone_worker_names()
        stale_seconds = settings.JOB_STALE_SECONDS if stale_seconds is None else stale_seconds
        dead = Q(worker__in=gone) | Q(heartbeat_at__lt=timezone.now() - timedelta(seconds=stale_seconds))
    else:  # only those workers' runs
        gone = list(worker_names)
        dead = Q(worker__in=gone)
    reaped = {}
    for kind in KINDS.values():
        model = _model(kind)
        lost = model.objects.filter(_running(kind), dead)
        for row in lost.only("pk", "worker", *(["cancel_requested"] if kind.cancelled else [])):
            if kind.cancelled and row.cancel_requested:
                changed = lost.filter(pk=row.pk).update(status=kind.cancelled, finished_at=timezone.now())
            else:
                changed = lost.filter(pk=row.pk).update(status=kind.failed, finished_at=timezone.now(),
                                                        error_message=worker_died_message(kind.what))
            if changed:
                logger.warning("reaped %s %s: its worker %s is gone or silent", kind.name, row.pk,
                               row.worker or "(unnamed)")
                reaped.setdefault(kind.name, []).append(row.pk)
                work_ended(kind=kind.name, pk=row.pk)
    chunks_reap(gone_workers=gone)
    return reaped


def work_ended(*, kind: str, pk: int) -> None:
    """Tell the kind's `on_end` (e.g. the job-end notices), called as on_end(<kind>_id=pk), that a run ended
    without its worker telling it."""
    hook = KINDS[kind].on_end
    if hook:
        module, name = hook.rsplit(".", 1)
        try:
            getattr(import_module(module), name)(**{f"{kind}_id": pk})
        except Exception:  # noqa: BLE001 - a notice failing must not stop the reaper
            logger.exception("telling the end of %s %s failed", kind, pk)

