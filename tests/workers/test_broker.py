"""A task crosses a real broker to a real worker process: Redis (as in production) and the embedded default."""

import subprocess
import sys

import pytest

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


@pytest.mark.worker  # starts its own, on a broker of its own
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
        assert "workers.embedded_broker" in worker.log()  # the transport line of the banner
    finally:
        worker.stop()


def test_embedded_broker_delivers_in_publish_order_when_the_clock_gains_a_digit(tmp_path, monkeypatch):
    """kombu's own naming (monotonic milliseconds, sorted as text) puts 10000 before 9999, and restarts with the
    machine; the embedded broker's names keep publish order."""
    from kombu import Connection

    from workers import embedded_broker

    clock = iter([9_999, 10_000, 10_001])
    monkeypatch.setattr(embedded_broker, "time_ns", lambda: next(clock))
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    with Connection(transport=embedded_broker.Transport, transport_options=options) as connection:
        queue = connection.SimpleQueue("train")
        for n in range(3):
            queue.put({"n": n})
        received = []
        for _ in range(3):
            message = queue.get(timeout=5)
            received.append(message.payload["n"])
            message.ack()
        queue.close()
    assert received == [0, 1, 2]


def test_the_embedded_default_uses_the_fifo_transport(tmp_path):
    env = {**child_env(), "MENAGERIE_DATA_DIR": str(tmp_path)}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_RESULT_BACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c",
         "from workers.celery_app import app\nprint(type(app.connection_for_write().transport).__module__)"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.stdout.strip() == "workers.embedded_broker", result.stderr
