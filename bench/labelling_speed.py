"""Speed of the suggester (classifier/labelling.py) on a 5,000-photo dataset with features cached.

    .venv/bin/python bench/labelling_speed.py [--photos 5000] [--classes 10] [--repeat 3]
        [--real DATA_DIR ... --cache DIR]

Synthetic 1280-d non-negative embeddings (MobileNetV2's pooled size), one noisy centre per class, so the head has
as much to learn as on real photos (~90 % held out). Times suggest() (cross-validated held-out predictions,
temperature, the fit on every labelled photo, probabilities for every unlabelled one), next_to_label() with the
default strategy and cover(), for several shares of labelled photos; the median of --repeat runs. --real: the
cached MobileNetV2 features of these class folders instead (bench/active_learning.py's, stacked, classes kept
apart, shuffled; at most --photos): the head needs more iterations on real photos than on the synthetic ones.
Targets (issue 25): a retrain within 10 s, suggestions for 5,000 photos in under 10 s.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
NOISE = 5.0  # ~90 % of held-out photos right with 500 labels, like caltech_animals


def embeddings(n: int, classes: int, seed: int = 0, dim: int = 1280, noise: float = NOISE) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.gamma(0.5, 1.0, (classes, dim))
    y = rng.integers(0, classes, n)
    return np.maximum(centres[y] + rng.normal(0, noise, (n, dim)), 0).astype("float32"), y


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.monotonic()
        result = fn()
        times.append(time.monotonic() - started)
    return statistics.median(times), result


def main() -> int:
    from classifier.labelling import cover, next_to_label, suggest

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--real", type=Path, nargs="*", default=[], help="class-folder datasets (features cached)")
    parser.add_argument("--cache", type=Path, default=None, help="feature cache of --real")
    args = parser.parse_args()
    if args.real:
        from active_learning import _features

        parts = [_features(folder, args.cache) for folder in args.real]
        x = np.vstack([p[0] for p in parts])
        y = np.concatenate([p[1] + sum(len(q[2]) for q in parts[:i]) for i, p in enumerate(parts)])
        order = np.random.default_rng(0).permutation(len(y))[:args.photos]
        x, y, args.classes, args.photos = x[order], y[order], sum(len(p[2]) for p in parts), len(order)
    else:
        x, y = embeddings(args.photos, args.classes)
    rows = []
    for labelled in (100, 500, 2500, args.photos // 2 * 2 - 1000, args.photos):
        unlabelled = args.photos - labelled if labelled < args.photos else args.photos  # all: predict them all
        xl, yl, xu = x[:labelled], y[:labelled], x[-unlabelled:]
        seconds, s = timed(lambda: suggest(xl, yl, xu, num_classes=args.classes), args.repeat)
        nxt, _ = timed(lambda: next_to_label(xl, yl, xu, 25, num_classes=args.classes), args.repeat)
        rows.append({"labelled": labelled, "unlabelled": unlabelled, "suggest_s": round(seconds, 2),
                     "parts_s": {k: round(v, 2) for k, v in s.seconds.items()}, "next_25_s": round(nxt, 2),
                     "heldout_accuracy": round(float(s.heldout_correct.mean()), 3)})
        print(rows[-1], flush=True)
    for k in (args.classes, 50):
        seconds, _ = timed(lambda: cover(x, k), args.repeat)
        rows.append({"cover_photos": args.photos, "k": k, "seconds": round(seconds, 2)})
        print(rows[-1], flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
