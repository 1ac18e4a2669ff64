"""A new user's default job in the web app, timed end to end, then its fine-tuning follow-up and a retrain.

    .venv/bin/python bench/web_job.py [--data ../shared/datasets/caltech_animals] [--per-class 1000]
        [--backbone mobilenet_v2]

A throw-away installation (see bench/predict_latency.py) with one `train` worker that measures precision on first
use, as a fresh worker does. A dataset of --data's photos (every 5th a test photo, every 5th + 1 a validation one),
then the job a new user gets from the form's defaults (recommended recipe, precision auto) on --backbone:
- the job: seconds from created to finished and from the claim to finished, and each stage's (extraction,
  training, evaluation), test accuracy, what it chose, whether it left a fine-tuning follow-up;
- the follow-up (when there is one): its seconds and outcome (a new model, or "not kept" and why);
- "Retrain on the current data" after one labelled photo is excluded: its seconds and the ratio to the first job
  (claim to finished, both).
Prints one JSON line per part.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_latency import SHARED_DIR, BenchEnv  # noqa: E402


def _times(job) -> dict:
    seconds = lambda a, b: round((b - a).total_seconds(), 1) if a and b else None  # noqa: E731
    return {"job": job.pk, "status": job.status, "created_to_finished": seconds(job.created_at, job.finished_at),
            "claim_to_finished": seconds(job.started_at, job.finished_at),
            "extraction": seconds(job.started_at, job.training_at),
            "training": seconds(job.training_at, job.evaluating_at or job.finished_at),
            "evaluation": seconds(job.evaluating_at, job.finished_at),
            "images_extracted": job.images_extracted, "images_cached": job.images_cached,
            "precision": job.precision, "precision_reason": job.precision_reason}


def _report(job) -> dict:
    from webapp.experiments import selectors

    evaluation = selectors.job_evaluation(job)
    if evaluation is None:
        return {"message": job.error_message}
    search = evaluation.report.get("search") or {}
    return {"test_accuracy": round(evaluation.accuracy, 4), "test_photos": evaluation.image_count,
            "chosen": search.get("chosen"),
            "follow_up": any(t.get("follow_up") for t in search.get("trials", []))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED_DIR / "datasets" / "caltech_animals")
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--backbone", default="mobilenet_v2")
    args = parser.parse_args()
    bench = BenchEnv(MENAGERIE_WORKER_MEASURE_PRECISION="1")
    try:
        from webapp.datasets.services import images_exclude
        from webapp.experiments import services

        bench.start_worker("train")
        dataset = bench.dataset("new user", args.data, per_class=args.per_class)
        job = services.job_create(dataset=dataset, user=bench.user, backbone=args.backbone)
        bench.wait(job, lambda j: j.is_finished, 1800, "the job")
        first = _times(job) | _report(job)
        print(json.dumps({"part": "job", "photos": dataset.images.count()} | first), flush=True)
        follow_up = job.follow_ups.first()
        if follow_up is not None:
            bench.wait(follow_up, lambda j: j.is_finished, 1800, "the follow-up")
            print(json.dumps({"part": "follow-up"} | _times(follow_up) | _report(follow_up)), flush=True)
        photo = dataset.images.filter(split="train").order_by("pk")[:1]
        images_exclude(images=dataset.images.filter(pk__in=list(photo.values_list("pk", flat=True))),
                       user=bench.user)
        retrain = services.job_retry(job=job, user=bench.user)
        bench.wait(retrain, lambda j: j.is_finished, 1800, "the retrain")
        again = _times(retrain) | _report(retrain)
        print(json.dumps({"part": "retrain, one photo excluded"} | again
                         | {"ratio_to_first": round(again["claim_to_finished"] / first["claim_to_finished"], 2)}),
              flush=True)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
