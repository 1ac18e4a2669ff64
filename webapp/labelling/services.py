"""Writes of the Label page (`<entity>_<action>`, keyword-only): labels given by hand or by accepting the
suggester's proposals, undone, photos set aside; and the suggester's runs (the lifecycle kind "suggestion").

Every label goes through webapp.datasets.services.images_label: a conditional UPDATE (only photos still
unlabelled), recorded with who, when, the class chosen and the class the suggester proposed. Every change asks
for a new run (suggestion_request), which is debounced: a dataset has at most one queued run, and it reads the
labels when it starts, so the suggestions follow the labels while people work."""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from webapp.datasets import services as dataset_services
from webapp.datasets.models import Dataset, Image, Label
from webapp.labelling import selectors
from webapp.labelling.models import Suggestion, SuggestionRun, SuggestionStatus
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.services import enqueue


@dataclass
class Labelled:
    """What a labelling request did: the photos it changed, and those it left because they had changed already
    (another person labelled them meanwhile, or they left the pool)."""

    changed: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    labels: dict[int, int] = field(default_factory=dict)  # accepted suggestions: image id -> label id (for undo)

    def as_dict(self) -> dict:
        return {"changed": self.changed, "conflicts": self.conflicts,
                **({"labels": {str(k): v for k, v in self.labels.items()}} if self.labels else {})}


# --- the suggester's runs ----------------------------------------------------------------------------------------


def suggestion_request(*, dataset: Dataset, user=None) -> SuggestionRun:
    """A queued run of the suggester for the dataset (sent to the `train` queue once this commits), or the one
    already queued: it reads the labels when it starts, so it covers every label given before then."""
    queued = SuggestionRun.objects.filter(dataset=dataset, status=SuggestionStatus.QUEUED).first()
    if queued:
        return queued
    try:
        with transaction.atomic():
            run = SuggestionRun.objects.create(
                dataset=dataset, backbone=settings.LABELLING_BACKBONE, weights=settings.LABELLING_WEIGHTS,
                input_size=settings.LABELLING_INPUT_SIZE, created_by=user if user and user.pk else None)
            enqueue(KINDS["suggestion"].task, run.pk)
    except IntegrityError:  # another request queued one at the same moment (one_queued_suggestion_run_per_dataset)
        return SuggestionRun.objects.get(dataset=dataset, status=SuggestionStatus.QUEUED)
    return run


def suggestion_request_if_stale(*, dataset: Dataset, user=None) -> SuggestionRun | None:
    """A new run when the last one read another state of the dataset (photos imported, labels given elsewhere),
    or none ever ran; None when the shown suggestions are up to date or a run is on its way."""
    if selectors.run_is_stale(dataset, selectors.latest_run(dataset)):
        return suggestion_request(dataset=dataset, user=user)
    return None


def suggestion_progress(*, run_id: int, done: int, total: int) -> None:
    SuggestionRun.objects.filter(pk=run_id, status=SuggestionStatus.RUNNING).update(
        progress_done=done, progress_total=total, heartbeat_at=timezone.now())


@transaction.atomic
def suggestion_succeed(*, run_id: int, state: str, classes: list[Label], label_count: int, pool_ids: list[int],
                       probabilities=None, error_curve: list | None = None, proposal: str, proposed: list[int],
                       seconds: dict) -> bool:
    """Store a finished run: a suggestion per pool photo (`probabilities`: (len(pool_ids), len(classes)), or None
    when the classes lack labels), the error curve and the proposals. Finished runs older than the one shown
    before this one go, with their suggestions (a page showing the previous run can still accept what it
    shows)."""
    run = SuggestionRun.objects.select_for_update().filter(pk=run_id, status=SuggestionStatus.RUNNING).first()
    if run is None:
        return False
    if probabilities is not None:
        rows = []
        for image_id, row in zip(pool_ids, probabilities):
            best = int(row.argmax())
            rows.append(Suggestion(run=run, image_id=image_id, label=classes[best], confidence=float(row[best]),
                                   probabilities=[round(float(p), 4) for p in row]))
        Suggestion.objects.bulk_create(rows, batch_size=1000)
    previous = selectors.latest_finished_run(run.dataset)
    # Runs before the previous one go with their suggestions: a run per label given would pile up otherwise.
    SuggestionRun.objects.filter(dataset_id=run.dataset_id, finished_at__isnull=False).exclude(
        pk__in=[run.pk] + ([previous.pk] if previous else [])).delete()
    SuggestionRun.objects.filter(pk=run_id).update(
        status=SuggestionStatus.SUCCEEDED, finished_at=timezone.now(), state=state,
        class_names=[label.name for label in classes], label_count=label_count, pool_count=len(pool_ids),
        suggested=probabilities is not None, error_curve=error_curve or [], proposal=proposal, proposed=proposed,
        seconds=seconds, progress_done=len(pool_ids) + label_count, progress_total=len(pool_ids) + label_count)
    return True


# --- labels ------------------------------------------------------------------------------------------------------


