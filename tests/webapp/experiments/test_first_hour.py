"""Issue 14 ("A new user's first hour"), the job pages' part: items 1 (backbones with weights), 3 (evaluation-only
datasets), 6 (stale and empty states) and 7 (stage and honest ETAs). Browser checks: tests/browser/test_first_hour.py."""

import html
import re

import pytest
from django.urls import reverse

from tests import factories
from tests.webapp.experiments.conftest import FAST_HEAD, succeed_job
from webapp.experiments import selectors, services
from webapp.experiments.models import TrainingJob
from webapp.workers_registry.services import worker_register

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
