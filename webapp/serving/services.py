"""Writes on named models: create a name, promote a succeeded job as its next version, roll back; a job's export
bundle (asked for here, built by a `train` worker)."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from webapp.experiments import services as experiment_services
from webapp.experiments.models import JobStatus, TrainingJob
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.services import enqueue, work_claim, work_fail, work_succeed
from webapp.serving.models import (
    BundleStatus, ExportBundle, ModelEvent, ModelEventAction, ModelVersion, NamedModel,
)
from webapp.serving.permissions import can_promote


def named_model_create(*, team, name: str, evaluation_dataset, user, description: str = "") -> NamedModel:
    if not can_promote(user, team):
        raise PermissionDenied("You may not create models for this team.")
    if evaluation_dataset.team_id != team.pk:
        raise ValidationError("The evaluation set must be one of the team's datasets.")
    if NamedModel.objects.filter(team=team, name=name).exists():
        raise ValidationError(f"The team already has a model named {name}.")
    named_model = NamedModel(team=team, name=name, evaluation_dataset=evaluation_dataset, description=description,
                             created_by=user)
    # the model's limits (the description's) hold for every caller, not only the form
    named_model.clean_fields(exclude=["team", "evaluation_dataset", "live_version", "created_by"])
    named_model.save()
    return named_model


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
    event = ModelEvent(named_model=named_model, version=version, action=action, note=note, user=user)
    event.clean_fields(exclude=["named_model", "version", "user"])  # the note's limit, before anything changes
    NamedModel.objects.filter(pk=named_model.pk).update(live_version=version)
    named_model.live_version = version
    event.save()


# --- export bundles (classifier.bundle, built by workers.tasks.bundle_run on the `train` queue) ---------------------

BUNDLE_STALE_SECONDS = 3600  # unfinished after this (the message lost): asked for again. A gone worker's bundle is
# failed by the reaper within seconds (webapp.lifecycle.services.work_reap), and can then be asked for again.


def bundle_request(*, job: TrainingJob, user) -> ExportBundle:
    """The job's bundle: the built one, or a new (or failed, lost, or deleted) one sent to a `train` worker once
    this commits. Converting takes minutes, so the web never builds it; the page polls the row."""
    if job.status != JobStatus.SUCCEEDED or not job.artifact_dir:
        raise ValidationError("Only a job that succeeded can be exported.")
    bundle, created = ExportBundle.objects.get_or_create(job=job, defaults={"requested_by": user})
    stale = timezone.now() - timedelta(seconds=BUNDLE_STALE_SECONDS)
    again = Q(status=BundleStatus.FAILED) | Q(created_at__lt=stale, status__in=[BundleStatus.PENDING,
                                                                              BundleStatus.RUNNING])
    if bundle.status == BundleStatus.SUCCEEDED and not bundle.is_stored():  # the zip was deleted since
        again |= Q(status=BundleStatus.SUCCEEDED)
    resent = not created and ExportBundle.objects.filter(again, pk=bundle.pk).update(
        status=BundleStatus.PENDING, step="", error_message="", formats={}, size_bytes=None, finished_at=None,
        requested_by=user, created_at=timezone.now(), started_at=None, worker="", heartbeat_at=None)
    if created or resent:
        enqueue(KINDS["bundle"].task, bundle.pk)
        bundle.refresh_from_db()
    return bundle


def bundle_claim(*, bundle_id: int, worker: str = "") -> ExportBundle | None:
    """pending -> running; the row (with its job) when this call claimed it, else None (redelivered, or done)."""
    if not work_claim(kind="bundle", pk=bundle_id, worker=worker, step="starting"):
        return None
    return ExportBundle.objects.select_related("job", "job__dataset").get(pk=bundle_id)


def bundle_step(*, bundle_id: int, step: str) -> None:
    ExportBundle.objects.filter(pk=bundle_id, status=BundleStatus.RUNNING).update(step=step[:200])


def bundle_succeed(*, bundle_id: int, formats: dict, size_bytes: int) -> bool:
    return work_succeed(kind="bundle", pk=bundle_id, step="", formats=formats, size_bytes=size_bytes)


def bundle_fail(*, bundle_id: int, message: str) -> bool:
    return work_fail(kind="bundle", pk=bundle_id, message=message, step="")
