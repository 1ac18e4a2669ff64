"""Celery tasks: thin wrappers that take row ids and call workers.pipeline / webapp services.

`train` queue: job_run (a whole job), job_extract_chunks (helps a job's extraction from another worker),
evaluation_run, audit_run, batch_run (a batch prediction), bundle_run (a job's export bundle: minutes of
conversions). `predict` queue (routed by name, see CELERY_TASK_ROUTES): prediction_run, gradcam_run (a Grad-CAM
heatmap), reap_stale_jobs.
Time limits come from CELERY_TASK_ANNOTATIONS in settings. TensorFlow is imported inside the bodies only.
"""

import logging
import socket
import time

from celery.signals import task_failure

from workers.celery_app import app

logger = logging.getLogger(__name__)


@app.task(name="workers.tasks.ping", ignore_result=False)
def ping() -> dict:
    """Round trip through the broker; used by health checks and tests."""
    return {"pong": True, "host": socket.gethostname()}


@app.task(name="workers.tasks.predict_ping", ignore_result=False)
def predict_ping() -> dict:
    """The same round trip on the `predict` queue (routed by name, see CELERY_TASK_ROUTES)."""
    return {"pong": True, "host": socket.gethostname()}


@app.task(name="workers.tasks.job_run", bind=True)
def job_run(self, job_id: int) -> str:
    """Run a training job end to end; a redelivered message finds the job claimed and does nothing."""
    from workers.pipeline import run_job

    return run_job(job_id, worker=self.request.hostname or socket.gethostname())


@app.task(name="workers.tasks.job_extract_chunks", bind=True)
def job_extract_chunks(self, job_id: int) -> int:
    """Extract pending chunks of a job another `train` worker runs (scale-out); nothing if none is left."""
    from workers.pipeline import help_extract

    return help_extract(job_id, worker=self.request.hostname or socket.gethostname())


@app.task(name="workers.tasks.evaluation_run", bind=True)
def evaluation_run(self, evaluation_id: int) -> str:
    """Score a finished job on another dataset with the same classes."""
    from workers.pipeline import run_evaluation

    return run_evaluation(evaluation_id, worker=self.request.hostname or socket.gethostname())


@app.task(name="workers.tasks.audit_run", bind=True)
def audit_run(self, audit_id: int) -> str:
    """Audit a dataset: suspected label errors, near duplicates, leaks, small and look-alike classes."""
    from workers.auditing import run_audit

    return run_audit(audit_id, worker=self.request.hostname or socket.gethostname())


@app.task(name="workers.tasks.batch_run", bind=True)
def batch_run(self, batch_id: int) -> str:
    """Predict a zip of photos (or a dataset's photos) with a named model: a CSV, and an evaluation when the true
    classes are known."""
    from workers.batching import run_batch

    return run_batch(batch_id, worker=self.request.hostname or socket.gethostname())


@app.task(name="workers.tasks.prediction_run", ignore_result=False)
def prediction_run(prediction_id: int) -> dict:
    """Predict one uploaded image with the job's warm Predictor (cached per worker process)."""
    from webapp.experiments import selectors, services
    from webapp.experiments.models import PredictionStatus
    from workers.pipeline import prepare_tensorflow, readable_error
    from workers.predictors import get_predictor

    prediction = selectors.prediction_for_run(prediction_id=prediction_id)
    if prediction is None or prediction.status != PredictionStatus.PENDING:
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


@app.task(name="workers.tasks.reap_stale_jobs")
def reap_stale_jobs() -> list[int]:
    """Fail running jobs whose worker is gone (registry) or whose heartbeat went stale; run by celery beat."""
    from django.db import close_old_connections

    from webapp.audits.services import audits_reap_stale
    from webapp.experiments import services
    from webapp.experiments.notifications import job_end_notify
    from webapp.serving.batch_services import batches_reap_stale

    close_old_connections()
    audits_reap_stale()
    batches_reap_stale()
    reaped = services.jobs_reap()
    for job_id in reaped:  # their worker died: nobody else tells the users who opted in
        job_end_notify(job_id=job_id)
    return reaped


