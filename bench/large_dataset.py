"""How Menagerie grows from 10,000 to 100,000 photos: import, photo browser, job planning, head training, audit
near-duplicates, each at two sizes with the growth ratio (10x the photos should cost about 10x, not 100x).

    .venv/bin/python bench/large_dataset.py [--quick] [--sizes 10000,100000] [--import-sizes A,B]
                                            [--steps import,browser,plan,train,audit]

A throw-away installation in a temp folder (SQLite unless DATABASE_URL is set; the default filesystem broker, so
the job's message goes nowhere). Real files only where a step needs pixels:
- import: N small JPEGs (64x48 px, 10 class folders) written to a temp folder, then `manage.py import_dataset`
  (the server command: hash, check, thumbnail, rows in committed batches); photos/s, and the time ratio.
- browser: N image rows (bulk-created, no files; 10 classes, a tenth flagged, a twentieth excluded); the dataset
  page's first page through Django's whole request stack as a logged-in team member (median of --repeat).
- plan: experiments.services.job_create on those rows (snapshot of the photos, planned views, memory estimate, one
  JobImage per photo), the article's head on pooled features: time, then again under tracemalloc for the peak of
  Python memory. Also whether the default (recommended) recipe's job is accepted: its estimate keeps the last
  block's maps (~100 KB a photo) in memory, which at 100,000 photos exceeds the workers' 8 GB.
- train: classifier.train.train (the article's head) on random pooled features N x 1280 float32, 3 epochs, in a
  child process per size: the fastest later epoch's time and CPU seconds (all threads; far steadier than the time
  when other processes share the cores), and the peak resident memory (VmHWM) above the process before the
  features were made (the features themselves are N x 5 KB of it).
Times are wall-clock; CPU lines are this process's CPU seconds for the same work (the steadier figure on busy
cores).
- audit: classifier.audit.duplicates_and_leaks (the audit's near-duplicate step, embeddings only) on random
  N x 1280 embeddings with 1 % planted near copies: time and tracemalloc peak (numpy's buffers included). Its
  all-pairs similarity is quadratic by nature (N^2 dot products): the ratio is ~100x; the time at 100k is the
  figure to judge.
--quick: sizes 2,000 and 20,000 for a fast check (about 1 min); the default takes about 10 min on two cores.
"""

import argparse
import importlib
import io
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
sys.path.insert(0, str(REPO_DIR / "bench"))

CLASSES = 10
FEATURES = 1280  # MobileNetV2's pooled features


# --- import --------------------------------------------------------------------------------------------------------


def _photo_folder(count: int) -> Path:
    """`count` distinct small JPEGs in CLASSES class folders (a random 4x3 colour grid, scaled up)."""
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="menagerie-bench-photos-"))
    rng = np.random.default_rng(count)
    for c in range(CLASSES):
        (folder / f"class{c:02d}").mkdir()
    for i in range(count):
        grid = rng.integers(0, 256, (3, 4, 3), dtype="uint8")
        out = io.BytesIO()
        Image.fromarray(grid).resize((64, 48), Image.NEAREST).save(out, "JPEG", quality=80)
        (folder / f"class{i % CLASSES:02d}" / f"photo-{i:06d}.jpg").write_bytes(out.getvalue())
    return folder


def step_import(count: int) -> dict:
    from django.core.management import call_command

    folder = _photo_folder(count)
    out = io.StringIO()
    started = time.perf_counter()
    call_command("import_dataset", str(folder), name=f"import-{count}", team="bench", json=True, stdout=out)
    seconds = time.perf_counter() - started
    shutil.rmtree(folder)
    report = json.loads(out.getvalue())
    assert report["total_added"] == count, {k: report[k] for k in ("total_added", "duplicates", "rejected")}
    return {"seconds": seconds, "per_second": count / seconds}


# --- photo browser and job planning (rows, no files) ---------------------------------------------------------------


