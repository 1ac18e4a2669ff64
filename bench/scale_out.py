"""Extraction throughput of one large job with 1 vs 2 `train` workers (chunks shared through the feature cache).

    .venv/bin/python bench/scale_out.py [--per-class 150] [--chunk 32] [--cores-per-worker 1] [--workers 1,2]

A throw-away installation (see bench/predict_latency.py). For each worker count: start that many `train` workers,
each with a fresh feature cache folder; with --cores-per-worker K, worker i is pinned to CPUs [i*K, (i+1)*K)
(sched_setaffinity, before TensorFlow loads, which sizes its thread pools from the affinity), emulating one machine
of K cores per worker; 0 = no pinning (all workers share every core). Warm-up: a small job whose chunks every
worker takes part in (TensorFlow loaded, backbone built), then the timed job: 3 x --per-class photos of --data,
MobileNetV2 (ImageNet weights, pooled), extraction stage time = training stage start - claim.
Prints one JSON line per worker count and the speed-up.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_latency import DEFAULT_DATA, BenchEnv  # noqa: E402

SPEC = {"recipe": "article", "backbone": "mobilenet_v2", "weights": "imagenet", "pooling": "avg", "head_config": {"epochs": 2}}


def _pin(worker, cpus: set[int]) -> None:
    for pid in [worker.proc.pid, *worker.child_pids()]:
        os.sched_setaffinity(pid, cpus)


def run(bench: BenchEnv, workers: int, args, data: Path) -> dict:
    from webapp.experiments import services
    from webapp.experiments.models import JobStatus

    features = bench.root / f"features-{workers}"
    env = {"FEATURES_DIR": str(features), "MENAGERIE_EXTRACT_CHUNK_SIZE": str(args.chunk)}
    started = [bench.start_worker("train", **env) for _ in range(workers)]
    if args.cores_per_worker:
        for i, worker in enumerate(started):
            _pin(worker, set(range(i * args.cores_per_worker, (i + 1) * args.cores_per_worker)))
    try:
        for attempt in range(3):  # until every worker has taken part in a job (TF loaded, backbone built)
            warm = bench.dataset(f"warm-{workers}-{attempt}", data, per_class=args.chunk * workers // 3 + 4,
                                 offset=600 + attempt * 60)
            job = services.job_create(dataset=warm, user=bench.user, **SPEC)
            bench.wait(job, lambda j: j.is_finished, 900, "the warm-up job")
            if len({c.worker for c in job.chunks.all()}) == workers:
                break
        dataset = bench.dataset(f"large-{workers}", data, per_class=args.per_class)
        job = services.job_create(dataset=dataset, user=bench.user, **SPEC)
        bench.wait(job, lambda j: j.status != JobStatus.EXTRACTING and j.training_at, 1800, "the extraction")
        seconds = (job.training_at - job.started_at).total_seconds()
        chunks = job.chunks.all()
        return {
            "workers": workers, "images": job.images_extracted, "seconds": round(seconds, 2),
            "images_per_second": round(job.images_extracted / seconds, 2), "chunks": chunks.count(),
            "chunks_per_worker": sorted(
                sum(1 for c in chunks if c.worker == w.name.replace("%h", os.uname().nodename)) for w in started
            ),
            "cores_per_worker": args.cores_per_worker or os.cpu_count(),
        }
    finally:
        for worker in started:
            worker.stop(timeout=60)
        bench.workers.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--chunk", type=int, default=32)
    parser.add_argument("--cores-per-worker", type=int, default=1)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    if args.cores_per_worker and max(counts) * args.cores_per_worker > os.cpu_count():
        parser.error(f"{max(counts)} workers x {args.cores_per_worker} cores > {os.cpu_count()} CPUs")

    bench = BenchEnv(redis_db=13)
    try:
        print(f"broker: {bench.broker()}", flush=True)
        results = [run(bench, n, args, args.data) for n in counts]
        for result in results:
            print(json.dumps(result), flush=True)
        if len(results) > 1:
            print(json.dumps({"speedup": round(results[-1]["images_per_second"] / results[0]["images_per_second"],
                                               2), "of": f"{counts[-1]} vs {counts[0]} workers"}))
    finally:
        bench.close()


if __name__ == "__main__":
    main()
