"""Celery tasks: thin wrappers that take row ids and call workers.pipeline / webapp services. Each is bound by
the name the lifecycle registry (webapp/lifecycle/registry.py) gives its kind of work, which the web app sends.

`train` queue: job_run (a whole job), job_extract_chunks (helps a job's extraction from another worker),
evaluation_run, audit_run, suggestion_run (the Label page's suggester), batch_run (a batch prediction),
bundle_run (a job's export bundle: minutes of conversions). `predict` queue: prediction_run, gradcam_run (a
Grad-CAM heatmap).
Routes and time limits come from the registry (CELERY_TASK_ROUTES, CELERY_TASK_ANNOTATIONS in settings).
TensorFlow is imported inside the bodies only.
"""

import logging
import os
import socket
import time

from celery.signals import task_failure

from workers.celery_app import app

logger = logging.getLogger(__name__)


@app.task(name="workers.tasks.ping", ignore_result=False)
def ping() -> dict:
    """Round trip through the broker; used by health checks and tests (`pid`: which pool process answered)."""
    return {"pong": True, "host": socket.gethostname(), "pid": os.getpid()}


@app.task(name="workers.tasks.predict_ping", ignore_result=False)
def predict_ping() -> dict:
    """The same round trip on the `predict` queue (routed by name, see CELERY_TASK_ROUTES)."""
    return {"pong": True, "host": socket.gethostname()}


@app.task(name="workers.tasks.job_run", bind=True)
def job_run(self, job_id: int) -> str:
    """Run a training job end to end; a redelivered message finds the job claimed and does nothing."""
    from workers.pipeline import run_job

    return run_job(job_id, worker=_worker_name(self))


@app.task(name="workers.tasks.job_extract_chunks", bind=True)
def job_extract_chunks(self, job_id: int) -> int:
    """Extract pending chunks of a job another `train` worker runs (scale-out); nothing if none is left."""
    from workers.pipeline import help_extract

    return help_extract(job_id, worker=_worker_name(self))


@app.task(name="workers.tasks.evaluation_run", bind=True)
def evaluation_run(self, evaluation_id: int) -> str:
    """Score a finished job on another dataset with the same classes."""
    from workers.pipeline import run_evaluation

    return run_evaluation(evaluation_id, worker=_worker_name(self))


@app.task(name="workers.tasks.audit_run", bind=True)
def audit_run(self, audit_id: int) -> str:
    """Audit a dataset: suspected label errors, near duplicates, leaks, small and look-alike classes."""
    from workers.auditing import run_audit

    return run_audit(audit_id, worker=_worker_name(self))


@app.task(name="workers.tasks.suggestion_run", bind=True)
def suggestion_run(self, run_id: int) -> str:
    """The Label page's suggester: a class for every unlabelled photo of a dataset, and what to label next."""
    from workers.suggesting import run_suggestions

    return run_suggestions(run_id, worker=_worker_name(self))


@app.task(name="workers.tasks.batch_run", bind=True)
def batch_run(self, batch_id: int) -> str:
    """Predict a zip of photos (or a dataset's photos) with a named model: a CSV, and an evaluation when the true
    classes are known."""
    from workers.batching import run_batch

    return run_batch(batch_id, worker=_worker_name(self))


@app.task(name="workers.tasks.prediction_run", bind=True, ignore_result=False)
def prediction_run(self, prediction_id: int) -> dict:
    """Predict one uploaded image with the job's warm Predictor (cached per worker process)."""
    from webapp.experiments import selectors, services
    from webapp.experiments.models import PredictionStatus
    from webapp.lifecycle.services import work_claim
    from workers.predictors import get_predictor
    from workers.runtime import prepare_tensorflow, readable_error

    prediction = selectors.prediction_for_run(prediction_id=prediction_id)
    # Stamped as taken by this worker (it stays "pending", the only running state its pages know); no heartbeat
    # thread for a few milliseconds of work: the reaper still fails it if this worker dies.
    if prediction is None or not work_claim(kind="prediction", pk=prediction_id, worker=_worker_name(self)):
        return {"status": prediction.status if prediction else "missing"}
    if prediction.job is None:  # its job was deleted while the photo waited
        services.prediction_fail(prediction_id=prediction_id, message="Its model's job was deleted.")
        return {"status": PredictionStatus.FAILED}
    prepare_tensorflow()
    started = time.perf_counter()
    try:
        predictor = get_predictor(prediction.job)
        with prediction.file.open("rb") as f:
            data = f.read()
        result = predictor.predict([data], names=[prediction.original_name or "the image"],
                                   threshold=prediction.job.unsure_threshold)[0]  # as edited (None: the model's)
    except Exception as exc:  # noqa: BLE001 - stored as a readable message
        logger.exception("prediction %s failed", prediction_id)
        services.prediction_fail(prediction_id=prediction_id, message=readable_error(exc, "prediction"))
        return {"status": PredictionStatus.FAILED}
    services.prediction_succeed(prediction_id=prediction_id, result=result)
    return {"status": PredictionStatus.SUCCEEDED, "compute_ms": (time.perf_counter() - started) * 1000}


