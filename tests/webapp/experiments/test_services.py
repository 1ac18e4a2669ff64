"""Job services, selectors, the reaper and the Celery settings, on the database only (no worker process)."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import COLOURS, FAST_JOB, make_dataset
from tests.images import jpeg_bytes
from tests.shared import REPO_DIR
from webapp.datasets.models import Split
from webapp.experiments import selectors, services
from webapp.experiments.models import Evaluation, EvaluationStatus, JobStatus, TrainingJob
from webapp.lifecycle.services import work_reap

pytestmark = pytest.mark.django_db


def test_job_create_snapshots_the_images_and_queues_the_job(ann):
    dataset = make_dataset("shapes", per_class=4)
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    assert job.status == JobStatus.QUEUED and job.created_by == ann
    assert job.head_config["epochs"] == 3 and job.head_config["optimizer"] == "rmsprop"  # defaults filled in
    assert job.job_images.count() == 12
    assert {(ji.split, ji.label_name) for ji in job.job_images.all()} >= {(Split.TEST, "red"), (Split.TRAIN, "blue")}
    dataset.images.filter(label__name="red").delete()  # later edits do not change the job's images
    assert job.job_images.count() == 12


@pytest.mark.parametrize("change, message", [
    (lambda d: d.images.exclude(label__name="red").delete(), "at least 2 classes"),
    (lambda d: d.images.filter(label__name="red", split=Split.TRAIN).delete(), "no training image: red"),
    (lambda d: d.images.filter(split=Split.TEST).delete(), "no test images"),
])
def test_job_create_refuses_an_unusable_dataset_with_a_readable_message(ann, change, message):
    dataset = make_dataset("shapes", per_class=4)
    change(dataset)
    with pytest.raises(ValidationError, match=message):
        services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    assert not TrainingJob.objects.exists()


@pytest.mark.parametrize("bad, message", [
    ({"backbone": "alexnet"}, "Unknown backbone"),
    ({"weights": "random"}, "Unknown weights"),
    ({"head_config": {"activation": "sigmoidish"}}, "activation"),
    ({"head_config": {"epochs": 0}}, "Epochs must be from 1 to 500"),
])
def test_job_create_refuses_bad_settings(ann, bad, message):
    dataset = make_dataset("shapes", per_class=4)
    with pytest.raises(ValidationError, match=message):
        services.job_create(dataset=dataset, user=ann, **FAST_JOB | bad)


def test_a_job_is_claimed_once_so_a_redelivered_message_does_nothing(ann):
    from workers.tasks import job_run

    job = services.job_create(dataset=make_dataset("shapes", per_class=4), user=ann, **FAST_JOB)
    assert services.job_claim(job_id=job.pk, worker="w1") is True
    assert services.job_claim(job_id=job.pk, worker="w2") is False
    assert job_run.apply(args=(job.pk,)).get() == "not claimed"  # the task itself, run here: no-op
    job.refresh_from_db()
    assert job.status == JobStatus.EXTRACTING and job.worker == "w1"


def test_cancel_a_queued_job_at_once_and_a_running_one_by_request(ann):
    dataset = make_dataset("shapes", per_class=4)
    queued = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    services.job_cancel(job=queued)
    assert queued.status == JobStatus.CANCELLED and queued.finished_at
    running = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    services.job_claim(job_id=running.pk, worker="w1")
    services.job_cancel(job=running)
    assert running.status == JobStatus.EXTRACTING and running.cancel_requested
    assert selectors.job_cancel_requested(job_id=running.pk)
    assert not services.job_advance(job_id=running.pk, to=JobStatus.TRAINING)  # the worker stops instead


def test_retry_makes_a_new_job_with_the_same_settings(ann):
    job = services.job_create(dataset=make_dataset("shapes", per_class=4), user=ann, **FAST_JOB)
    services.job_fail(job_id=job.pk, message="boom")
    retry = services.job_retry(job=job, user=ann)
    assert retry.pk != job.pk and retry.retry_of == job and retry.status == JobStatus.QUEUED
    for field in ("backbone", "weights", "pooling", "precision", "input_size", "head_config", "dataset_id"):
        assert getattr(retry, field) == getattr(job, field)


def test_the_reaper_fails_jobs_whose_heartbeat_is_stale_and_leaves_live_ones(ann):
    dataset = make_dataset("shapes", per_class=4)
    jobs = [services.job_create(dataset=dataset, user=ann, **FAST_JOB) for _ in range(4)]
    dead, alive, cancelling, queued = jobs
    for job in (dead, alive, cancelling):
        services.job_claim(job_id=job.pk, worker="w1")
    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    TrainingJob.objects.filter(pk__in=[dead.pk, cancelling.pk]).update(heartbeat_at=old)
    TrainingJob.objects.filter(pk=cancelling.pk).update(cancel_requested=True)

    assert sorted(work_reap()["job"]) == sorted([dead.pk, cancelling.pk])
    for job in jobs:
        job.refresh_from_db()
    assert dead.status == JobStatus.FAILED and dead.error_message == services.worker_died_message("job")
    assert cancelling.status == JobStatus.CANCELLED
    assert alive.status == JobStatus.EXTRACTING and queued.status == JobStatus.QUEUED
    assert not services.job_succeed(job_id=dead.pk)  # a late writer cannot resurrect it


def test_job_status_is_json_ready_with_progress_and_epochs(ann):
    import json

    job = services.job_create(dataset=make_dataset("shapes", per_class=4), user=ann, **FAST_JOB)
    services.job_claim(job_id=job.pk, worker="w1")
    services.job_advance(job_id=job.pk, to=JobStatus.TRAINING, progress_total=3)
    services.job_epoch_record(job_id=job.pk, epoch=1, metrics={"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1,
                                                              "val_accuracy": 0.4, "seconds": 0.2})
    job.refresh_from_db()
    status = selectors.job_status(job)
    json.dumps(status)
    assert status["status"] == "training" and status["status_display"] == "Training"
    assert status["progress"] == {"done": 1, "total": 3} and status["percent"] == pytest.approx(33.3)
    assert status["epochs"][0]["val_accuracy"] == pytest.approx(0.4) and not status["finished"]
    assert status["evaluation"] is None


def test_users_see_only_their_teams_jobs(ann, django_user_model):
    mine = services.job_create(dataset=make_dataset("shapes", per_class=4), user=ann, **FAST_JOB)
    other_team = Group.objects.create(name="other")
    theirs = services.job_create(dataset=make_dataset("theirs", per_class=4, team=other_team), user=None,
                                 **FAST_JOB)
    assert list(selectors.jobs_for_user(ann)) == [mine]
    boss = django_user_model.objects.create_user("boss", is_staff=True, is_superuser=True)
    assert set(selectors.jobs_for_user(boss)) == {mine, theirs}


def test_evaluation_and_prediction_need_a_finished_job_and_matching_classes(ann):
    dataset = make_dataset("shapes", per_class=4)
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    upload = SimpleUploadedFile("q.jpg", jpeg_bytes(COLOURS["red"], 1), content_type="image/jpeg")
    with pytest.raises(ValidationError, match="succeeded"):
        services.prediction_create(job=job, upload=upload, user=ann)
    with pytest.raises(ValidationError, match="succeeded"):
        services.evaluation_create(job=job, dataset=dataset, user=ann)
    TrainingJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, artifact_dir="jobs/1")
    job.refresh_from_db()
    other = make_dataset("purple", per_class=4, classes=("red", "green"))
    other.labels.filter(name="green").update(name="purple")
    with pytest.raises(ValidationError, match="not trained on: purple"):
        services.evaluation_create(job=job, dataset=other, user=ann)


def test_uncached_image_count_and_backbone_choices_are_plain_data(ann):
    dataset = make_dataset("shapes", per_class=4)
    assert selectors.uncached_image_count(dataset=dataset, backbone="mobilenet_v2", weights="none",
                                          pooling="avg", input_size=32) == 12
    assert selectors.backbone_choices()[0][0] == "vgg16"
    assert {name for name, _ in selectors.backbone_choices()} == {"vgg16", "resnet50", "mobilenet_v2",
                                                                  "efficientnet_b0"}


def test_the_web_side_of_jobs_never_imports_tensorflow():
    code = ("import django; django.setup()\n"
            "import webapp.experiments.services, webapp.experiments.selectors, webapp.experiments.admin\n"
            "import workers.tasks, workers.pipeline, workers.predictors, sys\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    env = {"DJANGO_SETTINGS_MODULE": "webapp.settings", "PATH": "/usr/bin:/bin",
           "MENAGERIE_DATA_DIR": settings.DATA_DIR.as_posix()}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_celery_settings_fit_long_trainings():
    from workers.celery_app import app

    conf = app.conf
    assert conf.task_acks_late and conf.worker_prefetch_multiplier == 1
    job_limits = conf.task_annotations["workers.tasks.job_run"]
    assert job_limits["time_limit"] >= 3600 and job_limits["soft_time_limit"] < job_limits["time_limit"]
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert conf.broker_transport_options["visibility_timeout"] > job_limits["time_limit"]
    assert settings.JOB_HEARTBEAT_SECONDS < settings.JOB_STALE_SECONDS
    assert app.amqp.router.route({}, "workers.tasks.prediction_run")["queue"].name == "predict"
    assert app.amqp.router.route({}, "workers.tasks.gradcam_run")["queue"].name == "predict"
    assert app.amqp.router.route({}, "workers.tasks.job_run")["queue"].name == "train"
    assert app.amqp.router.route({}, "workers.tasks.job_extract_chunks")["queue"].name == "train"
    assert conf.task_annotations["workers.tasks.bundle_run"] == {"time_limit": 1800, "soft_time_limit": 1740}
    # The reaper runs in every worker's main process (workers/presence.py): no queue a dead worker could block.
    assert not any("reap" in entry["task"] for entry in conf.beat_schedule.values())


def test_every_kind_of_work_has_its_task_bound_by_the_registry_name():
    from webapp.lifecycle.registry import KINDS
    from workers.celery_app import app

    import workers.tasks  # noqa: F401 - binds the task functions

    for kind in KINDS.values():
        assert {kind.task, *kind.helpers} <= set(app.tasks), kind.name


# --- job settings that cannot fit the workers' memory (issue "Hardening" 2) ----------------------------------------

def test_job_create_refuses_a_job_too_big_for_the_workers_memory_and_says_what_to_lower(ann):
    dataset = make_dataset("shapes", per_class=4)
    probe = {"recipe": "article", "backbone": "mobilenet_v2", "weights": "none", "pooling": "", "input_size": 1024,
             "head_config": {"hidden": [8192] * 8, "dropout": [0.5] * 8, "batch_size": 4096, "epochs": 500}}
    with pytest.raises(ValidationError) as refused:
        services.job_create(dataset=dataset, user=ann, **probe)
    message = refused.value.messages[0]
    assert "memory" in message and "lower the hidden layer sizes" in message and "pooling" in message
    assert "GB" in message
    assert not TrainingJob.objects.exists()


def test_job_create_names_the_batch_size_when_the_batch_is_what_does_not_fit(ann, settings):
    settings.JOB_MAX_MEMORY_BYTES = 300 * 1024**2  # extraction fits (~190 MB), the largest batch of 8192 units not
    dataset = make_dataset("shapes", per_class=4)
    head = FAST_JOB["head_config"] | {"batch_size": 4096, "hidden": [8192], "dropout": [0.1]}
    with pytest.raises(ValidationError, match="lower the batch size"):
        services.job_create(dataset=dataset, user=ann, **FAST_JOB | {"head_config": head})


def test_the_articles_defaults_are_accepted_and_the_estimate_is_the_one_the_form_shows(ann):
    dataset = make_dataset("shapes", per_class=4)
    job = services.job_create(dataset=dataset, user=ann, backbone="vgg16", recipe="article")  # 7x7x512 maps
    assert job.status == JobStatus.QUEUED
    estimate = selectors.job_estimate(dataset=dataset, backbone="vgg16", recipe="article")["memory"]
    assert estimate["fits"] and estimate["features_per_image"] == 7 * 7 * 512
    assert estimate["parameters"] == (25088 + 1) * 100 + (100 + 1) * 50 + (50 + 1) * 3
    assert estimate["training_bytes"] < 100 * 1024**2 < estimate["extraction_bytes"] == estimate["bytes"]


def test_the_recommended_recipe_is_sized_by_its_own_features_not_the_head_settings(ann, settings):
    dataset = make_dataset("shapes", per_class=4)
    huge_head = {"hidden": [8192] * 8, "dropout": [0.5] * 8, "batch_size": 4096}
    job = services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                              head_config=huge_head)  # recommended (the default) ignores the head settings
    assert job.recipe == "recommended"
    small = selectors.job_estimate(dataset=dataset, backbone="mobilenet_v2", recipe="recommended")["memory"]
    large = selectors.job_estimate(dataset=dataset, backbone="mobilenet_v2", recipe="recommended",
                                   input_size=1024)["memory"]
    assert large["features_per_image"] > 16 * small["features_per_image"] and large["bytes"] > small["bytes"]
    settings.JOB_MAX_MEMORY_BYTES = small["bytes"] + 1
    with pytest.raises(ValidationError, match="lower the input size"):
        services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none", input_size=1024)


def test_the_estimate_counts_extraction_and_lowers_its_batch_or_refuses_before_queueing(ann, settings):
    """Issue 23 item 3: the recommended recipe at 1024 px on 45 photos grew a worker to ~12 GB while extracting,
    and the estimate said 0.2 GB of 8 GB: it counted training only."""
    dataset = make_dataset("photos", per_class=15)  # 45 photos
    estimate = selectors.job_estimate(dataset=dataset, backbone="mobilenet_v2", weights="none",
                                      recipe="recommended", input_size=1024)["memory"]
    assert estimate["training_bytes"] < 0.3 * 1024**3 < 1024**3 < estimate["extraction_bytes"] == estimate["bytes"]
    assert estimate["fits"] and 1 <= estimate["extraction_batch_size"] < settings.EXTRACT_BATCH_SIZE
    assert f"{estimate['extraction_batch_size']} photos at a time" in estimate["text"]
    small = selectors.job_estimate(dataset=dataset, backbone="mobilenet_v2", weights="none",
                                   recipe="recommended", input_size=224)["memory"]
    assert small["extraction_batch_size"] == settings.EXTRACT_BATCH_SIZE  # what fits keeps its batch
    settings.JOB_MAX_MEMORY_BYTES = 1024**3  # training fits easily, one 1024 px photo's extraction does not
    with pytest.raises(ValidationError, match="lower the input size") as refused:
        services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none", input_size=1024)
    assert "Extracting its features at 1024 px" in refused.value.messages[0]
    assert not TrainingJob.objects.exists()
    assert services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none", input_size=224)


# --- what the workers write and read --------------------------------------------------------------------------------

def test_chunks_are_claimed_once_released_on_cancel_and_redone_when_their_worker_stops(ann, settings):
    job = services.job_create(dataset=make_dataset("shapes", per_class=4), user=ann, **FAST_JOB)
    services.job_claim(job_id=job.pk, worker="w1")
    services.chunks_replace(job=job, chunks=[[("h1", "/a")], [("h2", "/b")]])
    first = services.chunk_claim(job_id=job.pk, worker="w1")
    second = services.chunk_claim(job_id=job.pk, worker="w2")
    assert (first.index, second.index) == (0, 1) and services.chunk_claim(job_id=job.pk, worker="w3") is None
    services.chunk_release(chunk_id=first.pk)  # cancelled: pending again
    assert services.chunk_claim(job_id=job.pk, worker="w3").pk == first.pk
    services.chunk_finish(chunk_id=first.pk, extracted=1, seconds=0.1, skipped=[])
    services.chunk_finish(chunk_id=second.pk, extracted=0, seconds=0.1,
                          skipped=[{"content_hash": "h2", "path": "/b", "reason": "unreadable"}])
    assert not selectors.job_chunks_unfinished(job_id=job.pk)
    assert selectors.job_chunks_result(job_id=job.pk) == (1, {"h2": "unreadable"})
    services.chunks_replace(job=job, chunks=[[("h3", "/c")]])
    claimed = services.chunk_claim(job_id=job.pk, worker="w1")
    assert services.chunk_claim(job_id=job.pk, worker="w2", stale_running=True) is None  # still beating
    settings.JOB_STALE_SECONDS = 0
    assert services.chunk_claim(job_id=job.pk, worker="w2", stale_running=True).pk == claimed.pk


def test_a_reaped_evaluation_says_evaluation_not_job(ann):
    job = services.job_create(dataset=make_dataset("shapes", per_class=4), user=ann, **FAST_JOB)
    evaluation = Evaluation.objects.create(job=job, dataset=job.dataset)
    assert services.evaluation_claim(evaluation_id=evaluation.pk)
    Evaluation.objects.filter(pk=evaluation.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    work_reap()
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.FAILED
    assert evaluation.error_message.startswith("The worker running this evaluation stopped responding")
    assert "the evaluation was stopped" in evaluation.error_message and "job" not in evaluation.error_message


def test_readable_errors_name_what_failed():
    from celery.exceptions import SoftTimeLimitExceeded

    from workers.runtime import readable_error

    assert readable_error(SoftTimeLimitExceeded(), "evaluation").startswith("The evaluation ran longer")
    assert readable_error(RuntimeError("boom"), "job").startswith("The job failed unexpectedly (RuntimeError: boom)")


def test_evaluation_status_reads_the_row_it_is_given_in_no_query(ann, django_assert_num_queries):
    job = services.job_create(dataset=make_dataset("shapes", per_class=4), user=ann, **FAST_JOB)
    evaluation = selectors.evaluations_for_user(ann).get(pk=Evaluation.objects.create(job=job, dataset=job.dataset).pk)
    with django_assert_num_queries(0):
        status = selectors.evaluation_status(evaluation)
    assert status["status"] == "queued" and status["dataset"] == "shapes" and not status["finished"]
