"""Scoring a head on features: plain dicts with class names, ready for JSON, templates and the CLI.

The metrics are scikit-learn's; this module only names them and shapes them for the app."""

import numpy as np


def scores(probabilities: np.ndarray, y, class_names: list[str], ids: list | None = None) -> dict:
    """Accuracy, loss, per-class precision/recall/F1/support, confusion matrices, misclassified and correctly
    classified items (id, true class, confidence), expected calibration error and reliability-diagram data."""
    from sklearn.metrics import classification_report, confusion_matrix, log_loss

    from classifier.calibration import expected_calibration_error, reliability

    y = np.asarray(y, dtype=int)
    k = len(class_names)
    labels = list(range(k))
    probabilities = np.asarray(probabilities, dtype="float64").reshape(len(y), k) if len(y) else np.zeros((0, k))
    probabilities = probabilities / np.maximum(probabilities.sum(axis=1, keepdims=True), 1e-12)  # float32 sums
    predicted = probabilities.argmax(axis=1)
    report = classification_report(y, predicted, labels=labels, target_names=list(class_names), output_dict=True,
                                   zero_division=0) if len(y) else {}
    per_class = [{"label": name, "precision": float(report[name]["precision"]) if report else 0.0,
                  "recall": float(report[name]["recall"]) if report else 0.0,
                  "f1": float(report[name]["f1-score"]) if report else 0.0,
                  "support": int(report[name]["support"]) if report else 0}
                 for name in class_names]
    confusion = confusion_matrix(y, predicted, labels=labels) if len(y) else np.zeros((k, k), int)
    normalized = (confusion_matrix(y, predicted, labels=labels, normalize="true") if len(y) else np.zeros((k, k)))
    ids = list(range(len(y))) if ids is None else list(ids)
    misclassified = [
        {"id": ids[i], "true": class_names[y[i]], "predicted": class_names[predicted[i]],
         "confidence": float(probabilities[i, predicted[i]])}
        for i in np.flatnonzero(predicted != y)
    ]
    correct = [  # the confusion matrix's diagonal, least confident first (the photos the model barely got right)
        {"id": ids[i], "true": class_names[y[i]], "confidence": float(probabilities[i, predicted[i]])}
        for i in np.flatnonzero(predicted == y)
    ]
    return {
        "accuracy": float(report["accuracy"]) if report else 0.0,
        "loss": float(log_loss(y, probabilities, labels=labels)) if len(y) else 0.0,
        "macro_f1": float(report["macro avg"]["f1-score"]) if report else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "confusion_normalized": np.nan_to_num(normalized).tolist(),  # a class with no photo: a row of zeros
        "class_names": list(class_names),
        "misclassified": sorted(misclassified, key=lambda m: m["confidence"], reverse=True),
        "correct": sorted(correct, key=lambda m: m["confidence"]),
        "ece": expected_calibration_error(probabilities, y) if len(y) else 0.0,
        "reliability": reliability(probabilities, y) if len(y) else {"confidence": [], "accuracy": [], "count": []},
    }


def evaluate(model, x, y, class_names: list[str], ids: list | None = None) -> dict:
    """Scores of `model` (a head: features -> probabilities) on features x (a list of arrays for a head of several
    views) with integer labels y."""
    probabilities = np.asarray(model.predict(x, batch_size=256, verbose=0)) if len(y) else np.zeros((0, 1))
    return scores(probabilities, y, class_names, ids)


def format_report(report: dict) -> str:
    """The classification report and the confusion matrix (raw and row-normalised) as text, with class names."""
    names = report["class_names"]
    width = max(12, *(len(n) for n in names)) + 2
    lines = [f"{'':{width}}{'precision':>10}{'recall':>10}{'f1-score':>10}{'support':>10}"]
    for p in report["per_class"]:
        lines.append(f"{p['label']:{width}}{p['precision']:10.3f}{p['recall']:10.3f}{p['f1']:10.3f}"
                     f"{p['support']:10d}")
    total = sum(p["support"] for p in report["per_class"])
    lines += ["", f"{'accuracy':{width}}{'':20}{report['accuracy']:10.3f}{total:10d}",
              f"{'macro avg f1':{width}}{'':20}{report['macro_f1']:10.3f}{total:10d}",
              f"loss {report['loss']:.4f}", "", "confusion matrix (rows: true, columns: predicted)"]
    col = max(8, *(len(n) + 1 for n in names))
    header = f"{'':{width}}" + "".join(f"{n:>{col}}" for n in names)
    lines.append(header)
    for name, row in zip(names, report["confusion"]):
        lines.append(f"{name:{width}}" + "".join(f"{v:>{col}d}" for v in row))
    lines += ["", "normalised by row", header]
    for name, norm in zip(names, report["confusion_normalized"]):
        lines.append(f"{name:{width}}" + "".join(f"{v:>{col}.2f}" for v in norm))
    return "\n".join(lines)