@app.task(name="workers.tasks.prediction_photos_prune")
def prediction_photos_prune() -> int:
    """Remove uploaded prediction photos past PREDICTION_PHOTO_RETENTION_DAYS (hourly, by beat; `predict` queue)."""
    from django.db import close_old_connections

    from webapp.operations.cleanup import prediction_photos_prune as prune

    close_old_connections()
    return prune()


@task_failure.connect
def _run_process_lost(sender=None, exception=None, args=None, **kwargs):
    """The pool child died (OOM killer, segfault) or hit the hard time limit: the worker's main process gets
    here, and fails the run now instead of waiting for the reaper (any kind of work, by its task's name)."""
    from celery.exceptions import TimeLimitExceeded, WorkerLostError

    from webapp.lifecycle import services
    from webapp.lifecycle.registry import kind_of_task
    from workers.runtime import readable_error

    kind = kind_of_task(sender.name) if sender else None
    if kind is None or not args or not isinstance(exception, (WorkerLostError, TimeLimitExceeded)):
        return
    logger.error("%s %s: %r", kind.name, args[0], exception)
    message = (services.worker_died_message(kind.what) if isinstance(exception, WorkerLostError)
               else readable_error(exception, kind.what))
    if services.work_fail(kind=kind.name, pk=args[0], message=message):
        services.work_ended(kind=kind.name, pk=args[0])


@app.task(name="workers.tasks.gradcam_run", bind=True)
def gradcam_run(self, heatmap_id: int) -> str:
    """Grad-CAM overlay of a prediction's photo or a dataset photo with the job's warm Predictor; stored once."""
    from webapp.experiments import selectors, services
    from workers.predictors import get_predictor
    from workers.runtime import run_claimed

    def body():
        from classifier.gradcam import gradcam

        heatmap = selectors.heatmap_for_run(heatmap_id=heatmap_id)
        source = heatmap.prediction.file if heatmap.prediction_id else heatmap.image.file
        with source.open("rb") as f:
            result = gradcam(get_predictor(heatmap.job), f.read())
        services.heatmap_succeed(heatmap_id=heatmap_id, png=result["overlay_png"], label=result["label"])

    return run_claimed("heatmap", heatmap_id, _worker_name(self), body)


@app.task(name="workers.tasks.bundle_run", bind=True)
def bundle_run(self, bundle_id: int) -> str:
    """Build a job's export bundle (classifier.bundle) and store it in its run folder; a redelivered message does
    nothing."""
    import tempfile
    from pathlib import Path

    from webapp.core.storage import write
    from webapp.serving import selectors, services
    from workers.runtime import JobError, run_claimed

    def body():
        from classifier.bundle import export_bundle

        bundle = selectors.bundle_for_run(bundle_id=bundle_id)
        run_dir = bundle.job.artifact_path
        if run_dir is None:
            raise JobError("The job's trained model is gone: it cannot be exported.")
        with tempfile.TemporaryDirectory() as folder:
            zip_path = Path(folder) / "bundle.zip"
            result = export_bundle(run_dir, zip_path, **selectors.bundle_inputs(bundle.job),
                                   on_step=lambda step: services.bundle_step(bundle_id=bundle_id, step=step))
            with open(zip_path, "rb") as zipped:
                write(bundle.name, zipped, "artifacts")
        services.bundle_succeed(bundle_id=bundle_id, formats=result["formats"], size_bytes=result["bytes"])

    return run_claimed("bundle", bundle_id, _worker_name(self), body, claim_fields={"step": "starting"})


def _worker_name(task) -> str:
    """This worker's node name, as the registry knows it (the claim records it, and the reaper looks it up)."""
    return task.request.hostname or socket.gethostname()
