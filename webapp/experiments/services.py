"""Writes on jobs, evaluations and predictions (HackSoft style: `<entity>_<action>`, keyword-only, typed).

The web process calls job_create / job_cancel / job_retry / evaluation_create / prediction_create /
prediction_run. The workers call the state transitions below (job_claim, job_advance, job_fail ...): every one is
a conditional UPDATE on the status, so a redelivered message, a late cancel or a reaped job never gets
overwritten by a stale writer. Nothing here imports TensorFlow.
"""

import logging
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, ProtectedError, Q
from django.utils import timezone

from classifier.files import content_hash
from classifier.recipes import DEFAULT_RECIPE
from classifier.settings import JobSettings, SettingError
from webapp.core import storage
from webapp.datasets.models import Dataset, Image, Split
from webapp.experiments import selectors
from webapp.experiments.models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    ChunkStatus,
    EpochMetric,
    Evaluation,
    EvaluationStatus,
    ExtractionChunk,
    Heatmap,
    HeatmapStatus,
    JobImage,
    JobStatus,
    Prediction,
    PredictionStatus,
    TrainingJob,
)
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.services import (
    enqueue,
    work_cancel,
    work_claim,
    work_fail,
    work_succeed,
    worker_died_message,  # noqa: F401 - what the reaper writes, read by the job pages' tests
)

logger = logging.getLogger(__name__)


# --- web side -----------------------------------------------------------------------------------------------


def _job_settings(*, head_config: dict, **columns) -> JobSettings:
    """The job's settings checked by classifier.settings.JobSettings (plain data, no TF); ValidationError with
    its readable message if one is refused."""
    try:
        return JobSettings.from_job(head_config=head_config, **columns)
    except SettingError as exc:
        raise ValidationError(str(exc), code="settings") from exc


def _snapshot_images(dataset: Dataset) -> list[Image]:
    """The photos a job on the dataset trains on (selectors.training_images, as its estimate counts them),
    checked to be trainable; ValidationError with a readable message otherwise."""
    images = selectors.training_images(dataset)
    train_labels = {i.label.name for i in images if i.split == Split.TRAIN}
    all_labels = {i.label.name for i in images}
    if len(all_labels) < 2:
        raise ValidationError(f"Dataset {dataset} needs images of at least 2 classes (it has {len(all_labels)}).")
    if not train_labels:
        raise ValidationError(
            f"Dataset {dataset} is evaluation-only: none of its photos is in the train split. Use it to re-evaluate "
            f"a trained job (job page) or as a named model's pinned evaluation set; train on another dataset."
        )
    missing = sorted(all_labels - train_labels)
    if missing:
        raise ValidationError(f"These classes have no training image: {', '.join(missing)}.")
    if not any(i.split == Split.TEST for i in images):
        raise ValidationError(f"Dataset {dataset} has no test images: put some images in the test split.")
    return images


@transaction.atomic
def job_create(*, dataset: Dataset, user, backbone: str, weights: str = "imagenet", pooling: str = "",
               precision: str = "auto", head_config: dict | None = None, recipe: str = DEFAULT_RECIPE,
               input_size: int | None = None, retry_of: TrainingJob | None = None) -> TrainingJob:
    """A queued job on a snapshot of the dataset's images, with the feature specs it extracts planned from its
    settings and those photos (as its estimate plans them); the `train` task is sent once this commits.
    `recipe` "article" trains head_config on the (pooling) features; "recommended" ignores both."""
    job_settings = _job_settings(backbone=backbone, weights=weights, pooling=pooling or "", precision=precision,
                                 head_config=head_config or {}, input_size=input_size, recipe=recipe)
    # auto resolved once, here: every chunk, the evaluation and the predictor read the job's precision and specs
    job_settings, precision_reason = selectors.resolved_precision(job_settings)
    images = _snapshot_images(dataset)
    specs = selectors.planned_views(images=images, job_settings=job_settings)  # what its estimate planned too
    memory = selectors.job_memory_estimate(
        job_settings=job_settings, specs=specs, image_count=len(images),
        class_count=len({i.label.name for i in images}), photo_pixels=selectors.job_photo_sizes(images)[1],
    )
    if not memory["fits"]:
        raise ValidationError(memory["message"], code="too_much_memory")
    job = TrainingJob.objects.create(
        dataset=dataset, **job_settings.columns(), head_config=job_settings.head_config().to_dict(),
        feature_specs=[spec.to_dict() for spec in specs], precision_reason=precision_reason[:200], created_by=user if user and user.pk else None,
        retry_of=retry_of,
    )
    rows = [JobImage(job=job, image=image, content_hash=image.content_hash, label_name=image.label.name,
                     original_name=str(image)[:255], split=image.split) for image in images]
    JobImage.objects.bulk_create(rows)
    enqueue(KINDS["job"].task, job.pk)
    return job


