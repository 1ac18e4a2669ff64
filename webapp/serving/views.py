"""Pages of named models: the list (and a new name), a model's versions side by side, promote and roll back."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.permissions import Action, can
from webapp.core.ids import parse_id
from webapp.serving import batch_selectors, selectors, services
from webapp.serving.forms import BatchForm, NamedModelForm, PromoteForm, RollbackForm
from webapp.serving.permissions import can_promote


def _get_model_for_user(user, name):
    named_model = selectors.named_models_for_user(user).filter(name=name).first()
    if named_model is None:
        raise Http404("No such model.")
    return named_model


def model_list(request):
    form = NamedModelForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        dataset = form.cleaned_data["evaluation_dataset"]
        try:
            named_model = services.named_model_create(
                team=dataset.team, name=form.cleaned_data["name"], evaluation_dataset=dataset, user=request.user,
                description=form.cleaned_data["description"])
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, exc if isinstance(exc, ValidationError) else str(exc))
        else:
            return redirect(named_model)
    models = selectors.named_models_for_user(request.user)
    return render(request, "serving/model_list.html", {"models": models, "form": form})


def model_detail(request, name):
    named_model = _get_model_for_user(request.user, name)
    context = {
        "model": named_model,
        "versions": selectors.model_versions(named_model),
        "events": named_model.events.select_related("version", "user")[:50],
        "can_promote": can_promote(request.user, named_model.team),
        "promote_form": PromoteForm(named_model=named_model, user=request.user),
        # batch prediction (webapp/serving/batch_views.py)
        "can_predict": can(request.user, Action.PREDICT, named_model.team),
        "batch_form": BatchForm(named_model=named_model),
        "batches": batch_selectors.model_batches(named_model)[:20],
        "unsure_by_day": selectors.unsure_rate_by_day(named_model),
    }
    return render(request, "serving/model_detail.html", context)


@require_POST
def model_promote(request, name):
    named_model = _get_model_for_user(request.user, name)
    form = PromoteForm(request.POST, named_model=named_model, user=request.user)
    if not form.is_valid():
        messages.error(request, "Pick a job of the team that succeeded.")
        return redirect(named_model)
    try:  # PermissionDenied goes on: a 403
        version = services.model_promote(named_model=named_model, job=form.cleaned_data["job"],
                                         user=request.user, note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Version {version.number} of {named_model} is live; its evaluation is queued.")
    return redirect(named_model)


@require_POST
def model_rollback(request, name, number):
    named_model = _get_model_for_user(request.user, name)
    number = parse_id(number)
    version = named_model.versions.filter(number=number).first() if number else None
    form = RollbackForm(request.POST)
    if version is None or not form.is_valid():
        raise Http404("No such version.")
    try:
        services.model_rollback(named_model=named_model, version=version, user=request.user,
                                note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Version {version.number} of {named_model} is live again.")
    return redirect(named_model)
