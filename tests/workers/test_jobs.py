"""Training jobs end to end: real Redis, real `train`/`predict` worker processes on the test database."""

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from tests.images import jpeg_bytes
from tests.processes import wait_for, worker_env
from tests.factories import COLOURS, FAST_JOB, add_image, make_dataset
from webapp.experiments import selectors, services
from webapp.experiments.models import (
    EvaluationStatus,
    JobStatus,
    Prediction,
    PredictionStatus,
    TrainingJob,
)

# Redis when it runs (always in CI), else the embedded filesystem broker.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]


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


def test_job_lifecycle_metrics_evaluation_artifact_then_second_job_extracts_nothing(warm_workers, ann):
    dataset = make_dataset("shapes", seed=4242)  # photos no other test extracts: the run shares one feature cache
    broken = add_image(dataset, "red", b"\xff\xd8\xff\xe0 not really a jpeg", "train", "broken.jpg")
    deleted = add_image(dataset, "green", jpeg_bytes(COLOURS["green"], 999), "train", "gone.jpg")
    with transaction.atomic():  # the job reaches the worker when this commits
        job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
        deleted.delete()  # after the snapshot: the job lists it as skipped instead of failing
        assert job.status == JobStatus.QUEUED and job.job_images.count() == 38

    finished(job)
    assert job.status == JobStatus.SUCCEEDED, job.error_message + warm_workers.train.log()
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
    assert status["finished"] and status["percent"] == pytest.approx(100) and len(status["epochs"]) == 3
    assert status["evaluation"]["accuracy"] == evaluation.accuracy
    # issue 14 item 7: this worker's speed on the backbone is remembered for the next job's first ETAs
    from webapp.workers_registry.models import Throughput

    speed = Throughput.objects.get(worker=job.worker, backbone="mobilenet_v2")
    assert speed.extract_images_per_second > 0 and speed.train_seconds_per_image_epoch > 0
    assert job.stage_detail == ""

    again = services.job_retry(job=job, user=ann)  # same settings, same images: features all cached
    finished(again)
    assert again.status == JobStatus.SUCCEEDED, again.error_message
    assert again.images_extracted == 0 and again.images_cached == 36 and again.retry_of == job
    assert selectors.uncached_image_count(dataset=dataset, recipe="article", backbone="mobilenet_v2",
                                          weights="none", pooling="avg", input_size=32) == 1  # only the broken file

    # Re-evaluate on another dataset with the same classes.
    other = make_dataset("shapes-2", per_class=4, seed=7)
    evaluation = services.evaluation_create(job=job, dataset=other, user=ann)

    def evaluated():
        evaluation.refresh_from_db()
        return evaluation.is_finished

    wait_for(evaluated, 120, message="re-evaluation")
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error_message
    assert evaluation.image_count == 12 and not evaluation.is_job_test_split


def endless_job(dataset, user) -> TrainingJob:
    """A job that trains until it is cancelled or killed: its epochs raised in the row, past the 500 a user may ask
    for, before a train worker takes it (call it while no train worker runs, or with the warm one paused)."""
    job = services.job_create(dataset=dataset, user=user, **FAST_JOB)
    TrainingJob.objects.filter(pk=job.pk).update(head_config=FAST_JOB["head_config"] | {"epochs": 100_000})
    return job


