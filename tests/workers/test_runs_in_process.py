"""The runs' bodies (workers/pipeline.py, workers/batching.py, workers/auditing.py) called in this process on the
test database, with no worker: the pipeline's logic at in-process cost, in `make test-fast` too. The tasks the
services send on the way wait in the broker and are never run (their rows go with the test). Each kind keeps
one real-worker test end to end (test_jobs, test_batches, test_audit, test_gradcam, test_bundle)."""

import threading

import pytest

from tests.factories import COLOURS, FAST_JOB, add_image, make_dataset
from tests.images import jpeg_bytes
from tests.processes import wait_for
from tests.workers.test_batches import csv_rows, zipped
from webapp.accounts.services import membership_change
from webapp.audits import services as audit_services
from webapp.audits.models import AuditStatus
from webapp.experiments import selectors, services
from webapp.experiments.models import EvaluationStatus, JobStatus
from webapp.serving import batch_services
from webapp.serving import services as serving_services
from webapp.serving.models import BatchStatus
from workers.auditing import run_audit
from workers.batching import run_batch
from workers.pipeline import run_evaluation, run_job

pytestmark = pytest.mark.usefixtures("media_root")  # this test's own files and feature cache

WORKER = "in-process@test"
BROKEN = b"\xff\xd8\xff\xe0 not really a jpeg"


def _reload(row):
    row.refresh_from_db()
    return row


def test_a_job_goes_through_its_stages_and_its_retry_extracts_nothing(transactional_db, ann):
    from webapp.workers_registry.models import Throughput

    dataset = make_dataset("shapes", seed=4343)
    broken = add_image(dataset, "red", BROKEN, "train", "broken.jpg")
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)

    assert run_job(job.pk, worker=WORKER) == JobStatus.SUCCEEDED
    job = _reload(job)
    assert job.worker == WORKER and job.started_at < job.training_at < job.evaluating_at < job.finished_at
    assert (job.images_extracted, job.images_cached) == (36, 0)
    assert [(s["image_id"], s["name"]) for s in job.skipped_images] == [(broken.pk, "broken.jpg")]
    assert [m.epoch for m in job.epochs.all()] == [1, 2, 3]
    evaluation = selectors.job_evaluation(job)
    assert evaluation.status == EvaluationStatus.SUCCEEDED and evaluation.image_count == 6
    assert {"model.keras", "head.keras", "model.json"} <= {p.name for p in job.artifact_path.iterdir()}
    speed = Throughput.objects.get(worker=WORKER, backbone="mobilenet_v2")
    assert speed.extract_images_per_second > 0 and speed.train_seconds_per_image_epoch > 0
    assert run_job(job.pk, worker="another@test") == "not claimed"  # a redelivered message does nothing

    again = services.job_retry(job=job, user=ann)
    assert run_job(again.pk, worker=WORKER) == JobStatus.SUCCEEDED
    again = _reload(again)
    assert (again.images_extracted, again.images_cached) == (0, 36)


