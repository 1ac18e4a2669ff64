"""Out-of-fold probabilities on cached features: k-fold over the labelled photos, each photo predicted by a model
that never saw it. One component serves the head search, temperature calibration, the unsure threshold and a
label-error audit (e.g. cleanlab's find_label_issues takes exactly these probabilities)."""

from typing import Callable

import numpy as np

# fit_predict(x_train, y_train, x_held_out) -> probabilities (len(x_held_out), num_classes)
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def stratified_folds(y, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(train indices, held-out indices)] of a seeded stratified k-fold; k shrinks to the smallest class's
    count (at least 2), so every class is in every fold's training part."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=int)
    smallest = np.bincount(y)[np.unique(y)].min() if len(y) else 0
    k = max(2, min(k, smallest))
    if smallest < 2:
        raise ValueError("every class needs at least 2 labelled photos for cross-validation")
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def out_of_fold(x: np.ndarray, y, fit_predict: FitPredict, *, num_classes: int, k: int = 5, seed: int = 0,
                folds: list | None = None, should_cancel: Callable[[], bool] | None = None,
                n_jobs: int = 1) -> np.ndarray | None:
    """(N, num_classes) probabilities, row i from the fold model that did not train on photo i; None if
    cancelled between folds. n_jobs > 1: that many folds at once in threads (fit_predict must release the GIL
    and be thread-safe, as scikit-learn's fits are); cancellation is then checked before each round."""
    y = np.asarray(y, dtype=int)
    out = np.zeros((len(y), num_classes), dtype="float64")
    folds = folds or stratified_folds(y, k, seed)
    for start in range(0, len(folds), max(1, n_jobs)):
        if should_cancel and should_cancel():
            return None
        batch = folds[start:start + max(1, n_jobs)]
        if len(batch) == 1:
            results = [fit_predict(x[batch[0][0]], y[batch[0][0]], x[batch[0][1]])]
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=len(batch), prefer="threads")(
                delayed(fit_predict)(x[train_index], y[train_index], x[held_out]) for train_index, held_out in batch)
        for (_, held_out), probabilities in zip(batch, results):
            out[held_out] = probabilities
    return out
