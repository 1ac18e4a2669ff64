"""Model quality: the `article` and `recommended` recipes and a scikit-learn logistic-regression probe.

    .venv/bin/python bench/quality.py [--datasets animals3,caltech_animals,flowers] [--per-class 0|N|name=N,...]
        [--cache DIR] [--data ../shared/datasets] [--outer-folds K]

MobileNetV2 with ImageNet weights (Keras cache seeded from ../shared/weights, as the tests do). One fixed split
per dataset: the CLI's (85/5/10 %, within each class ordered by content hash); --per-class N takes the first N
photos of each class in that order (0: all; per dataset with name=N). Features are extracted once into --cache through
classifier.features.extract at the recommended recipe's stage (the last block's input), at the views the recipe
sizes by the photos (classifier.recipes.feature_specs) and at the backbone's own 224 px input, and reused by every
later run; the article's 7x7 maps and the probe's pooled features are computed from the 224 px maps by the frozen
last block (the same function as the whole backbone, to ~1e-4), so the three models see the same photos.
Extraction time per photo is measured per dataset for both recipes on a sample of its photos (--time-sample
photos, cold cache; the recommended recipe's with all its views; median of three rounds taken in turn) and scaled
to the dataset's count, so a job's time = extraction + training (+ search, fine-tuning) with no feature cached.
Printed per dataset and model: test accuracy, macro-F1, ECE before/after temperature scaling (fitted on
validation or out-of-fold photos, never on the test split; also on those held-out photos with each fold's
temperature fitted on the other folds: many more photos than the test split, whose ECE is mostly noise), unsure
rate on the test split and on photos of
classes the model never saw (--unseen: another shared set), training time, and the time breakdown.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
SHARED = Path(os.environ.get("MENAGERIE_SHARED_DIR", REPO_DIR.parent / "shared"))
MOBILENET_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
UNSEEN = {"animals3": "caltech_animals", "caltech_animals": "flowers", "flowers": "animals3"}


def _seed_keras_home() -> None:
    if "KERAS_HOME" not in os.environ:
        home = Path(tempfile.mkdtemp(prefix="menagerie-bench-keras-"))
        (home / "models").mkdir()
        (home / "models" / MOBILENET_FILE).symlink_to(SHARED / "weights" / MOBILENET_FILE)
        os.environ["KERAS_HOME"] = str(home)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _rows(folder: Path, per_class: int) -> dict:
    """{split: [(hash, path, label)]} with the CLI's split."""
    from classifier.data import DEFAULT_FRACTIONS, discover, split_items
    from classifier.images import content_hash

    found = discover(folder)["all"]
    hashes = {p: content_hash(p) for paths in found.values() for p in paths}
    if per_class:
        found = {label: sorted(paths, key=hashes.get)[:per_class] for label, paths in found.items()}
    splits = split_items(found, DEFAULT_FRACTIONS, hashes)
    return {s: [(hashes[p], p, label) for label, paths in by_label.items() for p in paths]
            for s, by_label in splits.items()}


def _views(rows: dict) -> list:
    """The recommended recipe's views for a dataset, sized by its labelled photos as a job sizes them."""
    from classifier.images import longer_sides
    from classifier.recipes import feature_specs

    labelled = [p for split in ("train", "validation") for _, p, _ in rows[split]]
    return feature_specs("recommended", "mobilenet_v2", photo_sides=longer_sides(labelled))


def _extract_seconds_per_photo(rows: list, specs: dict, sample: int, rounds: int = 3) -> dict:
    """{name: seconds per photo} of extracting each of `specs` ({name: spec or views}) on the same photos with a
    cold cache: the median of `rounds` rounds taken in turn (one run of each is noisy on a shared machine: +-30 %
    seen between consecutive runs)."""
    import statistics

    from classifier.features import FeatureCache, extract

    items = [(h, p) for h, p, _ in rows[:sample]]
    seconds = {name: [] for name in specs}
    for _ in range(rounds):
        for name, spec in specs.items():
            with tempfile.TemporaryDirectory() as tmp:
                extract(items[:4], spec, FeatureCache(tmp))  # builds the model: not a per-photo cost
                report = extract(items[4:], spec, FeatureCache(tmp))
            seconds[name].append(report.seconds / max(1, report.extracted))
    return {name: statistics.median(values) for name, values in seconds.items()}


