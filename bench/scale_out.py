"""Extraction throughput of one large job: 1 vs 2 `train` workers (chunks shared through the feature cache), with
the files in the local folder or in an S3-compatible store (issue 26).

    .venv/bin/python bench/scale_out.py [--per-class 150] [--chunk 32] [--cores-per-worker 1] [--workers 1,2]
        [--storage local,s3] [--backbone mobilenet_v2] [--weights imagenet] [--pooling avg] [--rounds 1] [--niceness 0]

A throw-away installation (see bench/predict_latency.py). For each round, storage and worker count: start that many
`train` workers with a fresh feature cache; with --cores-per-worker K, worker i is pinned to CPUs [i*K, (i+1)*K)
(sched_setaffinity, before TensorFlow loads, which sizes its thread pools from the affinity), emulating one machine
of K cores per worker; 0 = no pinning (all workers share every core). Warm-up: a small job whose chunks every
worker takes part in (TensorFlow loaded, backbone built), then the timed job: 3 x --per-class photos of --data
(the same photos in every run), --backbone (float32), extraction stage time = training stage start - claim.

--storage local: every worker on the bench's one folder (photos, features, models), as on one machine.
--storage s3: a SeaweedFS server (tests/s3.py) started here holds photos, features and models; each worker has its
own MENAGERIE_DATA_DIR (its bounded local copy, fresh) and shares only the database, Redis and the store, as
workers on separate machines; the store's features are emptied before each run. The store's CPU seconds (weed
processes, /proc) during the timed extraction are reported: it shares this machine's cores with the workers.
Rounds interleave the storages (local, s3, local, s3, ...) so that a change of the machine's load hits both.

The workers run at --niceness 0 (not the Procfile's 19): the bench times the workers, not their place behind
other programs on a shared machine.

Prints one JSON line per run (with the load average and the machine's busy cores during it), then the medians per
storage and worker count, the s3/local ratios and the speed-ups.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_latency import DEFAULT_DATA, BenchEnv  # noqa: E402

SPEC = {"recipe": "article", "backbone": "mobilenet_v2", "weights": "imagenet", "pooling": "avg",
        "precision": "float32", "head_config": {"epochs": 2}}
TICKS = os.sysconf("SC_CLK_TCK")


def _pin(worker, cpus: set[int]) -> None:
    for pid in [worker.proc.pid, *worker.child_pids()]:
        os.sched_setaffinity(pid, cpus)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (/proc/<pid>/stat fields 14 and 15)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far (/proc/stat), every process of every agent included."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS, sum(values[:8]) / TICKS


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _dataset(bench: BenchEnv, name: str, data: Path, local_media: Path, **kwargs):
    """bench.dataset (photos through the default storage: the store when the bench runs on s3), and the same files
    under local_media for the `local` runs' workers."""
    from webapp.core.storage import remote

    dataset = bench.dataset(name, data, **kwargs)
    if remote():
        for image in dataset.images.select_related("label"):
            target = local_media / image.file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data / image.label.name / image.original_name, target)
    return dataset


def _empty_features(s3) -> None:
    client = s3.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3.settings()["S3_BUCKET"],
                                                                 Prefix="features/"):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=s3.settings()["S3_BUCKET"], Delete={"Objects": keys})


