"""The session's warm Celery workers (the `warm_workers` fixture in tests/conftest.py): one `train` and one
`predict` worker on the test database, started on first use and kept for every test that needs only ordinary
workers, instead of one or two worker starts (seconds of TensorFlow loading each) per test.

What a test leaves behind must not reach the next one:
- tasks: when a test ends, its work is done (no task held, queues empty) before the database is flushed, or the
  workers are stopped and the next test starts fresh ones;
- the worker registry: the flush deletes the workers' rows, so each test writes them back as the workers
  themselves did at their start (alive, ready, their cached weights);
- warm predictors: a `predict` worker keeps Predictors by job id (workers/predictors.py). The flush does not
  reset the id sequences (pytest-django's transactional_db), so a job id names one job for the whole session;
  `end()` checks that it stays so.
Settings a worker reads from the environment are the run's (tests/environment.py: the data folder, the Keras
cache) plus a fast job heartbeat (worker_env); a test that needs others starts its own workers (start_worker).
"""

import logging
import socket
from contextlib import contextmanager
from pathlib import Path

from tests.processes import WorkerProcess, wait_for, worker_env

logger = logging.getLogger(__name__)
QUEUES = ("train", "predict")


class WarmWorkers:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.train: WorkerProcess | None = None
        self.predict: WorkerProcess | None = None
        self.last_job_id = 0  # the highest job id an earlier test used

    @property
    def workers(self) -> list[WorkerProcess]:
        return [w for w in (self.train, self.predict) if w is not None]

    def begin(self) -> None:
        """Before a test: the workers running (started now if needed) and present in the registry."""
        if len(self.workers) < len(QUEUES) or any(w.proc.poll() is not None for w in self.workers):
            self.stop()
            env = worker_env()
            self.train, self.predict = (WorkerProcess(queues=q, log_dir=self.log_dir, env=env, prefix="warm")
                                        for q in QUEUES)
            for worker in self.workers:  # both load TensorFlow at once
                worker.launch()
            for worker in self.workers:
                worker.wait_ready(timeout=180)
        self._register()

    def end(self, timeout: float = 60) -> None:
        """After a test, before the flush: wait until the workers hold no task (a test that left work running
        gets them replaced), and check that no job id was used twice."""
        try:
            wait_for(self._idle, timeout, interval=0.2, message="the warm workers to finish the test's tasks")
        except (TimeoutError, RuntimeError):
            logger.warning("the warm workers were still busy after the test: stopping them")
            self.stop(timeout=5)
        self._check_job_ids()

    @contextmanager
    def paused(self, queue: str):
        """Inside the block the `queue` worker takes no new task (its messages wait in the queue), as if it had
        not started yet; it takes them when the block ends."""
        from workers.celery_app import app

        name = getattr(self, queue).name
        replies = app.control.cancel_consumer(queue, destination=[name], reply=True, timeout=10)
        assert replies and "ok" in replies[0][name], replies
        try:
            yield
        finally:
            replies = app.control.add_consumer(queue, destination=[name], reply=True, timeout=10)
            assert replies and "ok" in replies[0][name], replies

    def stop(self, timeout: float = 30) -> None:
        for worker in self.workers:  # side by side: each takes seconds to shut down
            worker.terminate()
        for worker in self.workers:
            worker.stop(timeout)
        self.train = self.predict = None

    def _register(self) -> None:
        """What each worker wrote at its start and the flush deleted (the worker writes it back itself only at
        its next report, and not ready)."""
        from django.db import IntegrityError

        from webapp.workers_registry import services
        from workers.presence import cached_backbones

        for queue, worker in zip(QUEUES, self.workers):
            for attempt in (1, 2):  # the worker's own report may insert the row at the same moment
                try:
                    services.worker_register(name=worker.name, host=socket.gethostname(), pid=worker.proc.pid,
                                             queues=[queue], backbones_with_weights=cached_backbones())
                    break
                except IntegrityError:
                    if attempt == 2:
                        raise
            services.worker_mark_ready(name=worker.name)

    def _idle(self) -> bool:
        """No message waiting in the queues, none reserved or running in a worker."""
        from workers.celery_app import app

        if any(w.proc.poll() is not None for w in self.workers):
            raise RuntimeError("a warm worker exited")
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            if any(channel.queue_declare(queue).message_count for queue in QUEUES):
                return False
        names = [w.name for w in self.workers]
        inspect = app.control.inspect(destination=names, timeout=2, limit=len(names))
        for held in (inspect.active(), inspect.reserved()):
            if not held or len(held) < len(names) or any(held.values()):
                return False
        return True

    def _check_job_ids(self) -> None:
        from webapp.experiments.models import TrainingJob

        ids = list(TrainingJob.objects.values_list("pk", flat=True))
        reused = [pk for pk in ids if pk <= self.last_job_id]
        self.last_job_id = max([self.last_job_id, *ids])
        assert not reused, (f"job ids {reused} were used by an earlier test: the warm predict worker would answer "
                            "with that test's model (its predictors are kept by job id)")
