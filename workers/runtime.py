"""What every task body runs inside: TensorFlow's start-up settings, the heartbeat, the claimed-run skeleton and
readable errors, so workers/pipeline.py, auditing.py and batching.py are only "the job".

The run's row and its states are the lifecycle's (webapp.lifecycle: registry and services); this module only
calls them.
"""

import logging
import os
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from classifier.files import atomic_write
from webapp.lifecycle import services as lifecycle
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.selectors import work_status

logger = logging.getLogger(__name__)


class JobError(Exception):
    """A problem users can act on; its message is shown as is."""


def prepare_tensorflow() -> None:
    """Point Keras at the configured weights cache; must run before TensorFlow/Keras is first imported."""
    os.environ["KERAS_HOME"] = str(settings.KERAS_HOME)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def readable_error(exc: BaseException, what: str = "job") -> str:
    """One or two sentences for users about their `what` (job, evaluation); the traceback goes to the log."""
    from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

    from classifier.backbones import WeightsMissingError
    from classifier.images import ImageError

    if isinstance(exc, (JobError, WeightsMissingError, ImageError)):
        return str(exc)
    if isinstance(exc, (SoftTimeLimitExceeded, TimeLimitExceeded)):
        hours = settings.JOB_TIME_LIMIT_SECONDS / 3600
        return f"The {what} ran longer than the time limit ({hours:g} hours) and was stopped."
    if isinstance(exc, MemoryError):
        return "The worker ran out of memory. Try a smaller batch size, fewer images or pooled features."
    detail = (str(exc).strip().splitlines() or [""])[0][:300]
    if type(exc).__module__.startswith(("botocore", "boto3", "s3transfer")):  # MENAGERIE_STORAGE=s3
        return (f"The file store did not answer ({type(exc).__name__}: {detail}). Ask for the {what} again once "
                "it is back.")
    return (f"The {what} failed unexpectedly ({type(exc).__name__}{': ' + detail if detail else ''}). "
            "The details are in the worker's log.")


class Heartbeat:
    """Calls `beat()` every JOB_HEARTBEAT_SECONDS from a thread while the block runs (even inside a long
    TensorFlow call), so the reaper can tell a busy worker from a dead one. A beat that returns False (cancel
    asked for, or the run no longer running) sets `stop`."""

    def __init__(self, beat):
        self.beat = beat
        self.stop = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="heartbeat")

    def _run(self):
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    if self.beat() is False:
                        self.stop.set()
                except Exception:  # noqa: BLE001 - a missed beat is retried; the job itself goes on
                    logger.exception("heartbeat failed")
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=10)


def pause_point(name: str, stop: threading.Event | None = None) -> None:
    """Test-only (WORK_PAUSE_FILE is unset in production): while that file exists and holds `name` (empty means
    "start", before a claimed run's work), the run waits here, beating, so that a test can kill its worker or wipe
    its local copies at that point; arriving, it writes `name` into `<file>.reached`. Points: "start", "photos
    fetched" (a chunk's photos are local, not yet read), "training" (the features are about to be read)."""
    pause = Path(settings.WORK_PAUSE_FILE) if settings.WORK_PAUSE_FILE else None
    arrived = False
    while pause is not None and not (stop is not None and stop.is_set()):
        try:
            if (pause.read_text().strip() or "start") != name:
                return
        except FileNotFoundError:
            return
        if not arrived:
            atomic_write(pause.with_name(pause.name + ".reached"), name.encode())
            arrived = True
        time.sleep(0.05)


def run_claimed(kind: str, pk: int, worker: str, body, *, beat=None, claim_fields: dict | None = None) -> str:
    """The skeleton of every kind's run: claim the row (a redelivered message does nothing), keep a heartbeat while
    `body()` runs (`beat`: more to beat with it, e.g. a job's chunks), and end any failure as a readable message.
    Returns the row's final status, or "not claimed"."""
    kind_ = KINDS[kind]
    if not lifecycle.work_claim(kind=kind, pk=pk, worker=worker, **(claim_fields or {})):
        return "not claimed"
    prepare_tensorflow()

    def beat_all():
        if beat is not None:
            beat()
        return lifecycle.work_beat(kind=kind, pk=pk)

    with Heartbeat(beat_all) as heartbeat:
        try:
            pause_point("start", heartbeat.stop)
            body()
        except BaseException as exc:
            logger.exception("%s %s failed", kind, pk)
            lifecycle.work_fail(kind=kind, pk=pk, message=readable_error(exc, kind_.what))
            if not isinstance(exc, Exception):
                raise
    return work_status(kind=kind, pk=pk)
