"""The session's warm workers (tests/warm_workers.py) refuse what would make a test read another test's results."""

import pytest

from tests.factories import make_dataset
from tests.warm_workers import WarmWorkers
from webapp.experiments.models import TrainingJob


def test_a_job_id_an_earlier_test_used_is_refused(ann, tmp_path):
    """The warm `predict` worker keeps predictors by job id: a reused id would be answered with another model."""
    job = TrainingJob.objects.create(dataset=make_dataset("shapes", per_class=1), backbone="vgg16", created_by=ann)
    pool = WarmWorkers(tmp_path)
    pool.last_job_id = job.pk - 1
    pool._check_job_ids()  # a new id: fine, and remembered
    assert pool.last_job_id == job.pk
    with pytest.raises(AssertionError, match=f"job ids \\[{job.pk}\\] were used by an earlier test"):
        pool._check_job_ids()
