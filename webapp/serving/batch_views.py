"""Batch predictions of a named model: start one (a zip of photos or a dataset) from the model page (or the API:
api.py), watch it (its page polls batch_status), cancel it, download its CSV. Thin views: the model through
`_get_model_for_user` (another team's name is a 404), a service, a redirect; the browser never waits on a worker."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from webapp.accounts.permissions import Action, can
from webapp.core import storage
from webapp.experiments import presenters
from webapp.serving import batch_selectors as selectors
from webapp.serving import batch_services as services
from webapp.serving.forms import BatchForm
from webapp.serving.views import _get_model_for_user


def _get_batch_for_user(request, name, pk):
    named_model = _get_model_for_user(request, name)
    return get_object_or_404(selectors.model_batches(named_model), pk=pk)


def batch_from_request(request, named_model, user):
    """(batch, None) or (None, the form with its errors); the page and the API start batches alike."""
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
    batch, form = batch_from_request(request, named_model, request.user)
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
    try:
        csv_file = storage.storage("media").open(batch.csv_file, "rb")  # streamed from the store, as media files
    except FileNotFoundError:
        raise Http404("The batch's CSV is missing.")
    return FileResponse(csv_file, as_attachment=True, content_type="text/csv; charset=utf-8",
                        filename=f"{batch.named_model.name}-batch-{batch.pk}.csv")

