"""Real processes for end-to-end tests: Celery workers on the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.shared import REPO_DIR


def database_url() -> str:
    """The test database (as pytest-django created it) as a DATABASE_URL for child processes."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(condition, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Poll `condition()` until it returns something truthy; return that, or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def child_env(**overrides: str) -> dict:
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="webapp.settings", DATABASE_URL=database_url(), PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def worker_env(**overrides: str) -> dict:
    """child_env with a fast job heartbeat (the reaper's threshold stays the default unless set)."""
    return child_env(MENAGERIE_JOB_HEARTBEAT_SECONDS="0.5", **overrides)


class WorkerProcess:
    def __init__(self, queues: str, log_dir: Path, concurrency: int = 1, env: dict | None = None,
                 extra_args: tuple = (), prefix: str = "test"):
        self.queues = queues
        self.name = f"{prefix}-{queues.replace(',', '-')}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        self.log_path = Path(log_dir) / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.concurrency = concurrency
        self.env = env
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None
        self._terminating = False

    def start(self, timeout: float = 90):
        self.launch()
        return self.wait_ready(timeout)

    def launch(self):
        """Start the process without waiting for it (several workers then load TensorFlow side by side)."""
        cmd = [
            sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", self.queues, "-n", self.name,
            "-c", str(self.concurrency), "--pool", "prefork", "--loglevel", "INFO", "--without-gossip",
            "--without-mingle", *self.extra_args,
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO_DIR, env=self.env or child_env(), stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 90):
        wait_for(self._ready, timeout, message=f"worker {self.name} to be ready (log: {self.log_path})")
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log()}")
        return b" ready." in self.log_path.read_bytes()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        """The prefork pool's processes, where tasks run."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill(self):
        """SIGKILL the worker and its pool at once, as the OOM killer would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def terminate(self):
        """Ask for a warm shutdown (finish the current task) without waiting: stop() then waits."""
        if self.proc and self.proc.poll() is None and not self._terminating:
            self.proc.send_signal(signal.SIGTERM)
            self._terminating = True

    def stop(self, timeout: float = 30):
        if self.proc and self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
