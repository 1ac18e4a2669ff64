"""Active learning (classifier/labelling.py): how many labels each strategy needs, and bulk acceptance.

    .venv/bin/python bench/active_learning.py DATA_DIR --seeds N --json OUT [--cache DIR] [--validation]

Simulates a person labelling a class-folder set: the labels are hidden, photos are labelled in the order a
strategy asks for (classifier.labelling.next_to_label), the suggester's head (classifier.labelling.fit_head) is
retrained and scored on a held-out part of each seed's stratified split (25 %; the rest is the pool). Every
strategy is scored on the same grid of label counts: every K (the number of classes) up to 200, then every 25,
then the whole pool. `labels_to_target`: the first grid point within 0.01 of `full_accuracy` (the head on the whole
pool; a strategy's curve stops there unless --full-curve), else the pool's size. `accuracy_at_one_per_class`: after K labels chosen
without looking at labels (random: one random photo per class). Features: classifier.labelling.labelling_spec()
(MobileNetV2 ImageNet, pooled 224 px) through the feature cache.

`bulk_accept` (per seed): a pool of at most 1,000 photos (stratified sample of the seed's pool), 2 random labels
per class, then K more per round in the default strategy's order (BULK_ROUNDS rounds). After each round: every
suggestion at or above Suggestions.confidence_for(MAX_BULK_ERROR) (held-out error at most 5 % with 95 %
confidence) is accepted without a look; the others are reviewed a page at a time (right ones accepted with their
page, wrong ones fixed one by one). Reported per round: accepted and the errors they let through (true labels),
reviewed and `fixes`, `touched` = photos handled one by one (labelled + fixes); "start" = at 2 labels per class
(the issue's figure), "best" = the round with the fewest touched + errors let through.

--validation scores on a quarter of the pool instead of the test part (which is then never looked at), and
simulates on the rest: the settings in classifier.labelling were chosen that way only.

Writes {"default_strategy", "full_accuracy": [per seed], "strategies": {name: {"labels_to_target": [per seed],
"accuracy_at_one_per_class": [per seed], "curve": [[labels, mean accuracy over the seeds that reached it], ...],
"curves": [per seed: [[labels, accuracy], ...]]}}, "bulk_accept": {...}, "pool_size", "test_size", "classes",
"seconds"}.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

TARGET_GAP = 0.01
MAX_BULK_ERROR = 0.05
BULK_POOL = 1000
BULK_START_PER_CLASS = 2
BULK_ROUNDS = 20


def _features(data_dir: Path, cache_dir: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from classifier.audit import cached_embeddings
    from classifier.data import discover
    from classifier.features import FeatureCache, extract
    from classifier.files import content_hash
    from classifier.labelling import labelling_spec

    found = discover(data_dir)["all"]
    class_names = sorted(found)
    rows = [(content_hash(p), p, class_names.index(label)) for label in class_names for p in sorted(found[label])]
    spec, cache = labelling_spec(), FeatureCache(cache_dir)
    report = extract([(h, p) for h, p, _ in rows], spec, cache)
    print(f"features: {report.extracted} extracted, {report.cached} cached, {len(report.skipped)} skipped "
          f"({report.seconds:.0f} s)", file=sys.stderr)
    bad = {s.content_hash for s in report.skipped}
    rows = [r for r in rows if r[0] not in bad]
    return cached_embeddings(spec, cache, [h for h, _, _ in rows]), np.array([y for _, _, y in rows]), class_names


def grid(num_classes: int, pool_size: int) -> list[int]:
    points = list(range(num_classes, 201, num_classes)) + list(range(225, pool_size, 25))
    return [p for p in points if p < pool_size] + [pool_size]


def accuracy(x_train, y_train, x_test, y_test, num_classes: int, seed: int) -> float:
    from classifier.labelling import fit_head, head_probabilities

    model = fit_head(x_train, y_train, num_classes=num_classes, seed=seed)
    return float((head_probabilities(model, x_test, num_classes).argmax(1) == y_test).mean())


def simulate(strategy: str, x, y, x_test, y_test, *, num_classes: int, full: float, seed: int,
             full_curve: bool = False) -> dict:
    """One strategy on one seed's pool: the curve up to the target (the whole pool with full_curve),
    labels_to_target, accuracy at K labels."""
    from classifier.labelling import next_to_label

    rng = np.random.default_rng(seed)
    if strategy == "random":  # the baseline's start: one random photo per class
        labelled = [int(rng.choice(np.flatnonzero(y == c))) for c in range(num_classes) if (y == c).any()]
    else:
        labelled = []
    curve, reached = [], None
    for step, point in enumerate(grid(num_classes, len(y))):
        if len(labelled) < point:
            rest = np.setdiff1d(np.arange(len(y)), labelled)
            chosen = next_to_label(x[labelled], y[labelled], x[rest], point - len(labelled),
                                   num_classes=num_classes, strategy=strategy, seed=seed * 1000 + step)
            assert len(set(chosen)) == len(chosen) == point - len(labelled), (strategy, chosen)
            labelled += rest[chosen].tolist()
        score = accuracy(x[labelled], y[labelled], x_test, y_test, num_classes, seed)
        curve.append([point, score])
        if score >= full - TARGET_GAP and reached is None:
            reached = point
            if not full_curve:
                break
    return {"labels_to_target": reached or len(y), "accuracy_at_one_per_class": curve[0][1], "curve": curve}


def bulk_accept(x, y, *, num_classes: int, seed: int, rounds: int = BULK_ROUNDS) -> dict:
    """A person labels 2 random photos per class, then K more per round in the default strategy's order. After
    each round, every suggestion at or above Suggestions.confidence_for(MAX_BULK_ERROR) is accepted without a
    look (`accepted`, with the `accepted_errors` it lets through); the rest are reviewed a page at a time, right
    ones accepted with the page, wrong ones fixed one by one (`fixes`). `touched` = labelled one by one + fixes.
    `unbounded`: the same with the threshold from the held-out error rate alone (no confidence bound)."""
    from sklearn.model_selection import train_test_split

    from classifier.labelling import next_to_label, suggest

    if len(y) > BULK_POOL:
        x, _, y, _ = train_test_split(x, y, train_size=BULK_POOL, stratify=y, random_state=seed)
    rng = np.random.default_rng(seed)
    labelled = np.concatenate([rng.choice(np.flatnonzero(y == c), BULK_START_PER_CLASS, replace=False)
                               for c in range(num_classes)]).tolist()
    steps = []
    for step in range(rounds + 1):
        rest = np.setdiff1d(np.arange(len(y)), labelled)
        started = time.monotonic()
        s = suggest(x[labelled], y[labelled], x[rest], num_classes=num_classes, seed=seed)
        seconds = time.monotonic() - started
        right = s.labels == y[rest]

        def accept(threshold):
            return s.confidence >= threshold if threshold is not None else np.zeros(len(rest), bool)

        threshold, unbounded = s.confidence_for(MAX_BULK_ERROR), s.confidence_for(MAX_BULK_ERROR, level=None)
        accepted = accept(threshold)
        steps.append({"labelled": len(labelled), "confidence": threshold,
                      "expected_error": s.expected_error(threshold) if threshold is not None else None,
                      "error_bound": s.error_bound(threshold) if threshold is not None else None,
                      "heldout": s.heldout_count(threshold) if threshold is not None else 0,
                      "accepted": int(accepted.sum()), "accepted_errors": int((accepted & ~right).sum()),
                      "reviewed": int((~accepted).sum()), "fixes": int((~accepted & ~right).sum()),
                      "touched": len(labelled) + int((~accepted & ~right).sum()),
                      "unbounded": {"confidence": unbounded, "accepted": int(accept(unbounded).sum()),
                                    "accepted_errors": int((accept(unbounded) & ~right).sum())},
                      "suggestion_accuracy": float(right.mean()), "temperature": s.temperature,
                      "seconds": seconds})
        if step < rounds:
            labelled += rest[next_to_label(x[labelled], y[labelled], x[rest], num_classes, num_classes=num_classes,
                                           seed=seed * 1000 + step)].tolist()
    best = min(steps, key=lambda row: row["touched"] + row["accepted_errors"])
    return {"pool": len(y), "start": steps[0], "best": best, "steps": steps}


def main(argv=None) -> int:
    from sklearn.model_selection import train_test_split

    from classifier.labelling import DEFAULT_STRATEGY

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "MENAGERIE_FEATURE_CACHE", Path.home() / ".cache" / "menagerie" / "features")))
    parser.add_argument("--strategies", default=f"random,{DEFAULT_STRATEGY}",
                        help="comma-separated names of classifier.labelling.STRATEGIES (empty: none)")
    parser.add_argument("--validation", action="store_true",
                        help="score on a quarter of the pool, never on the test part (for choosing settings)")
    parser.add_argument("--no-bulk", action="store_true")
    parser.add_argument("--full-curve", action="store_true", help="score every grid point, not only up to the target")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    started = time.monotonic()
    x_all, y_all, class_names = _features(args.data_dir, args.cache)
    k = len(class_names)
    names = [name for name in args.strategies.split(",") if name]  # none: only full accuracy and bulk_accept
    out = {"data_dir": str(args.data_dir), "default_strategy": DEFAULT_STRATEGY, "classes": k,
           "validation": args.validation, "full_accuracy": [], "strategies": {n: {
               "labels_to_target": [], "accuracy_at_one_per_class": [], "curves": []} for n in names},
           "bulk_accept": {"max_expected_error": MAX_BULK_ERROR, "per_seed": []}}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        x, x_test, y, y_test = train_test_split(x_all, y_all, test_size=0.25, stratify=y_all, random_state=seed)
        if args.validation:  # the test part is left alone: score on part of the pool
            x, x_test, y, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
        out["pool_size"], out["test_size"] = len(y), len(y_test)
        full = accuracy(x, y, x_test, y_test, k, seed)
        out["full_accuracy"].append(full)
        line = [f"seed {seed}: full {full:.3f}"]
        for name in names:
            result = simulate(name, x, y, x_test, y_test, num_classes=k, full=full, seed=seed,
                              full_curve=args.full_curve)
            entry = out["strategies"][name]
            entry["labels_to_target"].append(result["labels_to_target"])
            entry["accuracy_at_one_per_class"].append(result["accuracy_at_one_per_class"])
            entry["curves"].append(result["curve"])
            line.append(f"{name} {result['labels_to_target']} labels (at K {result['accuracy_at_one_per_class']:.3f})")
        if not args.no_bulk:
            bulk = bulk_accept(x, y, num_classes=k, seed=seed)
            out["bulk_accept"]["per_seed"].append(bulk)
            line.append("bulk: " + " | ".join(
                f"{b['labelled']} labelled, {b['accepted']} accepted ({b['accepted_errors']} wrong), "
                f"{b['reviewed']} reviewed ({b['fixes']} fixed): {b['touched']} touched"
                for b in (bulk["start"], bulk["best"])))
        print("; ".join(line), flush=True)
    for entry in out["strategies"].values():
        points: dict = {}
        for curve in entry["curves"]:
            for labels, score in curve:
                points.setdefault(labels, []).append(score)
        entry["curve"] = [[labels, float(np.mean(scores))] for labels, scores in sorted(points.items())]
        entry["mean_labels_to_target"] = float(np.mean(entry["labels_to_target"]))
        entry["mean_accuracy_at_one_per_class"] = float(np.mean(entry["accuracy_at_one_per_class"]))
    random_labels = out["strategies"].get("random", {}).get("mean_labels_to_target")
    summary = {name: {"mean_labels_to_target": e["mean_labels_to_target"],
                      "vs_random": e["mean_labels_to_target"] / random_labels if random_labels else None,
                      "mean_accuracy_at_one_per_class": e["mean_accuracy_at_one_per_class"]}
               for name, e in out["strategies"].items()}
    per_seed = out["bulk_accept"]["per_seed"]
    if per_seed:
        out["bulk_accept"]["mean"] = {
            which: {key: float(np.mean([b[which][key] for b in per_seed]))
                    for key in ("labelled", "accepted", "accepted_errors", "reviewed", "fixes", "touched",
                                "suggestion_accuracy", "seconds")}
            for which in ("start", "best")} | {"pool": float(np.mean([b["pool"] for b in per_seed]))}
    out["summary"], out["seconds"] = summary, time.monotonic() - started
    print(json.dumps({"full_accuracy": float(np.mean(out["full_accuracy"])), "summary": summary,
                      "bulk_accept": out["bulk_accept"].get("mean")}, indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
