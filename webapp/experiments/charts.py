"""What the pages show, as plain data: table rows, chart inputs (handed to the page scripts with json_script, the
scripts draw them with Plotly), formatted numbers. Reads only; no writes, no TensorFlow."""

from pathlib import Path

from django.db.models import OuterRef, Prefetch, Subquery
from django.shortcuts import get_object_or_404

from webapp.core.ids import parse_id, parse_ids
from webapp.datasets.models import Image
from webapp.experiments import galleries, selectors
from webapp.experiments.models import EpochMetric, Evaluation, EvaluationStatus, JobStatus

def with_test_accuracy(jobs):
    """Annotate jobs with their own test split's scores (one query, no N+1)."""
    own = Evaluation.objects.filter(
        job=OuterRef("pk"), is_job_test_split=True, status=EvaluationStatus.SUCCEEDED
    ).order_by("-created_at")
    return jobs.annotate(
        test_accuracy=Subquery(own.values("accuracy")[:1]),
        test_macro_f1=Subquery(own.values("macro_f1")[:1]),
        test_loss=Subquery(own.values("loss")[:1]),
    )


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


# --- new job: the extraction estimate ---------------------------------------------------------------------------


def estimate(*, dataset, backbone, weights, pooling, precision, input_size=None) -> dict:
    total = Image.objects.filter(dataset=dataset).values("content_hash").distinct().count()
    uncached = selectors.uncached_image_count(
        dataset=dataset, backbone=backbone, weights=weights, pooling=pooling or "", precision=precision,
        input_size=input_size,
    )
    return {"dataset": dataset.pk, "total": total, "uncached": uncached, "cached": total - uncached}


def estimate_for_form(form, *, user) -> dict | None:
    """The estimate for what the form shows: its submitted values, else its initial dataset and defaults."""
    field_names = ["dataset", "backbone", "weights", "pooling", "precision", "input_size"]
    if form.is_bound:
        values = {name: form.cleaned_data.get(name) for name in field_names} if hasattr(form, "cleaned_data") else {}
    else:
        queryset = form.fields["dataset"].queryset
        dataset_id = form.initial.get("dataset")
        dataset = queryset.filter(pk=dataset_id).first() if parse_id(dataset_id) else None
        values = {name: form[name].initial for name in field_names} | {"dataset": dataset or queryset.first()}
    if not values.get("dataset") or not values.get("backbone"):
        return None
    return estimate(**values)


# --- job page ------------------------------------------------------------------------------------------------------


def pick_evaluation(job, evaluation_id: str | None) -> Evaluation | None:
    """The evaluation to show: the one asked for (a re-evaluation), else the job's own test split's."""
    if evaluation_id:
        evaluation_id = parse_id(evaluation_id)
        if evaluation_id is None:
            return None
        return get_object_or_404(job.evaluations.select_related("dataset"), pk=evaluation_id)
    return job.evaluations.select_related("dataset").filter(is_job_test_split=True).first()


def evaluation_context(evaluation: Evaluation | None, *, job) -> dict | None:
    """Report rows, confusion matrix and gallery of a finished evaluation (None while there is none)."""
    if evaluation is None or evaluation.status != EvaluationStatus.SUCCEEDED:
        return None
    report = evaluation.report or {}
    class_names = report.get("class_names") or [row["label"] for row in report.get("per_class", [])]
    items = galleries.gallery_items(report)
    gallery = galleries.gallery_rows(items, selectors.images_by_id(galleries.gallery_ids(items)))
    calibration = report.get("calibration") or {}
    search = report.get("search") or {}
    return {
        "per_class": report.get("per_class", []),
        "class_names": class_names,
        "recipe": report.get("recipe", ""),
        "trials": search.get("trials", []),
        "chosen": search.get("chosen"),
        "calibration": calibration,
        "reliability": {"before": calibration.get("reliability_before"),
                        "after": calibration.get("reliability_after")} if calibration else None,
        "gallery": gallery,
        "correct_count": sum(1 for item in gallery if item["correct"]),
        "misclassified_count": len(report.get("misclassified", [])),
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


def exported_model_path(job) -> Path | None:
    """The job's exported `model.keras`, if the job succeeded and the file is there."""
    if job.status != JobStatus.SUCCEEDED or not job.artifact_path:
        return None
    path = job.artifact_path / "model.keras"
    return path if path.is_file() else None


# --- compare -------------------------------------------------------------------------------------------------------


def compare_data(jobs) -> list[dict]:
    jobs = jobs.prefetch_related(Prefetch("epochs", queryset=EpochMetric.objects.order_by("epoch")))
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
    """Metrics side by side: one row per metric, one column per job."""
    jobs = list(jobs)

    def pct(value):
        return f"{100 * value:.1f}%" if value is not None else "–"

    def num(value):
        return f"{value:.4f}" if value is not None else "–"

    rows = [
        ("Status", [job.get_status_display() for job in jobs]),
        ("Dataset", [job.dataset.name for job in jobs]),
        ("Backbone", [job.backbone for job in jobs]),
        ("Weights", [job.weights for job in jobs]),
        ("Pooling", [job.pooling or "none (7×7 maps)" for job in jobs]),
        ("Precision", [job.precision for job in jobs]),
        ("Hidden layers", [", ".join(map(str, job.head_config.get("hidden", []))) for job in jobs]),
        ("Dropout", [", ".join(f"{d:g}" for d in job.head_config.get("dropout", [])) for job in jobs]),
        ("Activation", [job.head_config.get("activation", "") for job in jobs]),
        ("Optimizer", [job.head_config.get("optimizer", "") for job in jobs]),
        ("Learning rate", [f"{job.head_config.get('learning_rate', 0):g}" for job in jobs]),
        ("Epochs", [str(job.head_config.get("epochs", "")) for job in jobs]),
        ("Batch size", [str(job.head_config.get("batch_size", "")) for job in jobs]),
        ("Best epoch", [str(job.best_epoch or "–") for job in jobs]),
        ("Test accuracy", [pct(job.test_accuracy) for job in jobs]),
        ("Test macro-F1", [num(job.test_macro_f1) for job in jobs]),
        ("Test loss", [num(job.test_loss) for job in jobs]),
        ("Duration", [format_duration(job.duration_seconds) or "–" for job in jobs]),
        ("Started by", [job.created_by.get_username() if job.created_by else "–" for job in jobs]),
    ]
    return [{"metric": metric, "values": values} for metric, values in rows]


# --- predict -------------------------------------------------------------------------------------------------------


def latest_succeeded_job_id(user) -> int | None:
    return selectors.jobs_for_user(user).filter(status=JobStatus.SUCCEEDED).values_list("pk", flat=True).first()


def shown_predictions(predictions, shown: str) -> list:
    ids = parse_ids(shown, limit=50)
    if not ids:
        return []
    found = {prediction.pk: prediction for prediction in predictions.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


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
