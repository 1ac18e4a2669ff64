"""Automatic dataset audit on cached features: suspected label errors, near duplicates, leaks between splits or
datasets, classes too small or too similar. Plain numpy/scikit-learn/cleanlab; importing it loads no TensorFlow
(only `embeddings` does, inside the function).

Label errors: out-of-fold probabilities (classifier.oof, a standardised logistic regression per fold) go to
cleanlab's `find_label_issues` (per-class pruning); the flagged photos are ranked by cleanlab's self-confidence (the out-of-fold
probability of the given label: lowest first). Near duplicates: pairs whose L2-normalised pooled embeddings are
close (cosine >= HASH_CANDIDATE_SIMILARITY) and whose perceptual hashes (imagehash's DCT hash, of a few crops)
agree within MAX_HASH_DISTANCE bits: the embedding finds look-alikes cheaply, the hash tells the same picture
(resized, re-encoded, slightly cropped) from another photo of the same thing; only candidates' files are read.
Without the files, embeddings alone (cosine >= DUPLICATE_SIMILARITY). The thresholds were chosen with
bench/audit.py on caltech_animals only (seed 0).
"""

import time
from typing import Callable

import numpy as np

from classifier.oof import out_of_fold, stratified_folds

AUDIT_C = 0.03  # inverse L2 strength of the linear head on standardised features (bench/audit.py)
ISSUE_FILTER = "prune_by_class"  # cleanlab's filter_by (bench/audit.py: more recall than its default, same precision)
DUPLICATE_SIMILARITY = 0.9  # without the files: cosine of L2-normalised embeddings from which photos are duplicates
HASH_CANDIDATE_SIMILARITY = 0.7  # with the files: cosine from which a pair's perceptual hashes are compared
HASH_CROPS = (0.0, 0.025, 0.05)  # share of each border cut off before hashing: a copy may be cropped a little
MAX_HASH_DISTANCE = 6  # differing bits (of 64) between the closest crops of the same picture altered
MIN_CLASS_SIZE = 20  # fewer labelled photos than this: "too small"
SIMILAR_CLASS_RATE = 0.05  # out-of-fold confusion between two classes (both directions) from which they are "too similar"
MAX_SIMILAR_PAIRS = 10


def embeddings(spec, features: np.ndarray) -> np.ndarray:
    """Pooled (N, C) embeddings from cached features of `spec`: already pooled, the mean of a map, or (stage
    "top_input") the backbone's last block run on the cached maps (TensorFlow), pooled as the whole backbone
    pools (without the recommended head's mid-level taps)."""
    features = np.asarray(features, dtype="float32")
    if features.ndim == 2:
        return features
    if spec.stage != "top_input":
        return features.mean(axis=(1, 2))
    from classifier.backbones import load_top_block
    from classifier.recipes import pooled_features

    return pooled_features(load_top_block(spec.backbone, weights=spec.weights, input_size=spec.size, taps=False),
                           features)


def cached_embeddings(spec, cache, hashes: list[str]) -> np.ndarray:
    """embeddings() of cached features, for the last block's maps pooled once and kept in the cache under the
    pooled spec (the whole backbone's global-average output: the same numbers, what an article job with average
    pooling caches), so a second audit neither loads the maps nor runs TensorFlow."""
    from dataclasses import replace

    if spec.stage != "top_input":
        return embeddings(spec, cache.load(spec, hashes))
    pooled = replace(spec, stage="output", pooling="avg")
    missing = list(dict.fromkeys(cache.missing(pooled, hashes)))
    if missing:
        for h, row in zip(missing, embeddings(spec, cache.load(spec, missing))):
            cache.save(pooled, h, row)
    return cache.load(pooled, hashes)


def out_of_fold_probabilities(x: np.ndarray, y, *, num_classes: int, seed: int = 0, folds: int = 5,
                              should_cancel: Callable[[], bool] | None = None) -> np.ndarray | None:
    """classifier.oof with the linear head (standardised features + logistic regression, C = AUDIT_C; its fits run
    BLAS on one thread: on a busy 2-core machine its threads spinning against each other made the same work 100x
    slower, 167 s instead of 1.6 s for 818 photos)."""
    from classifier.recipes import fit_linear, linear_probabilities

    def fit_predict(x_train, y_train, x_held_out):
        model = fit_linear(x_train, y_train, C=AUDIT_C, num_classes=num_classes, seed=seed)
        return linear_probabilities(model, x_held_out, num_classes)

    return out_of_fold(x, y, fit_predict, num_classes=num_classes, folds=stratified_folds(y, folds, seed),
                       should_cancel=should_cancel)


