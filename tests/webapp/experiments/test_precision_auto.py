"""Precision auto on the web app (issue 24 item 2): resolved once by job_create from what the alive train workers
measured (the registry), stored on the job with why, and read from the job by its extraction chunks, training,
evaluation and predictor (its planned feature specs); the job page and the registry show it."""

import pytest

from classifier.settings import JobSettings
from tests.factories import FAST_JOB, make_dataset
from webapp.experiments import selectors, services
from webapp.workers_registry import services as registry
from webapp.workers_registry.models import Worker
from workers.pipeline import measure_precision_once

pytestmark = pytest.mark.django_db

FAST = {"float32": 7.4, "bfloat16": 13.9}
SLOW = {"float32": 7.4, "bfloat16": 3.1}


def _worker(name: str, queues=("train",), speeds: dict | None = None) -> None:
    registry.worker_register(name=name, host="box", pid=100, queues=list(queues), backbones_with_weights=[])
    if speeds:
        registry.worker_precision_record(name=name, backbone="mobilenet_v2", speeds=speeds)


def test_auto_is_float32_until_a_worker_has_measured_the_backbone(ann):
    _worker("train@box")
    job = services.job_create(dataset=make_dataset("shapes", per_class=4), user=ann, **FAST_JOB)
    assert job.precision == "float32" and "no measurement" in job.precision_reason
    assert {spec.precision for spec in job.specs} == {"float32"}


def test_auto_is_bfloat16_where_the_train_workers_measured_it_faster_and_every_stage_reads_it(ann, client_for):
    _worker("train@box", speeds=FAST)
    _worker("predict@box", queues=("predict",), speeds=SLOW)  # does not extract a job's chunks
    dataset = make_dataset("shapes", per_class=4)
    assert selectors.job_estimate(dataset=dataset, **FAST_JOB)["feature_specs"][0]["precision"] == "bfloat16"
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    job.refresh_from_db()
    assert job.precision == "bfloat16"
    assert "1.88x faster" in job.precision_reason and "train@box" in job.precision_reason
    # chunks, training, evaluation and the saved run (the predictor's) read the job's specs and columns
    assert {spec.precision for spec in job.specs} == {"bfloat16"}
    assert JobSettings.from_job(recipe=job.recipe, backbone=job.backbone, weights=job.weights, pooling=job.pooling,
                                precision=job.precision, input_size=job.input_size).precision == "bfloat16"
    # a later measurement changes later jobs, never this one; a retry keeps its precision
    registry.worker_precision_record(name="train@box", backbone="mobilenet_v2", speeds=SLOW)
    job.refresh_from_db()
    assert {spec.precision for spec in job.specs} == {"bfloat16"}
    assert services.job_retry(job=job, user=ann).precision == "bfloat16"
    assert services.job_create(dataset=dataset, user=ann, **FAST_JOB).precision == "float32"
    page = client_for(ann).get(job.get_absolute_url()).content.decode()
    assert 'id="job-precision"' in page and "bfloat16" in page and "1.88x faster" in page


def test_one_slower_train_worker_keeps_float32_and_a_precision_asked_for_is_kept(ann):
    _worker("train@a", speeds=FAST)
    _worker("train@b", speeds=SLOW)
    dataset = make_dataset("shapes", per_class=4)
    assert services.job_create(dataset=dataset, user=ann, **FAST_JOB).precision == "float32"
    Worker.objects.filter(name="train@b").delete()
    asked = services.job_create(dataset=dataset, user=ann, precision="float32", **FAST_JOB)
    assert (asked.precision, asked.precision_reason) == ("float32", "asked for")
    assert services.job_create(dataset=dataset, user=ann, **FAST_JOB).precision == "bfloat16"


@pytest.mark.slow  # a real float32/bfloat16 measurement
def test_a_worker_measures_a_backbone_once_and_reports_it_to_the_registry(settings):
    _worker("train@box")
    settings.WORKER_MEASURE_PRECISION = True
    measure_precision_once("train@box", "mobilenet_v2")
    speeds = Worker.objects.get(name="train@box").precision_speeds["mobilenet_v2"]
    assert set(speeds) == {"float32", "bfloat16"} and all(v > 0 for v in speeds.values())
    registry.worker_precision_record(name="train@box", backbone="mobilenet_v2", speeds=FAST)
    measure_precision_once("train@box", "mobilenet_v2")  # measured already: kept
    assert Worker.objects.get(name="train@box").precision_speeds == {"mobilenet_v2": FAST}