def _probe(pooled: dict, class_names) -> dict:
    """StandardScaler + LogisticRegression (C=1) on pooled features of train; temperature on validation."""
    from classifier.recipes import fit_linear, linear_probabilities
    from classifier.workflow import _calibrate, _test_calibration
    from classifier.evaluate import scores
    from classifier.calibration import apply_temperature

    k = len(class_names)
    started = time.monotonic()
    model = fit_linear(*pooled["train"], C=1.0, num_classes=k)
    seconds = time.monotonic() - started
    calibration = _calibrate(linear_probabilities(model, pooled["validation"][0], k), pooled["validation"][1])
    raw = linear_probabilities(model, pooled["test"][0], k)
    report = scores(apply_temperature(raw, calibration["temperature"]), pooled["test"][1], class_names)
    calibration |= _test_calibration(raw, pooled["test"][1], calibration["temperature"], calibration["threshold"])
    return {"report": report, "calibration": calibration, "timings": {"training": seconds}, "model": model}


def _unsure_rate(probabilities, calibration) -> float:
    from classifier.calibration import apply_temperature

    calibrated = apply_temperature(probabilities, calibration["temperature"])
    return float((calibrated.max(axis=1) < calibration["threshold"]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="animals3,caltech_animals,flowers")
    parser.add_argument("--per-class", default="0", help="N for every dataset, or name=N,... (0: all photos)")
    parser.add_argument("--data", type=Path, default=SHARED / "datasets")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "menagerie" / "bench-features")
    parser.add_argument("--time-sample", type=int, default=200)  # 36 photos timed ~1 s: noise of +-50 %
    parser.add_argument("--unseen-count", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outer-folds", type=int, default=0,
                        help="instead: recommended vs the probe, each photo of the whole dataset predicted once by "
                             "models trained on the other folds (a far smaller noise than one test split's)")
    args = parser.parse_args()
    _seed_keras_home()
    if args.outer_folds:
        return _outer_cross_validation(args)

    import numpy as np

    from classifier.backbones import load_top_block
    from classifier.features import FeatureCache, extract, load_views
    from classifier.recipes import feature_spec, pooled_features
    from classifier.workflow import head_input, train_and_evaluate

    cache = FeatureCache(args.cache)
    article_spec = feature_spec("article", "mobilenet_v2")
    base = feature_spec("recommended", "mobilenet_v2")  # 224 px maps: the article's and the probe's features
    names = args.datasets.split(",")
    caps = (dict((k, int(v)) for k, v in (item.split("=") for item in args.per_class.split(",")))
            if "=" in args.per_class else {n: int(args.per_class) for n in names})
    rows = {n: _rows(args.data / n, caps.get(n, 0)) for n in names}
    views = {n: _views(rows[n]) for n in names}
    specs = {n: list(dict.fromkeys([*views[n], base])) for n in names}  # + the article's and probe's 224 px maps
    unseen, per_photo = {}, {}
    for n in names:  # photos of another set, spread over its classes, which this model never saw
        pool = [r for split in _rows(args.data / UNSEEN[n], 20).values() for r in split]
        unseen[n] = pool[::max(1, len(pool) // args.unseen_count)][:args.unseen_count]
        extract([(h, p) for h, p, _ in unseen[n]], specs[n], cache)
    for n, by_split in rows.items():
        report = extract([(h, p) for split in by_split.values() for h, p, _ in split], specs[n], cache)
        sample = by_split["train"]
        per_photo[n] = _extract_seconds_per_photo(sample, {"article": article_spec, "recommended": views[n]},
                                                  args.time_sample)
        print(f"{n}: {report.total} photos, {report.extracted} extracted ({report.seconds:.0f}s), "
              f"{report.cached} cached, {len(report.skipped)} skipped; views "
              f"{'+'.join(str(s.size) for s in views[n])} px; extraction per photo (cold cache): article maps "
              f"{per_photo[n]['article'] * 1000:.0f} ms, recommended {per_photo[n]['recommended'] * 1000:.0f} ms",
              flush=True)

    maps_block = load_top_block("mobilenet_v2", pooling=None)
    pool = lambda x: pooled_features(maps_block, x).mean(axis=(1, 2))  # noqa: E731 - the backbone's own pooled output
    table = []
    for n in names:
        class_names = sorted({label for split in rows[n].values() for _, _, label in split})
        trunk = {s: (load_views(cache, views[n], [h for h, _, _ in r]),
                     np.array([class_names.index(label) for _, _, label in r], dtype=int))
                 for s, r in rows[n].items()}
        main = {s: (cache.load(base, [h for h, _, _ in rows[n][s]]), y) for s, (_, y) in trunk.items()}
        article_maps = {s: (pooled_features(maps_block, x), y) for s, (x, y) in main.items()}
        pooled = {s: (pool(x), y) for s, (x, y) in main.items()}
        unseen_views = load_views(cache, views[n], [h for h, _, _ in unseen[n]])
        unseen_trunk = cache.load(base, [h for h, _, _ in unseen[n]])
        count = sum(len(r) for r in rows[n].values())
        results = {}
        for recipe, data in (("article", article_maps), ("recommended", trunk)):
            out = train_and_evaluate(recipe, data, class_names=class_names, seed=args.seed,
                                     spec=article_spec if recipe == "article" else views[n])
            unseen_x = (pooled_features(maps_block, unseen_trunk) if recipe == "article" else
                        head_input(unseen_views, out["views"]))
            out["unseen"] = _unsure_rate(out["head"].predict(unseen_x, batch_size=128, verbose=0),
                                         out["calibration"])
            out["timings"]["extraction"] = per_photo[n][recipe] * count
            results[recipe] = out
        probe = _probe(pooled, class_names)
        probe["unseen"] = _unsure_rate(_linear(probe["model"], pool(unseen_trunk),
                                               len(class_names)), probe["calibration"])
        probe["timings"]["extraction"] = per_photo[n]["article"] * count  # pooled features cost a full pass
        results["logistic probe"] = probe
        for model, out in results.items():
            r, c, t = out["report"], out["calibration"], out["timings"]
            total = sum(t.values())
            held = c.get("ece_held_out_after")
            held = float("nan") if held is None else held
            table.append((n, model, r["accuracy"], r["macro_f1"], c["ece_before"], c["ece_after"], held,
                          c["fitted_on"], c["unsure_rate"], out["unseen"], total, t))
            print(f"{n:16} {model:15} acc {r['accuracy']:.3f} F1 {r['macro_f1']:.3f} "
                  f"ECE {c['ece_before']:.3f}->{c['ece_after']:.3f} (held-out {c['fitted_on']} photos, "
                  f"cross-fitted: {c['ece_held_out_before']:.3f}->{held:.3f}) unsure {c['unsure_rate']:.2f} "
                  f"unseen-unsure {out['unseen']:.2f} time {total:.0f}s "
                  + " ".join(f"{k} {v:.0f}s" for k, v in t.items()), flush=True)
        search = results["recommended"]["search"]
        print("  search:", [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in trial.items()}
                            for trial in search["trials"]], "chosen:", search["chosen"], flush=True)
        print(f"  test photos {len(rows[n]['test'])}, train {len(rows[n]['train'])}, "
              f"validation {len(rows[n]['validation'])}; recommended/article time "
              f"{sum(results['recommended']['timings'].values()) / sum(results['article']['timings'].values()):.2f}x",
              flush=True)

    print("\n| dataset | model | accuracy | macro-F1 | ECE before (test) | ECE after (test) | ECE after (held-out, "
          "cross-fitted; photos) | unsure (test) | unsure (unseen classes) | job time (s) | breakdown (s) |"
          "\n|---|---|---|---|---|---|---|---|---|---|---|")
    for n, model, acc, f1, e0, e1, held, fitted_on, unsure, unseen, total, t in table:
        print(f"| {n} | {model} | {acc:.1%} | {f1:.3f} | {e0:.1%} | {e1:.1%} | {held:.1%} ({fitted_on}) | "
              f"{unsure:.1%} | {unseen:.1%} | "
              f"{total:.0f} | " + ", ".join(f"{k} {v:.0f}" for k, v in t.items()) + " |")


def _outer_cross_validation(args) -> None:
    """Recommended (as a job answers: the search; the fine-tuning trial is a follow-up's) and the probe (C=1 on
    the backbone's own pooled features) trained on k-1 outer folds of all the dataset's photos and scored on the
    k-th; accuracy over every photo, and the photos only one of the two got right (a sign test on those: is the
    difference chance?)."""
    import numpy as np
    from scipy.stats import binomtest

    from classifier.backbones import load_top_block
    from classifier.features import FeatureCache, extract, load_views, per_view
    from classifier.oof import stratified_folds
    from classifier.recipes import feature_spec, fit_linear, linear_probabilities, pooled_features, train_recommended
    from classifier.workflow import head_input

    cache = FeatureCache(args.cache)
    maps_block = load_top_block("mobilenet_v2", pooling=None)
    for name in args.datasets.split(","):
        by_split = _rows(args.data / name, 0)
        specs = _views(by_split)  # sized by the labelled photos of the fixed split, as a job would
        rows = [r for split in by_split.values() for r in split]
        base = feature_spec("recommended", "mobilenet_v2")  # the probe's: 224 px
        extract([(h, p) for h, p, _ in rows], list(dict.fromkeys([*specs, base])), cache)
        class_names = sorted({label for _, _, label in rows})
        k = len(class_names)
        maps = per_view(load_views(cache, specs, [h for h, _, _ in rows]))
        y = np.array([class_names.index(label) for _, _, label in rows])
        pooled = pooled_features(maps_block, cache.load(base, [h for h, _, _ in rows])).mean(axis=(1, 2))
        recommended, probe = np.zeros(len(y), int), np.zeros(len(y), int)
        started = time.monotonic()
        chosen = []
        for train, test in stratified_folds(y, args.outer_folds, args.seed):
            out = train_recommended(specs, [m[train] for m in maps], y[train], num_classes=k, seed=args.seed)
            chosen.append(out["chosen"]["views"])
            held_out = head_input([m[test] for m in maps], out["views"])
            recommended[test] = out["head"].predict(held_out, batch_size=128, verbose=0).argmax(1)
            probe[test] = linear_probabilities(fit_linear(pooled[train], y[train], C=1.0, num_classes=k),
                                               pooled[test], k).argmax(1)
        only_recommended = int(np.sum((recommended == y) & (probe != y)))
        only_probe = int(np.sum((probe == y) & (recommended != y)))
        p = binomtest(only_recommended, only_recommended + only_probe, 0.5).pvalue if only_recommended + only_probe \
            else 1.0
        print(f"{name}: {len(y)} photos, {args.outer_folds} outer folds ({time.monotonic() - started:.0f}s): "
              f"recommended {np.mean(recommended == y):.1%}, probe {np.mean(probe == y):.1%}; right only by "
              f"recommended {only_recommended}, only by the probe {only_probe} (two-sided sign test p {p:.3f}); "
              f"views chosen per fold: {chosen}",
              flush=True)


def _linear(model, x, k):
    from classifier.recipes import linear_probabilities

    return linear_probabilities(model, x, k)


if __name__ == "__main__":
    main()
