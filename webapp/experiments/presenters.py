"""What the pages show, shaped from rows the views read through selectors: table rows, chart inputs (handed to
the page scripts with json_script, the scripts draw them with Plotly), formatted numbers. No queries, no writes,
no TensorFlow. (Predictions and heatmaps: webapp/serving/presenters.py.)"""

from classifier.recipes import get_recipe
from webapp.experiments.models import Evaluation, EvaluationStatus

def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def head_summary(head_config: dict) -> str:
    hidden = "/".join(str(h) for h in head_config.get("hidden", []))
    dropout = "/".join(f"{d:g}" for d in head_config.get("dropout", []))
    lr = head_config.get("learning_rate")
    return (f"{hidden or '-'} · drop {dropout or '-'} · {head_config.get('optimizer', '?')} "
            f"lr {lr:g} · {head_config.get('epochs', '?')} ep · batch {head_config.get('batch_size', '?')}"
            if lr is not None else f"{hidden}")


def job_rows(jobs) -> list[dict]:
    return [
        {
            "job": job, "duration": format_duration(job.duration_seconds), "head": head_summary(job.head_config),
            "test_accuracy": f"{100 * job.test_accuracy:.1f}%" if job.test_accuracy is not None else "–",
        }
        for job in jobs
    ]


# --- job page ------------------------------------------------------------------------------------------------------


# The gallery: every cell of the confusion matrix has photos. Off the diagonal, the mistakes (most confident
# first); on it, the correctly classified photos (least confident first: the ones the model barely got right).
MAX_MISTAKES = 200
CORRECT_PER_CLASS = 24


def gallery_items(evaluation: Evaluation | None) -> list[dict]:
    """[{id, true, predicted, confidence, correct}]: the most confident mistakes, then per class its least
    confident correct photos (reports made before the diagonal was recorded have none)."""
    if evaluation is None or evaluation.status != EvaluationStatus.SUCCEEDED:
        return []
    report = evaluation.report or {}
    mistakes = sorted(report.get("misclassified", []), key=lambda item: item.get("confidence") or 0, reverse=True)
    items = [dict(item, correct=False) for item in mistakes[:MAX_MISTAKES]]
    shown: dict[str, int] = {}
    for item in report.get("correct", []):  # already least confident first
        if shown.get(item["true"], 0) < CORRECT_PER_CLASS:
            shown[item["true"]] = shown.get(item["true"], 0) + 1
            items.append(dict(item, predicted=item["true"], correct=True))
    return items


def _gallery(items: list[dict], images: dict) -> list[dict]:
    """Gallery entries with their photo (`images`: the Images by id, from the selector): `image` (None once
    deleted: no thumbnail, no actions), thumbnail_url, name."""
    gallery = []
    for item in items:
        image = images.get(item.get("id"))
        gallery.append({
            "id": item.get("id"), "true": item["true"], "predicted": item["predicted"],
            "confidence": item.get("confidence") or 0, "correct": item["correct"], "image": image,
            "thumbnail_url": image.thumbnail_url if image else "",
            "name": str(image) if image else f"image {item.get('id')}",
        })
    return gallery


def report_context(report: dict) -> dict:
    """The classification report and confusion matrix of a report (classifier.evaluate.scores), as the partials
    experiments/_classification_report.html and _confusion_matrix.html show them (job page, batch page)."""
    class_names = report.get("class_names") or [row["label"] for row in report.get("per_class", [])]
    return {
        "per_class": report.get("per_class", []),
        "class_names": class_names,
        "chart": {
            "class_names": class_names,
            "confusion": report.get("confusion", []),
            "confusion_normalized": report.get("confusion_normalized", []),
        },
        "confusion_rows": [
            {"true": name, "cells": [
                {"predicted": other, "count": count, "share": share}
                for other, count, share in zip(class_names, row, normalised_row)
            ]}
            for name, row, normalised_row in zip(
                class_names, report.get("confusion", []), report.get("confusion_normalized", [])
            )
        ],
    }


def evaluation_context(evaluation: Evaluation | None, *, gallery_images: dict) -> dict | None:
    """Report rows, confusion matrix and gallery of a finished evaluation (None while there is none).
    gallery_images: the Images of `gallery_items(evaluation)` by id."""
    if evaluation is None or evaluation.status != EvaluationStatus.SUCCEEDED:
        return None
    report = evaluation.report or {}
    gallery = _gallery(gallery_items(evaluation), gallery_images)
    calibration = report.get("calibration") or {}
    search = report.get("search") or {}
    return report_context(report) | {
        "recipe": report.get("recipe", ""),
        "trials": search.get("trials", []),
        "chosen": search.get("chosen"),
        "calibration": calibration,
        "reliability": {"before": calibration.get("reliability_before"),
                        "after": calibration.get("reliability_after")} if calibration else None,
        "gallery": gallery,
        "correct_count": sum(1 for item in gallery if item["correct"]),
        "misclassified_count": len(report.get("misclassified", [])),
    }


