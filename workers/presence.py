"""A worker tells the registry (webapp.workers_registry) that it lives: its main process registers at start,
reports every WORKER_REPORT_SECONDS from a thread, and marks itself stopped on a clean shutdown; each pool
process loads TensorFlow when it starts and then marks the worker ready. Hooked to Celery's signals in
workers/celery_app.py. A worker killed hard stops reporting, and the reaper, which the same thread of every live
worker runs, fails what it ran (any kind of work: webapp.lifecycle)."""

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def cached_backbones() -> list[str]:
    """Backbones whose ImageNet weights are in this machine's Keras cache (plain file checks, no TensorFlow)."""
    from classifier.backbones import cached_backbones

    return cached_backbones()


class Reporter:
    """The main process's side: register, report from a daemon thread, stop."""

    def __init__(self, name: str, queues: list[str]):
        self.name, self.queues, self.pid = name, queues, os.getpid()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def register(self) -> None:
        from webapp.workers_registry import services

        services.worker_register(name=self.name, host=socket.gethostname(), pid=self.pid, queues=self.queues,
                                 backbones_with_weights=cached_backbones())

    def earlier_process_gone(self) -> bool:
        """Whether the process that last registered this name is gone (killed, restarted), so what it left
        running can be failed; False when another live worker already runs under the name (a duplicate -n)."""
        from webapp.workers_registry.selectors import worker_named

        earlier = worker_named(self.name)
        if earlier is None or not earlier.is_alive or earlier.pid == self.pid:
            return True
        if earlier.host != socket.gethostname():
            return False
        try:
            os.kill(earlier.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def report(self) -> None:
        from webapp.workers_registry import services

        if not services.worker_heartbeat(name=self.name, pid=self.pid, backbones_with_weights=cached_backbones()):
            self.register()  # the row was missing (database not ready at start) or another process took it

    def start(self) -> None:
        """Start reporting; called once the pool exists (a thread running during a fork is asking for trouble)."""
        self.thread = threading.Thread(target=self._run, daemon=True, name="worker-presence")
        self.thread.start()

    def reap(self) -> None:
        """Fail what gone workers left running; quiet when there is nothing to reap."""
        from webapp.lifecycle.services import work_reap

        reaped = work_reap()
        if reaped:
            logger.warning("worker %s reaped the runs of gone workers: %s", self.name, reaped)

    def _run(self) -> None:
        """Reap at once, then report every WORKER_REPORT_SECONDS and reap every REAPER_INTERVAL_SECONDS."""
        next_report, next_reap = time.monotonic() + settings.WORKER_REPORT_SECONDS, time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_report:
                self._safely(self.report)
                next_report = now + settings.WORKER_REPORT_SECONDS
            if now >= next_reap:
                self._safely(self.reap)
                next_reap = now + settings.REAPER_INTERVAL_SECONDS
            if self.stopped.wait(max(0.0, min(next_report, next_reap) - time.monotonic())):
                return

    def _safely(self, step) -> None:
        try:
            step()
        except Exception:  # noqa: BLE001 - e.g. the database briefly away; the next round retries
            logger.exception("worker %s: %s failed", self.name, step.__name__)
        finally:
            connection.close()

    def stop(self) -> None:
        from webapp.workers_registry import services

        self.stopped.set()
        if self.thread:
            self.thread.join(timeout=10)
        try:
            services.worker_stop(name=self.name, pid=self.pid)
        finally:
            connection.close()


def warm_up(worker_name: str) -> None:
    """In a pool process at its start: import TensorFlow and Keras now, so the first task does not wait for
    them, then say the worker is ready."""
    from webapp.workers_registry import services
    from workers.runtime import prepare_tensorflow

    if not _consumes_predict_queue():
        yield_cpu_to_predictions()
    prepare_tensorflow()
    try:
        import keras  # noqa: F401 - imports TensorFlow too
    except Exception:  # noqa: BLE001 - the task that needs it reports the error to users
        logger.exception("worker %s: loading TensorFlow failed", worker_name)
        return
    if _consumes_predict_queue():
        from workers.predictors import warm_live_models

        try:
            warm_live_models()
        except Exception:  # noqa: BLE001 - the predictions themselves report what is wrong
            logger.exception("worker %s: warming the live models failed", worker_name)
    try:
        services.worker_mark_ready(name=worker_name)
    finally:
        connection.close()


def yield_cpu_to_predictions() -> None:
    """A worker that only trains runs at a lower CPU priority (`TRAIN_WORKER_NICENESS`), so on a machine it shares
    with the web server and the `predict` worker, predictions and pages get the cores first and a training takes
    what they leave. Called before TensorFlow starts its threads, which inherit it."""
    if settings.TRAIN_WORKER_NICENESS > 0:
        try:
            os.nice(settings.TRAIN_WORKER_NICENESS)
        except OSError:  # not permitted here: the training just keeps its priority
            logger.warning("could not lower the training worker's CPU priority")


def _consumes_predict_queue() -> bool:
    """Whether this worker serves the `predict` queue (-Q; every queue when none was named)."""
    from workers.celery_app import app

    return "predict" in app.amqp.queues.consume_from
