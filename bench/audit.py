"""Dataset audit (classifier/audit.py): label errors found, planted near copies found, time.

    .venv/bin/python bench/audit.py [--cache DIR] [--data ../shared/datasets] [--seed 0]

MobileNetV2 with ImageNet weights (Keras cache seeded from ../shared/weights, as the tests do), features of the
recommended recipe (the last block's input) through classifier.features, pooled by the last block as the audit
does. Thresholds (classifier.audit.AUDIT_C, HASH_CANDIDATE_SIMILARITY, MAX_HASH_DISTANCE) were chosen on
caltech_animals with 10 % random noise and its planted copies (seed 0) only; every other line is a report, not a
tuning target.

Label errors: N photos get a random other class (seeded); precision among the first N suspects (target >= 0.6),
recall among the first 2N (target >= 0.8). Settings: 10 % and 5 % random flips, 5 % flips only between the most
confused pairs of classes (out-of-fold on the clean labels), and the other shared sets at 10 %.
Copies: 20 photos of caltech_animals, each copied altered (resized to 60-80 %, JPEG quality 60, 1.5-3 % cropped
off the borders): 10 copies land in another split of the same dataset, 10 in a second dataset (an
evaluation-only set of 300 animals3 photos). Found = the pair is reported as a leak; false pairs = reported pairs
that are not planted, per 1,000 photos, besides pairs a look confirmed as real duplicates in the shared data
(REAL_DUPLICATES; the count of all unplanted pairs is printed too). --no-hashes: embeddings alone.
Time: the whole audit (load cached features, pool, out-of-fold, cleanlab, duplicates with hashes) of ~3,000
photos: the first one on cached maps, then again on the pooled embeddings the first one cached.
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
SHARED = Path(os.environ.get("MENAGERIE_SHARED_DIR", REPO_DIR.parent / "shared"))
MOBILENET_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def _seed_keras_home() -> None:
    if "KERAS_HOME" not in os.environ:
        home = Path(tempfile.mkdtemp(prefix="menagerie-bench-keras-"))
        (home / "models").mkdir()
        (home / "models" / MOBILENET_FILE).symlink_to(SHARED / "weights" / MOBILENET_FILE)
        os.environ["KERAS_HOME"] = str(home)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _spec():
    from classifier.recipes import feature_spec

    return feature_spec("recommended", "mobilenet_v2")


def _rows(folder: Path) -> list[tuple]:
    """[(hash, path, label, split)] with the CLI's split."""
    from classifier.data import DEFAULT_FRACTIONS, discover, split_items
    from classifier.files import content_hash

    found = discover(folder)["all"]
    hashes = {p: content_hash(p) for paths in found.values() for p in paths}
    splits = split_items(found, DEFAULT_FRACTIONS, hashes)
    return [(hashes[p], p, label, split) for split, by_label in splits.items()
            for label, paths in by_label.items() for p in paths]


def _embeddings(rows, spec, cache) -> np.ndarray:
    from classifier.audit import cached_embeddings
    from classifier.features import extract

    report = extract([(h, p) for h, p, *_ in rows], spec, cache)
    assert not report.skipped, report.skipped
    return cached_embeddings(spec, cache, [r[0] for r in rows])


def _flip(y, n_classes, fraction, rng, pairs=None):
    """Noisy copy of y and the flipped indices: random other class, or (pairs) the partner in a look-alike pair."""
    y = np.array(y)
    n = int(round(fraction * len(y)))
    if pairs is None:
        flipped = rng.choice(len(y), n, replace=False)
        for i in flipped:
            y[i] = rng.choice([k for k in range(n_classes) if k != y[i]])
        return y, flipped
    partner = {}
    for a, b in pairs:
        partner.setdefault(a, b)
        partner.setdefault(b, a)
    candidates = np.flatnonzero(np.isin(y, list(partner)))
    flipped = rng.choice(candidates, min(n, len(candidates)), replace=False)
    for i in flipped:
        y[i] = partner[y[i]]
    return y, flipped


def _label_scores(x, y_noisy, flipped, class_names, seed) -> dict:
    from classifier.audit import label_issues, out_of_fold_probabilities

    started = time.monotonic()
    oof = out_of_fold_probabilities(x, y_noisy, num_classes=len(class_names), seed=seed)
    issues = label_issues(oof, y_noisy, list(range(len(y_noisy))), class_names)
    ranked = [i["index"] for i in issues]
    n, truth = len(flipped), set(int(i) for i in flipped)
    return {"photos": len(y_noisy), "flipped": n, "flagged": len(ranked),
            "precision@N": len(truth & set(ranked[:n])) / max(1, n),
            "recall@2N": len(truth & set(ranked[:2 * n])) / max(1, n),
            "seconds": time.monotonic() - started}


def _confused_pairs(x, y, class_names, seed, top=3):
    from classifier.audit import class_findings, out_of_fold_probabilities

    oof = out_of_fold_probabilities(x, y, num_classes=len(class_names), seed=seed)
    similar = class_findings(oof, y, class_names)["similar"][:top]
    return [tuple(class_names.index(n) for n in pair["labels"]) for pair in similar]