def step_browser(dataset, member, repeat: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client(HTTP_HOST="localhost")
    client.force_login(member)
    url = reverse("datasets:detail", args=[dataset.pk])
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return {"seconds": statistics.median(times), "queries": len(queries)}


def step_plan(dataset, member) -> dict:
    """job_create for the article's head on pooled features (what fits 8 GB workers at 100,000 photos); and
    whether the default (recommended) recipe's job is accepted: it keeps the last block's maps in memory."""
    from django.core.exceptions import ValidationError

    from webapp.experiments.services import job_create

    def plan(**recipe):
        return job_create(dataset=dataset, user=member, backbone="mobilenet_v2", weights="imagenet",
                          precision="float32", **recipe)

    try:
        plan(recipe="recommended")
        recommended = "accepted"
    except ValidationError as exc:
        recommended = " ".join(exc.messages)
    started, cpu = time.perf_counter(), time.process_time()
    job = plan(recipe="article", pooling="avg")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()
    plan(recipe="article", pooling="avg")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "cpu": cpu, "peak_bytes": peak, "job_images": job.job_images.count(),
            "recommended": recommended}


# --- head training (child process: TensorFlow and a clean peak per size) -------------------------------------------


def _kib(field: str) -> int:
    import re

    return int(re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M).group(1))


