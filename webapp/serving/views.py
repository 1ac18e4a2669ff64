"""Pages of named models: the list (and a new name), a model's versions side by side, promote and roll back; a job's
export bundle (ask for it, watch it build, download it)."""

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.accounts.permissions import Action, can
from webapp.core.ids import parse_id
from webapp.core.storage import storage
from webapp.experiments.selectors import jobs_for_user
from webapp.serving import batch_selectors, selectors, services
from webapp.serving.forms import BatchForm, NamedModelForm, PromoteForm, RollbackForm
from webapp.serving.permissions import can_promote


def _get_model_for_user(request, name):
    """The model of that name in the `team` of the query string, or in the user's only team that has one."""
    try:
        named_model = selectors.named_model_for_user(request.user, name, team=request.GET.get("team"))
    except selectors.AmbiguousName as exc:
        raise BadRequest(str(exc)) from exc
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
    try:
        named_model = _get_model_for_user(request, name)
    except BadRequest as exc:  # the name is in several of the user's teams: the list links each one
        messages.error(request, str(exc).replace("say which with team=<team>", "pick one below"))
        return redirect("serving:model_list")
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
    named_model = _get_model_for_user(request, name)
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
    named_model = _get_model_for_user(request, name)
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


def _get_job_for_user(user, pk):
    return get_object_or_404(jobs_for_user(user).select_related("dataset"), pk=pk)


def _bundle_json(job, bundle) -> dict:
    if bundle is None:
        return {"status": "none", "status_display": "Not built", "step": "", "error": None, "formats": {},
                "size_bytes": None, "download_url": None}
    ready = bundle.status == "succeeded"
    return {
        "status": bundle.status, "status_display": bundle.get_status_display(), "step": bundle.step,
        "error": bundle.error_message or None, "formats": bundle.formats, "size_bytes": bundle.size_bytes,
        "download_url": reverse("serving:job_bundle_download", args=[job.pk]) if ready else None,
    }


@require_http_methods(["GET", "POST"])
def job_bundle(request, pk):
    """The job's export bundle: what is inside and how to call it; POST asks a `train` worker to build it (once;
    then it is kept), and the page polls its status until the download link appears."""
    job = _get_job_for_user(request.user, pk)
    if request.method == "POST":
        try:
            services.bundle_request(job=job, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("serving:job_bundle", pk=job.pk)
    bundle = selectors.bundle_of(job)
    return render(request, "serving/bundle.html", {
        "job": job, "bundle": bundle, "bundle_json": _bundle_json(job, bundle),
        "models": selectors.named_models_for_user(request.user).filter(versions__job=job).distinct(),
    })


@require_GET
def job_bundle_status(request, pk):
    job = _get_job_for_user(request.user, pk)
    return JsonResponse(_bundle_json(job, selectors.bundle_of(job)))


@require_GET
def job_bundle_download(request, pk):
    job = _get_job_for_user(request.user, pk)
    bundle = selectors.bundle_of(job)
    if bundle is None or bundle.status != "succeeded" or not bundle.is_stored():
        raise Http404("This job's bundle is not built: ask for it on the export page.")
    filename = f"menagerie-job-{job.pk}-{job.backbone}-bundle.zip"
    return FileResponse(storage("artifacts").open(bundle.name, "rb"), as_attachment=True, filename=filename)