def job_cancel(*, job: TrainingJob) -> None:
    """Queued: cancelled now. Running: the worker stops within one batch or epoch and marks it cancelled."""
    work_cancel(kind="job", pk=job.pk, progress_done=0, progress_total=0)
    job.refresh_from_db()


def job_delete(*, job: TrainingJob) -> None:
    """Delete a finished job, its results and its files (trained model, heatmaps). Its predictions stay in the
    log (job NULL; team, model name and version kept). Refused while it runs, or while a version of it is live
    (its other versions go with it)."""
    if not job.is_finished:
        raise ValidationError(f"Job #{job.pk} has not finished: cancel it first.", code="running")
    with transaction.atomic():
        locked = TrainingJob.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None:
            return
        live = job.model_versions.filter(named_model__live_version=F("pk")).select_related("named_model").first()
        if live is not None:
            raise ValidationError(f"Job #{job.pk} is the live version of model {live.named_model.name} "
                                  f"(v{live.number}): make another version live first.", code="live")
        folders = [(area, name) for area, name in (("artifacts", job.artifact_dir),
                                                   ("media", f"heatmaps/job_{job.pk}")) if name]
        # Only versions that are not live go. PROTECT keeps the job when a version was made live meanwhile, or when
        # a version answered batch predictions (their results stay readable); the collector raises before deleting.
        try:
            job.model_versions.exclude(named_model__live_version=F("pk")).delete()
            job.delete()
        except ProtectedError as exc:
            batches = sorted({obj.pk for obj in exc.protected_objects if obj._meta.model_name == "batchprediction"})
            if batches:
                raise ValidationError(f"Job #{job.pk} answered batch predictions (batch {', '.join(map(str, batches))}) "
                                      f"as a model version: their results need it, so it is kept.",
                                      code="batches") from None
            raise ValidationError(f"Job #{job.pk} was just made a live model version.", code="live") from None
    # after the commit: a crash in between leaves folders the clean-up command finds (media_orphans --all)
    for area, name in folders:
        transaction.on_commit(lambda area=area, name=name: storage.delete_under(name, area))
    logger.info("deleted job %s and %s", job.pk, ", ".join(f"{area}/{name}" for area, name in folders))


def job_retry(*, job: TrainingJob, user) -> TrainingJob:
    """A new job with the same settings on the dataset's current images."""
    return job_create(dataset=job.dataset, user=user, backbone=job.backbone, weights=job.weights,
                      pooling=job.pooling, precision=job.precision, head_config=job.head_config,
                      recipe=job.recipe, input_size=job.input_size, retry_of=job)


@transaction.atomic
def job_follow_up_create(*, job: TrainingJob) -> TrainingJob:
    """A queued follow-up of a succeeded recommended job whose fine-tuning trial can pay: the same settings,
    views and photos (its JobImage snapshot, so its decision is reused as it stands); its training is the trial,
    and it ends with a model only if the trial wins (job_not_kept otherwise). Sent once this commits."""
    follow_up = TrainingJob.objects.create(
        dataset=job.dataset, backbone=job.backbone, weights=job.weights, pooling=job.pooling,
        precision=job.precision, precision_reason=job.precision_reason, input_size=job.input_size,
        recipe=job.recipe, head_config=job.head_config, feature_specs=job.feature_specs,
        created_by=job.created_by, follow_up_of=job,
    )
    JobImage.objects.bulk_create([JobImage(job=follow_up, image_id=ji.image_id, content_hash=ji.content_hash,
                                           label_name=ji.label_name, original_name=ji.original_name, split=ji.split)
                                  for ji in job.job_images.all()])
    enqueue(KINDS["job"].task, follow_up.pk)
    return follow_up


def job_not_kept(*, job_id: int, message: str) -> bool:
    """A follow-up whose fine-tuning trial did not beat its parent's linear head: it ends with no model, saying
    so (the trial's numbers stay in its epochs and its message)."""
    return bool(TrainingJob.objects.filter(pk=job_id, status=JobStatus.TRAINING).update(
        status=JobStatus.NOT_KEPT, error_message=message, finished_at=timezone.now(), heartbeat_at=timezone.now(),
    ))


