"""Named-model fixtures: the experiments tests' datasets and succeeded jobs, and a name for the lab. Teams and
users come from tests/conftest.py."""

import pytest

from tests.webapp.experiments.conftest import (  # noqa: F401 - fixtures
    dataset, finished_job, other_dataset, other_job, succeed_job,
)
from webapp.serving import services


@pytest.fixture
def birds(lab, dataset, ann):
    """The lab's model "birds", pinned to its dataset, with no version yet."""
    return services.named_model_create(team=lab, name="birds", evaluation_dataset=dataset, user=ann)
