"""The clean-up, the home page's disk use and a job's deletion with an S3 store (issue 26, item 3), against a real
S3 server (SeaweedFS, tests/s3.py): the same results as with the local folders (test_cleanup.py, test_home.py,
test_job_delete.py), read and removed through webapp.core.storage."""

import io

import numpy as np
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from classifier.features import FeatureSpec
from tests.s3 import BUCKET
from tests.webapp.experiments.conftest import dataset, finished_job  # noqa: F401 - fixtures
from tests.webapp.operations.test_cleanup import _prediction
from webapp.core import storage
from webapp.experiments import services
from webapp.experiments.models import Heatmap, Prediction
from webapp.operations.cleanup import store_orphans_find, store_orphans_remove
from webapp.operations.disk import disk_usage, feature_bytes_by_dataset

SPEC = FeatureSpec(backbone="mobilenet_v2", weights=None, input_size=32, pooling="avg")


def keys(server) -> list[str]:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"] != ".ready")


@pytest.fixture
def stored_job(s3_storage, finished_job):  # noqa: F811
    """The finished job with its trained-model folder in the store (the fixture writes it to the local folder)."""
    storage.publish_folder(settings.ARTIFACTS_DIR / finished_job.artifact_dir, finished_job.artifact_dir)
    return finished_job


def test_the_clean_up_finds_and_removes_unheld_features_deleted_jobs_and_expired_photos_in_the_store(
        s3_storage, stored_job, ann, settings):
    settings.PREDICTION_PHOTO_RETENTION_DAYS = 30
    features = storage.feature_store()
    held = stored_job.dataset.images.first().content_hash
    for digest in (held, "a" * 64):
        features.save(SPEC, digest, np.zeros(4))
    storage.write("jobs/999999/model.keras", b"x", "artifacts")
    storage.write("heatmaps/job_999999/1.png", b"x")
    old = _prediction(stored_job, ann, days_old=31)
    young = _prediction(stored_job, ann, days_old=2)
    old_keys = {f"media/{old.file.name}", f"media/{old.heatmap.file.name}"}
    assert old_keys < set(keys(s3_storage))

    young_files = store_orphans_find()  # everything was written just now: a job may be writing it
    assert young_files.features == [] and young_files.job_folders == [] and young_files.expired_predictions == [old.pk]

    found = store_orphans_find(stale_after=-60)  # everything counts as old
    assert found.features == [features.name(SPEC, "a" * 64)]
    assert found.job_folders == [("artifacts", "jobs/999999"), ("media", "heatmaps/job_999999")]
    store_orphans_remove(found)
    left = set(keys(s3_storage))
    assert f"features/{features.name(SPEC, held)}" in left and f"features/{features.name(SPEC, 'a' * 64)}" not in left
    assert not any("999999" in key for key in left) and not old_keys & left
    assert f"artifacts/{stored_job.artifact_dir}/model.keras" in left and f"media/{young.file.name}" in left
    old.refresh_from_db()
    assert not old.file and old.label == "cat" and not Heatmap.objects.filter(prediction=old).exists()

    out = io.StringIO()
    call_command("media_orphans", "--all", stdout=out)  # the command reads the same store
    assert "0 feature files would be deleted, 0 job folders would be removed" in out.getvalue()


def test_disk_use_counts_each_area_of_the_store(s3_storage, stored_job):
    cache.clear()  # the figures are kept a minute
    before = disk_usage()
    storage.write("datasets/77/images/aa/x.jpg", b"1" * 100)
    storage.write("predictions/2026/x.jpg", b"2" * 20)
    storage.write("heatmaps/job_1/x.png", b"3" * 30)
    digest = stored_job.dataset.images.first().content_hash
    storage.feature_store().save(SPEC, digest, np.zeros(10, dtype="float32"))
    feature_bytes = {f.name: f.size for f in storage.files_under(SPEC.key, "features")}[
        storage.feature_store().name(SPEC, digest)]
    storage.write("jobs/999/model.keras", b"5" * 50, "artifacts")
    cache.clear()
    usage = disk_usage()
    assert usage["dataset_photos"] - before["dataset_photos"] == 100
    assert usage["prediction_photos"] - before["prediction_photos"] == 20
    assert usage["heatmaps"] - before["heatmaps"] == 30
    assert usage["features"] - before["features"] == feature_bytes > 0
    assert usage["models"] - before["models"] == 50 and usage["models"] > 50  # the job's own folder counts too
    assert usage["total"] == sum(v for k, v in usage.items() if k != "total")
    assert feature_bytes_by_dataset([stored_job.dataset_id, 0]) == {stored_job.dataset_id: feature_bytes, 0: 0}


def test_the_trained_model_downloads_from_the_store(s3_storage, stored_job, client_for, ann, bob):
    url = reverse("experiments:job_download", args=[stored_job.pk])
    response = client_for(ann).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"fake keras model"
    assert client_for(bob).get(url).status_code == 404
    storage.delete_under(stored_job.artifact_dir, "artifacts")
    assert client_for(ann).get(url).status_code == 404


def test_deleting_a_job_removes_its_model_and_heatmaps_from_the_store(s3_storage, stored_job, ann,
                                                                     django_capture_on_commit_callbacks):
    pk, other = stored_job.pk, stored_job.pk + 1
    storage.write(f"heatmaps/job_{pk}/a.png", b"png")
    storage.write(f"heatmaps/job_{other}/b.png", b"another job's")
    storage.write(f"jobs/{other}/model.keras", b"another job's", "artifacts")
    Prediction.objects.create(job=stored_job, content_hash="0" * 64, created_by=ann, status="succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        services.job_delete(job=stored_job)
    assert keys(s3_storage) == sorted([f"artifacts/jobs/{other}/model.keras", f"media/heatmaps/job_{other}/b.png"]
                                      + [k for k in keys(s3_storage) if k.startswith("media/datasets/")])
    assert Prediction.objects.get().job is None


def test_a_photo_asked_for_while_the_store_is_down_is_a_503_saying_so(s3_storage, stored_job, ann):
    from django.test import Client

    image = stored_job.dataset.images.first()
    url = reverse("media", args=[image.file.name])
    client = Client(raise_request_exception=False)
    client.force_login(ann)
    storage.local_cache().clear()  # not yet fetched on this machine
    s3_storage.stop()
    try:
        response = client.get(url)
        assert response.status_code == 503 and response["Retry-After"] == "30"
        assert "The file store is not answering" in response.content.decode()
    finally:
        s3_storage.start()
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == image.file.open("rb").read()