def can_edit_threshold(user, job: TrainingJob) -> bool:
    """Who may change a model's unsure threshold: whoever may train on the team; once the job is a version of a
    named model (it may be serving), only whoever may promote the team's models."""
    from webapp.accounts.permissions import Action, can

    serving = job.model_versions.exists()
    return can(user, Action.PROMOTE if serving else Action.TRAIN, job.dataset.team_id)


def job_threshold_set(*, job: TrainingJob, threshold: float | None, user) -> None:
    """Edit the confidence below which the job's predictions answer "unsure" (None: back to the threshold chosen
    on validation). Predictions made from now on use it; earlier ones keep their decision."""
    from django.core.exceptions import PermissionDenied

    if not can_edit_threshold(user, job):
        raise PermissionDenied("You may not change this model's threshold.")
    if job.status != JobStatus.SUCCEEDED:
        raise ValidationError("Only a model that finished training has a threshold.")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValidationError("The threshold is a confidence between 0 and 1.")
    fields = {"unsure_threshold": threshold, "threshold_edited_by": user, "threshold_edited_at": timezone.now()}
    TrainingJob.objects.filter(pk=job.pk).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)


@transaction.atomic
def evaluation_create(*, job: TrainingJob, dataset: Dataset, user) -> Evaluation:
    """Re-evaluate a finished job on another dataset whose classes are the job's (sent to `train`)."""
    if job.status != JobStatus.SUCCEEDED or not job.artifact_dir:
        raise ValidationError("Only a job that succeeded can be evaluated again.")
    if dataset.team_id != job.dataset.team_id:  # its results (dataset name, scores, file names) go on the job's page
        raise ValidationError(f"Dataset {dataset} belongs to another team than job #{job.pk}: a job is evaluated on "
                              f"its own team's datasets only (team {job.dataset.team}).", code="other_team")
    class_names = selectors.job_class_names(job)
    labels = set(Image.objects.labelled().filter(dataset=dataset).values_list("label__name", flat=True))
    if not labels:
        raise ValidationError(f"Dataset {dataset} has no images.")
    unknown = sorted(labels - set(class_names))
    if unknown:
        raise ValidationError(
            f"Dataset {dataset} has classes the job was not trained on: {', '.join(unknown)} "
            f"(the job knows {', '.join(class_names)})."
        )
    evaluation = Evaluation.objects.create(job=job, dataset=dataset,
                                           created_by=user if user and user.pk else None)
    if not selectors.evaluation_images(evaluation):
        raise ValidationError(f"Dataset {dataset} has no test images to evaluate on.")
    enqueue(KINDS["evaluation"].task, evaluation.pk)
    return evaluation


def prediction_check_allowed(*, job: TrainingJob, user) -> None:
    """The one predict permission every prediction path checks (page, API, named models, batches): the team's
    roles that may predict, never "see every team's ..." alone (it only looks). PermissionDenied otherwise."""
    from django.core.exceptions import PermissionDenied

    from webapp.accounts.permissions import Action, can

    if not can(user, Action.PREDICT, job.dataset.team_id):
        raise PermissionDenied(f"You may not predict with team {job.dataset.team}'s models: seeing a team's "
                               "models does not allow predicting with them.")


def _prediction_save(*, job: TrainingJob, upload: UploadedFile, user, model_version=None) -> Prediction:
    prediction_check_allowed(job=job, user=user)
    if job.status != JobStatus.SUCCEEDED or not job.artifact_dir:
        raise ValidationError("Predictions need a job that succeeded.")
    digest = content_hash(upload)
    upload.seek(0)
    prediction = Prediction(job=job, content_hash=digest, original_name=(upload.name or "")[:255],
                            created_by=user if user and user.pk else None)
    if model_version is not None:  # a serving.ModelVersion: the prediction records which name and version
        prediction.model_name, prediction.model_version = model_version.named_model.name, model_version.number
    prediction.file.save(upload.name or "upload", upload, save=False)
    prediction.save()
    return prediction


def prediction_create(*, job: TrainingJob, upload: UploadedFile, user, model_version=None) -> Prediction:
    """Store the upload and send it to the warm `predict` worker (once this commits)."""
    prediction = _prediction_save(job=job, upload=upload, user=user, model_version=model_version)
    enqueue(KINDS["prediction"].task, prediction.pk)
    return prediction


