"""Fixtures for the web pages: two teams, their members, staff, a small dataset with real image files, and jobs
brought to each state through the same services the workers call."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

from tests import factories
from webapp.datasets.models import Dataset, Image, Split
from webapp.experiments import services
from webapp.experiments.models import Evaluation, EvaluationStatus, JobStatus

CLASSES = ("cat", "dog", "panda")
FAST_HEAD = {"epochs": 3, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}


def make_dataset(name: str, team: Group, *, per_class: int = 5, seed: int = 0) -> Dataset:
    """per_class grey photos of each of CLASSES: 1 test, 1 validation, the rest train."""
    return factories.make_dataset(name, team=team, classes=CLASSES, per_class=per_class, test=1, validation=1,
                                  size=24, seed=seed)


def report_for(dataset: Dataset) -> dict:
    """An evaluation report in classifier.evaluate's format, with two misclassified test images."""
    tests = list(Image.objects.filter(dataset=dataset, split=Split.TEST).select_related("label").order_by("id"))
    return {
        "accuracy": 1 / 3, "loss": 0.9, "macro_f1": 0.33, "class_names": list(CLASSES),
        "per_class": [{"label": name, "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1} for name in CLASSES],
        "confusion": [[1, 0, 0], [0, 0, 1], [1, 0, 0]],
        "confusion_normalized": [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
        "misclassified": [
            {"id": tests[1].pk, "true": "dog", "predicted": "panda", "confidence": 0.61},
            {"id": tests[2].pk, "true": "panda", "predicted": "cat", "confidence": 0.87},
        ],
    }


def succeed_job(job, *, epochs: int = 3, model_bytes: bytes = b"fake keras model"):
    """Walk a queued job through the workers' state transitions to `succeeded` with metrics and a test report."""
    assert services.job_claim(job_id=job.pk, worker="test")
    assert services.job_advance(job_id=job.pk, to=JobStatus.TRAINING, progress_total=epochs)
    for epoch in range(1, epochs + 1):
        services.job_epoch_record(job_id=job.pk, epoch=epoch, metrics={
            "loss": 1.0 / epoch, "accuracy": 0.4 + 0.1 * epoch, "val_loss": 1.1 / epoch + (0.3 if epoch == 3 else 0),
            "val_accuracy": 0.35 + 0.1 * epoch, "seconds": 0.5,
        })
    assert services.job_advance(job_id=job.pk, to=JobStatus.EVALUATING, progress_total=3)
    report = report_for(job.dataset)
    Evaluation.objects.create(
        job=job, dataset=job.dataset, status=EvaluationStatus.SUCCEEDED, is_job_test_split=True,
        accuracy=report["accuracy"], loss=report["loss"], macro_f1=report["macro_f1"], report=report,
        image_count=3, finished_at=timezone.now(),
    )
    run_dir = Path(settings.ARTIFACTS_DIR) / "jobs" / str(job.pk)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "model.keras").write_bytes(model_bytes)
    assert services.job_succeed(job_id=job.pk, best_epoch=2, artifact_dir=f"jobs/{job.pk}")
    job.refresh_from_db()
    return job


@pytest.fixture
def dataset(lab):
    return make_dataset("pets", lab)


@pytest.fixture
def other_dataset(other_team):
    return make_dataset("their-pets", other_team, seed=7)


@pytest.fixture
def queued_job(dataset, ann):
    return services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                               pooling="avg", input_size=32, head_config=FAST_HEAD)


@pytest.fixture
def finished_job(dataset, ann):
    job = services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                              pooling="avg", input_size=32, head_config=FAST_HEAD)
    return succeed_job(job)


@pytest.fixture
def other_job(other_dataset, bob):
    job = services.job_create(dataset=other_dataset, user=bob, backbone="mobilenet_v2", weights="none",
                              pooling="avg", input_size=32, head_config=FAST_HEAD)
    return succeed_job(job)
