"""A team member's whole journey in a real browser, against the live server and a real Celery worker:
log in, import a dataset, start a job, watch it live, read the results, filter the gallery, predict, compare."""

import io
import json
import re
import zipfile

import pytest
import requests
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.images import jpeg_bytes
from tests.processes import wait_for
from webapp.experiments.models import TrainingJob

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "pw-browser-12345"
COLOURS = {"cat": (200, 60, 40), "dog": (40, 160, 60), "panda": (50, 70, 200)}
TRAIN_PER_CLASS, VAL_PER_CLASS, TEST_PER_CLASS = 24, 3, 5
EPOCHS = 25


def dataset_zip() -> bytes:
    """The article's train/validation/test layout. One test 'cat' is really dog-coloured (a labelling mistake),
    so the confusion matrix has an off-diagonal cell to click."""
    out = io.BytesIO()
    seed = 0
    with zipfile.ZipFile(out, "w") as zf:
        for split, count in (("train", TRAIN_PER_CLASS), ("validation", VAL_PER_CLASS), ("test", TEST_PER_CLASS)):
            for name, colour in COLOURS.items():
                for i in range(count):
                    seed += 1
                    real = COLOURS["dog"] if (split, name, i) == ("test", "cat", 0) else colour
                    zf.writestr(f"{split}/{name}/{name}-{i}.jpg", jpeg_bytes(real, seed, noise=35))
    return out.getvalue()


def click_cell(page, selector: str, row: int, col: int, n: int) -> None:
    """Click a heatmap cell (row 0 on top) in Plotly's plot area; the position is relative to the area, and
    Playwright waits until it stops moving (the gallery's smooth scroll may still run)."""
    area = page.locator(f"{selector} .nsewdrag").first
    box = area.bounding_box()
    area.click(position={"x": (col + 0.5) * box["width"] / n, "y": (row + 0.5) * box["height"] / n})


