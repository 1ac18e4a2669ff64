"""Reads on named models. Nothing here imports TensorFlow."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from webapp.accounts.permissions import sees_all_teams
from webapp.core.storage import local_files
from webapp.serving.models import ExportBundle, ModelVersion, NamedModel


def named_models_for_user(user) -> QuerySet[NamedModel]:
    """Names of the user's teams (superusers and "view all teams": every team's)."""
    if not user or not user.is_authenticated:
        return NamedModel.objects.none()
    queryset = NamedModel.objects.select_related("team", "live_version", "live_version__job")
    return queryset if sees_all_teams(user) else queryset.filter(team__in=user.groups.all())


class AmbiguousName(Exception):
    """The user's teams have several models of that name, and the request did not say which team."""


def named_model_for_user(user, name: str, *, team: str | None = None) -> NamedModel | None:
    """The user's model of that name (None: none). Names are unique per team only: when several of the user's
    teams have it, `team` (a team name) picks one, and without it AmbiguousName says which teams to choose from."""
    models = named_models_for_user(user).filter(name=name)
    if team:
        models = models.filter(team__name=team)
    found = list(models[:10])
    if len(found) > 1:
        teams = ", ".join(sorted(m.team.name for m in found))
        raise AmbiguousName(f"Several of your teams have a model named {name!r} ({teams}): say which with team=<team>.")
    return found[0] if found else None


def model_versions(named_model: NamedModel) -> QuerySet[ModelVersion]:
    """Its versions, newest first, each with the job and its evaluation on the pinned set."""
    return named_model.versions.select_related("job", "job__dataset", "evaluation", "created_by")


def unsure_rate_by_day(named_model: NamedModel, *, days: int = 90) -> list[dict]:
    """[{day, predictions, unsure, rate}] per day of the last `days`, oldest first: the recorded predictions
    (predict page, API) this name answered, and the share its threshold left "unsure". One query. Batches are
    left out: they record only their wrong and unsure rows (for review), which would inflate the rate."""
    from webapp.experiments.models import Prediction, PredictionStatus

    since = timezone.now() - timedelta(days=days)
    rows = (Prediction.objects.filter(model_name=named_model.name, team_id=named_model.team_id,
                                      status=PredictionStatus.SUCCEEDED, created_at__gte=since,
                                      batch__isnull=True)
            .annotate(day=TruncDate("created_at")).values("day")
            .annotate(predictions=Count("id"), unsure=Count("id", filter=Q(decision="unsure"))).order_by("day"))
    return [{"day": row["day"].isoformat(), "predictions": row["predictions"], "unsure": row["unsure"],
             "rate": round(row["unsure"] / row["predictions"], 4)} for row in rows]


def model_json(named_model: NamedModel) -> dict:
    live = named_model.live_version
    return {
        "name": named_model.name,
        "team": named_model.team.name,
        "live_version": live.number if live else None,
        "versions": sorted(named_model.versions.values_list("number", flat=True)),
        "evaluation_dataset": str(named_model.evaluation_dataset),
    }


def live_jobs(*, limit: int) -> list:
    """The jobs behind live versions, the most recently created versions first (what predict workers warm)."""
    live = NamedModel.objects.exclude(live_version=None).values_list("live_version", flat=True)
    versions = ModelVersion.objects.filter(pk__in=live).select_related("job").order_by("-created_at")[:limit]
    return [version.job for version in versions]


def model_version(named_model: NamedModel, number: int | None) -> ModelVersion | None:
    """That version of the name, or its live one when number is None (None: no such version, nothing live)."""
    if number is None:
        return named_model.live_version
    return named_model.versions.select_related("job", "named_model").filter(number=number).first()


def available_models_text(user) -> str:
    """For error messages: the names the user can predict with."""
    names = sorted({m.name for m in named_models_for_user(user).exclude(live_version=None)})
    if not names:
        return "You have no model with a live version yet: promote a job that succeeded on the Models page."
    return "Available models: " + ", ".join(names) + "."


def bundle_of(job) -> "ExportBundle | None":
    return ExportBundle.objects.filter(job=job).first()


def bundle_for_run(*, bundle_id: int) -> ExportBundle:
    return ExportBundle.objects.select_related("job", "job__dataset").get(pk=bundle_id)


def bundle_inputs(job) -> dict:
    """classifier.bundle.export_bundle's inputs from the job's snapshot: `photos`, the paths of its training photos
    still stored (int8 calibration; content-hash order spreads them over the classes), `held_out`, those of its
    validation and test photos (each format's decisions are checked against the app's on some), `counts`
    ({split: {label: count}}, the card), the `edited_threshold` its predictions use, the dataset's name."""
    from classifier.bundle import HELD_OUT_PHOTOS, REPRESENTATIVE_PHOTOS

    counts: dict = {}
    limits = {"train": REPRESENTATIVE_PHOTOS, "validation": HELD_OUT_PHOTOS, "test": HELD_OUT_PHOTOS}
    names: dict = {split: [] for split in limits}
    for item in job.job_images.select_related("image").order_by("content_hash"):
        split = counts.setdefault(item.split, {})
        split[item.label_name] = split.get(item.label_name, 0) + 1
        if item.image is not None and item.image.file and len(names[item.split]) < limits[item.split]:
            names[item.split].append(item.image.file.name)
    local = local_files([name for split in names.values() for name in split])  # fetched when in the store
    photos = {split: [str(local[name]) for name in split_names if local[name]] for split, split_names in names.items()}
    return {"photos": photos["train"], "counts": counts, "edited_threshold": job.unsure_threshold,
            "held_out": {split: photos[split] for split in ("validation", "test")},
            "dataset": {"name": job.dataset.name}}
