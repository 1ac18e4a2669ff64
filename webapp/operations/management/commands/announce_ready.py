"""`make run`'s last word: once the site answers (and its workers are warm), print its address and how to log in,
framed, below the installation and start-up output where the first admin's password was lost."""

import os
import signal
import sys
import time
import urllib.error
import urllib.request

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection

from webapp.operations.management.commands.createadmin import admin_password_file


def site_url(bind: str) -> str:
    """The address to open for gunicorn's `--bind HOST:PORT` (a wildcard host is reached on this machine)."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "health/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an answer all the same
    except (OSError, ValueError):
        return False


class Command(BaseCommand):
    help = ("Wait until the site answers and a worker of each queue is ready, then print the site's address and "
            "how to log in (the first admin's generated password, from DATA_DIR/admin-password.txt), framed.")

    def add_arguments(self, parser):
        parser.add_argument("--url", help="the site (default: from MENAGERIE_BIND, as the Procfile's web line)")
        parser.add_argument("--workers-timeout", type=float, default=180,
                            help="seconds to wait for warm workers once the site answers (default 180)")
        parser.add_argument("--stay", action="store_true",
                            help="then keep running until stopped (honcho stops everything when a process ends)")

    def handle(self, *args, url, workers_timeout, stay, **options):
        url = url.rstrip("/") + "/" if url else site_url(os.environ.get("MENAGERIE_BIND") or "127.0.0.1:8000")
        while not answers(url):
            time.sleep(0.5)
        deadline = time.monotonic() + workers_timeout
        while (waiting := self._queues_without_ready_worker()) and time.monotonic() < deadline:
            time.sleep(1)
        self.stdout.write(self.banner(url, waiting))
        connection.close()  # not held while it waits to be stopped
        if stay:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            while True:
                signal.pause()

    def _queues_without_ready_worker(self) -> list[str]:
        from webapp.workers_registry.selectors import QUEUES, queue_has_worker

        try:
            return [queue for queue in QUEUES if not queue_has_worker(queue, ready=True)]
        finally:
            connection.close()

    def banner(self, url: str, waiting: list[str]) -> str:
        lines = [f"Menagerie is ready: {url}"]
        if waiting:
            lines[0] = f"Menagerie answers at {url} (no ready worker yet for: {', '.join(waiting)})"
        lines += [*self.login_lines(), "Ctrl-C stops the site and its workers."]
        width = max(len(line) for line in lines) + 4
        frame = "=" * width
        return "\n".join(["", frame, *(f"  {line}" for line in lines), frame, ""])

    def login_lines(self) -> list[str]:
        path = admin_password_file()
        try:
            fields = dict(line.split(": ", 1) for line in path.read_text().splitlines() if ": " in line)
        except OSError:
            fields = {}
        user = get_user_model().objects.filter(username=fields.get("username"), is_active=True).first()
        if user and user.check_password(fields.get("password", "")):
            return [f"Log in as {user.get_username()} with password {fields['password']}",
                    f"(kept in {path}, readable by you only: change the password",
                    " in the admin, under 'Change password', then delete that file)"]
        admin = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        name = admin.get_username() if admin else "admin"
        stale = [f"(the password in {path} no longer works: delete that file)"] if fields else []
        return [f"Log in as {name} with your password (the first start printed it, or MENAGERIE_ADMIN_PASSWORD);",
                *stale, f"forgotten: .venv/bin/python manage.py changepassword {name}"]
