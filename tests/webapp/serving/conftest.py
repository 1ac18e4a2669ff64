"""Named-model fixtures: the experiments tests' datasets and succeeded jobs, and a name for the lab. Teams and
users come from tests/conftest.py."""

import pytest

from tests.webapp.experiments.conftest import (  # noqa: F401 - fixtures
    dataset, finished_job, other_dataset, other_job, queued_job, succeed_job,
)
from webapp.accounts.services import membership_change
from webapp.serving import services


@pytest.fixture(autouse=True)
def admins_promote(lab, ann, other_team, bob):
    """Promoting is a power of the team's admins (and members given it): ann administers the lab, bob the
    other team."""
    membership_change(team=lab, user=ann, role="admin")
    membership_change(team=other_team, user=bob, role="admin")


@pytest.fixture
def birds(lab, dataset, ann):
    """The lab's model "birds", pinned to its dataset, with no version yet."""
    return services.named_model_create(team=lab, name="birds", evaluation_dataset=dataset, user=ann)
