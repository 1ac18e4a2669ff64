"""Class names are user-given: every chart shows them as text, never as Plotly's HTML (links, bold)."""

import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from tests.images import jpeg_bytes
from webapp.datasets.models import Dataset, Image, Label, Split
from webapp.experiments import services
from webapp.experiments.models import Evaluation, EvaluationStatus, JobStatus, Prediction, PredictionStatus

pytestmark = pytest.mark.browser

PASSWORD = "pw-browser-12345"
LINK = '<a href="http://x.example/">link</a>'
BOLD = "<b>bold</b>"
CLASSES = sorted([LINK, BOLD, "R&amp;D"])  # the last one: an entity must not turn into "R&D"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    """Photos and models of this test in its own folder (the live server runs in this process)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"


def _dataset(team) -> Dataset:
    dataset = Dataset.objects.create(name="<i>pets</i>", team=team)
    for c, name in enumerate(CLASSES):
        label = Label.objects.create(dataset=dataset, name=name)
        for i, split in enumerate([Split.TRAIN, Split.TRAIN, Split.VALIDATION, Split.TEST]):
            data = jpeg_bytes((40 * c, 90, 200), c * 10 + i, size=24)
            image = Image(dataset=dataset, label=label, split=split, content_hash=hashlib.sha256(data).hexdigest(),
                          width=24, height=24, original_name=f"{c}-{i}.jpg")
            image.file.save(f"{c}-{i}.jpg", ContentFile(data), save=False)
            image.save()
    return dataset


def _trained_job(dataset, user):
    """A job walked to `succeeded` through the workers' services, with a test report naming the classes."""
    job = services.job_create(dataset=dataset, user=user, backbone="mobilenet_v2", weights="none", pooling="avg",
                              input_size=32, head_config={"epochs": 2})
    assert services.job_claim(job_id=job.pk, worker="test")
    assert services.job_advance(job_id=job.pk, to=JobStatus.TRAINING, progress_total=2)
    for epoch in (1, 2):
        services.job_epoch_record(job_id=job.pk, epoch=epoch, metrics={
            "loss": 1 / epoch, "accuracy": 0.5, "val_loss": 1 / epoch, "val_accuracy": 0.5, "seconds": 1})
    assert services.job_advance(job_id=job.pk, to=JobStatus.EVALUATING, progress_total=3)
    report = {
        "accuracy": 2 / 3, "loss": 0.5, "macro_f1": 0.6, "class_names": CLASSES,
        "per_class": [{"label": n, "precision": 1, "recall": 1, "f1": 1, "support": 1} for n in CLASSES],
        "confusion": [[1, 0, 0], [0, 1, 0], [1, 0, 0]],
        "confusion_normalized": [[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0]],
        "misclassified": [],
    }
    Evaluation.objects.create(job=job, dataset=dataset, status=EvaluationStatus.SUCCEEDED, is_job_test_split=True,
                              accuracy=2 / 3, loss=0.5, macro_f1=0.6, report=report, image_count=3,
                              finished_at=timezone.now())
    run_dir = Path(settings.ARTIFACTS_DIR) / "jobs" / str(job.pk)
    run_dir.mkdir(parents=True, exist_ok=True)
    assert services.job_succeed(job_id=job.pk, best_epoch=2, artifact_dir=f"jobs/{job.pk}")
    return job


def _prediction(job, user) -> Prediction:
    data = jpeg_bytes((10, 20, 30), 5, size=24)
    prediction = Prediction(job=job, content_hash=hashlib.sha256(data).hexdigest(), original_name="q.jpg",
                            created_by=user, status=PredictionStatus.SUCCEEDED, label=LINK, confidence=0.6,
                            probabilities=[{"label": LINK, "probability": 0.6}, {"label": BOLD, "probability": 0.3},
                                           {"label": "R&amp;D", "probability": 0.1}])
    prediction.file.save("q.jpg", ContentFile(data))
    return prediction


def _assert_names_literal(page, chart: str, axis: str):
    """The chart drew its tick labels as the literal names, with no link and no bold text inside its SVG."""
    ticks = page.locator(f"{chart} .{axis}tick text")
    expect(ticks).to_have_count(len(CLASSES))
    assert sorted(ticks.all_text_contents()) == CLASSES
    assert page.locator(f"{chart} svg a").count() == 0
    assert page.locator(f"{chart} svg [style*='font-weight: bold'], {chart} svg [style*='font-weight:bold']"
                        ).count() == 0


def test_every_chart_shows_class_names_as_text(page, live_server, django_user_model):
    team = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(team)
    job = _trained_job(_dataset(team), ann)
    prediction = _prediction(job, ann)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"/jobs/{job.pk}/")
    for axis in ("x", "y"):
        _assert_names_literal(page, "#confusion-chart", axis)
    plot_area = page.locator("#confusion-chart .nsewdrag").first
    box = plot_area.bounding_box()
    plot_area.hover(position={"x": box["width"] / 6, "y": box["height"] / 6})  # the top-left cell
    hover = page.locator("#confusion-chart .hoverlayer")
    expect(hover).to_contain_text(f"true {LINK}, predicted {LINK}")
    assert page.locator("#confusion-chart svg a").count() == 0
    page.get_by_role("button", name="Counts").click()
    _assert_names_literal(page, "#confusion-chart", "y")

    page.goto(f"/predict/?job={job.pk}&shown={prediction.pk}")
    _assert_names_literal(page, f"#probabilities-{prediction.pk}", "y")
