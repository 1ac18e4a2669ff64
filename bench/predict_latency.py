"""Prediction latency through the web path, with or without (--training off) a training on the `train` worker.

    .venv/bin/python bench/predict_latency.py [--n 40] [--via http|client|service] [--data ../shared/datasets/animals3]
        [--recipe article|recommended]

A throw-away installation in a temp folder (SQLite, Redis db 14 (--redis-db) when Redis runs, else the embedded
broker, or as --broker says;
Keras cache seeded with ../shared/weights): one `train` and one `predict` worker process, a MobileNetV2 (ImageNet)
job (--recipe; the article's, pooled, by default) trained on a subset of --data, then (--training on, the default)
a long training (7x7 feature maps, endless epochs) started on the `train` worker (which runs at
TRAIN_WORKER_NICENESS), and --n predictions of different 256 px JPEGs timed end to end (the predict worker with
the Procfile's --prefetch-multiplier):
- http: POST over HTTP to the named-model JSON API (`/api/models/bench/predict/`; the job is promoted to the
  name "bench") of a gunicorn server (processes x threads as the Procfile's, i.e. `make run`) with an API token, as
  a script would;
- client: POST to the same API through Django's whole request stack (middleware, auth, form, view,
  prediction_run), in this process, no socket;
- service: webapp.experiments.services.prediction_run directly.
The first --warmup predictions (TensorFlow import and model build in the predict worker) and 4 more through the
chosen path (warming the web processes) are not timed; then the predict worker is restarted (it warms the live
models at start) and the first prediction after the registry says it is ready is timed.
Prints p50/p95/mean/max in ms, the worker-side latency stored on the rows, and checks the training was
still running. Targets (issue "Serving"): p50 < 100 ms embedded, < 60 ms Redis; first after ready < 500 ms.
--burst N (http only): then N concurrent API predictions while /health/ and the login page are timed; prints how
many succeeded, were turned away (503/429 with Retry-After) or lost, the successful ones' p95, and health/login
p95 during the burst (targets: >= 45 of 50 succeed, none lost, their p95 < 3 s; pages p95 < 200 ms).
"""

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
SHARED_DIR = Path(os.environ.get("MENAGERIE_SHARED_DIR", REPO_DIR.parent / "shared"))
DEFAULT_DATA = SHARED_DIR / "datasets" / "animals3"
WEIGHTS_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