def label_issues(probabilities: np.ndarray, y, ids: list, class_names: list[str]) -> list[dict]:
    """cleanlab's suspects, most suspect first: [{id, index, given, suggested, score}]; score = 1 - the
    out-of-fold probability of the given label; suggested = the most probable other class."""
    from cleanlab.filter import find_label_issues

    y = np.asarray(y, dtype=int)
    ranked = find_label_issues(y, probabilities, filter_by=ISSUE_FILTER, return_indices_ranked_by="self_confidence",
                               n_jobs=1)
    out = []
    for i in ranked:
        others = probabilities[i].copy()
        others[y[i]] = -1
        suggested = int(others.argmax())
        out.append({"id": ids[i], "index": int(i), "given": class_names[y[i]], "suggested": class_names[suggested],
                    "score": round(float(1 - probabilities[i, y[i]]), 4),
                    "suggested_probability": round(float(probabilities[i, suggested]), 4),
                    "probabilities": evidence_probabilities(probabilities[i], int(y[i]), class_names)})
    return out


def evidence_probabilities(row: np.ndarray, given: int, class_names: list[str], top: int = 3) -> list[dict]:
    """What a person reviewing a suspect needs beside the photos: the `top` most probable classes (out of fold),
    and the given label's even when lower, [{label, probability}] most probable first. Only shown: the issues
    themselves come from cleanlab above."""
    keep = [int(c) for c in np.argsort(-row, kind="stable")[:top]]
    if given not in keep:
        keep.append(given)
    return [{"label": class_names[c], "probability": round(float(row[c]), 4)} for c in keep]


def similar_pairs(x: np.ndarray, threshold: float = DUPLICATE_SIMILARITY, block: int = 2048) -> list[tuple]:
    """[(i, j, cosine)] sorted, with i < j and cosine >= threshold, of the rows of x after L2 normalisation.
    All pairs are N^2 / 2 dot products (190 CPU-seconds for 100,000 x 1280: bench/large_dataset.py); they are
    taken in block x block tiles on and above the diagonal, so the similarities held stay block^2 whatever N."""
    x = np.asarray(x, dtype="float32")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    pairs = []
    for start in range(0, len(x), block):
        for col in range(start, len(x), block):
            sims = x[start:start + block] @ x[col:col + block].T
            rows, cols = np.nonzero(sims >= threshold)
            i, j = rows + start, cols + col
            upper = i < j
            pairs += zip(i[upper].tolist(), j[upper].tolist(), sims[rows[upper], cols[upper]].tolist())
    pairs.sort()
    return pairs


def perceptual_hash(path) -> np.ndarray | None:
    """(len(HASH_CROPS), 64) bools: imagehash's DCT hash of the photo in grey, whole and with HASH_CROPS of each
    border cut off (a DCT hash alone moves 8-14 bits when 4 % of each border is cropped; the closest pair of
    crops moves <= 4); None if the file cannot be read. The hash looks at 32x32 pixels, so the photo is first
    brought to 128 px (JPEG draft mode decodes at 1/2 to 1/8 scale): a third of the time, the same robustness."""
    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.draft("L", (128, 128))
            im = im.convert("L")
            im.thumbnail((128, 128))
            w, h = im.size
            return np.array([imagehash.phash(im.crop((round(w * c), round(h * c), w - round(w * c),
                                                      h - round(h * c)))).hash.ravel() for c in HASH_CROPS])
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def hash_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Differing bits between the closest crops of two perceptual_hash results."""
    return int((a[:, None, :] != b[None, :, :]).sum(axis=2).min())


def near_duplicate_pairs(x: np.ndarray, paths: list | None = None, *, threshold: float | None = None,
                         max_hash_distance: int = MAX_HASH_DISTANCE) -> list[tuple]:
    """[(i, j, cosine)]: embedding candidates confirmed by perceptual hashes of the files at `paths`; without
    paths, the embeddings alone at `threshold` (default DUPLICATE_SIMILARITY)."""
    if paths is None:
        return similar_pairs(x, threshold or DUPLICATE_SIMILARITY)
    candidates = similar_pairs(x, threshold or HASH_CANDIDATE_SIMILARITY)
    hashes = {i: perceptual_hash(paths[i]) for i in sorted({k for i, j, _ in candidates for k in (i, j)})}
    return [(i, j, s) for i, j, s in candidates if hashes[i] is not None and hashes[j] is not None
            and hash_distance(hashes[i], hashes[j]) <= max_hash_distance]


def duplicates_and_leaks(x: np.ndarray, ids: list, splits: list[str], datasets: list | None = None, *,
                         paths: list | None = None, threshold: float | None = None) -> tuple[list[dict], list[dict]]:
    """Near-duplicate groups (connected photos, whatever their splits) and leaks: pairs of near-same photos in
    two splits or two datasets (near_duplicate_pairs). Groups: [{ids, similarity (lowest linked pair)}]; leaks:
    [{ids, splits, datasets, similarity}], highest similarity first."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    datasets = datasets or [None] * len(ids)
    pairs = near_duplicate_pairs(x, paths, threshold=threshold)
    leaks = [{"ids": [ids[i], ids[j]], "splits": [splits[i], splits[j]], "datasets": [datasets[i], datasets[j]],
              "similarity": round(s, 4)}
             for i, j, s in pairs if splits[i] != splits[j] or datasets[i] != datasets[j]]
    leaks.sort(key=lambda leak: -leak["similarity"])
    if not pairs:
        return [], leaks
    i, j, s = map(np.array, zip(*pairs))
    _, component = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(len(ids), len(ids))),
                                        directed=False)
    groups: dict[int, dict] = {}
    for a, b, sim in pairs:
        group = groups.setdefault(component[a], {"members": set(), "similarity": 1.0})
        group["members"] |= {a, b}
        group["similarity"] = min(group["similarity"], sim)
    out = [{"ids": [ids[m] for m in sorted(g["members"])], "similarity": round(g["similarity"], 4)}
           for g in groups.values()]
    out.sort(key=lambda g: -g["similarity"])
    return out, leaks


