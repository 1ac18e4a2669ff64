"""Labelling with the model, on pooled embeddings: the photos that best cover an unlabelled pool (cold start), a
suggested class with calibrated confidence for every unlabelled photo, the expected error of accepting them in
bulk (from cross-validated predictions, never from the fit), and the photos worth labelling next (active
learning). Pure numpy/scikit-learn: importing it loads no TensorFlow and nothing of Django.

x arrays are pooled embeddings (N, D) of `labelling_spec()` (classifier.audit.cached_embeddings reads them from
the feature cache); y arrays are class ids 0..num_classes-1.
"""

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from classifier.calibration import apply_temperature, fit_temperature
from classifier.features import FeatureSpec
from classifier.oof import out_of_fold, stratified_folds

LABELLING_BACKBONE = "mobilenet_v2"  # small and fast; its pooled 224 px features are what the audit caches too
MIN_LABELS_PER_CLASS = 2  # the fewest per class for cross-validated (held-out) confidence
HEAD_C = 30.0  # inverse L2 strength of the linear head on L2-normalised embeddings
# Neighbours of each photo in the graph cover() clusters: COVER_NEIGHBOURS, fewer when the clusters asked for are
# small (N / 2k, at least MIN_COVER_NEIGHBOURS): a cluster of fewer than about half that many photos is absorbed.
COVER_NEIGHBOURS = 20
MIN_COVER_NEIGHBOURS = 5
COVER_SAMPLE = 1000  # photos clustered at most (seconds for 50 clusters on 2 cores)
MAX_SPECTRAL_CLUSTERS = 100
FOLDS = 5
# From MANY_LABELLED labelled photos, FOLDS_WHEN_MANY folds: the held-out estimate needs no more, and 5,000 photos'
# cross-validation then stays within seconds (bench/labelling_speed.py)
MANY_LABELLED = 1000
FOLDS_WHEN_MANY = 3
MIN_CALIBRATION_PHOTOS = 30  # labelled photos from which suggest() fits a temperature
ERROR_BOUND_LEVEL = 0.95  # Suggestions.error_bound / confidence_for: how sure "at most this error" must be
# diverse_margin: the batch is spread over the least certain CANDIDATE_SHARE of the unlabelled photos (at least
# MIN_CANDIDATES_PER_PICK per photo asked for)
CANDIDATE_SHARE = 0.1
MIN_CANDIDATES_PER_PICK = 2


def labelling_spec(weights: str | None = "imagenet", precision: str = "float32", *,
                   input_size: int | None = None, backbone: str = LABELLING_BACKBONE) -> FeatureSpec:
    """The features the suggester reads: LABELLING_BACKBONE's global-average pooled output, at its own input size
    unless `input_size` (tests use small ones; another `backbone` too). At the default size these are the same cache
    entries as the audit's pooled embeddings of the recommended recipe (classifier.audit.cached_embeddings)."""
    return FeatureSpec(backbone, weights, "avg", precision, input_size)


def can_suggest(y, num_classes: int) -> bool:
    """True once every class has at least MIN_LABELS_PER_CLASS labelled photos (and there are 2 classes)."""
    y = np.asarray(y, dtype=int)
    if num_classes < 2 or not len(y):
        return False
    return bool(np.bincount(y, minlength=num_classes)[:num_classes].min() >= MIN_LABELS_PER_CLASS)


def _normalised(x) -> np.ndarray:
    x = np.asarray(x, dtype="float32")
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _centre(x: np.ndarray) -> np.ndarray:
    """A robust centre of L2-normalised rows: the mean of the half nearest their mean (at least one), so a few
    strays of another class that a cluster took in do not pull it off its own."""
    similarity = x @ x.mean(axis=0)
    return x[similarity >= np.median(similarity)].mean(axis=0)


