"""Reads of the Label page and of the suggester's runs. The dataset itself is fetched through datasets_for_user
by the views."""

from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet

from webapp.datasets.models import Dataset, Image, ImageChange, Label
from webapp.labelling.models import Suggestion, SuggestionRun, SuggestionStatus

VIEWS = ("next", "suggested", "all")  # the grid's views: what to label next, suggestions by confidence, the pool


def pool(dataset: Dataset) -> QuerySet[Image]:
    """The dataset's unlabelled pool as the Label page shows it: photos with no class, not set aside ("none of
    these classes" excludes them)."""
    return Image.objects.unlabelled().filter(dataset=dataset, excluded=False)


def labelling_state(dataset: Dataset) -> str:
    """What a suggester run depends on, as one string: the photos (count, newest id), the classes and the last
    recorded change (labels given or taken back, exclusions, ...). A run that read another state is out of date."""
    photos = Image.objects.filter(dataset=dataset).aggregate(n=Count("id"), last=Max("id"))
    last_change = ImageChange.objects.filter(dataset=dataset).aggregate(last=Max("id"))["last"]
    classes = Label.objects.filter(dataset=dataset).aggregate(n=Count("id"), last=Max("id"))
    return f"{photos['n']}:{photos['last']}:{classes['n']}:{classes['last']}:{last_change}"


def latest_run(dataset: Dataset) -> SuggestionRun | None:
    return SuggestionRun.objects.filter(dataset=dataset).order_by("-created_at", "-id").first()


def latest_finished_run(dataset: Dataset) -> SuggestionRun | None:
    """The run whose suggestions and proposals the page shows."""
    return (SuggestionRun.objects.filter(dataset=dataset, status=SuggestionStatus.SUCCEEDED)
            .order_by("-finished_at", "-id").first())


def run_is_stale(dataset: Dataset, run: SuggestionRun | None) -> bool:
    """A new run is worth asking for: none yet, or the last one finished on another state of the dataset. A run
    queued or running reads (or read) the labels when it started; a label given since then asks for the next."""
    if run is None:
        return True
    return run.is_finished and run.state != labelling_state(dataset)


def class_counts(dataset: Dataset) -> list[dict]:
    """[{id, name, count}] of the labelled photos (in use: not excluded) per class, by name."""
    labels = Label.objects.filter(dataset=dataset).order_by("name")
    counts = dict(Image.objects.filter(dataset=dataset, excluded=False).labelled().order_by()
                  .values_list("label_id").annotate(n=Count("id")))
    return [{"id": label.pk, "name": label.name, "count": counts.get(label.pk, 0)} for label in labels]


def run_summary(run: SuggestionRun | None) -> dict | None:
    """A run as the page's JSON shows it."""
    if run is None:
        return None
    return {"id": run.pk, "status": run.status, "finished": run.is_finished, "error_message": run.error_message,
            "progress_done": run.progress_done, "progress_total": run.progress_total,
            "label_count": run.label_count, "pool_count": run.pool_count, "suggested": run.suggested,
            "proposal": run.proposal, "finished_at": run.finished_at.isoformat() if run.finished_at else None}


def label_status(dataset: Dataset) -> dict:
    """The Label page's live state (polled): the classes with their label counts, the pool's size, the latest
    run and the one whose suggestions are shown, and whether the shown ones are out of date."""
    from classifier.labelling import MIN_LABELS_PER_CLASS

    latest, shown = latest_run(dataset), latest_finished_run(dataset)
    return {"classes": class_counts(dataset), "pool": pool(dataset).count(), "min_labels": MIN_LABELS_PER_CLASS,
            "latest": run_summary(latest), "shown": run_summary(shown), "stale": run_is_stale(dataset, latest)}


@dataclass
class GridPage:
    photos: list[dict]
    total: int
    page: int
    pages: int


def _photo(image: Image, suggestion: Suggestion | None) -> dict:
    return {"id": image.pk, "name": str(image), "thumb": image.thumbnail_url,
            "suggestion": {"label_id": suggestion.label_id, "name": suggestion.label.name,
                           "confidence": round(suggestion.confidence, 4)} if suggestion else None}


