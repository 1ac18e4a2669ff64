"""Batch predictions of a named model: start one (a zip of photos or a dataset) from the model page or the API,
watch it (its page polls batch_status), cancel it, download its CSV. Thin views: the model through
`_get_model_for_user` (another team's name is a 404), a service, a redirect; the browser never waits on a worker."""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from webapp.accounts.permissions import Action, can
from webapp.experiments import presenters
from webapp.experiments.api import _api_user
from webapp.serving import batch_selectors as selectors
from webapp.serving import batch_services as services
from webapp.serving.forms import BatchForm
from webapp.serving.selectors import AmbiguousName, named_model_for_user
from webapp.serving.views import _get_model_for_user


def _get_batch_for_user(request, name, pk):
    named_model = _get_model_for_user(request, name)
    return get_object_or_404(selectors.model_batches(named_model), pk=pk)


def _create(request, named_model, user):
    """(batch, None) or (None, the form with its errors)."""
    form = BatchForm(request.POST, request.FILES, named_model=named_model)
    if not form.is_valid():
        return None, form
    try:
        return services.batch_create(named_model=named_model, user=user,
                                     archive=form.cleaned_data["archive"], dataset=form.cleaned_data["dataset"]), None
    except ValidationError as error:
        form.add_error(None, " ".join(error.messages))
        return None, form


@require_POST
def batch_new(request, name):
    named_model = _get_model_for_user(request, name)
    if not can(request.user, Action.PREDICT, named_model.team):
        raise PermissionDenied
    batch, form = _create(request, named_model, request.user)
    if batch is None:
        messages.error(request, "The batch was not started. " + " ".join(
            str(message) for errors in form.errors.values() for message in errors))
        return redirect(reverse("serving:model_detail", args=[name]) + "#batches")
    messages.success(request, f"Batch {batch.pk} queued.")
    return redirect(batch)


@require_GET
def batch_detail(request, name, pk):
    batch = _get_batch_for_user(request, name, pk)
    return render(request, "serving/batch_detail.html", {
        "batch": batch, "status": selectors.batch_status(batch),
        "result": presenters.report_context(batch.report) if batch.report else None,
        "can_cancel": not batch.is_finished and can(request.user, Action.PREDICT, batch.named_model.team_id),
        "page_config": {"status_url": reverse("serving:batch_status", args=[name, pk]),
                        "finished": batch.is_finished},
    })


@require_GET
@never_cache
def batch_status(request, name, pk):
    return JsonResponse(selectors.batch_status(_get_batch_for_user(request, name, pk)))


@require_POST
def batch_cancel(request, name, pk):
    batch = _get_batch_for_user(request, name, pk)
    if not can(request.user, Action.PREDICT, batch.named_model.team_id):
        raise PermissionDenied
    services.batch_cancel(batch=batch)
    return redirect(batch)


@require_GET
def batch_csv(request, name, pk):
    batch = _get_batch_for_user(request, name, pk)
    if not batch.csv_file:
        raise Http404("This batch has no CSV yet.")
    path = Path(settings.MEDIA_ROOT) / batch.csv_file
    if not path.is_file():
        raise Http404("The batch's CSV is missing.")
    return FileResponse(open(path, "rb"), as_attachment=True, content_type="text/csv; charset=utf-8",
                        filename=f"{batch.named_model.name}-batch-{batch.pk}.csv")


# --- API ----------------------------------------------------------------------------------------------------------


def _api_model(request, name):
    """(user, named model, None) or (None, None, an error response)."""
    user, error = _api_user(request)
    if error:
        return None, None, error
    try:  # names are unique per team: `team` picks one when several of the user's teams have it
        named_model = named_model_for_user(user, name, team=request.POST.get("team") or request.GET.get("team"))
    except AmbiguousName as exc:
        return None, None, JsonResponse({"error": str(exc)}, status=400)
    if named_model is None:
        return None, None, JsonResponse({"error": f"No model named {name!r}."}, status=404)
    return user, named_model, None


@csrf_exempt  # checked in _api_user for session requests; token requests carry no cookie to forge
@login_not_required
@require_POST
def api_batch_create(request, name):
    """`archive` (a zip) or `dataset` (a dataset id of the model's team) -> 202 with the batch's status."""
    user, named_model, error = _api_model(request, name)
    if error:
        return error
    if not can(user, Action.PREDICT, named_model.team):
        return JsonResponse({"error": "Your role does not allow predictions."}, status=403)
    batch, form = _create(request, named_model, user)
    if batch is None:
        return JsonResponse({"error": "Invalid request.", "fields": form.errors.get_json_data()}, status=400)
    return JsonResponse(selectors.batch_status(batch), status=202)


@csrf_exempt
@login_not_required
@require_GET
@never_cache
def api_batch_detail(request, name, pk):
    user, named_model, error = _api_model(request, name)
    if error:
        return error
    batch = selectors.model_batches(named_model).filter(pk=pk).first()
    if batch is None:
        return JsonResponse({"error": "No such batch."}, status=404)
    return JsonResponse(selectors.batch_status(batch))
