"""What the prediction pages and the JSON API show of predictions and heatmaps: JSON-ready dicts, chart inputs,
why an answer is "unsure". No queries, no writes, no TensorFlow."""

from webapp.core.ids import parse_ids


def shown_ids(shown: str) -> list[int]:
    """The prediction ids in the predict page's `shown` parameter ("12,13"), at most 50."""
    return parse_ids(shown, limit=50)


def prediction_json(prediction) -> dict:
    """A prediction as the JSON API and the predict page's polling see it."""
    return {
        "id": prediction.pk,
        "status": prediction.status,
        "job": prediction.job_id,
        # the named model and its version that answered (None when a job was asked for directly)
        "model": prediction.model_name or None,
        "version": prediction.model_version,
        "file": prediction.original_name,
        "label": prediction.label or None,
        "confidence": prediction.confidence,
        # "unsure": the calibrated confidence is below the model's threshold; label is then only the top candidate
        "decision": prediction.decision or None,
        "probabilities": prediction.probabilities,
        "latency_ms": prediction.latency_ms,
        "error": prediction.error_message or None,
    }


def unsure_reason(confidence: float | None, threshold: float | None) -> str:
    """Why an answer is "unsure", with enough digits that the two numbers differ: "0.9979 < threshold 0.9984"
    (at three digits both read 0.998)."""
    if confidence is None or threshold is None:
        return ""
    for digits in range(3, 7):
        shown, limit = f"{confidence:.{digits}f}", f"{threshold:.{digits}f}"
        if shown != limit:
            break
    return f"{shown} < threshold {limit}"


def with_unsure_reasons(predictions, thresholds: dict) -> list:
    """The predictions, each with `unsure_reason` set (`thresholds`: the effective threshold by job id)."""
    for prediction in predictions:
        prediction.unsure_reason = (unsure_reason(prediction.confidence, thresholds.get(prediction.job_id))
                                    if prediction.decision == "unsure" else "")
    return predictions


def prediction_charts(predictions) -> list[dict]:
    return [
        {
            "id": prediction.pk,
            "labels": [p["label"] for p in prediction.probabilities],
            "probabilities": [p["probability"] for p in prediction.probabilities],
            "decision": prediction.label,
        }
        for prediction in predictions
        if prediction.probabilities
    ]


def heatmap_json(heatmap, status_url: str) -> dict:
    """A heatmap as the predict page, the job page's gallery and the JSON API see it: `url` once it is ready."""
    if heatmap is None:
        return {"status": "none", "url": None, "label": None, "error": None, "status_url": status_url}
    return {
        "status": heatmap.status,
        "url": heatmap.file.url if heatmap.status == "succeeded" and heatmap.file else None,
        "label": heatmap.label or None,
        "error": heatmap.error_message or None,
        "status_url": status_url,
    }