def prediction_run(*, job: TrainingJob, upload: UploadedFile, user, timeout: float = 30,
                   model_version=None) -> Prediction:
    """prediction_create, then wait for the `predict` worker; the finished (succeeded or failed) Prediction.

    Waits on the task's result (Redis pub/sub: no polling delay); a prediction not done in `timeout` seconds
    is failed with a readable message."""
    from webapp.lifecycle.services import celery_app

    prediction = _prediction_save(job=job, upload=upload, user=user, model_version=model_version)
    task_id = str(uuid.uuid4())
    result = celery_app().AsyncResult(task_id)
    sent = []
    transaction.on_commit(lambda: sent.append(celery_app().send_task(
        KINDS["prediction"].task, args=(prediction.pk,), task_id=task_id, ignore_result=False)))
    if not sent:  # inside a transaction: the task goes when it commits, nobody can wait for it here
        return prediction
    try:
        result.get(timeout=timeout, interval=0.02, propagate=False, disable_sync_subtasks=False)
    except Exception as exc:  # noqa: BLE001 - TimeoutError, or the result backend itself failing
        logger.warning("prediction %s: waiting for the result failed: %r", prediction.pk, exc)
    finally:
        try:
            result.forget()
        except OSError:  # the embedded (file) backend has no result file when the wait timed out
            pass
    prediction.refresh_from_db()
    if prediction.status == PredictionStatus.PENDING:
        prediction_fail(prediction_id=prediction.pk,
                        message=f"No prediction worker answered within {timeout:g} seconds; try again later.")
        prediction.refresh_from_db()
    return prediction


# --- worker side: state transitions ---------------------------------------------------------------------------


def job_claim(*, job_id: int, worker: str) -> bool:
    """queued -> extracting, only if still queued (a redelivered or duplicate message gets False)."""
    return work_claim(kind="job", pk=job_id, worker=worker, stage_started_at=timezone.now(), progress_done=0,
                      progress_total=0, stage_detail="listing the photos")


def job_advance(*, job_id: int, to: str, progress_total: int = 0, progress_step: str = "", **fields) -> bool:
    """Next stage (training, evaluating) if the job is still running and not asked to cancel."""
    now = timezone.now()
    stamp = {JobStatus.TRAINING: {"training_at": now}, JobStatus.EVALUATING: {"evaluating_at": now}}.get(to, {})
    fields.setdefault("stage_detail", "")
    return bool(TrainingJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES, cancel_requested=False).update(
        status=to, stage_started_at=now, heartbeat_at=now, progress_done=0, progress_total=progress_total,
        progress_step=progress_step, **stamp, **fields,
    ))


def job_progress(*, job_id: int, done: int | None = None, add: int = 0, total: int | None = None,
                 step: str | None = None, **fields) -> None:
    """Progress of the current stage; a new `step` (the recommended recipe's "search", then "fine-tune") counts
    its own units from 0, and its speed and ETA restart with it."""
    values = dict(heartbeat_at=timezone.now())
    if done is not None or add:
        values["stage_detail"] = ""  # work is moving: the stage's start-up note is over (unless `fields` sets one)
    values.update(fields)
    if step is not None:
        TrainingJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).exclude(progress_step=step).update(
            progress_step=step, stage_started_at=timezone.now())
    if done is not None:
        values["progress_done"] = done
    elif add:
        values["progress_done"] = F("progress_done") + add
    if total is not None:
        values["progress_total"] = total
    TrainingJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).update(**values)


def job_epoch_record(*, job_id: int, epoch: int, metrics: dict) -> None:
    EpochMetric.objects.update_or_create(job_id=job_id, epoch=epoch, defaults={
        "loss": metrics["loss"], "accuracy": metrics["accuracy"], "val_loss": metrics.get("val_loss"),
        "val_accuracy": metrics.get("val_accuracy"), "seconds": metrics.get("seconds") or 0,
    })
    job_progress(job_id=job_id, done=epoch)


def job_extraction_finish(*, job_id: int, images_extracted: int, skipped_images: list) -> None:
    """What the extraction stage leaves on the job: features computed here, photos left out."""
    TrainingJob.objects.filter(pk=job_id).update(images_extracted=images_extracted, skipped_images=skipped_images)


def job_succeed(*, job_id: int, **fields) -> bool:
    return bool(TrainingJob.objects.filter(pk=job_id, status=JobStatus.EVALUATING).update(
        status=JobStatus.SUCCEEDED, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields
    ))