def grid_page(dataset: Dataset, *, view: str = "next", label: Label | None = None, page: int = 1,
              per_page: int = 48) -> GridPage:
    """One page of the grid: "next" (the shown run's proposals still unlabelled, best first, then the rest of the
    pool), "suggested" (the
    pool by the shown run's confidence, highest first; `label`: only photos suggested as it) or "all" (the pool,
    oldest first). Each photo with its suggestion, if any. A few queries whatever the page."""
    run = latest_finished_run(dataset)
    photos = pool(dataset)
    suggestions = Suggestion.objects.filter(run=run).select_related("label") if run else Suggestion.objects.none()
    if view == "next":  # the proposals first (a photo back in the pool since the run comes after them)
        order = {pk: i for i, pk in enumerate(run.proposed)} if run else {}
        ids = sorted(photos.values_list("pk", flat=True), key=lambda pk: (order.get(pk, len(order)), pk))
    elif view == "suggested":
        chosen = suggestions.filter(image__in=photos)
        if label is not None:
            chosen = chosen.filter(label=label)
        ids = list(chosen.order_by("-confidence", "image_id").values_list("image_id", flat=True))
    else:
        ids = list(photos.order_by("id").values_list("pk", flat=True))
    pages = max(1, -(-len(ids) // per_page))
    page = min(max(1, page), pages)
    wanted = ids[(page - 1) * per_page:page * per_page]
    images = {image.pk: image for image in Image.objects.filter(pk__in=wanted)}
    by_image = {s.image_id: s for s in suggestions.filter(image_id__in=wanted)}
    return GridPage([_photo(images[pk], by_image.get(pk)) for pk in wanted if pk in images], len(ids), page, pages)


def expected_error(run: SuggestionRun, min_confidence: float) -> dict:
    """What accepting every suggestion of `run` at >= min_confidence would do: {"count": pool photos it would
    label, "error": the error rate of the run's held-out (cross-validated) predictions at that confidence, or
    None, "heldout": how many held-out photos that rate is measured on}."""
    count = (Suggestion.objects.filter(run=run, confidence__gte=min_confidence, image__label__isnull=True,
                                       image__excluded=False).count())
    row = next((row for row in reversed(run.error_curve) if row[0] <= min_confidence + 1e-9), None)
    return {"count": count, "error": row[1] if row else None, "heldout": row[2] if row else 0}


def suggestions_for(run: SuggestionRun | None, image_ids) -> dict[int, Suggestion]:
    """image id -> the run's suggestion for it."""
    if run is None:
        return {}
    return {s.image_id: s for s in Suggestion.objects.filter(run=run, image_id__in=list(image_ids))
            .select_related("label")}


def review_suggestions(dataset: Dataset, *, limit: int = 50) -> tuple[SuggestionRun | None, list[Suggestion]]:
    """The shown run's suggestions for photos still in the pool, least confident first: the exceptions a person
    checks one by one after accepting the confident ones in bulk."""
    run = latest_finished_run(dataset)
    if run is None:
        return None, []
    rows = (Suggestion.objects.filter(run=run, image__in=pool(dataset)).select_related("image", "label")
            .order_by("confidence", "image_id")[:limit])
    return run, list(rows)


def class_examples(dataset: Dataset, label_ids, *, per_class: int = 3) -> dict[int, list[Image]]:
    """A few labelled photos of each class (the oldest first), to compare a suggestion with."""
    return {pk: list(Image.objects.filter(dataset=dataset, label_id=pk, excluded=False).order_by("id")[:per_class])
            for pk in set(label_ids)}


# --- the worker's side -------------------------------------------------------------------------------------------


def run_for_worker(*, run_id: int) -> SuggestionRun:
    return SuggestionRun.objects.select_related("dataset").get(pk=run_id)


def run_inputs(run: SuggestionRun) -> dict:
    """What a run reads, when it starts: {"state", "classes": [names], "labelled": [(image, class index)],
    "pool": [images]}. The labelled photos in use (not excluded) with their classes; the pool's photos carry no
    class at all, so the suggester cannot see a label before it is given."""
    dataset = run.dataset
    state = labelling_state(dataset)
    classes = list(Label.objects.filter(dataset=dataset).order_by("name"))
    index = {label.pk: i for i, label in enumerate(classes)}
    labelled = [(image, index[image.label_id]) for image in
                Image.objects.labelled().filter(dataset=dataset, excluded=False).order_by("id")]
    return {"state": state, "classes": classes, "labelled": labelled, "pool": list(pool(dataset).order_by("id"))}
