"""The one clean-up (webapp.operations.cleanup through `manage.py media_orphans --all`, and the beat task for prediction
photos): features of photos no dataset holds, folders of deleted jobs, prediction photos past the retention. The
prediction log keeps its rows."""

import io
import os
import time
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from classifier.features import FeatureCache, FeatureSpec
from tests.webapp.experiments.conftest import dataset, finished_job  # noqa: F401 - fixtures
from webapp.experiments.models import Heatmap, HeatmapStatus, Prediction
from webapp.operations.cleanup import prediction_photos_prune
from workers import tasks

SPEC = FeatureSpec(backbone="mobilenet_v2", weights=None, input_size=32, pooling="avg")


def _age(path, seconds=7200):
    old = time.time() - seconds
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (old, old))


def _prediction(job, user, *, days_old: int) -> Prediction:
    prediction = Prediction(job=job, content_hash="0" * 64, original_name="q.png", created_by=user,
                            status="succeeded", label="cat")
    prediction.file.save("q.png", ContentFile(b"photo"), save=False)
    prediction.save()
    Prediction.objects.filter(pk=prediction.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    heatmap = Heatmap.objects.create(job=job, prediction=prediction, status=HeatmapStatus.SUCCEEDED)
    heatmap.file.save("h.png", ContentFile(b"png"))
    return prediction


def test_media_orphans_all_prunes_unheld_features_deleted_jobs_folders_and_expired_photos(
        finished_job, ann, media_root, settings):
    settings.PREDICTION_PHOTO_RETENTION_DAYS = 30
    cache = FeatureCache(settings.FEATURES_DIR)
    held = finished_job.dataset.images.first().content_hash
    for digest in (held, "a" * 64, "b" * 64):
        cache.save(SPEC, digest, np.zeros(4))
    _age(cache.path(SPEC, held))
    _age(cache.path(SPEC, "a" * 64))  # "b": young, a job may be writing it
    gone_job = settings.ARTIFACTS_DIR / "jobs" / "999999"
    gone_job.mkdir(parents=True)
    (gone_job / "model.keras").write_bytes(b"x")
    gone_heatmaps = media_root / "heatmaps" / "job_999999"
    gone_heatmaps.mkdir(parents=True)
    (gone_heatmaps / "1.png").write_bytes(b"x")
    _age(gone_job), _age(gone_heatmaps), _age(finished_job.artifact_path)
    old = _prediction(finished_job, ann, days_old=31)
    young = _prediction(finished_job, ann, days_old=2)
    old_files = [media_root / old.file.name, media_root / old.heatmap.file.name]

    out = io.StringIO()
    call_command("media_orphans", "--all", stdout=out)
    assert "1 feature files would be deleted, 2 job folders would be removed, 1 prediction photos" in out.getvalue()
    assert cache.has(SPEC, "a" * 64) and gone_job.exists() and all(p.exists() for p in old_files)

    call_command("media_orphans", "--all", "--delete", stdout=io.StringIO())
    assert cache.has(SPEC, held) and not cache.has(SPEC, "a" * 64) and cache.has(SPEC, "b" * 64)
    assert not gone_job.exists() and not gone_heatmaps.exists() and finished_job.artifact_path.is_dir()
    old.refresh_from_db(), young.refresh_from_db()
    assert not old.file and old.label == "cat" and not Heatmap.objects.filter(prediction=old).exists()
    assert not any(p.exists() for p in old_files)
    assert young.file and (media_root / young.file.name).exists() and young.heatmap.file


def test_media_orphans_without_all_leaves_the_other_stores_alone(finished_job, media_root, settings):
    cache = FeatureCache(settings.FEATURES_DIR)
    cache.save(SPEC, "a" * 64, np.zeros(4))
    _age(cache.path(SPEC, "a" * 64))
    call_command("media_orphans", "--delete", stdout=io.StringIO())
    assert cache.has(SPEC, "a" * 64)


def test_the_beat_task_removes_prediction_photos_past_the_retention_and_zero_keeps_them(
        finished_job, ann, media_root, settings):
    # beat sends the task hourly; the task (thin: it closes stale connections first) calls this function
    assert settings.CELERY_BEAT_SCHEDULE["prune-prediction-photos"]["task"] == tasks.prediction_photos_prune.name
    old = _prediction(finished_job, ann, days_old=400)
    settings.PREDICTION_PHOTO_RETENTION_DAYS = 0  # for ever
    assert prediction_photos_prune() == 0
    settings.PREDICTION_PHOTO_RETENTION_DAYS = 365
    assert prediction_photos_prune() == 1
    old.refresh_from_db()
    assert not old.file and Prediction.objects.count() == 1
