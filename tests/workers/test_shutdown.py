"""Issue 27 item 11: Ctrl-C of `make run` stops the workers cleanly. honcho sends SIGTERM to each Procfile process's
whole process group; a worker's pool processes must not die of it (the main process logged an ERROR for each and
started a new one before it exited)."""

import os
import signal

from tests.processes import wait_for, worker_env
from webapp.workers_registry.models import Worker


def test_a_sigterm_to_the_workers_process_group_stops_it_cleanly(start_worker):
    env = worker_env()
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):  # the embedded broker, as `make run` has it
        env.pop(name, None)
    worker = start_worker("predict", env=env)
    node = worker.name.split("@")[0]
    wait_for(lambda: Worker.objects.filter(name__startswith=node + "@", ready=True).exists(), 120,
             message="the pool process to be warm")
    pool = worker.child_pids()
    assert pool

    os.killpg(worker.proc.pid, signal.SIGTERM)  # as honcho does
    assert worker.proc.wait(timeout=60) == 0
    log = worker.log()
    assert "Warm shutdown" in log
    assert "ERROR" not in log and "exited with" not in log, log
    for pid in pool:  # the pool went with its worker
        wait_for(lambda: not _alive(pid), 10, message=f"pool process {pid} to end")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