def _alter(path: Path, rng, crop_max: float = 0.03) -> bytes:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        crop = rng.uniform(crop_max / 2, crop_max)
        im = im.crop((int(w * crop), int(h * crop), w - int(w * crop), h - int(h * crop)))
        scale = rng.uniform(0.6, 0.8)
        im = im.resize((max(16, int(im.width * scale)), max(16, int(im.height * scale))))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=60)
        return out.getvalue()


# Groups of caltech_animals photos a look confirms as the same picture (re-scanned, re-cropped, re-coloured, one in
# grey): real duplicates in the shared data, not false pairs. Listed as seen; a copy of one counts as it.
REAL_DUPLICATES = [
    {"llama/image_0001.jpg", "llama/image_0010.jpg"}, {"rhino/image_0051.jpg", "rhino/image_0055.jpg"},
    {"ibis/image_0076.jpg", "ibis/image_0079.jpg"}, {"hedgehog/image_0001.jpg", "hedgehog/image_0010.jpg"},
    {"crayfish/image_0044.jpg", "crayfish/image_0051.jpg"}, {"butterfly/image_0001.jpg", "butterfly/image_0031.jpg"},
    {"kangaroo/image_0035.jpg", "kangaroo/image_0050.jpg"}, {"rooster/image_0029.jpg", "rooster/image_0048.jpg"},
    {"scorpion/image_0006.jpg", "scorpion/image_0072.jpg", "scorpion/image_0078.jpg"},
]


def _copies(data: Path, spec, cache, seed: int, threshold: float | None, crop_max: float, hashes: bool) -> dict:
    from classifier.audit import duplicates_and_leaks, hash_distance, perceptual_hash, similar_pairs
    from classifier.files import content_hash

    rng = np.random.default_rng(seed)
    main = _rows(data / "caltech_animals")
    other = [r for r in _rows(data / "animals3")]
    other = [other[i] for i in sorted(rng.choice(len(other), 300, replace=False))]
    originals = [main[i] for i in rng.choice(len(main), 20, replace=False)]
    folder = Path(tempfile.mkdtemp(prefix="menagerie-bench-copies-"))
    planted, rows, datasets = [], list(main), ["caltech"] * len(main)
    name = {r[0]: f"{r[2]}/{Path(r[1]).name}" for r in main + other}
    for n, (h, path, label, split) in enumerate(originals):
        copy = folder / f"copy{n}.jpg"
        copy.write_bytes(_alter(path, rng, crop_max))
        if n < 10:  # the same dataset, another split
            rows.append((content_hash(copy), copy, label, "train" if split != "train" else "test"))
            datasets.append("caltech")
        else:  # the evaluation-only dataset
            rows.append((content_hash(copy), copy, label, "test"))
            datasets.append("eval")
        planted.append((h, rows[-1][0]))
        name[rows[-1][0]] = name[h]  # a copy stands for its original in REAL_DUPLICATES
    rows += other
    datasets += ["eval"] * len(other)
    x = _embeddings(rows, spec, cache)
    ids = [r[0] for r in rows]
    started = time.monotonic()
    paths = [r[1] for r in rows] if hashes else None
    groups, leaks = duplicates_and_leaks(x, ids, [r[3] for r in rows], datasets, paths=paths, threshold=threshold)
    seconds = time.monotonic() - started
    reported = {frozenset(leak["ids"]) for leak in leaks}
    for group in groups:
        members = group["ids"]
        reported |= {frozenset((a, b)) for i, a in enumerate(members) for b in members[i + 1:]}
    planted_pairs = {frozenset(p) for p in planted}
    found = len(planted_pairs & {frozenset(leak["ids"]) for leak in leaks})
    unplanted = sorted(reported - planted_pairs, key=lambda p: sorted(p))
    real = [p for p in unplanted if any({name[i] for i in p} <= group for group in REAL_DUPLICATES)]
    false = [p for p in unplanted if p not in real]
    # The margins: embedding similarity and hash distance of the copies, and the nearest unrelated photos.
    by_index = {frozenset((ids[i], ids[j])): (i, j, s) for i, j, s in similar_pairs(x, 0.6)}
    copy_pairs = [by_index.get(p) for p in planted_pairs]
    copy_sims = sorted(round(c[2], 3) if c else 0.0 for c in copy_pairs)

    def distance(i, j):
        return hash_distance(perceptual_hash(rows[i][1]), perceptual_hash(rows[j][1]))

    planted_index = [(ids.index(a), ids.index(b)) for a, b in planted]
    copy_distances = sorted(distance(i, j) for i, j in planted_index) if hashes else []
    return {"photos": len(rows), "threshold": threshold, "hashes": hashes, "found": found, "planted": len(planted),
            "real_pairs": len(real), "false_pairs": len(false), "false_per_1000": 1000 * len(false) / len(rows),
            "unplanted_per_1000": 1000 * len(unplanted) / len(rows), "seconds": seconds,
            "lowest_copy_similarity": copy_sims[:3], "highest_copy_hash_distance": copy_distances[-3:],
            "false_examples": [[name[i] for i in p] for p in false[:8]]}


