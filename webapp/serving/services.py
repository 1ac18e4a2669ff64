"""Writes on named models: create a name, promote a succeeded job as its next version, roll back."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max

from webapp.experiments import services as experiment_services
from webapp.experiments.models import JobStatus, TrainingJob
from webapp.serving.models import ModelEvent, ModelEventAction, ModelVersion, NamedModel
from webapp.serving.permissions import can_promote


def named_model_create(*, team, name: str, evaluation_dataset, user, description: str = "") -> NamedModel:
    if not can_promote(user, team):
        raise PermissionDenied("You may not create models for this team.")
    if evaluation_dataset.team_id != team.pk:
        raise ValidationError("The evaluation set must be one of the team's datasets.")
    if NamedModel.objects.filter(team=team, name=name).exists():
        raise ValidationError(f"The team already has a model named {name}.")
    return NamedModel.objects.create(team=team, name=name, evaluation_dataset=evaluation_dataset,
                                     description=description, created_by=user)


@transaction.atomic
def model_promote(*, named_model: NamedModel, job: TrainingJob, user, note: str = "") -> ModelVersion:
    """The job becomes the name's next version, live at once; its evaluation on the pinned set is enqueued."""
    if not can_promote(user, named_model.team):
        raise PermissionDenied("You may not promote this team's models.")
    if job.status != JobStatus.SUCCEEDED or not job.artifact_dir:
        raise ValidationError("Only a job that succeeded can be promoted.")
    if job.dataset.team_id != named_model.team_id:
        raise ValidationError("Only a job trained on one of the team's datasets can be promoted.")
    named_model = NamedModel.objects.select_for_update().get(pk=named_model.pk)  # numbers stay unique
    evaluation = experiment_services.evaluation_create(job=job, dataset=named_model.evaluation_dataset, user=user)
    number = (named_model.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ModelVersion.objects.create(named_model=named_model, number=number, job=job,
                                          evaluation=evaluation, created_by=user)
    _make_live(named_model=named_model, version=version, action=ModelEventAction.PROMOTE, user=user, note=note)
    return version


@transaction.atomic
def model_rollback(*, named_model: NamedModel, version: ModelVersion, user, note: str = "") -> None:
    """An earlier (or any other) version of the name becomes live again."""
    if not can_promote(user, named_model.team):
        raise PermissionDenied("You may not roll back this team's models.")
    if version.named_model_id != named_model.pk:
        raise ValidationError("That version belongs to another model.")
    if named_model.live_version_id == version.pk:
        raise ValidationError(f"Version {version.number} is already live.")
    _make_live(named_model=named_model, version=version, action=ModelEventAction.ROLLBACK, user=user, note=note)


def _make_live(*, named_model, version, action, user, note) -> None:
    NamedModel.objects.filter(pk=named_model.pk).update(live_version=version)
    named_model.live_version = version
    ModelEvent.objects.create(named_model=named_model, version=version, action=action, note=note, user=user)
