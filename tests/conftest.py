"""Fixtures shared by all tests. The environment itself is set up by tests/environment.py."""

import os

import pytest

from tests.environment import REDIS_AVAILABLE, REDIS_TEST_URL


@pytest.fixture
def media_root(settings, tmp_path):
    """This test's own MEDIA_ROOT (and trained models, feature cache) in its temp folder. Tests whose worker
    processes must see the files use the run's data folder instead (tests/environment.py)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.FEATURES_DIR = tmp_path / "features"
    return root


@pytest.fixture
def require_redis():
    if not REDIS_AVAILABLE:
        reason = f"needs Redis at {REDIS_TEST_URL} (start it, or set MENAGERIE_TEST_REDIS_URL)"
        if os.environ.get("MENAGERIE_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real Celery worker processes on the test database: `start_worker(queues="train")`.

    Workers are stopped (or killed) when the test ends; their log is at `worker.log_path`.
    """
    from tests.processes import WorkerProcess

    workers = []

    def start(queues: str = "train,predict", **kwargs) -> WorkerProcess:
        worker = WorkerProcess(queues=queues, log_dir=tmp_path, **kwargs)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