def _timed_audit(data: Path, spec, cache, size: int, seed: int) -> dict:
    """End to end with features cached, as the worker runs it (embeddings, then labels, duplicates with perceptual
    hashes, classes): the first audit pools the last block's cached maps (TensorFlow); later ones load the pooled
    embeddings it cached."""
    from classifier.audit import audit, cached_embeddings, embeddings

    rows = _rows(data / "animals3") + _rows(data / "caltech_animals")
    rows = rows[:size]
    hashes, paths = [r[0] for r in rows], [r[1] for r in rows]
    _embeddings(rows, spec, cache)  # make sure they are cached; not timed
    out = {"photos": len(rows)}
    for run in ("first", "again"):
        started, cpu = time.monotonic(), time.process_time()
        x = embeddings(spec, cache.load(spec, hashes)) if run == "first" else cached_embeddings(spec, cache, hashes)
        pooled = time.monotonic() - started
        result = audit(x, [r[2] for r in rows], hashes, [r[3] for r in rows], paths=paths, seed=seed)
        out[run] = {"seconds": time.monotonic() - started, "cpu": time.process_time() - cpu, "embeddings": pooled,
                    **{f"{k}_seconds": v for k, v in result["seconds"].items()},
                    "label_issues": len(result["label_issues"]), "duplicate_groups": len(result["duplicates"])}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "datasets")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "menagerie-bench-features")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=None,
                        help="override HASH_CANDIDATE_SIMILARITY (DUPLICATE_SIMILARITY with --no-hashes)")
    parser.add_argument("--no-hashes", action="store_true", help="copies: embeddings only, as without the files")
    parser.add_argument("--parts", default="labels,copies,time")
    parser.add_argument("--crop", type=float, default=0.03, help="copies lose crop/2..crop of each border")
    parser.add_argument("--datasets", default="caltech_animals,animals3,flowers")
    parser.add_argument("--time-size", type=int, default=3000)
    args = parser.parse_args()
    _seed_keras_home()
    from classifier.features import FeatureCache

    spec, cache = _spec(), FeatureCache(args.cache)
    parts = args.parts.split(",")
    if "labels" in parts:
        print(f"{'dataset':16} {'noise':22} {'photos':>6} {'N':>4} {'flagged':>7} {'prec@N':>6} {'rec@2N':>6} {'s':>5}")
        for name in args.datasets.split(","):
            rows = _rows(args.data / name)
            class_names = sorted({r[2] for r in rows})
            x = _embeddings(rows, spec, cache)
            y = np.array([class_names.index(r[2]) for r in rows])
            settings = [("random 10%", 0.10, None)]
            if name == "caltech_animals":
                pairs = _confused_pairs(x, y, class_names, args.seed)
                settings += [("random 5%", 0.05, None),
                             ("look-alike 5%", 0.05, pairs)]
                print("look-alike pairs: " + ", ".join(f"{class_names[a]}<->{class_names[b]}" for a, b in pairs))
            for label, fraction, pairs in settings:
                rng = np.random.default_rng(args.seed)
                y_noisy, flipped = _flip(y, len(class_names), fraction, rng, pairs)
                s = _label_scores(x, y_noisy, flipped, class_names, args.seed)
                print(f"{name:16} {label:22} {s['photos']:6} {s['flipped']:4} {s['flagged']:7} "
                      f"{s['precision@N']:6.3f} {s['recall@2N']:6.3f} {s['seconds']:5.1f}", flush=True)
    if "copies" in parts:
        c = _copies(args.data, spec, cache, args.seed, args.threshold, args.crop, not args.no_hashes)
        how = "embeddings + perceptual hashes" if c["hashes"] else "embeddings only"
        print(f"\ncopies ({how}): {c['found']}/{c['planted']} planted found; {c['false_pairs']} false pairs in "
              f"{c['photos']} photos ({c['false_per_1000']:.2f} per 1,000) besides {c['real_pairs']} real duplicates "
              f"of the shared data (all unplanted pairs: {c['unplanted_per_1000']:.2f} per 1,000); "
              f"{c['seconds']:.2f}s")
        print(f"  lowest copy similarities {c['lowest_copy_similarity']}, highest copy hash distances "
              f"{c['highest_copy_hash_distance']}")
        for pair in c["false_examples"]:
            print(f"  false pair: {pair[0]}  ~  {pair[1]}")
    if "time" in parts:
        t = _timed_audit(args.data, spec, cache, args.time_size, args.seed)
        for run, how in (("first", "maps cached (pooled by the last block)"), ("again", "pooled embeddings cached")):
            r = t[run]
            print(f"\naudit of {t['photos']} photos, {how}: {r['seconds']:.1f}s, {r['cpu']:.1f} CPU-s of this "
                  f"process (embeddings {r['embeddings']:.1f}s, "
                  f"label issues {r['label_issues_seconds']:.1f}s, duplicates {r['duplicates_seconds']:.1f}s); "
                  f"{r['label_issues']} suspects, {r['duplicate_groups']} groups; load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

if __name__ == "__main__":
    main()
