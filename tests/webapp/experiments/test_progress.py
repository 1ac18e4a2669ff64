"""The job page's progress says what it counts: each stage, and each step of the recommended recipe (search
folds, then fine-tuning epochs), in its own units, with its speed and ETA restarting per step."""

import re

import pytest

from webapp.experiments import selectors, services
from webapp.experiments.models import JobStatus, TrainingJob


def _job(dataset, ann, recipe):
    job = services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none", pooling="avg",
                              input_size=32, recipe=recipe, head_config={"epochs": 3, "batch_size": 8})
    assert services.job_claim(job_id=job.pk, worker="test")
    return job


def _status(job):
    return selectors.job_status(TrainingJob.objects.get(pk=job.pk))


def test_the_recommended_recipe_shows_search_trials_then_fine_tuning_epochs(dataset, ann):
    job = _job(dataset, ann, "recommended")
    assert _status(job)["progress_label"] == "Images through the backbone"
    assert services.job_advance(job_id=job.pk, to=JobStatus.TRAINING, progress_step="")
    assert _status(job)["progress_label"].startswith("Preparing the head search")  # pooling, before trial 1

    services.job_progress(job_id=job.pk, done=0, total=5, step="search")
    search_started = TrainingJob.objects.get(pk=job.pk).stage_started_at
    services.job_progress(job_id=job.pk, done=3, total=5, step="search")
    status = _status(job)
    assert status["progress_label"].startswith("Step 1, head search: settings tried, each on every cross-validation")
    assert status["rate_unit"] == "trials/s"
    assert (status["progress"], status["percent"]) == ({"done": 3, "total": 5}, 60.0)
    assert TrainingJob.objects.get(pk=job.pk).stage_started_at == search_started  # same step: same clock

    services.job_progress(job_id=job.pk, done=0, total=12, step="fine-tune")
    assert TrainingJob.objects.get(pk=job.pk).stage_started_at > search_started  # a new step: speed, ETA anew
    services.job_epoch_record(job_id=job.pk, epoch=2, metrics={"loss": 0.5, "accuracy": 0.8})
    status = _status(job)
    assert status["progress_label"].startswith("Step 2, fine-tuning trial of the last block: epochs (at most")
    assert status["rate_unit"] == "epochs/s" and status["progress"] == {"done": 2, "total": 12}

    assert services.job_advance(job_id=job.pk, to=JobStatus.EVALUATING, progress_total=3)
    status = _status(job)
    assert (status["step"], status["progress_label"]) == ("", "Evaluating on the test split")


def test_the_article_recipe_counts_epochs_and_the_page_says_so(client_for, dataset, ann):
    job = _job(dataset, ann, "article")
    assert services.job_advance(job_id=job.pk, to=JobStatus.TRAINING, progress_total=3, progress_step="epochs")
    services.job_epoch_record(job_id=job.pk, epoch=1, metrics={"loss": 0.5, "accuracy": 0.8})
    status = _status(job)
    assert (status["progress_label"], status["rate_unit"], status["progress"]) == (
        "Epochs", "epochs/s", {"done": 1, "total": 3})
    page = client_for(ann).get(job.get_absolute_url()).content.decode()
    assert re.search(r'id="job-progress-label">Epochs</label>', page) and "ETA of this step" in page


def test_the_forms_estimate_counts_the_photos_the_chosen_recipe_would_extract(client_for, dataset, ann, settings):
    """Features cached for the article's maps do not make a recommended job free: it caches another stage."""
    import numpy as np
    from django.urls import reverse

    from classifier.features import FeatureCache, FeatureSpec
    from webapp.datasets.models import Image

    cache = FeatureCache(settings.FEATURES_DIR)
    article = FeatureSpec("mobilenet_v2", None, None, "float32", 32)
    for content_hash in Image.objects.filter(dataset=dataset).values_list("content_hash", flat=True)[:5]:
        cache.save(article, content_hash, np.zeros(article.shape, "float32"))
    query = {"dataset": dataset.pk, "backbone": "mobilenet_v2", "weights": "none", "precision": "float32",
             "input_size": 32}
    client = client_for(ann)
    url = reverse("experiments:job_estimate")
    assert client.get(url, query | {"recipe": "article"}).json()["uncached"] == 10
    assert client.get(url, query | {"recipe": "recommended"}).json()["uncached"] == 15


def test_the_time_estimate_uses_the_chosen_recipes_own_speeds(client_for, dataset, ann):
    """The article's and the recommended recipe's jobs cost differently (another extraction stage; epochs of a
    head vs a search and fine-tuning): each is estimated from its own measured speeds, never the other's."""
    from django.urls import reverse

    from webapp.workers_registry.services import throughput_record, worker_register

    worker_register(name="train@box", host="box", pid=1, queues=["train"], backbones_with_weights=["mobilenet_v2"])
    throughput_record(worker="train@box", backbone="mobilenet_v2", extract_images_per_second=5,
                      train_seconds_per_image_epoch=0.25)  # an article job's speeds
    query = {"dataset": dataset.pk, "backbone": "mobilenet_v2", "weights": "none", "precision": "float32"}
    client = client_for(ann)
    url = reverse("experiments:job_estimate")
    time = client.get(url, query | {"recipe": "recommended"}).json()["time"]
    assert time["extract_seconds"] is None and "yet with the recommended recipe" in time["text"]
    throughput_record(worker="train@box", backbone=selectors.throughput_key("mobilenet_v2", "recommended"),
                      extract_images_per_second=6, train_seconds_per_image_epoch=0.5)  # a recommended job's
    time = client.get(url, query | {"recipe": "recommended"}).json()["time"]
    assert time["extract_seconds"] == pytest.approx(15 / 6)
    assert time["train_seconds"] == pytest.approx(12 * 0.5)  # train + validation photos, one search
    assert "of training (head search)" in time["text"]
    article = client.get(url, query | {"recipe": "article", "epochs": 2}).json()["time"]
    assert article["extract_seconds"] == pytest.approx(15 / 5) and article["train_seconds"] == pytest.approx(
        2 * 9 * 0.25)
