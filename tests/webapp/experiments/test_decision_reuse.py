"""Issue 24 item 4: "Retrain on the current data" reuses its parent job's decision (views, C, fine-tuned) when the
labelled photos changed a little, and searches anew otherwise; the job page says whose decision it reused."""

import pytest

from tests.factories import make_dataset
from webapp.datasets import services as dataset_services
from webapp.experiments import services
from webapp.experiments.models import JobStatus
from workers.pipeline import _reused_decision

RECOMMENDED = {"recipe": "recommended", "backbone": "mobilenet_v2", "weights": "none", "input_size": 32}
CHOSEN = {"head": "linear", "C": 0.1, "views": "32 px", "view_count": 1, "fine_tuned": False}


@pytest.fixture
def parent(ann):
    """A succeeded recommended job on 3 x 12 photos (30 labelled), its test report holding its decision."""
    job = services.job_create(dataset=make_dataset("decisions", per_class=12), user=ann, **RECOMMENDED)
    assert services.job_claim(job_id=job.pk, worker="test")
    assert services.job_advance(job_id=job.pk, to=JobStatus.EVALUATING)
    services.evaluation_create_for_test_split(job=job, image_count=6, report={
        "accuracy": 1.0, "loss": 0.1, "macro_f1": 1.0, "search": {"trials": [], "chosen": CHOSEN}})
    assert services.job_succeed(job_id=job.pk)
    job.refresh_from_db()
    return job


def _reuse_on_retry(parent, ann, excluded: int):
    labelled = parent.dataset.images.filter(excluded=False).exclude(split="test").order_by("pk")
    dataset_services.images_exclude(images=labelled.filter(pk__in=list(labelled.values_list("pk", flat=True)
                                                                         [:excluded])))
    retry = services.job_retry(job=parent, user=ann)
    rows = {split: (None, None, list(retry.job_images.filter(split=split))) for split in ("train", "validation")}
    return _reused_decision(retry, rows, sorted({ji.label_name for ji in retry.job_images.all()}))


def test_a_retrain_after_one_photo_is_excluded_reuses_its_parents_decision(parent, ann):
    assert _reuse_on_retry(parent, ann, excluded=1) == (CHOSEN, f"job {parent.pk}")


def test_changes_are_counted_from_the_job_that_searched_not_the_last_retrain(parent, ann):
    assert _reuse_on_retry(parent, ann, excluded=1)[0] == CHOSEN
    retry = parent.retries.get()
    assert services.job_claim(job_id=retry.pk, worker="test")
    assert services.job_advance(job_id=retry.pk, to=JobStatus.EVALUATING)
    services.evaluation_create_for_test_split(job=retry, image_count=6, report={
        "accuracy": 1.0, "loss": 0.1, "macro_f1": 1.0,
        "search": {"trials": [], "chosen": CHOSEN | {"reused_from": f"job {parent.pk}"}}})
    assert services.job_succeed(job_id=retry.pk)
    retry.refresh_from_db()
    assert _reuse_on_retry(retry, ann, excluded=1) == (None, "")  # 2 of 30 since the parent's search


def test_a_retrain_after_a_bigger_change_searches_anew(parent, ann):
    assert _reuse_on_retry(parent, ann, excluded=3) == (None, "")  # 3 of 30: over 2 % (one photo is always allowed)


def test_the_job_page_says_whose_decision_was_reused(client_for, parent, ann):
    evaluation = parent.evaluations.get()
    evaluation.report["search"] = {"chosen": CHOSEN | {"reused_from": "job 41"}, "trials": [
        {"head": "linear", "views": "32 px", "C": 0.1, "cv_log_loss": 0.2, "cv_accuracy": 0.9, "seconds": 1.0,
         "chosen": True, "reused_from": "job 41"},
        {"head": "fine-tune last block", "views": "32 px", "C": 0.1, "seconds": 0.0, "chosen": False,
         "skipped": "cannot pay: the linear head gets 1 of 6 held-out photos wrong", "max_p_value": 0.05}]}
    evaluation.save()
    page = client_for(ann).get(parent.get_absolute_url()).content.decode()
    assert "Reused the decision of job 41" in page and "(reused from job 41)" in page
    assert "not run, cannot pay: the linear head gets 1 of 6" in page
