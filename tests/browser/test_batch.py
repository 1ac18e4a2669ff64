"""A batch prediction from the model page: the page comes back at once with the batch queued, follows its progress
while a real `train` worker runs it, then shows the CSV link and the evaluation's confusion matrix."""

import io
import zipfile

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.factories import COLOURS, FAST_JOB, make_dataset
from tests.images import jpeg_bytes
from tests.processes import wait_for
from webapp.accounts.services import membership_change
from webapp.experiments import services as experiment_services
from webapp.experiments.models import Evaluation, JobStatus, TrainingJob
from webapp.serving import services
from webapp.serving.models import BatchPrediction

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "pw-browser-12345"


def test_a_batch_from_the_model_page_shows_its_progress_then_the_csv_and_the_evaluation(
        page, shot, live_server, warm_workers, django_user_model):
    lab = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(lab)
    membership_change(team=lab, user=ann, role="admin")
    dataset = make_dataset("shapes", team=lab, seed=5353)
    job = experiment_services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    wait_for(lambda: TrainingJob.objects.get(pk=job.pk).is_finished, 120, message="the job")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    birds = services.named_model_create(team=lab, name="birds", evaluation_dataset=dataset, user=ann)
    version = services.model_promote(named_model=birds, job=job, user=ann)
    wait_for(lambda: Evaluation.objects.get(pk=version.evaluation_id).is_finished, 120,
             message="the pinned evaluation")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for c, label in enumerate(COLOURS):
            for i in range(3):
                zf.writestr(f"{label}/{i}.jpg", jpeg_bytes(COLOURS[label], 6400 + 10 * c + i))
    page.goto("/accounts/login/?next=/models/birds/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Zip of photos").set_input_files(
        {"name": "field.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()})
    with warm_workers.paused("train"):  # the batch waits in the queue until the worker takes tasks again
        page.get_by_role("button", name="Start the batch").click()

        expect(page.locator("#batch-status")).to_have_text("Queued")
        expect(page.locator("#batch-progress-text")).to_have_text("0 / 9 (0%)")
        assert BatchPrediction.objects.get().status == "queued"
        shot(page, "batch-queued")

    expect(page.locator("#batch-csv")).to_be_visible(timeout=90_000)  # polled, then reloaded once finished
    expect(page.locator("#batch-status")).to_have_text("Succeeded")
    expect(page.locator("#batch-summary")).to_contain_text("9 files")
    expect(page.locator("#report-table tbody tr")).to_have_count(3)
    expect(page.locator("#confusion-chart .heatmaplayer")).to_have_count(1)  # drawn by Plotly from the report
    page.get_by_role("button", name="Counts").click()
    expect(page.get_by_role("button", name="Counts")).to_have_attribute("aria-pressed", "true")
    with page.expect_download() as download:
        page.locator("#batch-csv").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("\ufeff")  # a BOM, so that spreadsheets read the class names as UTF-8
    assert text.splitlines()[0].startswith("\ufefffile,decision,confidence,top1") and len(text.splitlines()) == 10
    shot(page, "batch-done")