def test_a_prediction_completes_while_a_long_training_occupies_the_train_worker(warm_workers, ann):
    dataset = make_dataset("shapes")
    trained = finished(services.job_create(dataset=dataset, user=ann, **FAST_JOB))
    assert trained.status == JobStatus.SUCCEEDED, trained.error_message
    with warm_workers.paused("train"):
        long_job = endless_job(dataset, ann)
    reached(long_job, JobStatus.TRAINING, extra=lambda job: job.epochs.count() >= 2)

    upload = SimpleUploadedFile("query.jpg", jpeg_bytes(COLOURS["blue"], 4242), content_type="image/jpeg")
    prediction = services.prediction_run(job=trained, upload=upload, user=ann, timeout=90)
    assert prediction.status == PredictionStatus.SUCCEEDED, prediction.error_message
    assert prediction.label in {"red", "green", "blue"} and prediction.latency_ms > 0
    assert [p["label"] for p in prediction.probabilities] != [] and len(prediction.probabilities) == 3
    assert abs(sum(p["probability"] for p in prediction.probabilities) - 1) < 1e-4
    long_job.refresh_from_db()
    assert long_job.status == JobStatus.TRAINING  # still busy: the prediction did not wait behind it

    # A photo that cannot be read fails with a message naming it by the name it was uploaded with.
    broken = SimpleUploadedFile("holiday.jpg", b"\xff\xd8 not a photo", content_type="image/jpeg")
    failed = services.prediction_create(job=trained, upload=broken, user=ann)
    wait_for(lambda: Prediction.objects.get(pk=failed.pk).status != PredictionStatus.PENDING, 60,
             message="the broken photo's prediction")
    failed.refresh_from_db()
    assert failed.status == PredictionStatus.FAILED and failed.error_message.startswith("holiday.jpg")
    assert "image #" not in failed.error_message

    # Cancel during training: it stops within an epoch, keeps its metrics so far, and ends cancelled.
    services.job_cancel(job=long_job)
    finished(long_job, timeout=60)
    assert long_job.status == JobStatus.CANCELLED
    assert 2 <= long_job.epochs.count() < 100_000 and not long_job.artifact_dir


def test_a_killed_worker_fails_its_job_with_a_clear_message_and_queued_jobs_survive(start_worker, ann):
    dataset = make_dataset("shapes")
    doomed = endless_job(dataset, ann)
    waiting = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    worker = start_worker(queues="train", env=worker_env(), wait=False)
    # Every live worker's main process runs the reaper (a `predict` worker here); a 3 s stale threshold for the test.
    reaper = start_worker(queues="predict", env=worker_env(MENAGERIE_JOB_STALE_SECONDS="3",
                                                           MENAGERIE_REAPER_INTERVAL_SECONDS="1"), wait=False)
    for started in (worker, reaper):  # loading side by side
        started.wait_ready()
    reached(doomed, JobStatus.TRAINING)
    worker.kill()  # SIGKILL to the worker and its pool, as the OOM killer does
    assert worker.proc.returncode == -signal.SIGKILL
    finished(doomed, timeout=60)
    assert doomed.status == JobStatus.FAILED
    assert "worker" in doomed.error_message and "died" in doomed.error_message
    assert "Traceback" not in doomed.error_message
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.QUEUED

    start_worker(queues="train", env=worker_env())  # the restarted worker takes the queued job
    finished(waiting)
    assert waiting.status == JobStatus.SUCCEEDED, waiting.error_message
    doomed.refresh_from_db()
    assert doomed.status == JobStatus.FAILED


def test_a_killed_pool_process_fails_its_job_at_once(start_worker, ann):
    dataset = make_dataset("shapes")
    job = endless_job(dataset, ann)
    worker = start_worker(queues="train", env=worker_env())
    reached(job, JobStatus.TRAINING)
    for pid in worker.child_pids():
        os.kill(pid, signal.SIGKILL)  # only the process running the task: the worker itself notices
    finished(job, timeout=30)  # well before the reaper's threshold (JOB_STALE_SECONDS, 120 s here)
    assert job.status == JobStatus.FAILED and job.error_message == services.worker_died_message("job")


def test_a_large_extraction_is_shared_by_two_train_workers(start_worker, ann):
    dataset = make_dataset("bigger", per_class=24)
    env = worker_env(MENAGERIE_EXTRACT_CHUNK_SIZE="8", MENAGERIE_EXTRACT_BATCH_SIZE="4")
    for worker in [start_worker(queues="train", env=env, wait=False) for _ in range(2)]:  # loading side by side
        worker.wait_ready()
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB | {"input_size": 64})
    finished(job)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.chunks_total == 9 and job.images_extracted == 72
    chunks = list(job.chunks.all())
    assert all(c.status == "done" for c in chunks)
    assert len({c.worker for c in chunks}) == 2  # both workers extracted part of it
    assert sum(c.extracted for c in chunks) == 72