class BenchEnv:
    """A temp installation: environment, migrated database, worker processes, a team, a user, datasets."""

    def __init__(self, redis_db: int = 14, broker: str = "auto", **env):
        self.root = Path(tempfile.mkdtemp(prefix="menagerie-bench-"))
        keras_home = self.root / "keras"
        (keras_home / "models").mkdir(parents=True)
        weights = SHARED_DIR / "weights" / WEIGHTS_FILE
        if weights.exists():
            (keras_home / "models" / WEIGHTS_FILE).symlink_to(weights)
        os.environ.update(MENAGERIE_DATA_DIR=str(self.root / "data"), KERAS_HOME=str(keras_home),
                          DJANGO_SETTINGS_MODULE="webapp.settings", TF_CPP_MIN_LOG_LEVEL="2",
                          MENAGERIE_JOB_HEARTBEAT_SECONDS="2", **env)
        for name in ("MEDIA_ROOT", "FEATURES_DIR", "ARTIFACTS_DIR", "DATABASE_URL", "CELERY_RESULT_BACKEND"):
            os.environ.pop(name, None)
        from tests.environment import redis_available

        url = f"redis://127.0.0.1:6379/{redis_db}"
        if broker == "redis" or (broker == "auto" and redis_available(url)):
            import redis

            redis.Redis.from_url(url).flushdb()
            os.environ["CELERY_BROKER_URL"] = url
        else:
            os.environ.pop("CELERY_BROKER_URL", None)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from django.contrib.auth.models import Group, User

        self.team = Group.objects.create(name="bench")
        self.user = User.objects.create_user("bench", is_staff=False)
        self.user.groups.add(self.team)
        self.workers = []
        self.servers = []

    def broker(self) -> str:
        from django.conf import settings

        return settings.CELERY_BROKER_URL

    def start_worker(self, queues: str, concurrency: int = 1, extra_args: tuple = (), **env):
        from tests.processes import WorkerProcess, child_env

        worker = WorkerProcess(queues=queues, log_dir=self.root, concurrency=concurrency, env=child_env(**env),
                               extra_args=extra_args).start()
        self.workers.append(worker)
        return worker

    def dataset(self, name: str, data: Path, per_class: int, offset: int = 0, test_every: int = 5):
        """The photos [offset, offset + per_class) of each class folder; every test_every-th is a test image."""
        import hashlib

        from django.core.files.base import ContentFile
        from PIL import Image as PILImage

        from webapp.datasets.models import Dataset, Image, Label, Split

        dataset = Dataset.objects.create(name=name, team=self.team)
        for folder in sorted(p for p in data.iterdir() if p.is_dir()):
            label = Label.objects.create(dataset=dataset, name=folder.name)
            for i, path in enumerate(sorted(folder.iterdir())[offset:offset + per_class]):
                content = path.read_bytes()
                with PILImage.open(io.BytesIO(content)) as im:
                    width, height = im.size
                split = Split.TEST if i % test_every == 0 else Split.VALIDATION if i % test_every == 1 \
                    else Split.TRAIN
                image = Image(dataset=dataset, label=label, split=split, width=width, height=height,
                              content_hash=hashlib.sha256(content).hexdigest(), original_name=path.name)
                image.file.save(path.name, ContentFile(content), save=False)
                image.save()
        return dataset

    def wait(self, job, condition, timeout: float, what: str):
        from tests.processes import wait_for

        def check():
            job.refresh_from_db()
            if job.status == "failed":
                raise RuntimeError(f"job {job.pk} failed: {job.error_message}")
            return condition(job)

        return wait_for(check, timeout, interval=0.2, message=what)

    def close(self):
        for server in self.servers:
            server.terminate()
            server.wait(10)
        for worker in self.workers:
            worker.stop(timeout=20)


def procfile_prefetch(queue: str) -> tuple[str, ...]:
    """The `--prefetch-multiplier N` of the Procfile's worker line for `queue` (none: the settings' 1)."""
    import re

    lines = (REPO_DIR / "Procfile").read_text().splitlines()
    line = next(line for line in lines if line.startswith(f"worker-{queue}:"))
    found = re.search(r"--prefetch-multiplier (\d+)", line)
    return ("--prefetch-multiplier", found.group(1)) if found else ()


