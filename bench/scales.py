"""Input scale: the recommended recipe's linear head on pooled features at several backbone input sizes, alone and
two scales together, scored by cross-validation on the labelled photos only (never a test split).

    .venv/bin/python bench/scales.py [--datasets caltech_animals,flowers] [--sizes 128,160,224,288]
        [--pairs 224+128,224+288] [--cache DIR] [--data ../shared/datasets]

Per dataset: the photos' median side (their own resolution), then per configuration the 5-fold out-of-fold
accuracy and log loss of StandardScaler + logistic regression with C chosen by out-of-fold log loss, as the
recipe's search does. A pair is scored two ways: one head on the two pooled vectors side by side ("concat"), and
the average of two heads' probabilities ("average"). Extraction seconds per photo are printed where photos were
not cached yet (the same --cache as bench/quality.py).

    .venv/bin/python bench/scales.py --outer-seeds 0,1,2,3 [--datasets ...] [--sizes 224,256]

instead scores whole models on photos they never saw, over every photo of the dataset (test split included, as
outer folds: nothing is chosen here): per seed, an outer 5-fold split; in each fold the recommended recipe's
linear head (train_recommended, its own search on the training folds, no fine-tuning) at each of --sizes, and the
logistic-regression probe of bench/quality.py (C=1 on the 224 px pooled features). Printed per seed: accuracy and
log loss of each, and sign tests on the photos only one of two models got right; then the means over seeds
(one outer split's accuracy moves by ~0.5 point with the seed on 818 photos).
"""

import argparse
import statistics
import sys
import time
from dataclasses import replace
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
    parser.add_argument("--outer-seeds", default="", help="instead: whole models by outer 5-fold, these seeds")
    args = parser.parse_args()
    _seed_keras_home()
    if args.outer_seeds:
        return _outer(args)

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


def _outer(args) -> None:
    import numpy as np
    from scipy.stats import binomtest
    from sklearn.metrics import log_loss

    from classifier.backbones import load_top_block
    from classifier.features import FeatureCache, extract
    from classifier.oof import stratified_folds
    from classifier.recipes import (feature_spec, fit_linear, linear_probabilities, pooled_features,
                                    train_recommended)

    cache = FeatureCache(args.cache)
    base = feature_spec("recommended", "mobilenet_v2")  # 224 px
    specs = {f"{size} px": replace(base, input_size=size) for size in map(int, args.sizes.split(","))}
    maps_block = load_top_block("mobilenet_v2", pooling=None)
    for name in args.datasets.split(","):
        rows = [r for split in _rows(args.data / name, 0).values() for r in split]
        hashes = [h for h, _, _ in rows]
        class_names = sorted({label for _, _, label in rows})
        k, y = len(class_names), np.array([class_names.index(label) for _, _, label in rows])
        extract([(h, p) for h, p, _ in rows], list(dict.fromkeys([base, *specs.values()])), cache)
        maps = {model: cache.load(spec, hashes) for model, spec in specs.items()}
        pooled = pooled_features(maps_block, cache.load(base, hashes)).mean(axis=(1, 2))
        scores = {model: [] for model in [*specs, "probe"]}
        for seed in map(int, args.outer_seeds.split(",")):
            probabilities = {model: np.zeros((len(y), k)) for model in scores}
            for train, test in stratified_folds(y, 5, seed):
                for model, spec in specs.items():
                    out = train_recommended(spec, maps[model][train], y[train], num_classes=k, seed=seed,
                                            fine_tuning="never")
                    probabilities[model][test] = out["head"].predict(maps[model][test], batch_size=128, verbose=0)
                probabilities["probe"][test] = linear_probabilities(
                    fit_linear(pooled[train], y[train], C=1.0, num_classes=k), pooled[test], k)
            right = {model: p.argmax(1) == y for model, p in probabilities.items()}
            line = []
            for model, p in probabilities.items():
                p = p / p.sum(axis=1, keepdims=True)
                scores[model].append((right[model].mean(), log_loss(y, p, labels=list(range(k)))))
                line.append(f"{model} {scores[model][-1][0]:.2%} (log loss {scores[model][-1][1]:.4f})")
            first = list(specs)[0]
            for model in list(probabilities)[1:]:
                wins, losses = int(np.sum(right[model] & ~right[first])), int(np.sum(right[first] & ~right[model]))
                p_value = binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
                line.append(f"{model} vs {first}: right only by one {wins}-{losses} (p {p_value:.2f})")
            print(f"{name} seed {seed}: " + "; ".join(line), flush=True)
        print(f"{name} mean over seeds: " + "; ".join(
            f"{model} {np.mean([a for a, _ in s]):.2%} (log loss {np.mean([loss for _, loss in s]):.4f})"
            for model, s in scores.items()), flush=True)


if __name__ == "__main__":
    main()