def test_animals3_with_imagenet_mobilenet_v2_reaches_95_percent(warm_workers, ann):
    from tests.shared import shared_path

    root = shared_path("datasets", "animals3")
    shared_path("weights")
    from webapp.datasets.models import Dataset, Split

    dataset = Dataset.objects.create(name="animals3", team=ann.groups.get())
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for i, path in enumerate(sorted(folder.iterdir())[:60]):
            split = Split.TEST if i < 12 else Split.VALIDATION if i < 18 else Split.TRAIN
            add_image(dataset, folder.name, path.read_bytes(), split, path.name)
    job = services.job_create(
        dataset=dataset, user=ann, recipe="article", backbone="mobilenet_v2", weights="imagenet", pooling="avg",
        head_config={"epochs": 15, "batch_size": 16, "learning_rate": 1e-3},
    )
    finished(job, timeout=240)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    evaluation = selectors.job_evaluation(job)
    assert evaluation.image_count == 36
    print(f"animals3 subset: test accuracy {evaluation.accuracy:.3f} on {evaluation.image_count} images")
    assert evaluation.accuracy >= 0.95, evaluation.report


def test_a_recommended_job_answers_unsure_for_a_photo_of_a_class_it_never_saw(warm_workers, ann):
    """Real photos and the real ImageNet MobileNetV2: trained on cats, dogs and pandas, a flower is 'unsure'."""
    from django.contrib.auth.models import Group

    from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path
    from webapp.datasets.models import Dataset

    shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    animals, flowers = shared_path("datasets", "animals3"), shared_path("datasets", "flowers")
    dataset = Dataset.objects.create(name="animals", team=Group.objects.get_or_create(name="lab")[0])
    for label in ("cats", "dogs", "panda"):
        for i, path in enumerate(sorted((animals / label).iterdir())[:14]):
            add_image(dataset, label, path.read_bytes(), "test" if i < 2 else "validation" if i < 4 else "train",
                      path.name)
    job = finished(services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2"), timeout=400)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.recipe == "recommended"
    report = selectors.job_evaluation(job).report
    assert report["recipe"] == "recommended" and report["search"]["trials"] and report["calibration"]["threshold"] > 0
    decisions = []
    unseen = [p for label in ("daisy", "dandelion", "rose", "sunflower", "tulip")
              for p in sorted((flowers / label).iterdir())[:5]]
    for path in unseen:
        upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")
        prediction = services.prediction_run(job=job, upload=upload, user=ann, timeout=120)
        assert prediction.status == PredictionStatus.SUCCEEDED, prediction.error_message
        assert len(prediction.probabilities) == 3  # probabilities still given
        decisions.append(prediction.decision)
    print(f"unseen flowers: {decisions.count('unsure')} of {len(decisions)} unsure; threshold "
          f"{report['calibration']['threshold']:.3f}")
    assert decisions.count("unsure") > len(decisions) / 2, decisions  # mostly (one photo is no measure)
    cat = sorted((animals / "cats").iterdir())[-1]
    prediction = services.prediction_run(job=job, upload=SimpleUploadedFile(cat.name, cat.read_bytes()), user=ann,
                                         timeout=120)
    assert (prediction.label, prediction.decision) == ("cats", "confident")


def test_a_recommended_job_on_photos_a_little_larger_than_the_input_sees_them_at_their_own_size(warm_workers, ann,
                                                                                                 client):
    from classifier.features import FeatureCache
    from classifier.model_io import load_run

    dataset = make_dataset("256 px photos", per_class=6, seed=5252, size=256)
    job = services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none")
    finished(job, timeout=300)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.planned_sizes == [256]
    run = load_run(job.artifact_path)
    assert [s.size for s in run["views"]] == [256]
    cache = FeatureCache(settings.FEATURES_DIR)
    assert all(cache.has(run["spec"], ji.content_hash) for ji in job.job_images.all())
    client.force_login(ann)
    assert '<span id="job-input-size">256 px</span>' in client.get(f"/jobs/{job.pk}/").content.decode()
    photo = jpeg_bytes(COLOURS["blue"], 888_888, 300)  # any size: the model resizes it to its view
    prediction = services.prediction_run(job=job, upload=SimpleUploadedFile("new.jpg", photo), user=ann, timeout=120)
    assert prediction.status == PredictionStatus.SUCCEEDED, prediction.error_message
    assert prediction.label == "blue"


def test_a_recommended_job_on_small_photos_extracts_a_second_view_and_serves_the_chosen_model(warm_workers, ann,
                                                                                               client):
    from classifier.features import FeatureCache
    from classifier.model_io import load_run

    dataset = make_dataset("small photos", seed=5151)  # 48 px photos: a 96 px view joins the 224 px input
    job = services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none")
    finished(job, timeout=300)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.planned_sizes == [224, 96] and job.images_extracted == 36  # counted per photo, not per view
    run = load_run(job.artifact_path)
    cache = FeatureCache(settings.FEATURES_DIR)
    planned = job.specs  # both, whichever was kept
    assert all(cache.has(spec, ji.content_hash) for spec in planned for ji in job.job_images.all())
    search = selectors.job_evaluation(job).report["search"]
    assert {t["views"] for t in search["trials"]} >= {"224 px", "224+96 px"}
    assert [s.size for s in run["views"]] == [int(s) for s in search["chosen"]["views"].removesuffix(" px").split("+")]
    client.force_login(ann)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "each photo seen at 224 and 96 px" in page and f"input {search['chosen']['views']}" in page
    photo = jpeg_bytes(COLOURS["green"], 777_777, 48)
    prediction = services.prediction_run(job=job, upload=SimpleUploadedFile("new.jpg", photo), user=ann, timeout=120)
    assert prediction.status == PredictionStatus.SUCCEEDED, prediction.error_message
    assert prediction.label == "green"


def test_a_fine_tuning_trial_that_can_pay_is_a_follow_up_job_that_keeps_no_loser(warm_workers, ann, client):
    """Labels as noise: the linear head gets most held-out photos wrong, so fine-tuning could pay. The job answers
    at once with its linear head (no trial ran in it); a follow-up job on the same photos reuses its decision, runs
    only the trial and, as fine-tuning cannot beat chance on noise, ends "not kept" with no model, saying why."""
    from django.contrib.auth.models import Group

    from webapp.datasets.models import Dataset

    dataset = Dataset.objects.create(name="noise", team=Group.objects.get_or_create(name="lab")[0])
    for i in range(66):  # the same grey for every class: nothing to learn
        add_image(dataset, "abc"[i % 3], jpeg_bytes((120, 120, 120), 6060 + i, 224), "test" if i < 6 else "train",
                  f"{i}.jpg", size=224)
    job = finished(services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none"),
                   timeout=300)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    trial = selectors.job_evaluation(job).report["search"]["trials"][-1]
    assert trial["head"] == "fine-tune last block" and trial["follow_up"] and not job.epochs.exists()
    follow_up = finished(job.follow_ups.get(), timeout=300)
    assert follow_up.status == JobStatus.NOT_KEPT, follow_up.error_message + warm_workers.train.log()
    assert follow_up.error_message.startswith("Not kept: fine-tuning the last block")
    assert f"The model of job #{job.pk} stands." in follow_up.error_message
    assert follow_up.images_cached == 66 and follow_up.images_extracted == 0  # the parent's features
    assert follow_up.epochs.exists() and not follow_up.artifact_dir and not follow_up.follow_ups.exists()
    assert selectors.job_evaluation(follow_up) is None
    client.force_login(ann)
    parent_page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f"job #{follow_up.pk}</a> tries it on the same photos" in parent_page and "this model stands" in parent_page
    page = client.get(f"/jobs/{follow_up.pk}/").content.decode()
    assert f"A follow-up of <a href=\"/jobs/{job.pk}/\">job #{job.pk}</a>" in page and "Not kept:" in page