def test_a_re_evaluation_and_batches_of_a_trained_job(transactional_db, ann):
    dataset = make_dataset("shapes", seed=5252)
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    assert run_job(job.pk, worker=WORKER) == JobStatus.SUCCEEDED, _reload(job).error_message
    job = _reload(job)

    other = make_dataset("shapes-2", per_class=4, seed=7)
    add_image(other, "blue", BROKEN, "test", "broken.jpg")
    evaluation = services.evaluation_create(job=job, dataset=other, user=ann)
    assert run_evaluation(evaluation.pk, worker=WORKER) == EvaluationStatus.SUCCEEDED
    evaluation = _reload(evaluation)
    assert evaluation.image_count == 12 and not evaluation.is_job_test_split
    assert [s["name"] for s in evaluation.skipped_images] == ["broken.jpg"]
    assert evaluation.report["class_names"] == ["blue", "green", "red"]

    membership_change(team=dataset.team, user=ann, role="admin")
    birds = serving_services.named_model_create(team=dataset.team, name="birds", evaluation_dataset=dataset,
                                                user=ann)
    serving_services.model_promote(named_model=birds, job=job, user=ann)
    birds.refresh_from_db()
    # Folders that are not the model's classes: every photo predicted, nothing scored, the note says why.
    entries = {f"2024-05/{i}.jpg": jpeg_bytes(COLOURS["blue"], 6300 + i) for i in range(3)}
    entries["2024-06/0.jpg"] = jpeg_bytes(COLOURS["red"], 6310)
    batch = batch_services.batch_create(named_model=birds, user=ann, archive=zipped(entries))
    assert run_batch(batch.pk, worker=WORKER) == BatchStatus.SUCCEEDED, _reload(batch).error_message
    batch = _reload(batch)
    assert batch.report == {} and "2024-05" in batch.evaluation_note and batch.wrong_count == 0
    assert [row["true_class"] for row in csv_rows(batch)] == [""] * 4
    assert all(row["top1"] in COLOURS for row in csv_rows(batch))

    # A zip with no photo that can be read fails with a message, not a traceback.
    unreadable = batch_services.batch_create(named_model=birds, user=ann, archive=zipped({"red/0.jpg": BROKEN}))
    assert run_batch(unreadable.pk, worker=WORKER) == BatchStatus.FAILED
    assert _reload(unreadable).error_message == "None of the files could be read as a photo."


@pytest.mark.slow
def test_cancel_during_extraction_keeps_the_features_already_extracted(transactional_db, ann, settings):
    from django.db import connection

    settings.EXTRACT_BATCH_SIZE = 2  # progress after every 2 photos: the cancel lands mid-extraction
    dataset = make_dataset("many", per_class=30)
    spec = {"backbone": "mobilenet_v2", "weights": "none", "pooling": "avg", "input_size": 224}
    job = services.job_create(dataset=dataset, user=ann, **spec, recipe="article", head_config={"epochs": 2})
    outcome = []

    def run():
        try:
            outcome.append(run_job(job.pk, worker=WORKER))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        wait_for(lambda: _reload(job).status == JobStatus.EXTRACTING and job.progress_done >= 2, 120,
                 message="the extraction to start")
        services.job_cancel(job=job)
    finally:
        thread.join(120)
    assert outcome == [JobStatus.CANCELLED]
    job = _reload(job)
    assert job.training_at is None and not job.epochs.exists()
    left = selectors.uncached_image_count(dataset=dataset, **spec, recipe="article")
    assert 0 < left < 90  # what was extracted before the cancel stays in the cache

    again = services.job_create(dataset=dataset, user=ann, **spec, recipe="article", head_config={"epochs": 2})
    assert run_job(again.pk, worker=WORKER) == JobStatus.SUCCEEDED  # a new job goes on from the features kept
    assert _reload(again).images_extracted == left


def test_an_audit_reports_unreadable_photos_and_fails_when_none_can_be_read(transactional_db, ann):
    dataset = make_dataset("shapes", per_class=4, seed=6161)
    broken = add_image(dataset, "green", BROKEN, "train", "broken.jpg")
    audit = audit_services.audit_create(dataset=dataset, user=ann, backbone="vgg16", weights="none", input_size=32)
    assert run_audit(audit.pk, worker=WORKER) == AuditStatus.SUCCEEDED, _reload(audit).error_message
    audit = _reload(audit)
    assert audit.image_count == 12
    assert [(s["image_id"], s["name"]) for s in audit.skipped_images] == [(broken.pk, "broken.jpg")]
    assert run_audit(audit.pk, worker=WORKER) == "not claimed"

    empty = make_dataset("unreadable", classes=("red",), per_class=0)
    add_image(empty, "red", BROKEN, "train", "only.jpg")
    failed = audit_services.audit_create(dataset=empty, user=ann, backbone="vgg16", weights="none", input_size=32)
    assert run_audit(failed.pk, worker=WORKER) == AuditStatus.FAILED
    assert _reload(failed).error_message == "None of the dataset's photos could be read."
