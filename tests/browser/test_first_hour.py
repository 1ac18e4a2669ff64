"""Issue 14 ("A new user's first hour") in a real browser: the `hidden` attribute hides (item 5), the queued
banner goes once the job moves on and the start-up stage is named (items 6, 7), failed and cancelled jobs show no
empty chart boxes (item 6), the import page fits a 1,280 px window (item 8). Screenshots of the job page (queued,
running, succeeded, failed, cancelled) and the import page are saved as test artifacts."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.webapp.experiments.conftest import make_dataset, succeed_job
from webapp.experiments import services
from webapp.experiments.models import TrainingJob

pytestmark = pytest.mark.browser
PASSWORD = "pw-browser-12345"
HEAD = {"epochs": 3, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}


@pytest.fixture
def ann(transactional_db, django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    user = django_user_model.objects.create_user("ann", password=PASSWORD)
    user.groups.add(Group.objects.create(name="lab"))
    return user


@pytest.fixture
def dataset(ann):
    return make_dataset("pets", ann.groups.get(), per_class=3)


def new_job(dataset, ann):
    return services.job_create(dataset=dataset, user=ann, recipe="article", backbone="mobilenet_v2", weights="none",
                               pooling="avg", input_size=32, head_config=HEAD)


def log_in(page):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def fits_the_window(page) -> bool:
    # after a form post Playwright returns once the new page commits; its stylesheet may still be on the way
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_reset_button_stays_hidden_until_a_cell_is_chosen(page, ann, dataset, shot):
    job = succeed_job(new_job(dataset, ann))
    log_in(page)
    page.goto(job.get_absolute_url())
    reset = page.get_by_role("button", name="Show all misclassified images")
    expect(page.locator("#confusion-chart .heatmaplayer")).to_have_count(1)
    expect(reset).to_be_hidden()  # button{display:inline-block} once beat the hidden attribute
    expect(page.locator("#gallery .gallery-item[data-correct]").first).to_be_hidden()
    page.locator("#confusion-table").evaluate("table => table.closest('details').open = true")
    page.locator("#confusion-table button[data-filter-true]").first.click()
    expect(reset).to_be_visible()
    reset.click()
    expect(reset).to_be_hidden()
    shot(page, "first-hour-job-succeeded")


def test_the_queued_banner_goes_and_the_start_up_stage_is_named(page, ann, dataset, shot):
    log_in(page)
    page.goto(f"/jobs/new/?dataset={dataset.pk}")
    page.get_by_label("Recipe").select_option("article")
    page.get_by_label("Weights").select_option("none")  # no worker runs here: the job stays queued
    page.get_by_label("Input size (pixels)").fill("32")
    page.get_by_role("button", name="Start training").click()
    banner = page.locator(".message.job-queued")
    expect(banner).to_be_visible()
    expect(page.locator("#job-progress-label")).to_have_text("Waiting for a training worker")
    shot(page, "first-hour-job-queued")
    job = TrainingJob.objects.get()
    assert services.job_claim(job_id=job.pk, worker="train@box")
    services.job_progress(job_id=job.pk, done=0, total=9, stage_detail="loading the backbone")
    expect(banner).to_be_hidden()
    expect(page.locator("#job-progress-label")).to_have_text("Images through the backbone: loading the backbone…")
    expect(page.locator("#curves-charts")).to_be_hidden()  # no empty boxes before the first epoch
    shot(page, "first-hour-job-running")
    services.job_progress(job_id=job.pk, add=3)
    expect(page.locator("#job-progress-label")).to_have_text("Images through the backbone")
    assert services.job_advance(job_id=job.pk, to="training", progress_total=3)
    services.job_epoch_record(job_id=job.pk, epoch=1, metrics={"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1,
                                                               "val_accuracy": 0.4, "seconds": 0.5})
    expect(page.locator("#curves-charts")).to_be_visible()  # the charts appear with the first epoch
    expect(page.locator("#accuracy-chart .scatterlayer .trace")).not_to_have_count(0)


@pytest.mark.parametrize("end", ["failed", "cancelled"])
def test_a_job_that_ended_early_shows_no_empty_chart_boxes(page, ann, dataset, shot, end):
    job = new_job(dataset, ann)
    if end == "failed":
        services.job_claim(job_id=job.pk, worker="train@box")
        services.job_fail(job_id=job.pk, message="ImageNet weights for vgg16 are not cached.")
    else:
        services.job_cancel(job=job)
    log_in(page)
    page.goto(job.get_absolute_url())
    expect(page.locator("#curves-none")).to_be_visible()
    expect(page.locator(".chart")).to_have_count(0)
    expect(page.get_by_text("The curves appear here after the first epoch")).to_have_count(0)
    shot(page, f"first-hour-job-{end}")


def test_the_import_page_fits_a_1280_px_window(page, ann, shot, tmp_path):
    log_in(page)
    page.goto("/datasets/import/")
    assert page.viewport_size["width"] == 1280
    assert fits_the_window(page), page.evaluate("document.documentElement.scrollWidth")
    expect(page.get_by_text("Team: lab")).to_be_visible()  # her only team, chosen for her
    shot(page, "first-hour-import")
    # a refused archive lists its entries: long names wrap too
    import zipfile

    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x" * 200 + "/" + "y" * 200 + "/deep/photo.jpg", b"not a photo")
    page.get_by_label("Name").fill("bad")
    page.get_by_label("Archive").set_input_files(str(archive))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("The archive was refused")).to_be_visible()
    assert fits_the_window(page), page.evaluate("document.documentElement.scrollWidth")
    shot(page, "first-hour-import-refused")


@pytest.mark.slow
def test_the_default_job_succeeds_with_only_mobilenet_v2_weights(page, shot, live_server, warm_workers,
                                                                 django_user_model, tmp_path):
    """The first hour on a fresh data folder whose Keras cache holds only MobileNetV2's ImageNet weights
    (tests/environment.py seeds it so): import in the browser, start a job without touching the backbone field,
    and it succeeds (the article's VGG16 was preselected and failed seconds after the submit)."""
    import io
    import zipfile

    from tests.images import jpeg_bytes
    from tests.processes import wait_for
    from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_path
    from webapp.datasets.models import Dataset
    from webapp.workers_registry.selectors import backbones_with_weights

    shared_path("weights", MOBILENET_V2_LEGACY_FILE)
    django_user_model.objects.create_user("ann", password=PASSWORD).groups.add(Group.objects.create(name="lab"))
    wait_for(lambda: backbones_with_weights() == {"mobilenet_v2"}, 60, message="the worker's report")
    archive = tmp_path / "colours.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for c, (name, colour) in enumerate({"red": (220, 30, 30), "green": (30, 200, 40),
                                            "blue": (40, 50, 220)}.items()):
            for i in range(10):
                zf.writestr(f"colours/{name}/{i}.jpg", jpeg_bytes(colour, 5000 + 100 * c + i, 64))

    log_in(page)
    page.goto("/datasets/import/")
    page.get_by_label("Name").fill("colours")
    page.get_by_label("Archive").set_input_files(str(archive))
    page.get_by_role("button", name="Import").click()
    page.get_by_role("link", name="Train a classifier on it").click()  # the dataset's page
    expect(page.get_by_label("Backbone")).to_have_value("mobilenet_v2")
    expect(page.locator('#id_backbone option[value="vgg16"]')).to_contain_text("weights missing: put "
                                                                               "vgg16_weights_tf_dim_ordering")
    expect(page.get_by_label("Dataset")).to_have_value(str(Dataset.objects.get(name="colours").pk))
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#job-status")).to_have_text("Succeeded", timeout=300_000)
    job = TrainingJob.objects.get()
    assert (job.backbone, job.weights, job.status) == ("mobilenet_v2", "imagenet", "succeeded"), warm_workers.train.log()[-3000:]
    expect(page.locator("#confusion-chart .heatmaplayer")).to_have_count(1)  # the results page, drawn
    shot(page, "first-hour-default-job-succeeded")
