"""Named-model fixtures: the experiments tests' teams, datasets and succeeded jobs, and a name for the lab."""

import pytest

from tests.webapp.experiments.conftest import (  # noqa: F401 - fixtures
    _media_in_tmp, ann, bob, client_for, dataset, finished_job, lab, other_dataset, other_job, other_team, staff,
    succeed_job,
)
from webapp.serving import services


@pytest.fixture
def birds(lab, dataset, ann):
    """The lab's model "birds", pinned to its dataset, with no version yet."""
    return services.named_model_create(team=lab, name="birds", evaluation_dataset=dataset, user=ann)
