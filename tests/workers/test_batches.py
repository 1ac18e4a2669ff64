"""Batch prediction end to end with a real `train` worker (issue "Serving"): a zip with class folders gives one CSV
row per file (a broken photo reported on its row), and the same scores as a re-evaluation on the same photos; a
batch on a dataset too; wrong and unsure photos join the prediction review."""

import csv
import io
import zipfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import COLOURS, FAST_JOB, add_image, make_dataset
from tests.images import jpeg_bytes
from tests.processes import wait_for
from tests.workers.test_jobs import finished
from webapp.accounts.services import membership_change
from webapp.datasets.models import Dataset
from webapp.experiments import services as experiment_services
from webapp.experiments.models import EvaluationStatus, JobStatus, Prediction
from webapp.serving import batch_services, services
from webapp.serving.models import BatchPrediction, BatchStatus

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]


def done(batch: BatchPrediction, timeout: float = 120) -> BatchPrediction:
    def check():
        batch.refresh_from_db()
        return batch.is_finished

    wait_for(check, timeout, interval=0.2, message=f"batch {batch.pk} to finish")
    return batch


def zipped(entries: dict) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return SimpleUploadedFile("field-photos.zip", buffer.getvalue(), content_type="application/zip")


def csv_rows(batch: BatchPrediction) -> list[dict]:
    return list(csv.DictReader(io.StringIO((settings.MEDIA_ROOT / batch.csv_file).read_text(encoding="utf-8-sig"))))


def same_scores(batch_report: dict, evaluation_report: dict) -> None:
    for key in ("class_names", "confusion", "confusion_normalized", "per_class", "accuracy", "macro_f1"):
        assert batch_report[key] == evaluation_report[key], key
    assert batch_report["loss"] == pytest.approx(evaluation_report["loss"], rel=1e-5)
    assert len(batch_report["misclassified"]) == len(evaluation_report["misclassified"])


def test_batch_on_a_zip_with_class_folders_matches_a_re_evaluation(warm_workers, ann):
    dataset = make_dataset("shapes", seed=5151)  # photos no other test extracts
    job = finished(experiment_services.job_create(dataset=dataset, user=ann, **FAST_JOB))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    membership_change(team=dataset.team, user=ann, role="admin")
    birds = services.named_model_create(team=dataset.team, name="birds", evaluation_dataset=dataset, user=ann)
    services.model_promote(named_model=birds, job=job, user=ann)
    birds.refresh_from_db()

    photos = {f"{label}/{i}.jpg": jpeg_bytes(COLOURS[label], 6100 + 10 * c + i, size=40)
              for c, label in enumerate(("red", "green", "blue")) for i in range(4)}
    entries = photos | {"green/broken.jpg": b"\xff\xd8\xff\xe0 not really a jpeg",
                        "no-folder.jpg": jpeg_bytes(COLOURS["red"], 6199)}
    batch = done(batch_services.batch_create(named_model=birds, user=ann, archive=zipped(entries)))
    assert batch.status == BatchStatus.SUCCEEDED, batch.error_message + warm_workers.train.log()

    rows = csv_rows(batch)
    assert sorted(row["file"] for row in rows) == sorted(entries)  # one row per file
    by_file = {row["file"]: row for row in rows}
    assert by_file["green/broken.jpg"]["decision"] == "error" and by_file["green/broken.jpg"]["error"]
    assert "tmp" not in by_file["green/broken.jpg"]["error"]  # the reason, not the worker's temporary path
    for name in photos:
        row = by_file[name]
        assert row["decision"] in ("red", "green", "blue", "unsure") and row["true_class"] == name.split("/")[0]
        assert {row["top1"], row["top2"], row["top3"]} == {"red", "green", "blue"}
        assert float(row["top1_probability"]) >= float(row["top2_probability"]) >= float(row["top3_probability"])
    assert by_file["no-folder.jpg"]["true_class"] == "" and by_file["no-folder.jpg"]["top1"]
    assert (batch.photo_count, batch.error_count) == (14, 1)
    assert not (settings.MEDIA_ROOT / batch.archive.name).exists()  # the upload goes once read

    # The same photos as a dataset, re-evaluated: the same report.
    same = Dataset.objects.create(name="same-photos", team=dataset.team)
    for name, data in photos.items():
        add_image(same, name.split("/")[0], data, "test", name.replace("/", "-"), size=40)
    evaluation = experiment_services.evaluation_create(job=job, dataset=same, user=ann)

    def evaluated():
        evaluation.refresh_from_db()
        return evaluation.is_finished

    wait_for(evaluated, 120, message="the re-evaluation")
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error_message
    assert sum(p["support"] for p in batch.report["per_class"]) == 12  # the labelled, readable photos
    same_scores(batch.report, evaluation.report)

    # Wrong and unsure photos are in the prediction review.
    review = Prediction.objects.filter(batch=batch)
    wrong = [row for row in rows if row["true_class"] and row["top1"] and row["top1"] != row["true_class"]]
    unsure = [row for row in rows if row["decision"] == "unsure"]
    assert review.count() == len({row["file"] for row in wrong + unsure})
    assert review.filter(marked_wrong=True).count() == len(wrong) == batch.wrong_count

    # A batch on that dataset: the same scores again (its features come from the cache).
    again = done(batch_services.batch_create(named_model=birds, user=ann, dataset=same))
    assert again.status == BatchStatus.SUCCEEDED, again.error_message
    assert len(csv_rows(again)) == 12
    same_scores(again.report, evaluation.report)

