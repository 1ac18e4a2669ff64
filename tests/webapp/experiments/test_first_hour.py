"""Issue 14 ("A new user's first hour"), the job pages' part: items 1 (backbones with weights), 3 (evaluation-only
datasets), 6 (stale and empty states) and 7 (stage and honest ETAs). Browser checks: tests/browser/test_first_hour.py."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.webapp.experiments.conftest import FAST_HEAD, succeed_job
from webapp.experiments import selectors, services
from webapp.experiments.models import TrainingJob
from webapp.workers_registry.models import Throughput
from webapp.workers_registry.services import throughput_record, worker_register

pytestmark = pytest.mark.django_db


# --- item 6: stale and empty states --------------------------------------------------------------------------------


def test_the_queued_banner_is_tagged_so_the_job_page_drops_it_once_the_job_moves_on(client_for, ann, dataset):
    client = client_for(ann)
    response = client.post(reverse("experiments:job_new"), {
        "dataset": dataset.pk, "recipe": "article", "backbone": "mobilenet_v2", "weights": "none", "pooling": "avg",
        "precision": "float32", "input_size": 32, "hidden": "16", "dropout": "0.1", "activation": "relu",
        "optimizer": "adam", "learning_rate": 0.001, "epochs": 2, "batch_size": 8,
    })
    assert response.status_code == 302, response.content.decode()[-2000:]
    page = client.get(response["Location"]).content.decode()
    assert 'class="message job-queued success"' in page


@pytest.mark.parametrize("end", ["failed", "cancelled"])
def test_a_job_that_ended_before_its_first_epoch_shows_no_empty_chart_boxes(client_for, ann, queued_job, end):
    if end == "failed":
        services.job_fail(job_id=queued_job.pk, message="weights missing")
    else:
        services.job_cancel(job=queued_job)
    page = client_for(ann).get(queued_job.get_absolute_url()).content.decode()
    assert 'id="accuracy-chart"' not in page and 'id="loss-chart"' not in page
    assert "The curves appear here after the first epoch" not in page
    assert f"No training curves: the job {end} before its first epoch." in page


def test_a_running_job_keeps_its_chart_boxes(client_for, ann, queued_job):
    page = client_for(ann).get(queued_job.get_absolute_url()).content.decode()
    assert 'id="accuracy-chart"' in page and "The curves appear here after the first epoch" in page


# --- item 1: the backbone whose weights are there ------------------------------------------------------------------

JOB = {"recipe": "article", "weights": "imagenet", "pooling": "avg", "precision": "float32", "input_size": 32,
       "hidden": "16", "dropout": "0.1", "activation": "relu", "optimizer": "adam", "learning_rate": 0.001,
       "epochs": 2, "batch_size": 8}


def selected_backbone(page: str) -> str:
    return re.search(r'<option value="(\w+)" selected>', page.split('name="backbone"')[1]).group(1)


def backbone_option(page: str, name: str) -> str:
    return html.unescape(re.search(rf'<option value="{name}"[^>]*>(.*?)</option>', page).group(1))


def test_the_form_preselects_a_backbone_the_workers_have_weights_for_and_marks_the_others(client_for, ann, dataset,
                                                                                           settings):
    worker_register(name="train@box", host="box", pid=1, queues=["train"], backbones_with_weights=["mobilenet_v2"])
    worker_register(name="predict@box", host="box", pid=2, queues=["predict"], backbones_with_weights=["resnet50"])
    page = client_for(ann).get(reverse("experiments:job_new")).content.decode()
    assert selected_backbone(page) == "mobilenet_v2"
    folder = settings.KERAS_HOME / "models"
    assert backbone_option(page, "vgg16").endswith(
        f"weights missing: put vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 in {folder}")
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in backbone_option(page, "resnet50")  # predict only
    assert "missing" not in backbone_option(page, "mobilenet_v2")
    assert "as the training workers report them" in page


def test_a_job_whose_weights_are_missing_is_refused_before_it_is_queued(client_for, ann, dataset):
    worker_register(name="train@box", host="box", pid=1, queues=["train"], backbones_with_weights=["mobilenet_v2"])
    client = client_for(ann)
    response = client.post(reverse("experiments:job_new"), JOB | {"dataset": dataset.pk, "backbone": "vgg16"})
    assert response.status_code == 200 and not TrainingJob.objects.exists()
    error = html.unescape(re.search(r'id="id_backbone_error">(.*?)</ul>', response.content.decode(), re.S).group(1))
    assert "ImageNet weights of vgg16 are missing" in error and "vgg16_weights_tf_dim_ordering" in error
    assert "(mobilenet_v2)" in error
    # random-init weights need no file; the backbone whose weights are there is accepted
    assert client.post(reverse("experiments:job_new"),
                       JOB | {"dataset": dataset.pk, "backbone": "vgg16", "weights": "none"}).status_code == 302
    assert client.post(reverse("experiments:job_new"),
                       JOB | {"dataset": dataset.pk, "backbone": "mobilenet_v2"}).status_code == 302
    assert TrainingJob.objects.count() == 2


def test_before_any_worker_reports_the_web_process_keras_cache_decides_and_the_form_says_so(client_for, ann, dataset,
                                                                                             settings, tmp_path):
    settings.KERAS_HOME = tmp_path / "keras"
    (settings.KERAS_HOME / "models").mkdir(parents=True)
    (settings.KERAS_HOME / "models" / "efficientnetb0_notop.h5").write_bytes(b"weights")
    client = client_for(ann)
    page = client.get(reverse("experiments:job_new")).content.decode()
    assert selected_backbone(page) == "efficientnet_b0"
    assert "No training worker has reported yet" in page and str(settings.KERAS_HOME / "models") in page
    response = client.post(reverse("experiments:job_new"), JOB | {"dataset": dataset.pk, "backbone": "resnet50"})
    assert response.status_code == 200 and not TrainingJob.objects.exists()
    assert "no training worker has reported yet" in html.unescape(response.content.decode())


# --- item 3: evaluation-only datasets and what a re-evaluation scores ----------------------------------------------


@pytest.fixture
def held_out(lab):
    return factories.make_dataset("held-out", team=lab, classes=("cat", "dog", "panda"), per_class=2, test=2,
                                  validation=0, size=24, seed=3)


def test_an_evaluation_only_dataset_cannot_train_and_the_form_says_why(client_for, ann, held_out):
    response = client_for(ann).post(reverse("experiments:job_new"),
                                    JOB | {"dataset": held_out.pk, "backbone": "vgg16", "weights": "none"})
    assert response.status_code == 200 and not TrainingJob.objects.exists()
    error = html.unescape(re.search(r'id="id_dataset_error">(.*?)</ul>', response.content.decode(), re.S).group(1))
    assert "held-out is evaluation-only" in error and "re-evaluate" in error


def test_an_evaluation_only_dataset_re_evaluates_a_job_on_every_photo(client_for, ann, dataset, held_out):
    job = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                                          pooling="avg", input_size=32, head_config=FAST_HEAD))
    client = client_for(ann)
    page = html.unescape(client.get(job.get_absolute_url()).content.decode())
    assert "its test split is used" not in page
    assert "Every photo of it is scored, whatever its split" in page
    response = client.post(reverse("experiments:job_reevaluate", args=[job.pk]), {"dataset": held_out.pk})
    assert response.status_code == 302
    evaluation = job.evaluations.get(is_job_test_split=False)
    assert len(selectors.evaluation_images(evaluation)) == 6 and evaluation.dataset == held_out


# --- item 2: what the downloaded model is and how to call it -------------------------------------------------------


def test_a_succeeded_job_says_what_the_download_contains_and_which_output_is_which_class(client_for, ann, finished_job):
    page = html.unescape(client_for(ann).get(finished_job.get_absolute_url()).content.decode())
    usage = page[page.index('id="model-usage"'):page.index("</details>", page.index('id="model-usage"'))]
    assert "<code>0: cat</code>, <code>1: dog</code>, <code>2: panda</code>" in usage
    assert "do not resize or normalise yourself" in usage and "uint8, any size" in usage
    assert f"menagerie-job-{finished_job.pk}-{finished_job.backbone}.keras" in usage  # the download's file name
    assert 'classes = ["cat", "dog", "panda"]' in usage


def test_the_readme_says_what_is_inside_the_export_and_how_to_call_it():
    from tests.shared import REPO_DIR

    readme = (REPO_DIR / "README.md").read_text()
    section = readme[readme.index("### The exported model"):]
    assert "uint8" in section and "labels.json" in section and "keras.saving.load_model" in section
    assert "Do not resize" in section


# --- item 7: the stage before the first progress, and first ETAs from measured speeds ------------------------------


def claimed(job, worker="train@box"):
    assert services.job_claim(job_id=job.pk, worker=worker)
    job.refresh_from_db()
    return job


def test_the_job_page_names_the_start_up_stage_until_the_first_progress(client_for, ann, queued_job):
    client = client_for(ann)
    status_url = reverse("experiments:job_status", args=[queued_job.pk])
    assert "Waiting for a training worker" in client.get(queued_job.get_absolute_url()).content.decode()
    claimed(queued_job)
    assert client.get(status_url).json()["stage_detail"] == "listing the photos"
    services.job_progress(job_id=queued_job.pk, done=0, total=15, stage_detail="loading the backbone")
    assert client.get(status_url).json()["stage_detail"] == "loading the backbone"
    page = html.unescape(client.get(queued_job.get_absolute_url()).content.decode())
    assert "Images through the backbone: loading the backbone…" in page
    services.job_progress(job_id=queued_job.pk, add=4)  # the first photos: the start-up is over
    assert client.get(status_url).json()["stage_detail"] == ""


def test_the_first_extraction_eta_comes_from_this_workers_earlier_speed(client_for, ann, queued_job):
    job = claimed(queued_job)
    services.job_progress(job_id=job.pk, done=10, total=100)
    TrainingJob.objects.filter(pk=job.pk).update(stage_started_at=timezone.now() - timedelta(seconds=60))
    status_url = reverse("experiments:job_status", args=[job.pk])
    stage_rate = client_for(ann).get(status_url).json()  # 10 photos in 60 s of which most were start-up
    assert stage_rate["eta_seconds"] == pytest.approx(540, rel=0.05)
    key = selectors.throughput_key(job.backbone, job.recipe)  # the recommended recipe's speeds: its own key
    throughput_record(worker="train@box", backbone=key, extract_images_per_second=10)
    throughput_record(worker="train@other", backbone=key, extract_images_per_second=1)  # another worker
    status = client_for(ann).get(status_url).json()
    assert status["eta_seconds"] == pytest.approx(9.0) and "earlier jobs" in status["eta_basis"]


def test_a_training_eta_uses_its_own_epochs_else_the_remembered_seconds_per_photo(ann, dataset):
    job = claimed(services.job_create(dataset=dataset, user=ann, recipe="article", backbone="mobilenet_v2",
                                      weights="none", pooling="avg", input_size=32, head_config=FAST_HEAD))
    assert services.job_advance(job_id=job.pk, to="training", progress_total=3)
    throughput_record(worker="train@box", backbone=job.backbone, train_seconds_per_image_epoch=0.5)
    job.refresh_from_db()
    train = job.job_images.filter(split="train").count()
    assert selectors.job_status(job)["eta_seconds"] == pytest.approx(3 * train * 0.5)
    services.job_epoch_record(job_id=job.pk, epoch=1, metrics={"loss": 1, "accuracy": 0.5, "seconds": 2.0})
    job.refresh_from_db()
    status = selectors.job_status(job)
    assert status["eta_seconds"] == pytest.approx(4.0) and status["eta_basis"] == "this job's epochs"


def test_speeds_are_remembered_per_worker_and_backbone_and_smoothed(db):
    throughput_record(worker="train@box", backbone="vgg16", extract_images_per_second=10)
    throughput_record(worker="train@box", backbone="vgg16", extract_images_per_second=20)
    throughput_record(worker="train@box", backbone="vgg16", train_seconds_per_image_epoch=0.01)
    row = Throughput.objects.get(worker="train@box", backbone="vgg16")
    assert row.extract_images_per_second == 15 and row.train_seconds_per_image_epoch == 0.01
    assert not Throughput.objects.filter(backbone="resnet50").exists()


def test_the_job_form_estimates_the_time_from_the_fastest_alive_workers_speed(client_for, ann, dataset):
    client = client_for(ann)
    query = {"dataset": dataset.pk, "recipe": "article", "backbone": "mobilenet_v2", "weights": "none",
             "precision": "float32", "epochs": 4}
    assert "No worker has measured its speed on mobilenet_v2 yet" in client.get(
        reverse("experiments:job_estimate"), query).json()["time"]["text"]
    worker_register(name="train@box", host="box", pid=1, queues=["train"], backbones_with_weights=["mobilenet_v2"])
    throughput_record(worker="train@box", backbone="mobilenet_v2", extract_images_per_second=5,
                      train_seconds_per_image_epoch=0.25)
    throughput_record(worker="train@gone", backbone="mobilenet_v2", extract_images_per_second=500)  # not alive
    time = client.get(reverse("experiments:job_estimate"), query).json()["time"]
    assert time["extract_seconds"] == pytest.approx(15 / 5) and time["worker"] == "train@box"
    assert time["train_seconds"] == pytest.approx(4 * 9 * 0.25)  # 4 epochs of the 9 training photos
    assert "About 3 s of extraction (5.0 photos/s) and 9 s of training (4 epochs)" in time["text"]
    throughput_record(worker="train@box", backbone=selectors.throughput_key("mobilenet_v2", "recommended"),
                      extract_images_per_second=5)  # the form's default recipe has its own speeds
    page = client.get(reverse("experiments:job_new") + f"?dataset={dataset.pk}").content.decode()
    assert 'id="time-estimate"' in page and "measured on train@box" in page


def test_retrying_a_job_whose_weights_are_still_missing_is_refused_with_the_reason(client_for, ann, dataset):
    worker_register(name="train@box", host="box", pid=1, queues=["train"], backbones_with_weights=["mobilenet_v2"])
    job = services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="imagenet", pooling="avg",
                              input_size=32, head_config=FAST_HEAD)
    services.job_fail(job_id=job.pk, message="weights missing")
    client = client_for(ann)
    response = client.post(reverse("experiments:job_retry", args=[job.pk]), follow=True)
    assert TrainingJob.objects.count() == 1
    assert "ImageNet weights of vgg16 are missing" in html.unescape(response.content.decode())
