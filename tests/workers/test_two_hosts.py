"""Menagerie across machines (issue 26): the web app (this process) and a `train` and a `predict` worker, each with
its own data folder, share nothing but PostgreSQL (or the test's SQLite file), Redis and a real S3 server
(SeaweedFS, tests/s3.py). Every kind of work succeeds, and no file a process needs is in another's folder; a host
that loses its local copies, even mid-job, fetches them again; a store outage fails the running job readably
within 30 s."""

import io
import shutil
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import COLOURS, FAST_JOB, make_dataset
from tests.images import jpeg_bytes
from tests.processes import wait_for, worker_env
from tests.workers.test_jobs import finished
from webapp.accounts.services import api_token_create, membership_change
from webapp.audits.models import DatasetAudit
from webapp.audits.services import audit_create
from webapp.core.storage import names_under
from webapp.datasets.services import dataset_import_zip
from webapp.experiments import services as experiment_services
from webapp.experiments.models import Evaluation, JobStatus, TrainingJob
from webapp.operations.backup import backup_create, backup_restore
from webapp.serving import batch_services, services
from webapp.serving.models import BatchPrediction, ExportBundle

pytestmark = [pytest.mark.two_hosts, pytest.mark.worker, pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]
PER_CLASS = 8


def photos_zip() -> io.BytesIO:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for c, colour in enumerate(("red", "green", "blue")):
            for i in range(PER_CLASS):
                zf.writestr(f"{colour}/{colour}-{i}.jpg", jpeg_bytes(COLOURS[colour], 5100 + 100 * c + i, 48))
    archive.seek(0)
    archive.name = "colours.zip"
    return archive


def host_env(folder, s3, settings, **more) -> dict:
    """Another machine: its own data folder (media, features, models and the local cache below it), the store."""
    return worker_env(MENAGERIE_DATA_DIR=str(folder), SECRET_KEY=settings.SECRET_KEY, **s3.settings(), **more)


def pause_train_host_at(point: str, tmp_path) -> None:
    """Hold the train host's running job at `point` (workers.runtime.pause_point) and wait until it is there."""
    pause, reached = tmp_path / "train-pause", tmp_path / "train-pause.reached"
    pause.write_text(point)
    wait_for(lambda: reached.exists() and reached.read_text() == point, 120, message=f"the job to reach {point!r}")


def files_in(*folders) -> list[str]:
    return sorted(str(p) for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file())


def ended(model, pk: int, timeout: float = 120):
    return wait_for(lambda: (row := model.objects.get(pk=pk)).status in {"succeeded", "failed", "cancelled"} and row,
                    timeout, message=f"{model.__name__} {pk} to end")


@pytest.fixture
def two_hosts(s3_storage, media_root, start_worker, settings, tmp_path):
    """(train worker, predict worker, {host: its data folder}); this process is the web app."""
    folders = {"train": tmp_path / "train-host", "predict": tmp_path / "predict-host"}
    pause = tmp_path / "train-pause"  # the train host's test-only pause point (workers.runtime.pause_point)
    train = start_worker(queues="train", wait=False, env=host_env(folders["train"], s3_storage, settings,
                                                                   MENAGERIE_WORK_PAUSE_FILE=str(pause)))
    predict = start_worker(queues="predict", wait=False, env=host_env(folders["predict"], s3_storage, settings))
    for worker in (train, predict):  # loading side by side
        worker.wait_ready()
    return train, predict, folders


