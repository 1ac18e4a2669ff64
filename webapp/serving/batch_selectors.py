"""Reads on batch predictions, for the pages, the API and the worker. Nothing here imports TensorFlow."""

from django.db.models import QuerySet
from django.urls import reverse

from webapp.serving.models import BatchPrediction, BatchStatus, NamedModel


def model_batches(named_model: NamedModel) -> QuerySet[BatchPrediction]:
    """The name's batches, newest first."""
    return named_model.batches.select_related("named_model", "version", "dataset", "created_by")


def batch_status(batch: BatchPrediction) -> dict:
    """JSON-ready state of a batch, for the page's polling and the API (pass a freshly loaded row)."""
    done, total = batch.progress_done, batch.progress_total
    name = batch.named_model.name
    succeeded = batch.status == BatchStatus.SUCCEEDED
    report = batch.report or {}
    return {
        "id": batch.pk,
        "model": name,
        "version": batch.version.number,
        "source": batch.source_name,
        "status": batch.status,
        "status_display": batch.get_status_display(),
        "finished": batch.is_finished,
        "cancel_requested": batch.cancel_requested,
        "progress": {"done": done, "total": total},
        "percent": round(100 * done / total, 1) if total else (100.0 if succeeded else 0.0),
        "error": batch.error_message or None,
        "photos": batch.photo_count if succeeded else None,
        "unreadable": batch.error_count if succeeded else None,
        "unsure": batch.unsure_count if succeeded else None,
        "wrong": batch.wrong_count if report else None,
        "accuracy": report.get("accuracy"),
        "macro_f1": report.get("macro_f1"),
        "csv_url": reverse("serving:batch_csv", args=[name, batch.pk]) if succeeded and batch.csv_file else None,
        "page_url": batch.get_absolute_url(),
    }


def batch_for_run(*, batch_id: int) -> BatchPrediction:
    return BatchPrediction.objects.select_related("named_model", "version__job", "dataset").get(pk=batch_id)


def batch_cancel_requested(*, batch_id: int) -> bool:
    """True when the batch should stop: a cancel was asked for, or it is no longer running (reaped)."""
    row = BatchPrediction.objects.filter(pk=batch_id).values("status", "cancel_requested").first()
    return row is None or row["cancel_requested"] or row["status"] != BatchStatus.RUNNING
