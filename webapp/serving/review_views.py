"""From predictions back to data: a list of predictions to review (unsure, marked wrong, or all), each one
addable to its model's dataset with the right label in one click."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from webapp.accounts.permissions import Action, can, team_roles
from webapp.core.ids import parse_id
from webapp.experiments import selectors, services


def _get_prediction_for_user(user, pk):
    return get_object_or_404(selectors.predictions_for_user(user).select_related("job__dataset"), pk=pk)


def _back(request):
    show = request.POST.get("show")
    return redirect(reverse("review:list") + (f"?show={show}" if show in selectors.REVIEW_FILTERS else ""))


def prediction_review(request):
    show = request.GET.get("show") if request.GET.get("show") in selectors.REVIEW_FILTERS else "review"
    page = Paginator(selectors.predictions_to_review(request.user, show=show), 30).get_page(request.GET.get("page"))
    roles = team_roles(request.user)  # one query: which datasets the user may add photos to
    curating = {team_id for team_id in roles if can(request.user, Action.CURATE, team_id)}
    return render(request, "serving/prediction_review.html", {
        "page": page, "show": show, "filters": selectors.REVIEW_FILTERS, "curating": curating,
        "curates_all": request.user.is_superuser,
    })


@require_POST
def prediction_mark(request, pk):
    prediction = _get_prediction_for_user(request.user, pk)
    if not can(request.user, Action.PREDICT, prediction.team_id):
        raise PermissionDenied
    services.prediction_mark_wrong(prediction=prediction, wrong=request.POST.get("wrong") != "0")
    return _back(request)


@require_POST
def prediction_add(request, pk):
    prediction = _get_prediction_for_user(request.user, pk)
    if prediction.job is None or not prediction.file:
        messages.error(request, "This prediction's job or photo was deleted: it cannot be added to a dataset.")
        return _back(request)
    dataset = prediction.job.dataset
    if not can(request.user, Action.CURATE, dataset.team_id):
        raise PermissionDenied(f"Your role in team {dataset.team_id} does not allow adding photos.")
    label = dataset.labels.filter(pk=parse_id(request.POST.get("label"))).first()
    if label is None:
        messages.error(request, "Choose the right class.")
        return _back(request)
    try:
        image = services.prediction_add_to_dataset(prediction=prediction, label=label, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{image} is in {dataset.name} as {label.name}.")
    return _back(request)
