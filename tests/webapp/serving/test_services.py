"""Named models: promote, roll back, permissions, and the evaluation on the pinned set."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from webapp.experiments.models import Evaluation
from webapp.serving import selectors, services
from webapp.serving.models import ModelEventAction

pytestmark = pytest.mark.django_db


def test_promote_makes_the_next_version_live_and_evaluates_it_on_the_pinned_set(birds, finished_job, ann,
                                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.model_promote(named_model=birds, job=finished_job, user=ann, note="first cut")
        second = services.model_promote(named_model=birds, job=finished_job, user=ann, note="retrained")
    birds.refresh_from_db()
    assert (first.number, second.number) == (1, 2)
    assert birds.live_version == second
    assert second.evaluation.dataset == birds.evaluation_dataset and second.evaluation.job == finished_job
    assert Evaluation.objects.filter(pk__in=[first.evaluation_id, second.evaluation_id]).count() == 2
    assert len(callbacks) == 2  # one evaluation task each, sent on commit
    event = birds.events.first()
    assert (event.action, event.version, event.user, event.note) == (ModelEventAction.PROMOTE, second, ann,
                                                                     "retrained")


def test_roll_back_makes_an_earlier_version_live_and_records_why(birds, finished_job, ann):
    first = services.model_promote(named_model=birds, job=finished_job, user=ann)
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    services.model_rollback(named_model=birds, version=first, user=ann, note="v2 confuses crows")
    birds.refresh_from_db()
    assert birds.live_version == first
    event = birds.events.first()
    assert (event.action, event.version, event.note) == (ModelEventAction.ROLLBACK, first, "v2 confuses crows")
    with pytest.raises(ValidationError, match="already live"):
        services.model_rollback(named_model=birds, version=first, user=ann)


def test_another_team_may_not_promote_nor_use_its_jobs(birds, finished_job, other_job, ann, bob):
    with pytest.raises(PermissionDenied):
        services.model_promote(named_model=birds, job=finished_job, user=bob)
    with pytest.raises(ValidationError, match="team's datasets"):
        services.model_promote(named_model=birds, job=other_job, user=ann)
    assert not birds.versions.exists()


def test_a_queued_job_cannot_be_promoted(birds, dataset, ann):
    from tests.webapp.experiments.conftest import FAST_HEAD
    from webapp.experiments import services as experiment_services

    job = experiment_services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none",
                                         pooling="avg", input_size=32, head_config=FAST_HEAD)
    with pytest.raises(ValidationError, match="succeeded"):
        services.model_promote(named_model=birds, job=job, user=ann)


def test_names_are_per_team_and_visible_only_to_the_team(birds, lab, other_team, other_dataset, ann, bob):
    with pytest.raises(ValidationError, match="already has"):
        services.named_model_create(team=lab, name="birds", evaluation_dataset=birds.evaluation_dataset, user=ann)
    theirs = services.named_model_create(team=other_team, name="birds", evaluation_dataset=other_dataset, user=bob)
    assert list(selectors.named_models_for_user(ann)) == [birds]
    assert list(selectors.named_models_for_user(bob)) == [theirs]
    with pytest.raises(ValidationError, match="team's datasets"):
        services.named_model_create(team=lab, name="cats", evaluation_dataset=other_dataset, user=ann)


def test_live_jobs_are_what_predict_workers_warm(birds, finished_job, ann):
    assert selectors.live_jobs(limit=4) == []
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    assert selectors.live_jobs(limit=4) == [finished_job]