def job_fail(*, job_id: int, message: str) -> bool:
    """Failed with a message users can read (the traceback goes to the worker log, never here)."""
    return work_fail(kind="job", pk=job_id, message=message)


def chunks_reap(*, gone_workers: list[str]) -> None:
    """The reaper's part for extraction chunks (part of their job, not a kind of work): chunks gone workers held go
    back to pending, so the job's own worker redoes them at once; unfinished chunks of jobs that ended go."""
    if gone_workers:
        ExtractionChunk.objects.filter(status=ChunkStatus.RUNNING, worker__in=gone_workers).update(
            status=ChunkStatus.PENDING, worker="")
    ExtractionChunk.objects.filter(job__status__in=FINISHED_STATUSES).exclude(status=ChunkStatus.DONE).delete()


# --- extraction chunks (shared by a job's own worker and helpers on other `train` workers) ----------------------


def chunks_replace(*, job: TrainingJob, chunks: list[list[tuple[str, str]]]) -> None:
    """The job's extraction chunks, each [(content_hash, path), ...]; earlier ones (a redelivery's) go."""
    ExtractionChunk.objects.filter(job=job).delete()
    ExtractionChunk.objects.bulk_create(
        ExtractionChunk(job=job, index=i, items=[[h, p] for h, p in chunk]) for i, chunk in enumerate(chunks)
    )


def chunk_claim(*, job_id: int, worker: str, stale_running: bool = False) -> ExtractionChunk | None:
    """Take the next pending chunk (or, with stale_running, also one whose extractor stopped beating)."""
    claimable = Q(status=ChunkStatus.PENDING)
    if stale_running:  # pending too: a chunk the reaper released from a gone worker
        cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
        claimable |= Q(status=ChunkStatus.RUNNING, heartbeat_at__lt=cutoff)
    candidates = ExtractionChunk.objects.filter(claimable, job_id=job_id).order_by("index")
    for chunk_id in candidates.values_list("pk", flat=True):
        if ExtractionChunk.objects.filter(claimable, pk=chunk_id).update(
            status=ChunkStatus.RUNNING, worker=worker, heartbeat_at=timezone.now()
        ):
            return ExtractionChunk.objects.get(pk=chunk_id)
    return None


def chunk_heartbeat(*, chunk_id: int) -> None:
    ExtractionChunk.objects.filter(pk=chunk_id).update(heartbeat_at=timezone.now())


