"""Writes on batch predictions (`batch_<action>`, keyword-only). The web process creates and cancels batches; the
`train` worker (workers/batching.py) claims, beats, reports progress and stores the result, each a conditional
UPDATE on the status, as for jobs and evaluations. Nothing here imports TensorFlow."""

import csv
import io
from pathlib import Path, PurePosixPath

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from classifier.images import IMAGE_SUFFIXES
from webapp.accounts.permissions import Action, can
from webapp.core import storage
from webapp.datasets.importing.archive import zip_open
from webapp.datasets.importing.result import ImportRejected
from webapp.experiments.models import Prediction, PredictionStatus
from webapp.experiments.selectors import scored_images
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.services import enqueue, work_cancel, work_claim
from webapp.serving.models import BatchPrediction, BatchStatus, NamedModel

CSV_COLUMNS = ["file", "decision", "confidence", "top1", "top1_probability", "top2", "top2_probability", "top3",
               "top3_probability", "true_class", "error"]


# --- web side -----------------------------------------------------------------------------------------------


def _zip_photo_count(archive) -> int:
    """The archive's files to predict, after the import's container checks (size, entries, paths, links, nested
    archives, zip bombs). Raises ImportRejected (a ValidationError) when it is refused or holds no photo."""
    opened = zip_open(archive, classes_optional=True)
    opened.close()
    names = [name for name, _, _ in opened.layout.files]
    if not any(PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES for name in names):
        raise ImportRejected("The zip has no photos (JPEG, PNG, WebP, BMP or GIF files).")
    return len(names)


def batch_create(*, named_model: NamedModel, user, archive=None, dataset=None) -> BatchPrediction:
    """A queued batch of the model's live version on a zip of photos (an uploaded file) or on one of the team's
    datasets (the photos a re-evaluation would score); sent to the `train` queue once it commits. Bad input
    raises ValidationError and changes nothing."""
    if not can(user, Action.PREDICT, named_model.team):
        raise PermissionDenied("Your role does not allow predictions with this team's models.")
    version = named_model.live_version
    if version is None:
        raise ValidationError(f"Model {named_model.name} has no live version yet: promote a job to it first.")
    if (archive is None) == (dataset is None):
        raise ValidationError("Upload a zip of photos or pick a dataset (one of the two).")
    if archive is not None:
        total = _zip_photo_count(archive)
    else:
        if dataset.team_id != named_model.team_id:
            raise ValidationError("Pick one of the team's datasets.")
        total = len(scored_images(dataset=dataset, job=version.job))
        if not total:
            raise ValidationError(f"Dataset {dataset} has no photos to predict.")
    batch = BatchPrediction(named_model=named_model, version=version, dataset=dataset, progress_total=total,
                            archive_name=(getattr(archive, "name", "") or "")[-255:],
                            created_by=user if user and user.pk else None)
    if archive is not None:
        archive.seek(0)
        batch.archive.save("photos.zip", archive, save=False)
    with transaction.atomic():
        batch.save()
        enqueue(KINDS["batch"].task, batch.pk)
    return batch


def batch_cancel(*, batch: BatchPrediction) -> None:
    """Queued: cancelled now (its upload deleted). Running: the worker stops within one batch of photos and marks
    it cancelled."""
    if work_cancel(kind="batch", pk=batch.pk):
        batch_archive_delete(batch=batch)
    batch.refresh_from_db()


def batch_archive_delete(*, batch: BatchPrediction) -> None:
    """The uploaded zip's file (up to DATASETS_MAX_ARCHIVE_BYTES) goes once nothing will read it again; the row
    keeps its name."""
    if batch.archive.name:
        batch.archive.storage.delete(batch.archive.name)


# --- worker side: state transitions ---------------------------------------------------------------------------


def batch_claim(*, batch_id: int, worker: str = "") -> bool:
    return work_claim(kind="batch", pk=batch_id, worker=worker, progress_done=0)