def run(bench: BenchEnv, storage: str, workers: int, args, spec: dict, tag: str, s3) -> dict:
    from webapp.experiments import services
    from webapp.experiments.models import JobStatus

    from django.conf import settings

    local_media = Path(settings.MEDIA_ROOT)  # the bench's own with local storage, else where it copies the photos
    common = {"MENAGERIE_EXTRACT_CHUNK_SIZE": str(args.chunk), "MENAGERIE_TRAIN_WORKER_NICENESS": str(args.niceness)}
    if storage == "local":  # one folder for all, as on one machine
        envs = [{**common, "MENAGERIE_STORAGE": "local", "MEDIA_ROOT": str(local_media),
                 "FEATURES_DIR": str(bench.root / f"features-{tag}")}] * workers
    else:  # a folder each (its local copy), sharing only the database, Redis and the store
        _empty_features(s3)
        envs = [{**common, **s3.settings(), "MENAGERIE_DATA_DIR": str(bench.root / f"host-{tag}-{i}")}
                for i in range(workers)]
    started = [bench.start_worker("train", **env) for env in envs]
    if args.cores_per_worker:
        for i, worker in enumerate(started):
            _pin(worker, set(range(i * args.cores_per_worker, (i + 1) * args.cores_per_worker)))
    try:
        for attempt in range(3):  # until every worker has taken part in a job (TF loaded, backbone built)
            warm = _dataset(bench, f"warm-{tag}-{attempt}", args.data, local_media,
                            per_class=args.chunk * workers // 3 + 4, offset=600 + attempt * 60)
            job = services.job_create(dataset=warm, user=bench.user, **spec)
            bench.wait(job, lambda j: j.is_finished, 900, "the warm-up job")
            if len({c.worker for c in job.chunks.all()}) == workers:
                break
        dataset = _dataset(bench, f"large-{tag}", args.data, local_media, per_class=args.per_class)
        worker_pids = [pid for w in started for pid in (w.proc.pid, *w.child_pids())]
        store_pids = [p.pid for p in (s3.store, s3.process)] if storage == "s3" else []
        load_before, machine_before = _load(), _machine_busy()
        workers_cpu, store_cpu = _cpu_seconds(worker_pids), _cpu_seconds(store_pids)
        job = services.job_create(dataset=dataset, user=bench.user, **spec)
        bench.wait(job, lambda j: j.status != JobStatus.EXTRACTING and j.training_at, 1800, "the extraction")
        workers_cpu, store_cpu = _cpu_seconds(worker_pids) - workers_cpu, _cpu_seconds(store_pids) - store_cpu
        busy, every = (after - before for after, before in zip(_machine_busy(), machine_before))
        seconds = (job.training_at - job.started_at).total_seconds()
        chunks = job.chunks.all()
        cores = workers * args.cores_per_worker if args.cores_per_worker else os.cpu_count()
        return {
            "storage": storage, "workers": workers, "backbone": spec["backbone"], "weights": spec["weights"],
            "pooling": spec["pooling"] or "none", "images": job.images_extracted, "seconds": round(seconds, 2),
            "images_per_second": round(job.images_extracted / seconds, 2), "chunks": chunks.count(),
            "chunks_per_worker": sorted(
                sum(1 for c in chunks if c.worker == w.name.replace("%h", os.uname().nodename)) for w in started
            ),
            # extract() inside the chunks (decode, compute, feature writes), per worker: the rest of the stage is
            # planning, photo fetching, claims and waiting
            "chunk_seconds_per_worker": round(sum(c.seconds for c in chunks) / workers, 2),
            "cores_per_worker": args.cores_per_worker or os.cpu_count(),
            "workers_cpu_seconds": round(workers_cpu, 1), "store_cpu_seconds": round(store_cpu, 1),
            # the same work with no other process on the cores: what the storage costs the workers themselves
            "images_per_worker_cpu_second": round(job.images_extracted / workers_cpu, 2),
            # how much of their cores the workers had (other programs take the rest on a shared machine)
            "workers_core_share": round(workers_cpu / seconds / cores, 2),
            "niceness": args.niceness,
            "machine_busy_cores": round(busy / every * os.cpu_count(), 2),
            "load_before": load_before, "load_after": _load(),
        }
    finally:
        for worker in started:
            worker.stop(timeout=60)
        bench.workers.clear()


def _summary(results: list[dict], storages: list[str], counts: list[int]) -> None:
    def median(storage, n, key="images_per_second"):
        values = [r[key] for r in results if r["storage"] == storage and r["workers"] == n]
        return statistics.median(values) if values else None

    for storage in storages:
        for n in counts:
            print(json.dumps({"storage": storage, "workers": n, "median_images_per_second": round(median(storage, n), 2),
                              "median_images_per_worker_cpu_second": round(
                                  median(storage, n, "images_per_worker_cpu_second"), 2),
                              "runs": sum(r["storage"] == storage and r["workers"] == n for r in results)}))
    if {"local", "s3"} <= set(storages):
        for n in counts:
            print(json.dumps({"s3_vs_local": round(median("s3", n) / median("local", n), 2), "workers": n,
                              "per_round": _paired(results, "local", n, "s3", n),
                              "per_worker_cpu_second": round(median("s3", n, "images_per_worker_cpu_second")
                                                             / median("local", n, "images_per_worker_cpu_second"),
                                                             2)}))
    if len(counts) > 1:
        for storage in storages:
            print(json.dumps({"speedup": round(median(storage, counts[-1]) / median(storage, counts[0]), 2),
                              "of": f"{counts[-1]} vs {counts[0]} workers", "storage": storage,
                              "per_round": _paired(results, storage, counts[0], storage, counts[-1])}))


def _paired(results: list[dict], storage_a: str, workers_a: int, storage_b: str, workers_b: int) -> list[float]:
    """B's images/s over A's within each round (the two runs minutes apart: the load they met is closer than
    across rounds)."""
    rate = {(r["round"], r["storage"], r["workers"]): r["images_per_second"] for r in results}
    rounds = sorted({r["round"] for r in results})
    return [round(rate[n, storage_b, workers_b] / rate[n, storage_a, workers_a], 2) for n in rounds
            if (n, storage_a, workers_a) in rate and (n, storage_b, workers_b) in rate]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--chunk", type=int, default=32)
    parser.add_argument("--cores-per-worker", type=int, default=1)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--storage", default="local", help="local, s3 or both (local,s3): runs of each, interleaved")
    parser.add_argument("--backbone", default=SPEC["backbone"])
    parser.add_argument("--weights", default=SPEC["weights"], help='"none": random init, the same FLOPs')
    parser.add_argument("--pooling", default=SPEC["pooling"], help='"none": the full feature maps (the article\'s)')
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--niceness", type=int, default=0,
                        help="the workers' (MENAGERIE_TRAIN_WORKER_NICENESS; 0: not 19, whose share of a core "
                             "busy with other processes is ~1.5 %%, which would time those processes)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    storages = args.storage.split(",")
    if args.cores_per_worker and max(counts) * args.cores_per_worker > os.cpu_count():
        parser.error(f"{max(counts)} workers x {args.cores_per_worker} cores > {os.cpu_count()} CPUs")
    if not set(storages) <= {"local", "s3"}:
        parser.error("--storage takes local, s3 or local,s3")
    spec = {**SPEC, "backbone": args.backbone, "weights": args.weights,
            "pooling": "" if args.pooling == "none" else args.pooling}

    s3 = None
    if "s3" in storages:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.s3 import S3Server

        s3 = S3Server(Path(tempfile.mkdtemp(prefix="menagerie-bench-s3-"))).start()
    bench = BenchEnv(redis_db=13, **(s3.settings() if s3 else {}))  # the bench's own files: in the store with s3
    results = []
    try:
        print(f"broker: {bench.broker()}; storage: {storages}; load {_load()}", flush=True)
        for round_no in range(args.rounds):
            for storage in storages:
                for n in counts:
                    started = time.monotonic()
                    result = run(bench, storage, n, args, spec, f"{storage}-{n}-{round_no}", s3)
                    result["round"] = round_no
                    result["run_wall_seconds"] = round(time.monotonic() - started, 1)
                    results.append(result)
                    print(json.dumps(result), flush=True)
        _summary(results, storages, counts)
    finally:
        bench.close()
        if s3:
            s3.close()
            shutil.rmtree(s3.folder, ignore_errors=True)
        shutil.rmtree(bench.root, ignore_errors=True)


if __name__ == "__main__":
    main()
