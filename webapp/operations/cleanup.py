"""The one clean-up of files no row needs any more. `manage.py media_orphans` (the Hardening command) finds and
removes dataset media no Image owns; with --all it also covers the stores below, through the same find/remove
pair. The periodic task (beat) runs only the prediction-photo retention.

- feature cache files of photos no dataset holds: <spec>/<hh>/<hash>.npy in the "features" area
- folders of deleted jobs: jobs/<id> in the "artifacts" area and heatmaps/job_<id> in "media" (a crash between the
  delete's commit and its file removal leaves them)
- prediction photos older than PREDICTION_PHOTO_RETENTION_DAYS (0: kept for ever): the log row stays, without its
  photo (and the photo's heatmap)
Files younger than `stale_after` seconds are left alone: a job may be writing them. Every area is read through
webapp.core.storage, so this works alike on the local folders and on an S3 store.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webapp.core import storage
from webapp.datasets.models import Image
from webapp.experiments.models import Heatmap, Prediction, TrainingJob

logger = logging.getLogger(__name__)
# (area, folder prefix, job id's prefix in the folder name) of the folders a job owns
JOB_FOLDERS = (("artifacts", "jobs", ""), ("media", "heatmaps", "job_"))


@dataclass
class StoreOrphans:
    features: list[str] = field(default_factory=list)  # feature files (in "features") of photos no dataset holds
    job_folders: list[tuple[str, str]] = field(default_factory=list)  # (area, folder) of deleted jobs
    expired_predictions: list[int] = field(default_factory=list)  # predictions whose photo is past retention


def feature_files():
    """(content hash, stored file) of every cached feature: <spec>/<hh>/<hash>.npy in the "features" area."""
    for stored in storage.files_under("", "features"):
        parts = stored.name.split("/")
        if len(parts) == 3 and parts[2].endswith(".npy"):
            yield parts[2].removesuffix(".npy"), stored


def _job_folders(area: str, top: str, prefix: str) -> dict[tuple[str, str], tuple[int, float]]:
    """{(area, top/<prefix><job id>): (job id, its newest file's time)}."""
    found = {}
    for stored in storage.files_under(top, area):
        name = stored.name.split("/")[1]
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            key = (area, f"{top}/{name}")
            newest = max(found.get(key, (0, 0.0))[1], stored.modified)
            found[key] = (int(name[len(prefix):]), newest)
    return found


def prediction_photo_cutoff():
    days = settings.PREDICTION_PHOTO_RETENTION_DAYS
    return timezone.now() - timedelta(days=days) if days else None


def store_orphans_find(*, stale_after: float = 3600) -> StoreOrphans:
    found = StoreOrphans()
    cutoff = time.time() - stale_after
    held = set(Image.objects.values_list("content_hash", flat=True).distinct())
    found.features = [stored.name for digest, stored in feature_files()
                      if digest not in held and stored.modified < cutoff]
    folders = {}
    for area, top, prefix in JOB_FOLDERS:
        folders |= _job_folders(area, top, prefix)
    jobs = set(TrainingJob.objects.filter(pk__in=[pk for pk, _ in folders.values()]).values_list("pk", flat=True))
    found.job_folders = sorted(key for key, (pk, newest) in folders.items() if pk not in jobs and newest < cutoff)
    photo_cutoff = prediction_photo_cutoff()
    if photo_cutoff:
        found.expired_predictions = list(Prediction.objects.filter(created_at__lt=photo_cutoff).exclude(file="")
                                         .values_list("pk", flat=True))
    return found


def prediction_photos_remove(*, prediction_ids: list[int]) -> int:
    """Remove these predictions' photos (and their heatmaps); the rows stay in the log. Returns how many."""
    removed = 0
    for start in range(0, len(prediction_ids), 500):
        chunk = prediction_ids[start:start + 500]
        with transaction.atomic():
            names = list(Prediction.objects.filter(pk__in=chunk).exclude(file="").values_list("file", flat=True))
            heatmaps = Heatmap.objects.filter(prediction_id__in=chunk)
            names += [name for name in heatmaps.values_list("file", flat=True) if name]
            heatmaps.delete()
            removed += Prediction.objects.filter(pk__in=chunk).exclude(file="").update(file="")
        storage.delete_names(names, "media")  # after the commit: a row never points at a missing file
    return removed


def store_orphans_remove(found: StoreOrphans) -> None:
    storage.delete_names(found.features, "features")
    for area, folder in found.job_folders:
        storage.delete_under(folder, area)
    prediction_photos_remove(prediction_ids=found.expired_predictions)


def prediction_photos_prune() -> int:
    """The periodic task's part: photos past the retention. Returns how many were removed."""
    cutoff = prediction_photo_cutoff()
    if cutoff is None:
        return 0
    ids = list(Prediction.objects.filter(created_at__lt=cutoff).exclude(file="").values_list("pk", flat=True))
    removed = prediction_photos_remove(prediction_ids=ids)
    if removed:
        logger.info("removed %s prediction photos older than %s days", removed,
                    settings.PREDICTION_PHOTO_RETENTION_DAYS)
    return removed