def class_findings(probabilities: np.ndarray | None, y, class_names: list[str], *,
                   min_size: int = MIN_CLASS_SIZE) -> dict:
    """{"counts": {name: n}, "small": [{label, count}], "similar": [{labels, confused, rate}]}; a pair's rate is
    the share of both classes' photos predicted (out of fold) as the other one."""
    y = np.asarray(y, dtype=int)
    counts = np.bincount(y, minlength=len(class_names))
    small = [{"label": class_names[k], "count": int(counts[k])} for k in range(len(class_names))
             if counts[k] < min_size]
    similar = []
    if probabilities is not None:
        from sklearn.metrics import confusion_matrix

        scored = probabilities.sum(axis=1) > 0  # classes too small for cross-validation have no probabilities
        confusion = confusion_matrix(y[scored], probabilities[scored].argmax(1), labels=list(range(len(class_names))))
        for a in range(len(class_names)):
            for b in range(a + 1, len(class_names)):
                confused = int(confusion[a, b] + confusion[b, a])
                rate = confused / max(1, counts[a] + counts[b])
                if rate >= SIMILAR_CLASS_RATE:
                    similar.append({"labels": [class_names[a], class_names[b]], "confused": confused,
                                    "rate": round(float(rate), 4)})
        similar.sort(key=lambda pair: -pair["rate"])
    return {"counts": {name: int(counts[k]) for k, name in enumerate(class_names)}, "small": small,
            "similar": similar[:MAX_SIMILAR_PAIRS]}


def audit(x: np.ndarray, labels: list[str], ids: list, splits: list[str], *, datasets: list | None = None,
          paths: list | None = None, audited: np.ndarray | None = None, seed: int = 0,
          duplicate_threshold: float | None = None, should_cancel: Callable[[], bool] | None = None) -> dict | None:
    """The whole audit on pooled embeddings x (N, C) of photos `ids` with their class names, splits and (optional)
    dataset and file paths (for perceptual hashes: see near_duplicate_pairs). `audited` (bool mask): the photos
    whose labels and classes are audited (default all); the others (e.g. the team's other datasets) only take
    part in duplicate and leak search. None if cancelled.

    Returns {"label_issues": [...], "duplicates": [...], "leaks": [...], "classes": {counts, small, similar},
    "class_names", "oof_accuracy", "seconds": {...}}."""
    x = np.asarray(x, dtype="float32")
    audited = np.ones(len(ids), bool) if audited is None else np.asarray(audited, bool)
    seconds = {}
    started = time.monotonic()
    own = np.flatnonzero(audited)
    class_names = sorted({labels[i] for i in own})
    y = np.array([class_names.index(labels[i]) for i in own], dtype=int)
    counts = np.bincount(y, minlength=len(class_names))
    issues, probabilities, accuracy = [], None, None
    # Out-of-fold needs 2 classes with 2 photos each; smaller classes are left out of the label audit.
    usable = np.isin(y, np.flatnonzero(counts >= 2))
    if len(np.unique(y[usable])) >= 2:
        names = [class_names[k] for k in np.unique(y[usable])]
        y_usable = np.array([names.index(class_names[k]) for k in y[usable]], dtype=int)
        oof = out_of_fold_probabilities(x[own[usable]], y_usable, num_classes=len(names), seed=seed,
                                        should_cancel=should_cancel)
        if oof is None:
            return None
        issues = label_issues(oof, y_usable, [ids[i] for i in own[usable]], names)
        accuracy = float((oof.argmax(1) == y_usable).mean())
        probabilities = np.zeros((len(y), len(class_names)))
        probabilities[np.ix_(np.flatnonzero(usable), [class_names.index(n) for n in names])] = oof
    seconds["label_issues"] = time.monotonic() - started

    started = time.monotonic()
    groups, leaks = duplicates_and_leaks(x, ids, splits, datasets, paths=paths, threshold=duplicate_threshold)
    audited_ids = {ids[i] for i in own}
    groups = [g for g in groups if audited_ids & set(g["ids"])]
    leaks = [leak for leak in leaks if audited_ids & set(leak["ids"])]
    seconds["duplicates"] = time.monotonic() - started
    return {"label_issues": issues, "duplicates": groups, "leaks": leaks,
            "classes": class_findings(probabilities, y, class_names), "class_names": class_names,
            "oof_accuracy": accuracy, "seconds": seconds}
