"""Issue 27 ("A new user's first hour, round 2"), what the experiment pages say: the job form shows the head
settings only for the recipe that uses them (item 5), the download's resize is the job's planned size (item 6),
an "unsure" answer shows why (item 8), a discarded fine-tuning trial is folded away (item 9, in test_views).
Browser checks: tests/browser/test_first_hour.py."""

import html
import re

import pytest
from django.urls import reverse

from classifier.settings import JobSettings
from tests.webapp.experiments.conftest import succeed_job
from webapp.experiments import services
from webapp.experiments.models import Evaluation, Prediction, TrainingJob
from webapp.serving import presenters

pytestmark = pytest.mark.django_db


# --- item 5: head settings for the recipe that uses them -------------------------------------------------------------


def _hidden(page: str, marker: str) -> bool:
    tag = re.search(rf"<[^>]*{marker}[^>]*>", page).group(0)
    return " hidden" in tag


def test_the_job_form_hides_the_head_settings_unless_the_article_recipe_is_chosen(client_for, ann, dataset):
    client = client_for(ann)
    page = html.unescape(client.get(reverse("experiments:job_new")).content.decode())
    assert _hidden(page, 'id="head-settings"') and "The head settings default to the article's recipe" not in page
    assert re.search(r'<div data-fixed-head-only hidden><div class="field[^"]*"><label for="id_pooling"', page)
    assert "its settings show when you choose it" in page
    refused = client.post(reverse("experiments:job_new"), {"dataset": dataset.pk, "recipe": "article",
                                                           "hidden": "lots"}).content.decode()
    assert not _hidden(refused, 'id="head-settings"')  # the article's settings, with their errors, in sight


def test_a_recommended_job_ignores_the_head_settings_it_does_not_use(client_for, ann, dataset):
    response = client_for(ann).post(reverse("experiments:job_new"), {
        "dataset": dataset.pk, "recipe": "recommended", "backbone": "mobilenet_v2", "weights": "none",
        "precision": "float32", "pooling": "avg", "hidden": "lots", "dropout": "0.5, 0.3, 0.1", "epochs": "0"})
    assert response.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', response.content.decode())
    job = TrainingJob.objects.get()
    assert (job.recipe, job.pooling) == ("recommended", "")
    assert job.head_config == JobSettings().head_config().to_dict()  # the defaults, not what the hidden fields held


def test_the_estimate_speaks_of_the_recipe_chosen(client_for, ann, dataset):
    client = client_for(ann)
    probe = {"dataset": dataset.pk, "backbone": "mobilenet_v2", "weights": "none", "precision": "float32"}
    recommended = client.get(reverse("experiments:job_estimate"), probe | {"recipe": "recommended"}).json()
    article = client.get(reverse("experiments:job_estimate"), probe | {"recipe": "article"}).json()
    assert "parameters in the head" not in recommended["memory"]["text"]
    assert "values per photo at the last block's input" in recommended["memory"]["text"]
    assert f'{article["memory"]["parameters"]:,} parameters in the head' in article["memory"]["text"]


# --- item 6: the download's resize is the job's -----------------------------------------------------------------------


def _usage(client, job) -> str:
    page = html.unescape(client.get(job.get_absolute_url()).content.decode())
    return re.search(r'<span id="model-input-size">(.*?)</span>', page).group(1)


@pytest.mark.parametrize("views, chosen, shown", [
    ([256], None, "256 px"),
    ([224, 128], "224 px", "224 px"),
    ([224, 128], "224+128 px", "224 px and 128 px (two views of each photo)"),
])
def test_the_download_says_the_size_the_job_ran_at(client_for, ann, dataset, views, chosen, shown):
    job = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                                          recipe="recommended", head_config={}))
    TrainingJob.objects.filter(pk=job.pk).update(feature_specs=[spec | {"input_size": size} for size in views
                                                                for spec in job.feature_specs[:1]])
    if chosen:
        evaluation = Evaluation.objects.get(job=job)
        evaluation.report |= {"search": {"trials": [], "chosen": {"head": "linear", "C": 0.1, "views": chosen,
                                                                  "fine_tuned": False}}}
        evaluation.save()
    assert _usage(client_for(ann), job) == shown


def test_the_download_of_an_article_job_says_its_input_size(client_for, ann, finished_job):
    assert _usage(client_for(ann), finished_job) == "32 px"  # no view sizes recorded: the job's input size


# --- item 8: why an answer is unsure ----------------------------------------------------------------------------------


def test_an_unsure_reason_has_enough_digits_to_show_the_gap():
    assert presenters.unsure_reason(0.99791, 0.99843) == "0.9979 < threshold 0.9984"
    assert presenters.unsure_reason(0.41, 0.62) == "0.410 < threshold 0.620"
    assert presenters.unsure_reason(0.5, None) == ""


def test_the_predict_page_and_its_polling_show_why_an_answer_is_unsure(client_for, ann, finished_job):
    evaluation = Evaluation.objects.get(job=finished_job)
    evaluation.report |= {"calibration": {"temperature": 1.2, "threshold": 0.99843}}
    evaluation.save()
    prediction = Prediction.objects.create(
        job=finished_job, team=finished_job.dataset.team, content_hash="x", status="succeeded", label="panda",
        confidence=0.99791, decision="unsure", original_name="ketch.jpg",
        probabilities=[{"label": "panda", "probability": 0.99791}, {"label": "cat", "probability": 0.002}])
    client = client_for(ann)
    page = client.get(f"{reverse('experiments:predict')}?shown={prediction.pk}").content.decode()
    assert "below its threshold (<span class=\"unsure-reason\">0.9979 &lt; threshold 0.9984</span>)" in page
    polled = client.get(reverse("experiments:prediction_status"), {"ids": prediction.pk}).json()
    assert polled["predictions"][0]["unsure_reason"] == "0.9979 < threshold 0.9984"
