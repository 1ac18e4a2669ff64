"""Training jobs end to end: real Redis, real `train`/`predict` worker processes on the test database."""

import signal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.processes import wait_for
from tests.workers.factories import COLOURS, FAST_JOB, add_image, jpeg_bytes, make_dataset, worker_env
from webapp.experiments import selectors, services
from webapp.experiments.models import (
    EvaluationStatus,
    JobStatus,
    PredictionStatus,
    TrainingJob,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("require_redis", "clean_broker")]


def finished(job: TrainingJob, timeout: float = 120) -> TrainingJob:
    def done():
        job.refresh_from_db()
        return job.is_finished

    wait_for(done, timeout, interval=0.2, message=f"job {job.pk} to finish")
    return job


def reached(job: TrainingJob, status: str, timeout: float = 120, extra=lambda job: True) -> TrainingJob:
    def check():
        job.refresh_from_db()
        assert job.status != JobStatus.FAILED, job.error_message
        return job.status == status and extra(job)

    wait_for(check, timeout, interval=0.1, message=f"job {job.pk} to be {status}")
    return job


def test_job_lifecycle_metrics_evaluation_artifact_then_second_job_extracts_nothing(start_worker, user):
    dataset = make_dataset("shapes")
    broken = add_image(dataset, "red", b"\xff\xd8\xff\xe0 not really a jpeg", "train", "broken.jpg")
    deleted = add_image(dataset, "green", jpeg_bytes(COLOURS["green"], 999), "train", "gone.jpg")
    job = services.job_create(dataset=dataset, user=user, **FAST_JOB)
    deleted.delete()  # after the snapshot: the job lists it as skipped instead of failing
    assert job.status == JobStatus.QUEUED and job.job_images.count() == 38
    worker = start_worker(queues="train", env=worker_env())

    finished(job)
    assert job.status == JobStatus.SUCCEEDED, job.error_message + worker.log()
    assert job.started_at < job.training_at < job.evaluating_at < job.finished_at  # each stage, in order
    assert job.images_extracted == 36 and job.images_cached == 0
    skipped = {s["name"]: s for s in job.skipped_images}
    assert set(skipped) == {"broken.jpg", "gone.jpg"}
    assert skipped["broken.jpg"]["image_id"] == broken.pk and skipped["broken.jpg"]["reason"]
    assert skipped["gone.jpg"]["image_id"] is None and "deleted" in skipped["gone.jpg"]["reason"]
    assert [m.epoch for m in job.epochs.all()] == [1, 2, 3]
    assert all(m.val_accuracy is not None and m.seconds > 0 for m in job.epochs.all())
    evaluation = selectors.job_evaluation(job)
    assert evaluation.status == EvaluationStatus.SUCCEEDED and evaluation.image_count == 6
    assert evaluation.report["class_names"] == ["blue", "green", "red"]
    assert len(evaluation.report["confusion"]) == 3 and 0 <= evaluation.accuracy <= 1
    assert {"model.keras", "head.keras", "model.json"} <= {p.name for p in job.artifact_path.iterdir()}
    assert job.artifact_path.parent == Path(settings.ARTIFACTS_DIR) / "jobs"
    status = selectors.job_status(job)
    assert status["finished"] and status["percent"] == 100 and len(status["epochs"]) == 3
    assert status["evaluation"]["accuracy"] == evaluation.accuracy

    again = services.job_retry(job=job, user=user)  # same settings, same images: features all cached
    finished(again)
    assert again.status == JobStatus.SUCCEEDED, again.error_message
    assert again.images_extracted == 0 and again.images_cached == 36 and again.retry_of == job
    assert selectors.uncached_image_count(dataset=dataset, backbone="mobilenet_v2", weights="none",
                                          pooling="avg", input_size=32) == 1  # only the broken file

    # Re-evaluate on another dataset with the same classes.
    other = make_dataset("shapes-2", per_class=4, seed=7)
    evaluation = services.evaluation_create(job=job, dataset=other, user=user)

    def evaluated():
        evaluation.refresh_from_db()
        return evaluation.is_finished

    wait_for(evaluated, 120, message="re-evaluation")
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error_message
    assert evaluation.image_count == 12 and not evaluation.is_job_test_split
