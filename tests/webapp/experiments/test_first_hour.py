"""Issue 14 ("A new user's first hour"), the job pages' part: items 1 (backbones with weights), 3 (evaluation-only
datasets), 6 (stale and empty states) and 7 (stage and honest ETAs). Browser checks: tests/browser/test_first_hour.py."""

import pytest
from django.urls import reverse

from tests.webapp.experiments.conftest import FAST_HEAD
from webapp.experiments import services

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