@app.task(name="workers.tasks.prediction_photos_prune")
def prediction_photos_prune() -> int:
    """Remove uploaded prediction photos past PREDICTION_PHOTO_RETENTION_DAYS (hourly, by beat; `predict` queue)."""
    from django.db import close_old_connections

    from webapp.core.cleanup import prediction_photos_prune as prune

    close_old_connections()
    return prune()


@task_failure.connect
def _job_process_lost(sender=None, exception=None, args=None, **kwargs):
    """The pool child died (OOM killer, segfault) or hit the hard time limit: the worker's main process gets
    here, and fails the job now instead of waiting for the reaper."""
    from celery.exceptions import TimeLimitExceeded, WorkerLostError

    if not isinstance(exception, (WorkerLostError, TimeLimitExceeded)) or not args:
        return
    from webapp.experiments import services
    from workers.pipeline import readable_error

    if sender.name == job_run.name:
        what, fail = "job", lambda message: services.job_fail(job_id=args[0], message=message)
    elif sender.name == evaluation_run.name:
        what, fail = "evaluation", lambda message: services.evaluation_fail(evaluation_id=args[0], message=message)
    elif sender.name == audit_run.name:
        from webapp.audits.services import audit_fail

        what, fail = "audit", lambda message: audit_fail(audit_id=args[0], message=message)
    elif sender.name == batch_run.name:
        from webapp.serving.batch_services import batch_fail

        what, fail = "batch", lambda message: batch_fail(batch_id=args[0], message=message)
    elif sender.name == bundle_run.name:
        from webapp.serving.services import bundle_fail

        what, fail = "export", lambda message: bundle_fail(bundle_id=args[0], message=message)
    else:
        return
    logger.error("%s %s: %r", what, args[0], exception)
    fail(services.worker_died_message(what) if isinstance(exception, WorkerLostError)
         else readable_error(exception, what))


@app.task(name="workers.tasks.gradcam_run")
def gradcam_run(heatmap_id: int) -> str:
    """Grad-CAM overlay of a prediction's photo or a dataset photo with the job's warm Predictor; stored once."""
    from webapp.experiments import services
    from workers.pipeline import prepare_tensorflow, readable_error
    from workers.predictors import get_predictor

    heatmap = services.heatmap_claim(heatmap_id=heatmap_id)
    if heatmap is None:  # redelivered, or already done
        return "skipped"
    prepare_tensorflow()
    try:
        from classifier.gradcam import gradcam

        source = heatmap.prediction.file if heatmap.prediction_id else heatmap.image.file
        with source.open("rb") as f:
            result = gradcam(get_predictor(heatmap.job), f.read())
    except Exception as exc:  # noqa: BLE001 - stored as a readable message
        logger.exception("heatmap %s failed", heatmap_id)
        services.heatmap_fail(heatmap_id=heatmap_id, message=readable_error(exc, "heatmap"))
        return "failed"
    services.heatmap_succeed(heatmap_id=heatmap_id, png=result["overlay_png"], label=result["label"])
    return "succeeded"


@app.task(name="workers.tasks.bundle_run")
def bundle_run(bundle_id: int) -> str:
    """Build a job's export bundle (classifier.bundle) into its run folder; a redelivered message does nothing."""
    from webapp.serving import selectors, services
    from workers.pipeline import prepare_tensorflow, readable_error

    bundle = services.bundle_claim(bundle_id=bundle_id)
    if bundle is None:
        return "skipped"
    prepare_tensorflow()
    try:
        from classifier.bundle import export_bundle

        result = export_bundle(bundle.job.artifact_path, bundle.path, **selectors.bundle_inputs(bundle.job),
                               on_step=lambda step: services.bundle_step(bundle_id=bundle_id, step=step))
    except Exception as exc:  # noqa: BLE001 - stored as a readable message
        logger.exception("bundle %s failed", bundle_id)
        services.bundle_fail(bundle_id=bundle_id, message=readable_error(exc, "export"))
        return "failed"
    services.bundle_succeed(bundle_id=bundle_id, formats=result["formats"], size_bytes=result["bytes"])
    return "succeeded"