def test_every_kind_of_work_on_two_hosts_that_share_only_the_database_the_broker_and_the_store(
        two_hosts, ann, client_for, settings, s3_storage, django_user_model, tmp_path):
    train, predict, folders = two_hosts
    result = dataset_import_zip(archive=photos_zip(), user=ann, name="colours", team=ann.groups.get())
    dataset = result.dataset
    assert dataset.images.count() == 3 * PER_CLASS
    assert len(names_under(dataset.storage_dir)) == 2 * 3 * PER_CLASS  # photos and thumbnails, in the bucket

    # the train host loses its local copies mid-job, twice: between fetching a chunk's photos and reading them, and
    # before training reads the features; it fetches them again
    job = experiment_services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    for point in ("photos fetched", "training"):
        pause_train_host_at(point, tmp_path)
        assert files_in(folders["train"] / "cache" / ("media" if point == "photos fetched" else "features"))
        shutil.rmtree(folders["train"] / "cache")
    (tmp_path / "train-pause").unlink()
    job = finished(job)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.images_extracted == 3 * PER_CLASS and not job.skipped_images
    assert "model.json" in [name.rsplit("/", 1)[-1] for name in names_under(job.artifact_dir, "artifacts")]

    membership_change(team=dataset.team, user=ann, role="admin")
    named = services.named_model_create(team=dataset.team, name="colours", evaluation_dataset=dataset, user=ann)
    services.model_promote(named_model=named, job=job, user=ann, note="first")
    named.refresh_from_db()
    key = api_token_create(user=ann, name="two hosts")[1]
    client = client_for(ann)
    photo = SimpleUploadedFile("blue.jpg", jpeg_bytes(COLOURS["blue"], 77))
    response = client.post("/api/models/colours/predict/", {"image": photo}, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200, response.content
    assert response.json()["model"] == "colours"

    bundle_page = reverse("serving:job_bundle", args=[job.pk])
    assert client.post(bundle_page).status_code == 302
    bundle = ended(ExportBundle, ExportBundle.objects.get(job=job).pk, timeout=300)
    assert bundle.status == "succeeded", bundle.error_message
    download = client.get(reverse("serving:job_bundle_download", args=[job.pk]))
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as zf:
        assert "labels.json" in " ".join(zf.namelist())

    audit = audit_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none", input_size=32)
    audit = ended(DatasetAudit, audit.pk)
    assert audit.status == "succeeded", audit.error_message

    # the train host loses its local copies between runs: the next one fetches photos, features and the model again
    shutil.rmtree(folders["train"] / "cache")
    evaluation = ended(Evaluation, experiment_services.evaluation_create(job=job, dataset=dataset, user=ann).pk)
    assert evaluation.status == "succeeded", evaluation.error_message
    assert files_in(folders["train"] / "cache" / "artifacts") and files_in(folders["train"] / "cache" / "features")

    batch = ended(BatchPrediction, batch_services.batch_create(named_model=named, user=ann, dataset=dataset).pk)
    assert batch.status == "succeeded", batch.error_message
    csv = client.get(reverse("serving:batch_csv", args=[named.name, batch.pk]))
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert csv.status_code == 200 and lines[0].startswith("file,") and len(lines) > 1

    # a backup reads every file from the store; restored into an emptied store, the app serves them again
    archive = tmp_path / "backup.tar.gz"
    manifest = backup_create(out=archive)
    assert manifest["missing"] == [] and f"artifacts/{job.artifact_dir}/model.json" in manifest["files"]
    s3_storage.empty_bucket()
    backup_restore(archive=archive, force=True)
    assert "model.json" in [name.rsplit("/", 1)[-1] for name in names_under(job.artifact_dir, "artifacts")]
    image = dataset.images.first()
    client = client_for(django_user_model.objects.get(username="ann"))
    photo = client.get(reverse("media", args=[image.file.name]))
    assert photo.status_code == 200 and b"".join(photo.streaming_content) == image.file.open("rb").read()

    # nothing that one machine needs was written into another's folders: everything shared is in the store
    web = [settings.MEDIA_ROOT, settings.FEATURES_DIR, settings.ARTIFACTS_DIR]
    assert files_in(*web) == []
    for host, folder in folders.items():
        assert files_in(folder / "media", folder / "features", folder / "artifacts") == [], host
    assert files_in(folders["predict"] / "cache" / "artifacts")  # each host reads through its own local copy


def test_the_store_stopped_during_a_job_fails_it_readably_and_it_succeeds_when_asked_again(two_hosts, ann,
                                                                                            s3_storage):
    dataset = make_dataset("colours", per_class=PER_CLASS)
    job = experiment_services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    wait_for(lambda: TrainingJob.objects.get(pk=job.pk).status != JobStatus.QUEUED, 60, message="the job to start")
    s3_storage.stop()
    stopped = time.monotonic()
    try:
        failed = finished(job, timeout=60)
        assert failed.status == JobStatus.FAILED
        assert time.monotonic() - stopped < 30
        assert "The file store did not answer" in failed.error_message and "again" in failed.error_message
    finally:
        s3_storage.start()
    again = finished(experiment_services.job_retry(job=failed, user=ann))
    assert again.status == JobStatus.SUCCEEDED, again.error_message
