"""Reads for the home page: one glance at a team's work: jobs running and waiting, recent results, models,
datasets, disk use, and the workers with their queues. A bounded number of queries, whatever the team holds."""

from django.conf import settings
from django.urls import reverse

from webapp.operations.disk import disk_usage, feature_bytes_by_dataset
from webapp.datasets.selectors import datasets_for_user, datasets_with_counts
from webapp.experiments.models import ACTIVE_STATUSES, FINISHED_STATUSES, JobStatus
from webapp.experiments.selectors import jobs_for_user, jobs_with_test_scores
from webapp.serving.selectors import named_models_for_user
from webapp.workers_registry.selectors import QUEUES, queue_lengths, workers_alive

SHOWN = 10  # rows per list; each list links to its full page


def home_live(user) -> dict:
    """What the home page polls: running and queued jobs, the workers and their queues (JSON-ready)."""
    jobs = jobs_for_user(user).filter(status__in=[JobStatus.QUEUED, *ACTIVE_STATUSES]).order_by("created_at")
    workers = list(workers_alive().only("name", "queues", "ready"))
    lengths = queue_lengths()
    return {
        "jobs": [{
            "id": job.pk, "url": reverse("experiments:job_detail", args=[job.pk]), "status": job.status,
            "status_display": job.get_status_display(), "backbone": job.backbone, "dataset": job.dataset.name,
            "by": job.created_by.get_username() if job.created_by else "",
            "percent": round(100 * job.progress_done / job.progress_total) if job.progress_total else 0,
        } for job in jobs[:2 * SHOWN]],
        "queues": [{
            "name": queue, "waiting": lengths.get(queue),
            "workers": [{"name": w.name, "ready": w.ready} for w in workers if queue in w.queues],
        } for queue in QUEUES],
    }


def home_overview(user) -> dict:
    datasets = list(datasets_with_counts(datasets_for_user(user)).order_by("-created_at")[:SHOWN])
    features = feature_bytes_by_dataset([dataset.pk for dataset in datasets])
    for dataset in datasets:
        dataset.feature_bytes = features[dataset.pk]
    recent = jobs_with_test_scores(jobs_for_user(user)).filter(status__in=FINISHED_STATUSES).order_by("-finished_at")
    return {
        "live": home_live(user),
        "recent_jobs": list(recent[:SHOWN]),
        "models": list(named_models_for_user(user)[:SHOWN]),
        "datasets": datasets,
        "disk": disk_usage(),
        "retention_days": settings.PREDICTION_PHOTO_RETENTION_DAYS,
    }
