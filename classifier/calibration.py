"""Calibrated confidence: temperature scaling, expected calibration error, reliability data, the unsure threshold.

All on probabilities (softmax outputs), so it applies to any head without reaching into its logits."""

import numpy as np

N_BINS = 10


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): T > 1 softens over-confident probabilities, T = 1 changes nothing."""
    logits = np.log(np.clip(np.asarray(probabilities, dtype="float64"), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, y) -> float:
    """The T that minimises the log loss of apply_temperature(probabilities, T) on these labelled predictions."""
    from scipy.optimize import minimize_scalar
    from sklearn.metrics import log_loss

    y = np.asarray(y, dtype=int)
    if len(y) < 2:
        return 1.0
    labels = list(range(probabilities.shape[1]))
    result = minimize_scalar(lambda log_t: log_loss(y, apply_temperature(probabilities, np.exp(log_t)),
                                                    labels=labels),
                             bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def _top(probabilities: np.ndarray, y) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(probabilities)
    return probabilities.max(axis=1), (probabilities.argmax(axis=1) == np.asarray(y)).astype(int)


def reliability(probabilities: np.ndarray, y, n_bins: int = N_BINS) -> dict:
    """Reliability-diagram data over equal-width confidence bins (empty bins left out):
    mean confidence, accuracy and photo count per bin (sklearn's calibration_curve on top-label correctness)."""
    from sklearn.calibration import calibration_curve

    confidence, correct = _top(probabilities, y)
    if not len(correct):
        return {"confidence": [], "accuracy": [], "count": []}
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.histogram(confidence, bins=edges)[0]
    if correct.min() == correct.max():  # calibration_curve needs both outcomes; the answer is then obvious
        mean_conf = np.histogram(confidence, bins=edges, weights=confidence)[0][counts > 0] / counts[counts > 0]
        accuracy = np.full(len(mean_conf), float(correct[0]))
    else:
        accuracy, mean_conf = calibration_curve(correct, confidence, n_bins=n_bins, strategy="uniform")
    return {"confidence": [float(v) for v in mean_conf], "accuracy": [float(v) for v in accuracy],
            "count": [int(c) for c in counts[counts > 0]]}


def expected_calibration_error(probabilities: np.ndarray, y, n_bins: int = N_BINS) -> float:
    """Sum over bins of |accuracy - mean confidence|, weighted by the share of photos in the bin."""
    curve = reliability(probabilities, y, n_bins)
    total = sum(curve["count"])
    if not total:
        return 0.0
    return float(sum(n * abs(a - c) for n, a, c in zip(curve["count"], curve["accuracy"], curve["confidence"]))
                 / total)


def cross_fitted_ece(probabilities: np.ndarray, y, k: int = 5, seed: int = 0) -> tuple[float, float]:
    """(ECE before, ECE after temperature scaling) on held-out probabilities, each fold's temperature fitted on
    the other folds only: calibration judged on photos its temperature never saw, on many more photos than a
    small test split (whose ECE is mostly noise: ~80 photos in 10 bins)."""
    from classifier.oof import stratified_folds

    y = np.asarray(y, dtype=int)
    try:
        folds = stratified_folds(y, k, seed)
    except ValueError:  # a class with a single held-out photo: no cross-fitting possible
        return expected_calibration_error(probabilities, y), float("nan")
    calibrated = np.zeros_like(probabilities, dtype="float64")
    for fit_index, apply_index in folds:
        calibrated[apply_index] = apply_temperature(probabilities[apply_index],
                                                    fit_temperature(probabilities[fit_index], y[fit_index]))
    return expected_calibration_error(probabilities, y), expected_calibration_error(calibrated, y)


def unsure_threshold(probabilities: np.ndarray, y, target_precision: float = 0.95,
                     unsure_right_share: float = 0.05) -> float:
    """The lowest confidence threshold at which the answers kept (confidence >= threshold) reach the target
    precision (if none does, the highest confidence seen: almost everything is then unsure), raised to the
    `unsure_right_share` quantile of the right answers' confidence: where every held-out answer is right the
    precision rule alone would keep whatever a photo of a class the model never saw gets, and such photos
    usually score below the model's typical right answer."""
    confidence, correct = _top(probabilities, y)
    if not len(correct):
        return 0.0
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)  # of the k most confident answers
    reaching = np.flatnonzero(precision >= target_precision)
    threshold = float(confidence[order][reaching.max()]) if len(reaching) else float(confidence.max())
    if unsure_right_share and correct.any():
        threshold = max(threshold, float(np.quantile(confidence[correct == 1], unsure_right_share)))
    return threshold
