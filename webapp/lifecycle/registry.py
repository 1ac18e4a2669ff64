"""Every kind of background work, as plain data: its model, the task that runs it, its queue and time limit, and
how its own status strings map to the lifecycle's states (pages, JSON, webhooks and the API keep showing them).

Celery's routes and time limits (settings), the failure hook (workers/tasks.py) and the reaper
(webapp.lifecycle.services.work_reap) are all derived from KINDS: a new kind adds one entry here and its model
inherits webapp.core.models.Work; it never copies the machinery. Imports nothing of Django's (settings reads it).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    model: str  # "app_label.Model", resolved when needed
    task: str  # the Celery task's name; the web app sends it by name (webapp.lifecycle.enqueue)
    queue: str  # "train" (long work) or "predict" (short work, never behind a training)
    time_limit: int | None  # hard limit in seconds; None: JOB_TIME_LIMIT_SECONDS (long work)
    what: str  # the word users read in messages: "The worker running this <what> ..."
    queued: str = "queued"
    claimed: str = "running"  # the status a worker's claim sets
    running: tuple[str, ...] = ("running",)  # the statuses a worker holds it in (what the reaper looks at)
    succeeded: str = "succeeded"
    failed: str = "failed"
    cancelled: str | None = None  # kinds that can be cancelled (the row has `cancel_requested`)
    on_end: str | None = None  # "module.function", called as function(<name>_id=pk) when the reaper or the
    #                            failure hook ended a run (its worker could not say so itself)
    helpers: tuple[str, ...] = ()  # other tasks that are part of this work: same queue and time limit


KINDS = {kind.name: kind for kind in (
    # A job's extraction chunks are part of the job (ExtractionChunk rows, claimed by helper tasks on other
    # `train` workers): they are no kind of their own; the reaper releases those of gone workers.
    Kind("job", "experiments.TrainingJob", "workers.tasks.job_run", "train", None, "job",
         claimed="extracting", running=("extracting", "training", "evaluating"), cancelled="cancelled",
         on_end="webapp.experiments.notifications.job_end_notify", helpers=("workers.tasks.job_extract_chunks",)),
    Kind("evaluation", "experiments.Evaluation", "workers.tasks.evaluation_run", "train", None, "evaluation"),
    # A prediction stays "pending" while it runs (its pages and API show no other state): a claim only stamps it.
    Kind("prediction", "experiments.Prediction", "workers.tasks.prediction_run", "predict", 120, "prediction",
         queued="pending", claimed="pending", running=("pending",)),
    Kind("heatmap", "experiments.Heatmap", "workers.tasks.gradcam_run", "predict", 120, "heatmap",
         queued="pending"),
    Kind("batch", "serving.BatchPrediction", "workers.tasks.batch_run", "train", None, "batch",
         cancelled="cancelled"),
    Kind("bundle", "serving.ExportBundle", "workers.tasks.bundle_run", "train", 1800, "export", queued="pending"),
    Kind("audit", "audits.DatasetAudit", "workers.tasks.audit_run", "train", None, "audit"),
    # The Label page's suggester: its first run extracts the pool's features (long work, hence no short limit);
    # later runs read the feature cache and take seconds.
    Kind("suggestion", "labelling.SuggestionRun", "workers.tasks.suggestion_run", "train", None, "suggestion run"),
)}


def kind_of_task(task_name: str) -> Kind | None:
    """The kind whose run the task is, or None (a helper task is not the run: its kind's own task ends it)."""
    return next((kind for kind in KINDS.values() if kind.task == task_name), None)


def task_routes() -> dict:
    """CELERY_TASK_ROUTES for every kind's tasks (the default queue is `train`)."""
    return {task: {"queue": kind.queue} for kind in KINDS.values() for task in (kind.task, *kind.helpers)}


def task_annotations(*, long_seconds: int) -> dict:
    """CELERY_TASK_ANNOTATIONS: each kind's hard time limit, and a soft one a little before it (the run ends with a
    readable message instead of being killed)."""
    annotations = {}
    for kind in KINDS.values():
        limit = kind.time_limit or long_seconds
        for task in (kind.task, *kind.helpers):
            annotations[task] = {"time_limit": limit, "soft_time_limit": max(limit - 60, limit * 5 // 6)}
    return annotations