def _typical(x: np.ndarray, clusters: np.ndarray, members_of=None) -> list[int]:
    """Per cluster, largest first: the member nearest the cluster's robust centre (`_centre`), of the rows
    `members_of` keeps. On bench/active_learning.py's validation parts (10 seeds) the robust centre's photos
    scored 85.6 % with one label per class on caltech_animals (the plain mean's 85.2 %; the photo nearest each
    class's own mean, labels known: 85.9 %) and 35.1 % on flowers (32.6 %)."""
    out = []
    sizes = np.bincount(clusters)
    for c in np.argsort(-sizes, kind="stable"):
        members = np.flatnonzero(clusters == c)
        candidates = members if members_of is None else members[members_of(members)]
        if len(candidates):
            out.append(int(candidates[np.argmax(x[candidates] @ _centre(x[members]))]))
    return out


def clusters(embeddings: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """(N,) cluster ids 0..k-1 of the L2-normalised embeddings: spectral clustering of their nearest-neighbour
    graph (scikit-learn). On bench/active_learning.py's validation parts it picked photos of more classes than
    k-means (caltech_animals: all 15 with 15 clusters, k-means 13-14) in a fraction of the time k-means needs with
    enough restarts to be stable. Its cost grows fast with photos and clusters, so it clusters a seeded sample of
    at most COVER_SAMPLE photos (the others join the cluster whose mean is nearest), and more than
    MAX_SPECTRAL_CLUSTERS clusters come from k-means instead."""
    from sklearn.cluster import KMeans, SpectralClustering

    x = _normalised(embeddings)
    k = min(int(k), len(x))
    if k <= 1:
        return np.zeros(len(x), dtype=int)
    if k == len(x):
        return np.arange(len(x))
    if k > MAX_SPECTRAL_CLUSTERS:
        return KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x).labels_
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(x), COVER_SAMPLE, replace=False)) if len(x) > COVER_SAMPLE else np.arange(len(x))
    neighbours = min(COVER_NEIGHBOURS, max(MIN_COVER_NEIGHBOURS, len(sample) // (2 * k)), len(sample) - 1)
    with warnings.catch_warnings():  # "graph is not fully connected": isolated groups are clusters of their own
        warnings.simplefilter("ignore", UserWarning)
        ids = SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=neighbours, assign_labels="cluster_qr",
                                 random_state=seed).fit(x[sample]).labels_
    if len(sample) == len(x):
        return ids
    means = np.stack([x[sample][ids == c].mean(axis=0) if (ids == c).any() else np.zeros(x.shape[1])
                      for c in range(k)])
    out = (x @ means.T).argmax(axis=1)
    out[sample] = ids
    return out


def cover(embeddings: np.ndarray, k: int, *, seed: int = 0) -> list[int]:
    """Indices of the most typical photo (nearest its cluster's robust centre, `_typical`) of each of k clusters
    (`clusters`) of the embeddings, largest cluster first: with no labels, the k photos that best represent the
    pool."""
    x = _normalised(embeddings)
    if min(int(k), len(x)) <= 0:
        return []
    return _typical(x, clusters(x, k, seed=seed))


# --- the head -----------------------------------------------------------------------------------------------


def fit_head(x, y, *, num_classes: int, seed: int = 0):
    """The suggester's linear head: L2-normalised embeddings + multinomial logistic regression (C = HEAD_C),
    a scikit-learn Pipeline. Chosen on bench/active_learning.py's validation parts (C from 10-300) over the
    recommended recipe's standardised probe (C 0.01-0.1): better with few labels (caltech_animals, one random
    photo per class: 72.5 vs 65.4 %) and on the whole pool (flowers 70.6 vs 68.7 %; caltech 96.3 vs 95.7 %). BLAS
    on one thread (thin products: threads only add overhead, see classifier.recipes.fit_linear). With a single
    class labelled, that class is the only answer."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        return ("constant", int(y[0]) if len(y) else 0)
    model = make_pipeline(Normalizer(), LogisticRegression(C=HEAD_C, max_iter=500, random_state=seed))
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        # "more unique classes than 50 % of the samples": one photo per class is how labelling starts
        warnings.filterwarnings("ignore", "The number of unique classes", UserWarning)
        return model.fit(np.asarray(x, dtype="float32"), y)


def head_probabilities(model, x, num_classes: int) -> np.ndarray:
    """(N, num_classes) probabilities of fit_head's model (classes it never saw: 0)."""
    from classifier.recipes import linear_probabilities

    if isinstance(model, tuple):  # one class seen: it is the only answer
        out = np.zeros((len(x), num_classes))
        out[:, model[1]] = 1.0
        return out
    return linear_probabilities(model, np.asarray(x, dtype="float32"), num_classes)


# --- suggestions --------------------------------------------------------------------------------------------


@dataclass
class Suggestions:
    probabilities: np.ndarray  # (n_unlabelled, num_classes), calibrated
    heldout_confidence: np.ndarray  # (n_labelled,) top confidence of out-of-fold (calibrated) predictions
    heldout_correct: np.ndarray  # (n_labelled,) bool: out-of-fold prediction == given label
    temperature: float = 1.0
    seconds: dict = field(default_factory=dict)

    @property
    def labels(self) -> np.ndarray:
        """(n_unlabelled,) suggested class ids."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """(n_unlabelled,) calibrated confidence of each suggestion."""
        return self.probabilities.max(axis=1)

    def expected_error(self, min_confidence: float) -> float | None:
        """Error rate among held-out (out-of-fold) labelled photos predicted at >= min_confidence: what accepting
        every suggestion at that confidence is expected to let through. None when no held-out photo is that
        confident."""
        kept = self.heldout_confidence >= min_confidence
        return float(1.0 - self.heldout_correct[kept].mean()) if kept.any() else None

    def heldout_count(self, min_confidence: float) -> int:
        """How many held-out photos expected_error(min_confidence) rests on."""
        return int((self.heldout_confidence >= min_confidence).sum())

    def error_bound(self, min_confidence: float, level: float = ERROR_BOUND_LEVEL) -> float:
        """One-sided upper confidence bound (Clopper-Pearson, at `level`) of the error rate at >= min_confidence:
        with few held-out photos the rate itself is mostly luck (3 right of 3 is "0 %"), the bound says how bad
        it may still be (3 of 3: up to 63 %). 1.0 when no held-out photo is that confident."""
        from scipy.stats import beta

        kept = self.heldout_confidence >= min_confidence
        n, errors = int(kept.sum()), int((~self.heldout_correct[kept]).sum())
        return 1.0 if errors >= n else float(beta.ppf(level, errors + 1, n - errors))

    def confidence_for(self, max_error: float, level: float | None = ERROR_BOUND_LEVEL) -> float | None:
        """The lowest held-out confidence from which accepting every suggestion keeps the error at most max_error
        (None if none does): by error_bound at `level` (default: sure enough, given how many held-out photos
        there are), or by expected_error alone with level None. What to offer as the default of "accept every
        suggestion at or above"."""
        order = np.argsort(-self.heldout_confidence, kind="stable")
        confidence = self.heldout_confidence[order]
        count = np.arange(1, len(order) + 1)
        errors = np.cumsum(~self.heldout_correct[order])
        if level is None:
            within = errors / count <= max_error
        else:
            from scipy.stats import beta

            within = np.where(errors >= count, 1.0, beta.ppf(level, errors + 1, np.maximum(count - errors, 1))) \
                <= max_error
        # Only at the end of a run of equal confidences: a threshold keeps all of them or none.
        ends = np.append(confidence[1:] < confidence[:-1], True) if len(order) else np.zeros(0, bool)
        ok = np.flatnonzero(within & ends)
        return float(confidence[ok.max()]) if len(ok) else None


def suggest(x_labelled, y_labelled, x_unlabelled, *, num_classes: int, seed: int = 0,
            should_cancel: Callable[[], bool] | None = None) -> Suggestions | None:
    """A class for every unlabelled photo with its calibrated confidence. The head trains on the labelled photos
    only; out-of-fold predictions on them (stratified k-fold, classifier.oof) give the temperature
    (classifier.calibration) and the held-out confidence/correctness behind expected_error. Needs
    can_suggest(y_labelled, num_classes) (ValueError otherwise). None if cancelled."""
    y = np.asarray(y_labelled, dtype=int)
    if not can_suggest(y, num_classes):
        raise ValueError(f"every class needs at least {MIN_LABELS_PER_CLASS} labelled photos to suggest")
    x_labelled, x_unlabelled = np.asarray(x_labelled, "float32"), np.asarray(x_unlabelled, "float32")
    seconds = {}
    started = time.monotonic()

    def fit_predict(x_train, y_train, x_held_out):
        return head_probabilities(fit_head(x_train, y_train, num_classes=num_classes, seed=seed), x_held_out,
                                  num_classes)

    # The folds side by side, one per core; BLAS on one thread around them all (each fit's own limit, entered
    # and left by several threads, would otherwise restore the process's setting mid-way).
    from joblib import cpu_count
    from threadpoolctl import threadpool_limits

    folds = stratified_folds(y, FOLDS if len(y) < MANY_LABELLED else FOLDS_WHEN_MANY, seed)
    with threadpool_limits(limits=1, user_api="blas"):
        oof = out_of_fold(x_labelled, y, fit_predict, num_classes=num_classes, folds=folds,
                          should_cancel=should_cancel, n_jobs=min(len(folds), cpu_count()))
    if oof is None:
        return None
    # A temperature fitted on a handful of photos runs to its bounds (every one right: all confidences ~1; worse
    # than chance: all flat), so below MIN_CALIBRATION_PHOTOS the head's own (softer) probabilities stay.
    temperature = fit_temperature(oof, y) if len(y) >= MIN_CALIBRATION_PHOTOS else 1.0
    oof = apply_temperature(oof, temperature)
    seconds["held_out"] = time.monotonic() - started
    started = time.monotonic()
    model = fit_head(x_labelled, y, num_classes=num_classes, seed=seed)
    probabilities = apply_temperature(head_probabilities(model, x_unlabelled, num_classes), temperature) \
        if len(x_unlabelled) else np.zeros((0, num_classes))
    seconds["fit_predict"] = time.monotonic() - started
    return Suggestions(probabilities=probabilities, heldout_confidence=oof.max(axis=1),
                       heldout_correct=oof.argmax(axis=1) == y, temperature=temperature, seconds=seconds)


# --- what to label next -------------------------------------------------------------------------------------


def _cover_uncovered(x_labelled, x_unlabelled, n: int, seed: int) -> list[int]:
    """With few labels: the typical unlabelled photos of clusters of the whole pool (labelled + n clusters) that
    no labelled photo is in, largest first (more of the pool's variety); random others if too few such."""
    if not len(x_labelled):
        return cover(x_unlabelled, n, seed=seed)
    x = _normalised(np.vstack([x_labelled, x_unlabelled]))
    ids = clusters(x, min(len(x_labelled) + n, MAX_SPECTRAL_CLUSTERS), seed=seed)
    uncovered = ~np.isin(ids, ids[:len(x_labelled)])
    out = [i - len(x_labelled) for i in _typical(x, ids, lambda m: (m >= len(x_labelled)) & uncovered[m])]
    if len(out) < n:
        rest = np.setdiff1d(np.arange(len(x_unlabelled)), out)
        out += np.random.default_rng(seed).choice(rest, min(n - len(out), len(rest)), replace=False).tolist()
    return out[:n]


def random_strategy(x_labelled, y_labelled, x_unlabelled, n: int, *, num_classes: int, seed: int = 0) -> list[int]:
    """n unlabelled photos at random."""
    rng = np.random.default_rng(seed)
    return rng.choice(len(x_unlabelled), min(n, len(x_unlabelled)), replace=False).tolist()


def _margins(x_labelled, y_labelled, x_unlabelled, num_classes: int, seed: int) -> np.ndarray:
    """Top-1 minus top-2 probability of the head on each unlabelled photo (small: the head is torn)."""
    p = head_probabilities(fit_head(x_labelled, y_labelled, num_classes=num_classes, seed=seed), x_unlabelled,
                           num_classes)
    top2 = np.sort(p, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def margin_strategy(x_labelled, y_labelled, x_unlabelled, n: int, *, num_classes: int, seed: int = 0) -> list[int]:
    """Margin sampling: the n photos with the smallest margin between the head's two most probable classes."""
    if not can_suggest(y_labelled, num_classes):
        return _cover_uncovered(x_labelled, x_unlabelled, n, seed)
    return np.argsort(_margins(x_labelled, y_labelled, x_unlabelled, num_classes, seed),
                      kind="stable")[:n].tolist()


def diverse_margin_strategy(x_labelled, y_labelled, x_unlabelled, n: int, *, num_classes: int, seed: int = 0,
                            candidate_share: float = CANDIDATE_SHARE) -> list[int]:
    """Margin sampling over a diverse batch: the least certain photos (the smallest margins: candidate_share of
    the unlabelled pool, at least MIN_CANDIDATES_PER_PICK x n) are clustered (k-means on L2-normalised
    embeddings, n clusters) and the smallest-margin photo of each cluster is taken, so a batch is not n near
    copies of one confusion. Chosen on bench/active_learning.py's validation parts (10 seeds) for the harder
    set: labels to come within a point of the whole pool's accuracy, as a share of random sampling's, flowers
    0.78 (plain margin sampling 0.87; candidate shares 0.05 and 0.2, seeds 5-9 only: 0.98, 1.0 where this took
    0.88), caltech_animals 0.61 (margin 0.48). The noise is large: random sampling alone needs 575-1,925 labels
    on flowers depending on the seed."""
    if not can_suggest(y_labelled, num_classes):
        return _cover_uncovered(x_labelled, x_unlabelled, n, seed)
    from sklearn.cluster import KMeans

    margins = _margins(x_labelled, y_labelled, x_unlabelled, num_classes, seed)
    order = np.argsort(margins, kind="stable")
    pool = order[:max(MIN_CANDIDATES_PER_PICK * n, round(candidate_share * len(x_unlabelled)))]
    if len(pool) <= n:
        return pool.tolist()
    groups = KMeans(n_clusters=n, n_init=1, random_state=seed).fit_predict(_normalised(x_unlabelled[pool]))
    best = sorted((pool[groups == c][np.argmin(margins[pool[groups == c]])] for c in np.unique(groups)),
                  key=lambda i: margins[i])
    chosen = set(best)
    best += [i for i in order if i not in chosen][:n - len(best)]  # identical photos can leave clusters empty
    return [int(i) for i in best]


STRATEGIES: dict[str, Callable] = {
    "random": random_strategy,
    "margin": margin_strategy,
    "diverse_margin": diverse_margin_strategy,
}
DEFAULT_STRATEGY = "diverse_margin"


def next_to_label(x_labelled, y_labelled, x_unlabelled, n: int, *, num_classes: int,
                  strategy: str = DEFAULT_STRATEGY, seed: int = 0) -> list[int]:
    """Up to n distinct indices into x_unlabelled, best first: the photos whose labels should help the head most.
    The model strategies fall back to covering the pool (the typical photos of clusters with no label yet) until
    can_suggest; "random" is random throughout."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(STRATEGIES)}, got {strategy!r}")
    x_unlabelled = np.asarray(x_unlabelled, dtype="float32")
    n = min(int(n), len(x_unlabelled))
    if n <= 0:
        return []
    x_labelled = np.asarray(x_labelled, dtype="float32").reshape(-1, x_unlabelled.shape[1])
    return STRATEGIES[strategy](x_labelled, np.asarray(y_labelled, dtype=int), x_unlabelled, n,
                                num_classes=num_classes, seed=seed)
