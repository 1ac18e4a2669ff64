"""Benchmark: the job status JSON endpoint under 20 concurrent pollers (target: p95 < 50 ms).

By default it builds a throw-away install (temp data folder, SQLite, migrations), a logged-in user and a job in
the middle of training (7 epochs of metrics), starts gunicorn on localhost and polls
`/jobs/<id>/status/` from 20 threads with the session cookie, as the job page does. Two runs:

- `paced`: each poller waits 1 s between requests (the job page's fastest polling interval), starting at a
  random moment within the first second as pages opened at different times do: what 20 open job pages cost;
- `saturated`: no pause at all: every poller fires again as soon as it has its answer (the server's ceiling).

Against a server you already run: `--url http://127.0.0.1:8000 --sessionid <cookie> --job <id>`.

    .venv/bin/python bench/status_endpoint.py [--pollers 20] [--seconds 15] [--workers 2 --threads 8]

Results are printed and written to bench/results/status_endpoint.json (git-ignored).
"""

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_install(data_dir: Path) -> tuple[str, int]:
    """Migrate a fresh SQLite install and create a user, team, dataset and a job mid-training.
    Returns (session key, job id)."""
    env = dict(os.environ, MENAGERIE_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="webapp.settings")
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
    os.environ.update(MENAGERIE_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="webapp.settings")
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from webapp.datasets.models import Dataset, Image, Label, Split
    from webapp.experiments.models import EpochMetric, Evaluation, JobStatus, TrainingJob

    team = Group.objects.create(name="lab")
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    user.groups.add(team)
    dataset = Dataset.objects.create(name="pets", team=team)
    for c, name in enumerate(["cat", "dog", "panda"]):
        label = Label.objects.create(dataset=dataset, name=name)
        Image.objects.bulk_create([
            Image(dataset=dataset, label=label, split=Split.TRAIN, file=f"x/{c}-{i}.jpg", content_hash=f"{c:02d}{i:062d}",
                  width=224, height=224)
            for i in range(100)
        ])
    now = timezone.now()
    job = TrainingJob.objects.create(
        dataset=dataset, backbone="vgg16", weights="imagenet", head_config={"epochs": 20, "hidden": [100, 50]},
        status=JobStatus.TRAINING, progress_done=7, progress_total=20, started_at=now, stage_started_at=now,
        heartbeat_at=now, created_by=user, images_extracted=300, best_epoch=6,
    )
    EpochMetric.objects.bulk_create([
        EpochMetric(job=job, epoch=e, loss=1 / e, accuracy=1 - 0.5 / e, val_loss=1.1 / e, val_accuracy=1 - 0.6 / e,
                    seconds=3.2)
        for e in range(1, 8)
    ])
    # an older finished evaluation row of another job, so the evaluation lookup has rows to skip
    other = TrainingJob.objects.create(dataset=dataset, status=JobStatus.SUCCEEDED, created_by=user)
    Evaluation.objects.create(job=other, dataset=dataset, status="succeeded", is_job_test_split=True, accuracy=0.9)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key, job.pk


def start_gunicorn(data_dir: Path, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, MENAGERIE_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="webapp.settings",
               LOG_LEVEL="WARNING", DEBUG="0")
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "webapp.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "--threads", str(threads), "-k", "gthread", "--log-level", "warning"],
        cwd=REPO, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def poll(url: str, sessionid: str, seconds: float, pause: float, latencies: list, errors: list,
         start: threading.Barrier):
    with requests.Session() as http:
        http.cookies.set("sessionid", sessionid)
        http.get(url, timeout=10)  # connect before the clock starts
        start.wait()
        if pause:
            time.sleep(random.uniform(0, pause))  # pages are opened at different moments, not in lockstep
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                response = http.get(url, timeout=10, allow_redirects=False)
                elapsed = (time.perf_counter() - t0) * 1000
                if response.status_code != 200 or "epochs" not in response.json():
                    errors.append(response.status_code)
                else:
                    latencies.append(elapsed)
            except requests.RequestException as exc:
                errors.append(repr(exc))
            if pause:
                time.sleep(pause)


def run(url: str, sessionid: str, pollers: int, seconds: float, pause: float) -> dict:
    latencies, errors = [], []
    start = threading.Barrier(pollers)
    threads = [threading.Thread(target=poll, args=(url, sessionid, seconds, pause, latencies, errors, start))
               for _ in range(pollers)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 2) if latencies else None

    return {
        "pollers": pollers, "pause_s": pause, "requests": len(latencies), "errors": len(errors),
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pollers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--url", help="base URL of a running server (with --sessionid and --job)")
    parser.add_argument("--sessionid")
    parser.add_argument("--job", type=int)
    args = parser.parse_args()

    server = None
    with tempfile.TemporaryDirectory(prefix="menagerie-bench-") as tmp:
        if args.url:
            base, sessionid, job_id = args.url.rstrip("/"), args.sessionid, args.job
        else:
            sessionid, job_id = setup_install(Path(tmp))
            port = free_port()
            server = start_gunicorn(Path(tmp), port, args.workers, args.threads)
            base = f"http://127.0.0.1:{port}"
        url = f"{base}/jobs/{job_id}/status/"
        try:
            results = {
                "url": url, "cpus": os.cpu_count(),
                "server": "external" if args.url else f"gunicorn gthread {args.workers}x{args.threads}, SQLite",
                "paced": run(url, sessionid, args.pollers, args.seconds, pause=1.0),
                "saturated": run(url, sessionid, args.pollers, args.seconds, pause=0.0),
            }
        finally:
            if server:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(10)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "status_endpoint.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    ok = results["paced"]["p95_ms"] is not None and results["paced"]["p95_ms"] < 50 and not results["paced"]["errors"]
    print(f"target p95 < 50 ms with {args.pollers} pollers at the page's 1 s interval: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