def procfile_web_server() -> tuple[str, str]:
    """gunicorn's --workers and --threads as `make run` starts it (the Procfile's web line)."""
    import re

    web = next(line for line in (REPO_DIR / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return re.search(r"--workers (\d+)", web).group(1), re.search(r"--threads (\d+)", web).group(1)


def _http_session(bench: BenchEnv):
    """A gunicorn server on the bench's installation (a free port), and a requests session holding an API token."""
    import socket
    import subprocess

    import requests

    from tests.processes import wait_for
    from webapp.accounts.models import ApiToken

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(bench.root / "gunicorn.log", "wb")
    workers, threads = procfile_web_server()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "webapp.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", workers,
         "--threads", threads], cwd=REPO_DIR, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    bench.servers.append(server)

    def up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/health/", timeout=1).ok
        except requests.RequestException:  # not listening yet, or slow to answer on a busy machine
            return False

    wait_for(up, 30, message="gunicorn to answer")
    _, key = ApiToken.create_for(user=bench.user, name="bench")
    session = requests.Session()
    session.headers["Authorization"] = f"Token {key}"
    return session, f"http://127.0.0.1:{port}/api/models/bench/predict/"


def _burst(session, url: str, queries: list[bytes], n: int) -> dict:
    """n concurrent predictions; meanwhile /health/ and the login page are fetched one after another."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    base = url.split("/api/")[0]
    done = threading.Event()
    page_ms = {"health": [], "login": []}

    def pages():
        while not done.is_set():
            for name, path in (("health", "/health/"), ("login", "/accounts/login/")):
                start = time.perf_counter()
                requests.get(base + path, timeout=60)
                page_ms[name].append((time.perf_counter() - start) * 1000)

    def one(i):
        start = time.perf_counter()
        response = session.post(url, files={"image": (f"b{i}.jpg", queries[i % len(queries)], "image/jpeg")},
                                timeout=120)
        return response.status_code, response.headers.get("Retry-After"), (time.perf_counter() - start) * 1000

    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=n))  # one connection per caller, as n scripts
    watcher = threading.Thread(target=pages)
    watcher.start()
    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(one, range(n)))
    done.set()
    watcher.join()
    ok = [ms for status, _, ms in answers if status == 200]
    turned_away = sum(status in (429, 503) and retry is not None for status, retry, _ in answers)
    return {
        "n": n, "succeeded": len(ok), "turned_away": turned_away, "lost": n - len(ok) - turned_away,
        "succeeded_p95_ms": round(_percentile(ok, 95), 1) if ok else None,
        "health_p95_ms": round(_percentile(page_ms["health"], 95), 1) if page_ms["health"] else None,
        "login_p95_ms": round(_percentile(page_ms["login"], 95), 1) if page_ms["login"] else None,
    }


def _jpeg_256(path: Path) -> bytes:
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        buffer = io.BytesIO()
        im.convert("RGB").resize((256, 256)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="timed predictions")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--via", choices=["http", "client", "service"], default="http")
    parser.add_argument("--burst", type=int, default=0, help="then this many concurrent API predictions (http)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-class", type=int, default=30, help="training photos per class")
    parser.add_argument("--recipe", choices=["article", "recommended"], default="article",
                        help="the served model's (recommended: its views sized by the photos, 256 px on animals3's)")
    parser.add_argument("--broker", choices=["auto", "embedded", "redis"], default="auto",
                        help="auto: Redis (db 14) when it runs, else the embedded default")
    parser.add_argument("--redis-db", type=int, default=14, help="the Redis database the bench may flush")
    parser.add_argument("--predict-concurrency", type=int, default=1, help="the predict worker's -c (Procfile: 1)")
    parser.add_argument("--training", choices=["on", "off"], default="on",
                        help="on: a long training occupies the `train` worker while predictions are timed; off: the "
                             "`train` worker waits idle, as in a fresh `make run`")
    args = parser.parse_args()

    bench = BenchEnv(broker=args.broker, redis_db=args.redis_db)
    try:
        from django.core.files.uploadedfile import SimpleUploadedFile

        from django.conf import settings

        from webapp.experiments import services
        from webapp.experiments.models import JobStatus

        print(f"broker: {bench.broker()}", flush=True)
        bench.start_worker("train")
        predict_args = {"concurrency": args.predict_concurrency, "extra_args": procfile_prefetch("predict")}
        predict_worker = bench.start_worker("predict", **predict_args)
        dataset = bench.dataset("bench", args.data, args.per_class)
        head = ({"pooling": "avg", "head_config": {"epochs": 10, "batch_size": 16, "learning_rate": 1e-3}}
                if args.recipe == "article" else {})
        trained = services.job_create(dataset=dataset, user=bench.user, backbone="mobilenet_v2", weights="imagenet",
                                      recipe=args.recipe, **head)
        bench.wait(trained, lambda j: j.status == JobStatus.SUCCEEDED, 600, "the model to train")
        accuracy = trained.evaluations.get().accuracy
        from webapp.accounts.services import membership_change
        from webapp.serving import services as serving_services

        membership_change(team=bench.team, user=bench.user, role="admin")  # promoting is an admin's power
        named = serving_services.named_model_create(team=bench.team, name="bench", evaluation_dataset=dataset,
                                                    user=bench.user)
        serving_services.model_promote(named_model=named, job=trained, user=bench.user, note="bench")
        busy = None
        if args.training == "on":
            busy = services.job_create(dataset=dataset, user=bench.user, backbone="mobilenet_v2",
                                       weights="imagenet", recipe="article", pooling="",
                                       head_config={"epochs": 1_000_000, "batch_size": 16})
            bench.wait(busy, lambda j: j.status == JobStatus.TRAINING and j.epochs.exists(), 600,
                       "the long training to start")
        print(f"model: job {trained.pk}, recipe {args.recipe}, views {trained.view_sizes} px (test accuracy "
              f"{accuracy:.3f}); "
              f"{f'busy: job {busy.pk} training' if busy else 'the train worker idle'}", flush=True)

        queries = sorted(p for d in sorted(args.data.iterdir()) if d.is_dir()
                         for p in sorted(d.iterdir())[args.per_class:args.per_class + 40])
        queries = [_jpeg_256(p) for p in queries[:args.n + args.warmup]]
        client = session = None
        if args.via == "http":
            session, url = _http_session(bench)
        elif args.via == "client":
            from django.test import Client
            from django.urls import reverse

            client = Client(HTTP_HOST="localhost")
            client.force_login(bench.user)
            url = reverse("serving:api_model_predict", args=["bench"])

        def predict(data: bytes, i: int) -> tuple[float, str, float | None]:
            upload = SimpleUploadedFile(f"q{i}.jpg", data, content_type="image/jpeg")
            start = time.perf_counter()
            if session:
                response = session.post(url, files={"image": (f"q{i}.jpg", data, "image/jpeg")})
                elapsed = (time.perf_counter() - start) * 1000
                body = response.json()
                return elapsed, body.get("status", str(response.status_code)), body.get("latency_ms")
            if client:
                response = client.post(url, {"image": upload})
                elapsed = (time.perf_counter() - start) * 1000
                body = response.json()
                return elapsed, body.get("status", str(response.status_code)), body.get("latency_ms")
            prediction = services.prediction_run(job=trained, upload=upload, user=bench.user)
            return (time.perf_counter() - start) * 1000, prediction.status, prediction.latency_ms

        for i, data in enumerate(queries[:args.warmup]):  # through the service: a cold worker may take > 30 s
            upload = SimpleUploadedFile(f"w{i}.jpg", data, content_type="image/jpeg")
            start = time.perf_counter()
            warm = services.prediction_run(job=trained, upload=upload, user=bench.user, timeout=600)
            print(f"warm-up {i + 1}: {(time.perf_counter() - start) * 1000:.0f} ms ({warm.status})", flush=True)
        # A fresh predict worker loads TensorFlow and the live model ("bench") before it reports ready: time the
        # first prediction after that (the web processes already served predictions: only the worker is new).
        for i, data in enumerate(queries[:4]):
            predict(data, i)
        from tests.processes import wait_for
        from webapp.workers_registry.selectors import queue_has_worker

        predict_worker.stop()
        bench.workers.remove(predict_worker)
        bench.start_worker("predict", **predict_args)  # its "ready." comes before warm-up
        wait_for(lambda: queue_has_worker("predict", ready=True), 300, interval=0.05,
                 message="the predict worker to report ready")
        first_ms, first_status, _ = predict(queries[-1], -1)
        print(f"first prediction after the worker reported ready: {first_ms:.0f} ms ({first_status})", flush=True)
        times, stored, failures = [], [], 0
        for i, data in enumerate(queries[args.warmup:]):
            elapsed, status, latency = predict(data, i)
            times.append(elapsed)
            failures += status != "succeeded"
            if latency is not None:
                stored.append(latency)
        if args.burst and session:
            burst = _burst(session, url, queries, args.burst)
        if busy:
            busy.refresh_from_db()
        result = {
            "via": args.via, "n": len(times), "failures": failures,
            "p50_ms": round(statistics.median(times), 1), "p95_ms": round(_percentile(times, 95), 1),
            "mean_ms": round(statistics.mean(times), 1), "max_ms": round(max(times), 1),
            "stored_latency_p50_ms": round(statistics.median(stored), 1) if stored else None,
            "training": args.training,
            "training_still_running": busy.status == JobStatus.TRAINING if busy else None,
            "busy_job_epochs": busy.epochs.count() if busy else None,
            "first_after_ready_ms": round(first_ms, 1),
            "cpu_count": os.cpu_count(), "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "broker": bench.broker().split(":")[0],
            "web": "gunicorn {} x {} threads".format(*procfile_web_server()) if args.via == "http" else None,
            "api_predict_max_waiting": settings.API_PREDICT_MAX_WAITING,
            "predict_concurrency": args.predict_concurrency,
        }
        if args.burst and session:
            result["burst"] = burst
        if busy:
            services.job_cancel(job=busy)
        print(json.dumps(result), flush=True)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