def _ids(image_ids) -> list[int]:
    ids = [int(pk) for pk in image_ids]
    if not ids:
        raise ValidationError("Select at least one photo.")
    return ids


def _done(dataset: Dataset, asked: list[int], changed: list[int], user) -> Labelled:
    if changed:  # the suggester retrains on the labels as they arrive (its message leaves once they commit)
        suggestion_request(dataset=dataset, user=user)
    return Labelled(changed=sorted(changed), conflicts=sorted(set(asked) - set(changed)))


@transaction.atomic
def photos_label(*, dataset: Dataset, image_ids, label: Label, user) -> Labelled:
    """A person chose `label` for these pool photos (a key on the Label page, or a fix of a suggestion). What the
    shown suggestions said of each is recorded beside the choice (suggested vs chosen)."""
    if label.dataset_id != dataset.pk:
        raise ValidationError("That class belongs to another dataset.")
    ids = _ids(image_ids)
    shown = selectors.suggestions_for(selectors.latest_finished_run(dataset), ids)
    changed = dataset_services.images_label(
        images=Image.objects.filter(dataset=dataset, pk__in=ids), label=label, user=user,
        suggested={pk: (s.label.name, s.confidence) for pk, s in shown.items()})
    return _done(dataset, ids, changed, user)


@transaction.atomic
def photos_label_new_class(*, dataset: Dataset, image_ids, name: str, user) -> tuple[Label, Labelled]:
    """"New class": made (or found by its name), then given to these pool photos."""
    label = dataset_services.label_get_or_create(dataset=dataset, name=name)
    return label, photos_label(dataset=dataset, image_ids=image_ids, label=label, user=user)


@transaction.atomic
def photos_unlabel(*, dataset: Dataset, image_ids, label: Label, user) -> Labelled:
    """Undo: these photos go back to the pool, those that still have `label` (one fixed by someone else since
    keeps its class)."""
    ids = _ids(image_ids)
    changed = dataset_services.images_unlabel(images=Image.objects.filter(dataset=dataset, pk__in=ids), label=label,
                                              user=user)
    return _done(dataset, ids, changed, user)


@transaction.atomic
def photos_set_aside(*, dataset: Dataset, image_ids, user) -> Labelled:
    """"None of these classes": the pool photos are excluded (kept in the dataset, recorded in their history),
    so they leave the pool and are never suggested again."""
    ids = _ids(image_ids)
    photos = Image.objects.unlabelled().filter(dataset=dataset, pk__in=ids, excluded=False)
    changed = list(photos.values_list("pk", flat=True))
    dataset_services.images_exclude(images=photos, user=user)
    return _done(dataset, ids, changed, user)


@transaction.atomic
def photos_bring_back(*, dataset: Dataset, image_ids, user) -> Labelled:
    """Undo "none of these classes": the photos set aside come back to the pool."""
    ids = _ids(image_ids)
    photos = Image.objects.unlabelled().filter(dataset=dataset, pk__in=ids, excluded=True)
    changed = list(photos.values_list("pk", flat=True))
    dataset_services.images_include(images=photos, user=user)
    return _done(dataset, ids, changed, user)


@transaction.atomic
def suggestions_accept(*, run: SuggestionRun, user, image_ids=None, min_confidence: float | None = None) -> Labelled:
    """Label pool photos with the class `run` suggested for each: those of `image_ids` (a page the person saw) or
    every one suggested at `min_confidence` or more. Recorded with the suggestion and its confidence. `run` must be
    the shown run or the one before it (a page open while a newer run finished still accepts what it shows)."""
    if image_ids is None and min_confidence is None:
        raise ValidationError("Say which suggestions to accept: photos, or a minimum confidence.")
    if run.status != SuggestionStatus.SUCCEEDED or not run.suggested:
        raise ValidationError("This run has no suggestions to accept.")
    suggestions = Suggestion.objects.filter(run=run).select_related("label")
    if not suggestions.exists():
        raise ValidationError("These suggestions were replaced by newer ones: reload the page.")
    if image_ids is not None:
        asked = _ids(image_ids)
        suggestions = suggestions.filter(image_id__in=asked)
    if min_confidence is not None:
        suggestions = suggestions.filter(confidence__gte=min_confidence)
    suggestions = list(suggestions.filter(image__label__isnull=True, image__excluded=False))
    if image_ids is None:
        asked = [s.image_id for s in suggestions]
    by_label: dict[int, list[Suggestion]] = {}
    for suggestion in suggestions:
        by_label.setdefault(suggestion.label_id, []).append(suggestion)
    changed = []
    for group in by_label.values():
        changed += dataset_services.images_label(
            images=Image.objects.filter(dataset_id=run.dataset_id, pk__in=[s.image_id for s in group]),
            label=group[0].label, user=user, suggested={s.image_id: (s.label.name, s.confidence) for s in group})
    done = _done(run.dataset, asked, changed, user)
    done.labels = {s.image_id: s.label_id for s in suggestions if s.image_id in set(changed)}
    return done