def train_child(count: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    importlib.import_module("keras")  # loaded before the first reading, as in a warm worker

    from classifier.head import HeadConfig
    from classifier.train import train

    before = _kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS: the peak from here on
    rng = np.random.default_rng(0)
    x = rng.standard_normal((count, FEATURES), dtype="float32")
    y = rng.integers(0, CLASSES, count)
    n_val = count // 10
    marks = []  # process CPU seconds at each epoch's end: what other processes on the cores do not change
    result = train(x[n_val:], y[n_val:], x[:n_val], y[:n_val], num_classes=CLASSES, config=HeadConfig(epochs=3),
                   on_epoch_end=lambda epoch, metrics: marks.append(time.process_time()))
    epochs = [epoch["seconds"] for epoch in result.history]
    return {"peak_bytes": (_kib("VmHWM") - before) * 1024, "features_bytes": x.nbytes,
            "seconds": min(epochs[1:]), "cpu": min(b - a for a, b in zip(marks, marks[1:])),
            "first_epoch_seconds": epochs[0]}


def step_train(count: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--train-child", str(count)], capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise RuntimeError(f"training child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- audit near-duplicates -----------------------------------------------------------------------------------------


def step_audit(count: int) -> dict:
    importlib.import_module("scipy.sparse.csgraph")  # imported before the clock starts, as in a warm worker

    from classifier.audit import duplicates_and_leaks

    rng = np.random.default_rng(1)
    x = rng.standard_normal((count, FEATURES), dtype="float32")
    originals, copies = rng.choice(count, (2, count // 200), replace=False)
    x[copies] = x[originals] + 0.1 * rng.standard_normal((len(copies), FEATURES), dtype="float32")
    ids = list(range(count))
    splits = [("train", "train", "train", "validation", "test")[i % 5] for i in ids]
    tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    groups, leaks = duplicates_and_leaks(x, ids, splits)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(groups) == len(copies), (len(groups), len(copies))  # every planted copy found
    return {"seconds": seconds, "cpu": cpu, "peak_bytes": peak, "groups": len(groups), "leaks": len(leaks)}


# --- report --------------------------------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 2**20:.0f} MB"


def _ms(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def _verdict(ratio: float, data_ratio: float, *, quadratic: bool = False) -> str:
    """Linear when the cost grew at most 1.2x the data; an all-pairs step is judged against data_ratio^2."""
    if quadratic:
        return "quadratic (all pairs), as expected" if ratio <= 1.2 * data_ratio ** 2 else "WORSE THAN QUADRATIC"
    return "linear or better" if ratio <= 1.2 * data_ratio else "FASTER THAN LINEAR"


def _line(name: str, small, large, unit, data_ratio: float, *, ratio: float | None = None,
          verdict: str | None = None):
    """One row: the two figures, how much the cost grew (large / small unless given), the verdict."""
    ratio = ratio or large / small
    print(f"{name:44} {unit(small):>12} {unit(large):>12} {ratio:8.1f}x  {verdict or _verdict(ratio, data_ratio)}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="sizes 2,000 and 20,000")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--import-sizes", help="the import's own sizes (default: --sizes)")
    parser.add_argument("--steps", default="import,browser,plan,train,audit")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--train-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_child:
        print(json.dumps(train_child(args.train_child)))
        return
    if args.quick:
        args.sizes = "2000,20000"
    small, large = (int(n) for n in args.sizes.split(","))
    steps = args.steps.split(",")

    from big_dataset import big_dataset, install

    install()
    logging.getLogger("axes").setLevel(logging.WARNING)  # one line per login otherwise
    from django.contrib.auth.models import Group, User
    from django.db import connection

    team = Group.objects.create(name="bench")
    member = User.objects.create_user("member", password=None)
    member.groups.add(team)
    print(f"{connection.vendor}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'step':44} {'small':>12} {'large':>12} {'ratio':>9}  verdict")
    total = time.perf_counter()
    if "import" in steps:
        a, b = (int(n) for n in (args.import_sizes or args.sizes).split(","))
        low, high = step_import(a), step_import(b)
        grew = high["seconds"] / low["seconds"]
        _line(f"import_dataset {a:,} -> {b:,}: photos/s (time)", low["per_second"], high["per_second"],
              lambda v: f"{v:.0f}/s", b / a, ratio=grew)
    results = {}
    for count in (small, large):
        r = results[count] = {}
        if "browser" in steps or "plan" in steps:
            dataset, _ = big_dataset(team, images=count, classes=CLASSES, curated=True, name=f"big-{count}")
            connection.cursor().execute("ANALYZE") if connection.vendor == "sqlite" else None
            if "browser" in steps:
                r["browser"] = step_browser(dataset, member, args.repeat)
            if "plan" in steps:
                r["plan"] = step_plan(dataset, member)
        if "train" in steps:
            r["train"] = step_train(count)
        if "audit" in steps:
            r["audit"] = step_audit(count)
        print(f"  ({count:,} done: {json.dumps(r)})", flush=True)
    ratio = large / small
    s, big = results[small], results[large]
    print(f"\n{'step':44} {f'{small:,}':>12} {f'{large:,}':>12} {'ratio':>9}  verdict")
    if "browser" in steps:
        _line("browser first page (median)", s["browser"]["seconds"], big["browser"]["seconds"], _ms, ratio)
        print(f"{'  SQL queries':44} {s['browser']['queries']:>12} {big['browser']['queries']:>12}")
    if "plan" in steps:
        _line("plan a job: job_create time", s["plan"]["seconds"], big["plan"]["seconds"], _ms, ratio)
        _line("plan a job: job_create CPU", s["plan"]["cpu"], big["plan"]["cpu"], _ms, ratio)
        _line("plan a job: tracemalloc peak", s["plan"]["peak_bytes"], big["plan"]["peak_bytes"], _mb, ratio)
        for count in (small, large):
            print(f"  recommended recipe's job at {count:,}: {results[count]['plan']['recommended']}")
    if "train" in steps:
        _line("train head: time per epoch", s["train"]["seconds"], big["train"]["seconds"], _ms, ratio)
        _line("train head: CPU per epoch", s["train"]["cpu"], big["train"]["cpu"], _ms, ratio)
        _line("train head: peak RSS above start", s["train"]["peak_bytes"], big["train"]["peak_bytes"], _mb, ratio)
    if "audit" in steps:
        _line("audit near-duplicates: time", s["audit"]["seconds"], big["audit"]["seconds"], _ms, ratio,
              verdict=_verdict(big["audit"]["seconds"] / s["audit"]["seconds"], ratio, quadratic=True))
        _line("audit near-duplicates: CPU", s["audit"]["cpu"], big["audit"]["cpu"], _ms, ratio,
              verdict=_verdict(big["audit"]["cpu"] / s["audit"]["cpu"], ratio, quadratic=True))
        _line("audit near-duplicates: tracemalloc peak", s["audit"]["peak_bytes"], big["audit"]["peak_bytes"], _mb,
              ratio)
    print(f"\ntotal {time.perf_counter() - total:.0f} s; load average {os.getloadavg()[0]:.1f}")
    shutil.rmtree(os.environ["MENAGERIE_DATA_DIR"])  # the throw-away installation (database, imported photos)


if __name__ == "__main__":
    main()
