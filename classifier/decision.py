"""The answer to one photo from its class probabilities: the classes ranked, and "unsure" below the threshold.

One rule for single predictions, the API, batches and (as a checked copy: the bundle must stay self-contained)
the export bundle's predict.py. Pure numpy: the web app imports it too."""

import numpy as np


def effective_threshold(chosen: float | None, edited: float | None = None) -> float | None:
    """The threshold predictions use: a person's edit wins over the one chosen on validation; None when there is
    neither (a model that has not finished). A format of the export bundle whose probabilities move (int8) answers
    with its own threshold, fitted at export to give this one's decisions (classifier.bundle)."""
    return edited if edited is not None else chosen


def rank(probabilities, names: list[str], threshold: float | None, top_k: int | None = None) -> dict:
    """{"label": the best class, "confidence": its probability, "decision": "confident", or "unsure" below
    `threshold` (None: never; `label` is then only the top candidate), "threshold", "probabilities": [{"label",
    "probability"}] best first (ties in class order), the `top_k` first (None: all)}."""
    p = np.asarray(probabilities, dtype="float64")
    order = np.argsort(-p, kind="stable")[:top_k]
    ranked = [{"label": names[c], "probability": float(p[c])} for c in order]
    confidence = ranked[0]["probability"]
    unsure = threshold is not None and confidence < threshold
    return {"label": ranked[0]["label"], "confidence": confidence, "decision": "unsure" if unsure else "confident",
            "threshold": threshold, "probabilities": ranked}