def chunks_heartbeat(*, job_id: int, worker: str) -> None:
    """Every chunk of the job this worker is extracting."""
    ExtractionChunk.objects.filter(job_id=job_id, worker=worker, status=ChunkStatus.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def chunk_release(*, chunk_id: int) -> None:
    """Back to pending (its extraction was cancelled); the features written so far stay in the cache."""
    ExtractionChunk.objects.filter(pk=chunk_id).update(status=ChunkStatus.PENDING)


def chunk_finish(*, chunk_id: int, extracted: int, seconds: float, skipped: list[dict]) -> None:
    ExtractionChunk.objects.filter(pk=chunk_id).update(status=ChunkStatus.DONE, extracted=extracted,
                                                       seconds=seconds, skipped=skipped)


# --- evaluations ---------------------------------------------------------------------------------------------------


def evaluation_create_for_test_split(*, job: TrainingJob, report: dict, image_count: int) -> Evaluation:
    """The job's own score on its test split, made by the job itself (succeeded from the start)."""
    return Evaluation.objects.create(
        job=job, dataset=job.dataset, status=EvaluationStatus.SUCCEEDED, is_job_test_split=True,
        accuracy=report["accuracy"], loss=report["loss"], macro_f1=report["macro_f1"], report=report,
        image_count=image_count, created_by=job.created_by, finished_at=timezone.now(),
    )


def evaluation_claim(*, evaluation_id: int, worker: str = "") -> bool:
    return work_claim(kind="evaluation", pk=evaluation_id, worker=worker)


def evaluation_succeed(*, evaluation_id: int, report: dict, image_count: int, skipped_images: list) -> bool:
    return work_succeed(kind="evaluation", pk=evaluation_id, accuracy=report["accuracy"], loss=report["loss"],
                        macro_f1=report["macro_f1"], report=report, image_count=image_count,
                        skipped_images=skipped_images)


def prediction_succeed(*, prediction_id: int, result: dict) -> bool:
    prediction = Prediction.objects.filter(pk=prediction_id).only("created_at").first()
    latency = (timezone.now() - prediction.created_at).total_seconds() * 1000 if prediction else None
    return work_succeed(kind="prediction", pk=prediction_id, label=result["label"], confidence=result["confidence"],
                        decision=result.get("decision", ""), probabilities=result["probabilities"],
                        latency_ms=latency)


def prediction_fail(*, prediction_id: int, message: str) -> bool:
    return work_fail(kind="prediction", pk=prediction_id, message=message)


# --- heatmaps (Grad-CAM, computed by the `predict` worker) --------------------------------------------------------

HEATMAP_STALE_SECONDS = 300  # a heatmap still unfinished after this is taken as lost (no worker, or it died)


def heatmap_request(*, job: TrainingJob, prediction: Prediction | None = None, image: Image | None = None) -> Heatmap:
    """The job's heatmap of a prediction's photo or of one of its dataset photos: the stored one, or a new one
    sent to the `predict` worker once this commits. A failed or lost one is sent again."""
    if job.status != JobStatus.SUCCEEDED or not job.artifact_dir:
        raise ValidationError("Heatmaps need a job that succeeded.")
    if (prediction is None) == (image is None):
        raise ValueError("a heatmap is of a prediction or of an image, not both")
    lookup = {"prediction": prediction} if prediction is not None else {"job": job, "image": image}
    heatmap, created = Heatmap.objects.get_or_create(**lookup, defaults={"job": job})
    stale = timezone.now() - timedelta(seconds=HEATMAP_STALE_SECONDS)
    resent = not created and Heatmap.objects.filter(
        Q(status=HeatmapStatus.FAILED) | Q(created_at__lt=stale, status__in=[HeatmapStatus.PENDING,
                                                                          HeatmapStatus.RUNNING]),
        pk=heatmap.pk,
    ).update(status=HeatmapStatus.PENDING, error_message="", created_at=timezone.now(), started_at=None,
             finished_at=None, worker="", heartbeat_at=None)
    if created or resent:
        enqueue(KINDS["heatmap"].task, heatmap.pk)
        heatmap.refresh_from_db()
    return heatmap


def heatmap_claim(*, heatmap_id: int, worker: str = "") -> Heatmap | None:
    """pending -> running; the row (with its job and photo) when this call claimed it, else None."""
    if not work_claim(kind="heatmap", pk=heatmap_id, worker=worker):
        return None
    return Heatmap.objects.select_related("job", "prediction", "image").get(pk=heatmap_id)


def heatmap_succeed(*, heatmap_id: int, png: bytes, label: str) -> bool:
    """Store the overlay PNG in the media store (heatmaps/job_<id>/<random>.png) and mark it done."""
    from django.core.files.base import ContentFile

    heatmap = Heatmap.objects.get(pk=heatmap_id)
    heatmap.file.save("heatmap.png", ContentFile(png), save=False)
    return work_succeed(kind="heatmap", pk=heatmap_id, file=heatmap.file.name, label=label)


def heatmap_fail(*, heatmap_id: int, message: str) -> bool:
    return work_fail(kind="heatmap", pk=heatmap_id, message=message)
# --- from predictions back to data ---------------------------------------------------------------------------------


def prediction_mark_wrong(*, prediction: Prediction, wrong: bool = True) -> None:
    Prediction.objects.filter(pk=prediction.pk).update(marked_wrong=wrong)
    prediction.marked_wrong = wrong


@transaction.atomic
def prediction_add_to_dataset(*, prediction: Prediction, label, user, split: str = Split.TRAIN) -> Image:
    """Copy the prediction's photo into the label's dataset with that (right) label, through the import code's
    checks and storage. The same photo already in the dataset (same hash) is relabelled instead, with history."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from webapp.datasets.services import images_add, images_relabel

    existing = Image.objects.filter(dataset=label.dataset_id, content_hash=prediction.content_hash)
    if existing.exists():
        images_relabel(images=existing, label=label, user=user)
    else:
        with prediction.file.open("rb") as source:
            name = Path(prediction.original_name or prediction.file.name).name
            upload = SimpleUploadedFile(name, source.read())
        result = images_add(dataset=label.dataset, label=label, split=split, files=[upload], user=user)
        if result.rejected:
            raise ValidationError(f"The photo cannot be added: {result.rejected[0][1]}.")
    image = existing.get()
    Prediction.objects.filter(pk=prediction.pk).update(added_image=image)
    prediction.added_image = image
    return image
