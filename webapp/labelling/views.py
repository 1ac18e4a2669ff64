"""The Label page of a dataset and its JSON endpoints (static/js/label.js), and the review of the least sure
suggestions (the shared review component). Thin views: fetch through datasets_for_user (a foreign id is a 404),
check the role for writes (labelling is curating: a viewer gets 403, and sees the page without its keys), validate
a form, call a service, answer JSON."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from webapp.accounts.permissions import Action, can, powers
from webapp.datasets.selectors import datasets_for_user
from webapp.labelling import forms, presenters, selectors, services


def _get_dataset_for_user(user, pk):
    return get_object_or_404(datasets_for_user(user), pk=pk)


def _get_dataset_to_label(request, pk):
    dataset = _get_dataset_for_user(request.user, pk)
    if not can(request.user, Action.CURATE, dataset.team_id):
        raise PermissionDenied(f"Your role in team {dataset.team} does not allow labelling its photos.")
    return dataset


def _refused(form) -> JsonResponse:
    return JsonResponse({"ok": False, "error": " ".join(e for errors in form.errors.values() for e in errors)},
                        status=400)


def _answer(request, dataset, call):
    """Run a service call; its result as JSON, or a refusal (409) with the reason. A plain form (the review
    component without scripts) goes back to the review, the outcome said in a message."""
    try:
        result = call()
    except ValidationError as exc:
        if not _wants_json(request):
            messages.error(request, " ".join(exc.messages))
            return redirect("labelling:review", dataset.pk)
        return JsonResponse({"ok": False, "error": " ".join(exc.messages)}, status=409)
    if not _wants_json(request):
        return redirect("labelling:review", dataset.pk)
    return JsonResponse({"ok": True, **result})


def _wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def label_page(request, pk):
    dataset = _get_dataset_for_user(request.user, pk)
    user_powers = powers(request.user, dataset.team_id)
    urls = {name: reverse(f"labelling:{name}", args=[dataset.pk])
            for name in ("status", "photos", "assign", "undo", "aside", "accept", "expected", "refresh")}
    return render(request, "labelling/label.html", {
        "dataset": dataset, "powers": user_powers,
        "config": {"urls": urls, "can_label": user_powers["curate"], "per_page": settings.LABELLING_PHOTOS_PER_PAGE,
                   "photo_url": reverse("datasets:photo", args=[dataset.pk, 0])},
        "status": selectors.label_status(dataset),
    })


def label_status(request, pk):
    return JsonResponse(selectors.label_status(_get_dataset_for_user(request.user, pk)))


def label_photos(request, pk):
    dataset = _get_dataset_for_user(request.user, pk)
    form = forms.GridForm(request.GET, dataset=dataset)
    if not form.is_valid():
        return _refused(form)
    data = form.cleaned_data
    page = selectors.grid_page(dataset, view=data["view"] or "next", label=data["label"], page=data["page"] or 1,
                               per_page=settings.LABELLING_PHOTOS_PER_PAGE)
    return JsonResponse({"photos": page.photos, "total": page.total, "page": page.page, "pages": page.pages})


@require_POST
def label_assign(request, pk):
    dataset = _get_dataset_to_label(request, pk)
    form = forms.AssignForm(request.POST, dataset=dataset)
    if not form.is_valid():
        return _refused(form)
    data = form.cleaned_data

    def assign():
        if data["label"]:
            label, done = data["label"], services.photos_label(dataset=dataset, image_ids=data["image"],
                                                               label=data["label"], user=request.user)
        else:
            label, done = services.photos_label_new_class(dataset=dataset, image_ids=data["image"],
                                                          name=data["new_label"], user=request.user)
        return {**done.as_dict(), "label": {"id": label.pk, "name": label.name}}

    return _answer(request, dataset, assign)


@require_POST
def label_undo(request, pk):
    dataset = _get_dataset_to_label(request, pk)
    form = forms.UndoForm(request.POST, dataset=dataset)
    if not form.is_valid():
        return _refused(form)
    data = form.cleaned_data
    if data["aside"]:
        return _answer(request, dataset, lambda: services.photos_bring_back(
            dataset=dataset, image_ids=data["image"], user=request.user).as_dict())
    return _answer(request, dataset, lambda: services.photos_unlabel(
        dataset=dataset, image_ids=data["image"], label=data["label"], user=request.user).as_dict())


@require_POST
def label_aside(request, pk):
    """"None of these classes"."""
    dataset = _get_dataset_to_label(request, pk)
    form = forms.PhotosForm(request.POST, dataset=dataset)
    if not form.is_valid():
        return _refused(form)
    return _answer(request, dataset, lambda: services.photos_set_aside(
        dataset=dataset, image_ids=form.cleaned_data["image"], user=request.user).as_dict())


@require_POST
def suggestions_accept(request, pk):
    """Accept suggestions in bulk (the Label page, JSON) or one at a time (the review component: JSON with
    scripts, a redirect back to the review without)."""
    dataset = _get_dataset_to_label(request, pk)
    form = forms.AcceptForm(request.POST, dataset=dataset)
    if not form.is_valid():
        return _refused(form)
    data = form.cleaned_data
    return _answer(request, dataset, lambda: services.suggestions_accept(
        run=data["run"], user=request.user, image_ids=data["image"] or None,
        min_confidence=data["min_confidence"]).as_dict())


def suggestions_expected(request, pk):
    """How many pool photos accepting at a minimum confidence would label, and the expected error rate."""
    dataset = _get_dataset_for_user(request.user, pk)
    form = forms.ExpectedForm(request.GET, dataset=dataset)
    if not form.is_valid():
        return _refused(form)
    return JsonResponse(selectors.expected_error(form.cleaned_data["run"], form.cleaned_data["min_confidence"]))


@require_POST
def suggestions_refresh(request, pk):
    """Ask for a run when the shown suggestions are out of date (the page does on opening) or the last failed."""
    dataset = _get_dataset_to_label(request, pk)
    latest = selectors.latest_run(dataset)
    if latest is not None and latest.status == "failed":
        run = services.suggestion_request(dataset=dataset, user=request.user)
    else:
        run = services.suggestion_request_if_stale(dataset=dataset, user=request.user)
    return JsonResponse({"ok": True, "run": selectors.run_summary(run)})


def review(request, pk):
    """The suggestions the suggester is least sure of, one after the other (the review component: the photo
    beside labelled photos of the suggested class, its class probabilities, accept or fix a key away)."""
    dataset = _get_dataset_for_user(request.user, pk)
    run, suggestions = selectors.review_suggestions(dataset)
    can_label = can(request.user, Action.CURATE, dataset.team_id)
    examples = selectors.class_examples(dataset, [s.label_id for s in suggestions])
    items = presenters.suggestion_review_items(dataset, run, suggestions, examples,
                                               classes=selectors.class_counts(dataset), can_label=can_label)
    return render(request, "labelling/review.html", {"dataset": dataset, "run": run, "items": items,
                                                     "can_label": can_label})