def model_input_sizes(job, chosen: dict | None) -> str:
    """The size(s) the saved model resizes a photo to, as the job planned its views (`job.planned_sizes`, the
    main one first; the backbone's own before they were recorded). A second view is inside the model only when the
    head search kept it (`chosen`: the test report's search choice; None when the page shows another
    evaluation)."""
    from classifier.backbones import BACKBONES

    sizes = job.planned_sizes or [job.input_size or BACKBONES[job.backbone].input_size]
    if len(sizes) == 1:
        return f"{sizes[0]} px"
    if chosen is None:
        return f"{sizes[0]} px (and {sizes[1]} px, a second view, if the head search kept it)"
    if "+" in (chosen.get("views") or ""):
        return f"{sizes[0]} px and {sizes[1]} px (two views of each photo)"
    return f"{sizes[0]} px"


def trial_not_kept(job, result: dict | None) -> dict | None:
    """For a recommended job whose fine-tuning trial was not kept: the chosen linear head's numbers, which the
    page shows before the trial's curves (folded away). None otherwise (the curves are the model's own)."""
    chosen = (result or {}).get("chosen")
    if get_recipe(job.recipe).fixed_head or not chosen or chosen.get("fine_tuned"):
        return None
    trial = next((t for t in result.get("trials", []) if t.get("chosen") and t.get("cv_log_loss") is not None), {})
    return {"head": chosen.get("head", "linear"), "C": chosen.get("C"), "views": chosen.get("views"),
            "cv_accuracy": trial.get("cv_accuracy"), "cv_log_loss": trial.get("cv_log_loss")}


# --- compare -------------------------------------------------------------------------------------------------------


def compare_data(jobs) -> list[dict]:
    """Curves per job (jobs from selectors.jobs_with_epochs)."""
    return [
        {
            "id": job.pk,
            "name": f"#{job.pk} {job.backbone}",
            "best_epoch": job.best_epoch,
            "epochs": [
                {"epoch": m.epoch, "loss": m.loss, "accuracy": m.accuracy, "val_loss": m.val_loss,
                 "val_accuracy": m.val_accuracy}
                for m in job.epochs.all()
            ],
        }
        for job in jobs
    ]


def compare_rows(jobs) -> list[dict]:
    """Settings, then results, side by side: one row per setting or metric, one column per job. A setting row says
    whether the jobs differ in it (`differs`); a metric row names the column(s) with the best value (`best`)."""
    jobs = list(jobs)

    def pct(value):
        return f"{100 * value:.1f}%" if value is not None else "–"

    def num(value):
        return f"{value:.4f}" if value is not None else "–"

    def head(job, key, default=""):
        return job.head_config.get(key, default)

    settings = [
        ("Dataset", [job.dataset.name for job in jobs]),
        ("Recipe", [job.recipe for job in jobs]),
        ("Backbone", [job.backbone for job in jobs]),
        ("Weights", [job.weights for job in jobs]),
        ("Input size", [f"{job.input_size} px" if job.input_size else "backbone's own" for job in jobs]),
        ("Pooling", [job.pooling or "none (7×7 maps)" for job in jobs]),
        ("Precision", [job.precision for job in jobs]),
        ("Hidden layers", [", ".join(map(str, head(job, "hidden", []))) for job in jobs]),
        ("Dropout", [", ".join(f"{d:g}" for d in head(job, "dropout", [])) for job in jobs]),
        ("Activation", [head(job, "activation") for job in jobs]),
        ("Optimizer", [head(job, "optimizer") for job in jobs]),
        ("Learning rate", [f"{head(job, 'learning_rate', 0):g}" for job in jobs]),
        ("Epochs", [str(head(job, "epochs")) for job in jobs]),
        ("Batch size", [str(head(job, "batch_size")) for job in jobs]),
        ("Class weights", [head(job, "class_weight") or "none" for job in jobs]),
        ("Keep best epoch", ["yes" if head(job, "keep_best", False) else "no" for job in jobs]),
    ]
    # (label, values shown, raw values, which is best: max or min)
    metrics = [
        ("Test accuracy", [job.test_accuracy for job in jobs], pct, max),
        ("Test macro-F1", [job.test_macro_f1 for job in jobs], num, max),
        ("Test loss", [job.test_loss for job in jobs], num, min),
    ]
    rows = [{"metric": "Status", "values": [job.get_status_display() for job in jobs], "kind": "info"}]
    rows += [{"metric": name, "values": values, "kind": "setting", "differs": len(set(values)) > 1}
             for name, values in settings]
    for name, raw, shown, best_of in metrics:
        known = [value for value in raw if value is not None]
        best = best_of(known) if len(set(known)) > 1 else None  # a tie of all: no job is better
        rows.append({"metric": name, "kind": "metric", "values": [shown(value) for value in raw],
                     "best": [best is not None and value == best for value in raw]})
    rows += [
        {"metric": "Best epoch", "values": [str(job.best_epoch or "–") for job in jobs], "kind": "info"},
        {"metric": "Duration", "values": [format_duration(job.duration_seconds) or "–" for job in jobs],
         "kind": "info"},
        {"metric": "Started by", "values": [job.created_by.get_username() if job.created_by else "–"
                                            for job in jobs], "kind": "info"},
    ]
    for row in rows:
        row["cells"] = [{"value": value, "best": best}
                        for value, best in zip(row["values"], row.get("best") or [False] * len(jobs))]
    return rows

