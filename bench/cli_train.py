"""Whole CLI trains, timed side by side: the recommended recipe before (another checkout, --before) and after (this
one), the article's, the fine-tuning follow-up where the recommended run left one (--fine-tuning now on its cache),
and a retrain on cached features after one labelled photo is excluded.

    .venv/bin/python bench/cli_train.py [--before /tmp/main-checkout] [--datasets caltech_animals,animals3]
        [--work /tmp/cli-train]

Each first run gets a fresh feature cache; runs go one after the other per dataset (before, after, article, retrain),
so load drifts hit them alike. Prints wall seconds (the `python -m classifier train` process), test accuracy, what the
recommended run chose, the process's CPU seconds (user + system; less noisy on a shared machine), and the load
average next to each figure.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MENAGERIE_SHARED_DIR", REPO_DIR.parent / "shared"))


def _children_cpu() -> float:
    """CPU seconds (user + system) of finished child processes: on a shared machine, less noisy than wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(checkout: Path, data: Path, out: Path, cache: Path, *extra) -> dict:
    started, cpu = time.monotonic(), _children_cpu()
    log = subprocess.run([sys.executable, "-m", "classifier", "train", str(data), "--out", str(out), "--cache",
                          str(cache), *extra], cwd=checkout, capture_output=True, text=True)
    seconds, cpu = time.monotonic() - started, _children_cpu() - cpu
    if log.returncode:
        raise SystemExit(log.stdout[-3000:] + log.stderr[-3000:])
    report = json.loads((out / "report.json").read_text())
    chosen = (report.get("search") or {}).get("chosen")
    trials = (report.get("search") or {}).get("trials", [])
    skipped = [t["skipped"] for t in trials if t.get("skipped")]
    return {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "accuracy": report["accuracy"],
            "chosen": chosen, "skipped": skipped, "follow_up": any(t.get("follow_up") for t in trials),
            "reused": "reused the decision" in log.stdout, "load": open("/proc/loadavg").read().split()[:3]}


def without_one_photo(data: Path, to: Path) -> Path:
    """The dataset as symlinks, less its first class's first photo (by name)."""
    shutil.rmtree(to, ignore_errors=True)
    for i, folder in enumerate(sorted(p for p in data.iterdir() if p.is_dir())):
        (to / folder.name).mkdir(parents=True)
        for photo in sorted(folder.iterdir())[1 if i == 0 else 0:]:
            (to / folder.name / photo.name).symlink_to(photo)
    return to


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change (none: not run)")
    parser.add_argument("--datasets", default="caltech_animals,animals3")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cli-train"))
    args = parser.parse_args()
    results = {}
    for name in args.datasets.split(","):
        data, work = SHARED / "datasets" / name, args.work / name
        shutil.rmtree(work, ignore_errors=True)
        runs = results[name] = {}
        if args.before:
            runs["recommended before"] = train(args.before, data, work / "before", work / "cache-before")
            print(name, "recommended before", runs["recommended before"], flush=True)
        runs["recommended after"] = train(REPO_DIR, data, work / "after", work / "cache-after")
        print(name, "recommended after", runs["recommended after"], flush=True)
        if runs["recommended after"]["follow_up"]:  # the trial it left to a follow-up, on the same cache
            runs["fine-tuning follow-up"] = train(REPO_DIR, data, work / "follow-up", work / "cache-after",
                                                  "--fine-tuning", "now")
            print(name, "fine-tuning follow-up", runs["fine-tuning follow-up"], flush=True)
        runs["article"] = train(REPO_DIR, data, work / "article", work / "cache-article", "--recipe", "article")
        print(name, "article", runs["article"], flush=True)
        runs["retrain, one photo excluded"] = train(REPO_DIR, without_one_photo(data, work / "less"),
                                                    work / "retrain", work / "cache-after")
        print(name, "retrain", runs["retrain, one photo excluded"], flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
