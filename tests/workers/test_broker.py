"""A task crosses a real broker to a real worker process: Redis (as in production) and the embedded default."""

import subprocess
import sys

from tests.processes import WorkerProcess, child_env
from tests.shared import REPO_DIR


def test_a_task_goes_through_redis_to_a_worker_process(require_redis, start_worker, settings):
    from workers.tasks import ping, predict_ping

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    start_worker(queues="train,predict")
    assert ping.delay().get(timeout=60)["pong"] is True
    assert predict_ping.delay().get(timeout=60)["pong"] is True


def test_tasks_are_routed_to_their_queue(require_redis, start_worker):
    from workers.tasks import ping, predict_ping

    start_worker(queues="predict")
    assert predict_ping.delay().get(timeout=60)["pong"] is True
    train_message = ping.delay()  # nobody serves `train`: it waits in the queue
    start_worker(queues="train")
    assert train_message.get(timeout=60)["pong"] is True


def test_embedded_default_broker_works_across_processes_without_redis(tmp_path, transactional_db):
    env = child_env(MENAGERIE_DATA_DIR=str(tmp_path))
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_RESULT_BACKEND", None)
    worker = WorkerProcess(queues="train,predict", log_dir=tmp_path, env=env).start()
    try:
        client = subprocess.run(
            [sys.executable, "-c",
             "from django.conf import settings; from workers.tasks import ping, predict_ping\n"
             "assert settings.CELERY_BROKER_URL == 'filesystem://', settings.CELERY_BROKER_URL\n"
             "print(ping.delay().get(timeout=60)['pong'], predict_ping.delay().get(timeout=60)['pong'])"],
            cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=120,
        )
        assert client.returncode == 0, client.stderr + worker.log()
        assert client.stdout.split() == ["True", "True"]
        assert "filesystem" in worker.log()
    finally:
        worker.stop()
