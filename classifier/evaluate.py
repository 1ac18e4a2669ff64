"""Scoring a head on features: plain dicts with class names, ready for JSON, templates and the CLI."""

import numpy as np


def scores(probabilities: np.ndarray, y, class_names: list[str], ids: list | None = None) -> dict:
    """Accuracy, loss, per-class precision/recall/F1/support, confusion matrices, misclassified items."""
    y = np.asarray(y, dtype=int)
    k = len(class_names)
    predicted = probabilities.argmax(axis=1) if len(y) else np.zeros(0, int)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (y, predicted), 1)
    per_class = []
    for c, label in enumerate(class_names):
        tp, predicted_c, support = confusion[c, c], confusion[:, c].sum(), confusion[c].sum()
        precision = tp / predicted_c if predicted_c else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append({"label": label, "precision": float(precision), "recall": float(recall),
                          "f1": float(f1), "support": int(support)})
    rows = confusion.sum(axis=1, keepdims=True)
    ids = list(range(len(y))) if ids is None else list(ids)
    misclassified = [
        {"id": ids[i], "true": class_names[y[i]], "predicted": class_names[predicted[i]],
         "confidence": float(probabilities[i, predicted[i]])}
        for i in np.flatnonzero(predicted != y)
    ]
    true_p = probabilities[np.arange(len(y)), y] if len(y) else np.zeros(0)
    return {
        "accuracy": float((predicted == y).mean()) if len(y) else 0.0,
        "loss": float(-np.log(np.clip(true_p, 1e-7, 1.0)).mean()) if len(y) else 0.0,
        "macro_f1": float(np.mean([p["f1"] for p in per_class])),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "confusion_normalized": np.divide(confusion, rows, out=np.zeros((k, k)), where=rows > 0).tolist(),
        "class_names": list(class_names),
        "misclassified": sorted(misclassified, key=lambda m: m["confidence"], reverse=True),
    }


def evaluate(model, x, y, class_names: list[str], ids: list | None = None) -> dict:
    """Scores of `model` (a head: features -> probabilities) on features x with integer labels y."""
    probabilities = np.asarray(model.predict(x, batch_size=256, verbose=0)) if len(x) else np.zeros((0, 1))
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
