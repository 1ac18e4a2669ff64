"""The one clean-up of files no row needs any more. `manage.py media_orphans` (the Hardening command) finds and
removes dataset media no Image owns; with --all it also covers the stores below, through the same find/remove
pair. The periodic task (beat) runs only the prediction-photo retention.

- feature cache files of photos no dataset holds: FEATURES_DIR/<spec>/<hh>/<hash>.npy
- folders of deleted jobs: ARTIFACTS_DIR/jobs/<id> and MEDIA_ROOT/heatmaps/job_<id> (a crash between the delete's
  commit and its file removal leaves them)
- prediction photos older than PREDICTION_PHOTO_RETENTION_DAYS (0: kept for ever): the log row stays, without its
  photo (and the photo's heatmap)
Files younger than `stale_after` seconds are left alone: a job may be writing them.
"""

import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from webapp.datasets.models import Image
from webapp.experiments.models import Heatmap, Prediction, TrainingJob

logger = logging.getLogger(__name__)


@dataclass
class StoreOrphans:
    features: list[Path] = field(default_factory=list)  # feature files of photos no dataset holds
    job_folders: list[Path] = field(default_factory=list)  # artifact and heatmap folders of deleted jobs
    expired_predictions: list[int] = field(default_factory=list)  # predictions whose photo is past retention


def _old(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def feature_files(root: Path):
    """(content hash, path, size) of every cached feature: root/<spec>/<hh>/<hash>.npy."""
    for spec in root.iterdir() if root.is_dir() else []:
        for shard in spec.iterdir() if spec.is_dir() else []:
            for path in shard.iterdir() if shard.is_dir() else []:
                try:
                    size = path.stat().st_size
                except FileNotFoundError:  # removed while we walked
                    continue
                if path.suffix == ".npy":
                    yield path.stem, path, size


def _job_folders(root: Path, prefix: str) -> list[tuple[int, Path]]:
    """(job id, folder) of root/<prefix><job id>."""
    return [(int(path.name[len(prefix):]), path) for path in (root.iterdir() if root.is_dir() else [])
            if path.name.startswith(prefix) and path.name[len(prefix):].isdigit()]


def prediction_photo_cutoff():
    days = settings.PREDICTION_PHOTO_RETENTION_DAYS
    return timezone.now() - timedelta(days=days) if days else None


def store_orphans_find(*, stale_after: float = 3600) -> StoreOrphans:
    found = StoreOrphans()
    cutoff = time.time() - stale_after
    held = set(Image.objects.values_list("content_hash", flat=True).distinct())
    found.features = [path for digest, path, _ in feature_files(Path(settings.FEATURES_DIR))
                      if digest not in held and _old(path, cutoff)]
    folders = (_job_folders(Path(settings.ARTIFACTS_DIR) / "jobs", "")
               + _job_folders(Path(settings.MEDIA_ROOT) / "heatmaps", "job_"))
    jobs = set(TrainingJob.objects.filter(pk__in=[pk for pk, _ in folders]).values_list("pk", flat=True))
    found.job_folders = sorted(path for pk, path in folders if pk not in jobs and _old(path, cutoff))
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
        for name in names:  # after the commit: a row never points at a missing file
            default_storage.delete(name)
    return removed


def store_orphans_remove(found: StoreOrphans) -> None:
    for path in found.features:
        path.unlink(missing_ok=True)
    for folder in found.job_folders:
        shutil.rmtree(folder, ignore_errors=True)
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
