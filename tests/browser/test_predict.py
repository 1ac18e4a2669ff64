"""The predict page never waits on a worker: it comes back with the photos pending and fills in each result when
the `predict` worker has it (a real worker, taking tasks only after the page came back)."""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.factories import COLOURS, FAST_JOB, make_dataset
from tests.images import jpeg_bytes
from tests.processes import wait_for
from webapp.experiments import services
from webapp.experiments.models import JobStatus, Prediction, PredictionStatus, TrainingJob

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "pw-browser-12345"


def test_the_predict_page_returns_before_the_worker_and_fills_in_the_results(page, shot, live_server,
                                                                            warm_workers, django_user_model):
    lab = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(lab)
    job = services.job_create(dataset=make_dataset("shapes", team=lab), user=ann, **FAST_JOB)
    wait_for(lambda: TrainingJob.objects.get(pk=job.pk).is_finished, 120, message="the job")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message

    page.goto("/accounts/login/?next=/predict/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label("Job")).to_have_value(str(job.pk))  # no named model: the latest job
    photos = [{"name": f"{name}.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(COLOURS[name], 900 + i)}
              for i, name in enumerate(("red", "blue"))]
    page.get_by_label("Photos").set_input_files(photos)
    with warm_workers.paused("predict"):
        page.get_by_role("button", name="Predict").click()

        # no predict worker takes them yet: the page is back, with both photos waiting
        expect(page.get_by_role("heading", name="red.jpg")).to_be_visible()
        expect(page.get_by_text("Predicting…")).to_have_count(2)
        assert set(Prediction.objects.values_list("status", flat=True)) == {PredictionStatus.PENDING}
        page.evaluate("window.__sameDocument = true")
        shot(page, "predict-pending")

    expect(page.locator(".decision")).to_have_count(2, timeout=90_000)
    expect(page.get_by_text("Predicting…")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True  # filled in by polling, not by a reload
    expect(page.locator(".prediction .chart .barlayer .point")).to_have_count(2 * len(COLOURS))
    for prediction in Prediction.objects.all():
        assert prediction.status == PredictionStatus.SUCCEEDED, prediction.error_message
        unsure = prediction.decision == "unsure"  # below the model's threshold: the label is a candidate only
        article = page.locator(f'[data-prediction-id="{prediction.pk}"]')
        expect(article.locator(".decision strong")).to_have_text("unsure" if unsure else prediction.label)
        expect(page.locator(f'[data-decision-of="{prediction.pk}"]')).to_have_text(
            f"unsure ({prediction.label}?)" if unsure else prediction.label)
    shot(page, "predict-done")

    # "Show heatmap" on a result the polling filled in: the worker computes the Grad-CAM overlay, the page polls
    # for it and swaps the photo for it; the toggle swaps back.
    first = Prediction.objects.order_by("pk").first()
    photo = page.locator(f"#prediction-photo-{first.pk}")
    original = photo.get_attribute("src")
    toggle = page.locator(f"#prediction-heatmap-{first.pk}")
    toggle.click()
    overlay = re.compile(rf"/media/heatmaps/job_{job.pk}/[\w-]{{16,}}\.png$")  # a random, unguessable name
    expect(photo).to_have_attribute("src", overlay, timeout=90_000)
    expect(toggle).to_have_attribute("aria-pressed", "true")
    overlay = page.request.get(photo.get_attribute("src"))  # with the page's session
    assert overlay.status == 200 and overlay.headers["content-type"] == "image/png"
    shot(page, "predict-heatmap")
    toggle.click()
    expect(photo).to_have_attribute("src", re.compile(re.escape(original) + "$"))