def test_team_member_trains_a_classifier_and_predicts(page, shot, live_server, warm_workers, django_user_model,
                                                     tmp_path):
    lab = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(lab)

    # log in (every page needs it)
    page.goto("/jobs/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/jobs/")
    shot(page, "01-login")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Training jobs")).to_be_visible()

    # import a small generated dataset through the datasets page
    archive = tmp_path / "pets.zip"
    archive.write_bytes(dataset_zip())
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    page.goto("/datasets/import/")
    page.get_by_label("Name").fill("pets")
    expect(page.get_by_text("Team: lab")).to_be_visible()  # her only team: chosen for her
    page.get_by_label("Archive").set_input_files(str(archive))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("pets").first).to_be_visible()
    dataset_id = wait_for(lambda: __import__("webapp.datasets.models", fromlist=["Dataset"]).Dataset.objects
                          .filter(name="pets").values_list("pk", flat=True).first(), 10, message="the dataset")
    shot(page, "02-dataset")

    # the new job form: the article's defaults, then a fast configuration
    page.goto(f"/jobs/new/?dataset={dataset_id}")
    expect(page.get_by_label("Hidden layer sizes")).to_have_value("100, 50")
    expect(page.locator("#estimate")).to_contain_text(f"{3 * (TRAIN_PER_CLASS + VAL_PER_CLASS + TEST_PER_CLASS)} of")
    shot(page, "03-new-job")
    # VGG16 (the article's backbone) with random weights on 32 px inputs: seconds on a CPU, and its features
    # still separate the colours (a random-init MobileNetV2's are all ~0 at this size)
    page.get_by_label("Recipe").select_option("article")  # its curves grow epoch by epoch
    page.get_by_label("Backbone").select_option("vgg16")  # the default is one whose ImageNet weights are there
    page.get_by_label("Weights").select_option("none")
    page.get_by_label("Pooling").select_option("avg")
    page.get_by_label("Input size (pixels)").fill("32")
    page.get_by_label("Hidden layer sizes").fill("64")
    page.get_by_label("Dropout rates").fill("0.1")
    page.get_by_label("Optimizer").select_option("adam")
    page.get_by_label("Learning rate").fill("0.001")
    page.get_by_label("Epochs").fill(str(EPOCHS))
    page.get_by_label("Batch size").fill("1")
    page.get_by_role("button", name="Start training").click()

    # the job page updates without reloading: status, progress, curves growing epoch by epoch
    expect(page.get_by_role("heading", name="Job #")).to_be_visible()
    job = TrainingJob.objects.get()
    page.evaluate("window.__sameDocument = true")
    page.wait_for_function(
        """([epochs]) => {
            const rows = document.querySelectorAll('#epochs-table tbody tr').length;
            const status = document.getElementById('job-status').textContent;
            return status === 'Training' && rows >= 2 && rows < epochs
                && document.querySelectorAll('#accuracy-chart .scatterlayer .trace').length >= 2;
        }""", arg=[EPOCHS], timeout=180_000,
    )
    assert page.evaluate("window.__sameDocument") is True  # updated by polling, not by a reload
    expect(page.locator("#job-progress-label")).to_have_text("Epochs")
    assert int(page.locator("#job-progress").get_attribute("value").split(".")[0]) < 100
    shot(page, "04-job-training")

    # when it finishes the page shows the results
    expect(page.locator("#report-table")).to_be_visible(timeout=180_000)
    job.refresh_from_db()
    assert job.status == "succeeded", warm_workers.train.log()[-3000:]
    expect(page.locator("#job-status")).to_have_text("Succeeded")
    for name in COLOURS:
        expect(page.locator("#report-table").get_by_role("rowheader", name=name)).to_be_visible()
    assert 0 <= float(page.locator("#test-accuracy").inner_text()) <= 1
    expect(page.locator("#accuracy-chart .scatterlayer .trace")).to_have_count(3)  # train, validation, best
    expect(page.locator("#confusion-chart .heatmaplayer")).to_have_count(1)
    shot(page, "05-job-results")

    # raw / normalised toggle
    page.get_by_role("button", name="Counts").click()
    expect(page.get_by_role("button", name="Counts")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="Normalised")).to_have_attribute("aria-pressed", "false")
    page.get_by_role("button", name="Normalised").click()

    # clicking a confusion matrix cell filters the misclassified gallery
    confusion = json.loads(page.locator("#confusion-data").text_content())
    names, raw = confusion["class_names"], confusion["confusion"]
    n = len(names)
    mistakes = [(r, c) for r in range(n) for c in range(n) if r != c and raw[r][c]]
    row, col = mistakes[0] if mistakes else (0, 0)
    total = page.locator("#gallery .gallery-item:not([data-correct])").count()
    assert total == sum(raw[r][c] for r in range(n) for c in range(n) if r != c)
    click_cell(page, "#confusion-chart", row, col, n)
    expect(page.locator("#gallery-reset")).to_be_visible()
    visible = page.locator("#gallery .gallery-item:not([hidden])")
    expect(visible).to_have_count(raw[row][col] if mistakes else 0)
    for item in visible.all():
        assert (item.get_attribute("data-true"), item.get_attribute("data-predicted")) == (names[row], names[col])
    if mistakes:
        expect(page.locator("#gallery-filter")).to_contain_text(f"of class {names[row]} predicted as {names[col]}")
        expect(visible.first.locator("img")).to_have_attribute(
            "alt", re.compile(f"a {names[row]} predicted as {names[col]}$"))
    shot(page, "06-job-gallery-filtered")
    # a window resize (a full-page screenshot is one) keeps every chart at its own height
    page.set_viewport_size({"width": 900, "height": 600})
    for chart in ("#accuracy-chart", "#loss-chart", "#confusion-chart"):
        expect(page.locator(f"{chart} .main-svg").first).to_have_attribute("height", re.compile(r"^(3\d\d|[4-9]\d\d)$"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#gallery-reset").click()
    expect(page.locator("#gallery .gallery-item:not([hidden])")).to_have_count(total)
    if mistakes:  # the same filter from the keyboard, through the matrix's table
        page.get_by_text("Confusion matrix as a table").click()
        button = page.locator(f'#confusion-table [data-filter-true="{names[row]}"][data-filter-predicted="{names[col]}"]')
        button.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#gallery .gallery-item:not([hidden])")).to_have_count(raw[row][col])
        page.locator("#gallery-reset").click()
    # the diagonal: the correctly classified photos of a class (issue "Curation" item 3)
    diagonal = max(range(n), key=lambda r: raw[r][r])
    click_cell(page, "#confusion-chart", diagonal, diagonal, n)
    expect(page.locator("#gallery .gallery-item:not([hidden])")).to_have_count(min(raw[diagonal][diagonal], 24))
    expect(page.locator("#gallery-filter")).to_contain_text(f"correctly classified images of class {names[diagonal]}")
    page.locator("#gallery-reset").click()

    # predict: the trained model is the default; drop a photo onto the picker, see probabilities per class
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Predict").click()
    expect(page.get_by_label("Job")).to_have_value(str(job.pk))  # no named model yet: the latest job
    page.wait_for_load_state()  # the page script is listening for drops
    photo = list(jpeg_bytes(COLOURS["panda"], 999, 64, noise=35))
    page.evaluate("""(bytes) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], 'my-panda.jpg', {type: 'image/jpeg'}));
        document.getElementById('dropzone').dispatchEvent(
            new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""", photo)
    expect(page.locator("#selected-count")).to_have_text("1 photo selected.")
    expect(page.locator("#selected-photos img")).to_have_attribute("alt", "Preview of my-panda.jpg")
    page.get_by_role("button", name="Predict").click()
    expect(page.get_by_role("heading", name="my-panda.jpg")).to_be_visible(timeout=60_000)
    expect(page.locator(".decision")).to_contain_text("Decision:")
    expect(page.locator(".prediction .chart .barlayer .point")).to_have_count(len(COLOURS))
    expect(page.locator("#recent-predictions")).to_contain_text("my-panda.jpg")
    shot(page, "07-predict")

    # the JSON API with a token made on the API tokens page
    page.goto("/api/token/")
    page.get_by_label("Name").fill("sorting script")
    page.get_by_role("button", name="Create a token").click()
    key = page.locator("#new-key").input_value()
    shot(page, "08-api-token")
    response = requests.post(f"{live_server.url}/api/predict/", headers={"Authorization": f"Token {key}"},
                             data={"job": job.pk}, files={"image": ("api.jpg", bytes(photo), "image/jpeg")},
                             timeout=60)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["job"] == job.pk and result["label"] in COLOURS
    assert sorted(p["label"] for p in result["probabilities"]) == sorted(COLOURS)
    assert sum(p["probability"] for p in result["probabilities"]) == pytest.approx(1, abs=1e-3)

    # retry the job (same settings; the features are cached) and compare the two runs
    page.goto(job.get_absolute_url())
    page.get_by_role("button", name="Retry with the same settings").click()
    expect(page.locator("#report-table")).to_be_visible(timeout=180_000)
    second = TrainingJob.objects.exclude(pk=job.pk).get()
    assert second.status == "succeeded" and second.images_extracted == 0
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    shot(page, "09-job-list")
    page.get_by_label(f"Compare job {job.pk}").check()
    page.get_by_label(f"Compare job {second.pk}").check()
    page.get_by_role("button", name="Compare selected").click()
    expect(page.get_by_role("heading", name="Compare 2 jobs")).to_be_visible()
    expect(page.locator("#compare-accuracy .scatterlayer .trace")).to_have_count(4)
    expect(page.locator("#compare-table")).to_contain_text("Test accuracy")
    shot(page, "10-compare")