def batch_progress(*, batch_id: int, done: int, total: int | None = None) -> None:
    values = {"progress_done": done, "heartbeat_at": timezone.now()}
    if total is not None:
        values["progress_total"] = total
    BatchPrediction.objects.filter(pk=batch_id, status=BatchStatus.RUNNING).update(**values)




def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (a file may be named "=cmd|...")."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def batch_csv(rows: list[dict]) -> str:
    """One line per photo: file, decision (the class, "unsure" below the model's threshold, or "error"),
    confidence, the top 3 classes with their probabilities, the true class when known, the error when unread."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        top = (row.get("probabilities") or [])[:3]
        top += [{"label": "", "probability": None}] * (3 - len(top))
        decision = "error" if row["error"] else "unsure" if row["decision"] == "unsure" else row["label"]
        confidence = f"{row['confidence']:.4f}" if row.get("confidence") is not None else ""
        cells = [row["file"], decision, confidence]
        for item in top:
            cells += [item["label"], f"{item['probability']:.4f}" if item["probability"] is not None else ""]
        writer.writerow([_cell(c) for c in cells + [row.get("true", ""), row["error"]]])
    return out.getvalue()


def _is_wrong(row: dict) -> bool:
    return bool(row.get("true")) and row["true"] != row["label"]


def _to_review(batch: BatchPrediction, row: dict) -> Prediction:
    """A wrong or unsure row as a Prediction (with its photo), so it shows in the review list."""
    prediction = Prediction(
        # bulk_create skips Prediction.save(): set what outlives the job (team, summary) here
        job_id=batch.version.job_id, team_id=batch.named_model.team_id, job_summary=Prediction.summary_of(batch.version.job),
        content_hash=row["content_hash"], original_name=row["file"][-255:],
        status=PredictionStatus.SUCCEEDED, label=row["label"], confidence=row["confidence"],
        decision=row["decision"], probabilities=row["probabilities"], model_name=batch.named_model.name,
        model_version=batch.version.number, batch=batch, expected_label=row.get("true", ""),
        marked_wrong=_is_wrong(row), created_by=batch.created_by,
        finished_at=timezone.now(),
    )
    name = PurePosixPath(row["file"]).name or "photo"
    prediction.file.save(name, SimpleUploadedFile(name, Path(row["path"]).read_bytes()), save=False)
    return prediction


def batch_succeed(*, batch_id: int, rows: list[dict], report: dict, evaluation_note: str = "") -> bool:
    """Store a finished batch: the CSV (batches/<uuid>/predictions.csv in the media store), its wrong and unsure rows as
    Predictions to review (rows: {file, true, error, label, confidence, decision, probabilities, content_hash,
    path}), the counts and the evaluation report ({} when the true classes are unknown). False (nothing stored)
    when the batch is no longer running (cancelled, reaped)."""
    read = [row for row in rows if not row["error"]]
    wrong = [row for row in read if _is_wrong(row)]
    review = [row for row in read if row["decision"] == "unsure" or _is_wrong(row)]
    with transaction.atomic():
        batch = (BatchPrediction.objects.select_for_update().select_related("named_model", "version")
                 .filter(pk=batch_id, status=BatchStatus.RUNNING).first())
        if batch is None:
            return False
        csv_name = f"batches/{batch.uuid}/predictions.csv"
        # served only once the row below commits (batch_views.batch_csv); the BOM: spreadsheets then read UTF-8
        storage.write(csv_name, batch_csv(rows).encode("utf-8-sig"), "media")
        BatchPrediction.objects.filter(pk=batch_id).update(
            status=BatchStatus.SUCCEEDED, csv_file=csv_name, photo_count=len(rows), error_count=len(rows) - len(read),
            unsure_count=sum(row["decision"] == "unsure" for row in read), wrong_count=len(wrong), report=report,
            evaluation_note=evaluation_note, progress_done=len(rows), progress_total=len(rows),
            finished_at=timezone.now(),
        )
        Prediction.objects.bulk_create([_to_review(batch, row) for row in review], batch_size=500)
    return True
