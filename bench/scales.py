"""Input scale: the recommended recipe's linear head on pooled features at several backbone input sizes, alone and
two scales together, scored by cross-validation on the labelled photos only (never a test split).

    .venv/bin/python bench/scales.py [--datasets caltech_animals,flowers] [--sizes 128,160,224,288]
        [--pairs 224+128,224+288] [--cache DIR] [--data ../shared/datasets]

Per dataset: the photos' median side (their own resolution), then per configuration the 5-fold out-of-fold
accuracy and log loss of StandardScaler + logistic regression with C chosen by out-of-fold log loss, as the
recipe's search does. A pair is scored two ways: one head on the two pooled vectors side by side ("concat"), and
the average of two heads' probabilities ("average"). Extraction seconds per photo are printed where photos were
not cached yet (the same --cache as bench/quality.py).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import SHARED, _rows, _seed_keras_home  # noqa: E402  (also puts the project on sys.path)


def _pooled(rows: list, size: int, cache):
    from classifier.backbones import load_top_block
    from classifier.features import extract
    from classifier.recipes import feature_spec, pooled_features

    spec = feature_spec("recommended", "mobilenet_v2", input_size=size)
    report = extract([(h, p) for h, p, _ in rows], spec, cache)
    seconds = report.seconds / report.extracted if report.extracted else None
    maps = cache.load(spec, [h for h, _, _ in rows])
    return pooled_features(load_top_block("mobilenet_v2", input_size=size), maps), seconds


def _cross_validated(views: list, y, k: int, folds: list, average: bool) -> tuple[float, float, float]:
    """(accuracy, log loss, C) at the C with the lowest out-of-fold log loss."""
    import numpy as np
    from sklearn.metrics import log_loss

    from classifier.recipes import SEARCH_C, fit_linear, linear_probabilities

    xs = views if average else [np.hstack(views)]
    best = None
    for C in SEARCH_C:
        oof = np.zeros((len(y), k))
        for train, held_out in folds:
            oof[held_out] = np.mean([linear_probabilities(fit_linear(x[train], y[train], C=C, num_classes=k),
                                                          x[held_out], k) for x in xs], axis=0)
        scored = (float((oof.argmax(1) == y).mean()), float(log_loss(y, oof, labels=list(range(k)))), C)
        best = scored if best is None or scored[1] < best[1] else best
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="caltech_animals,flowers")
    parser.add_argument("--sizes", default="128,160,224,288")
    parser.add_argument("--pairs", default="224+128,224+288")
    parser.add_argument("--data", type=Path, default=SHARED / "datasets")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "menagerie" / "bench-features")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _seed_keras_home()

    import numpy as np
    from PIL import Image

    from classifier.features import FeatureCache
    from classifier.oof import stratified_folds

    cache = FeatureCache(args.cache)
    pairs = [tuple(int(s) for s in pair.split("+")) for pair in args.pairs.split(",") if pair]
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {s for pair in pairs for s in pair})
    for name in args.datasets.split(","):
        by_split = _rows(args.data / name, 0)
        rows = by_split["train"] + by_split["validation"]  # the test split stays unseen
        class_names = sorted({label for _, _, label in rows})
        y = np.array([class_names.index(label) for _, _, label in rows])
        folds = stratified_folds(y, 5, args.seed)
        sides = [max(Image.open(p).size) for _, p, _ in rows]
        print(f"{name}: {len(rows)} labelled photos, median longer side {statistics.median(sides):.0f} px", flush=True)
        pooled = {}
        for size in sizes:
            started = time.monotonic()
            pooled[size], seconds = _pooled(rows, size, cache)
            accuracy, loss, C = _cross_validated([pooled[size]], y, len(class_names), folds, average=False)
            extraction = f"extraction {seconds * 1000:.0f} ms/photo" if seconds else "cached"
            print(f"  {size}: accuracy {accuracy:.1%}, log loss {loss:.3f} (C {C}; {extraction}; "
                  f"{time.monotonic() - started:.0f}s)", flush=True)
        for pair in pairs:
            for average in (False, True):
                accuracy, loss, C = _cross_validated([pooled[s] for s in pair], y, len(class_names), folds, average)
                how = "average" if average else "concat"
                print(f"  {'+'.join(map(str, pair))} {how}: accuracy {accuracy:.1%}, log loss {loss:.3f} (C {C})",
                      flush=True)


if __name__ == "__main__":
    main()
