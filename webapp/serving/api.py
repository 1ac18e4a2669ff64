"""The JSON API for scripts, every endpoint under /api/: predict with a job (`POST /api/predict/`, `GET
/api/jobs/`) or a named model (`GET /api/models/`, `POST /api/models/<name>/predict/`: optional `version`, default
the live one; `team` when several of the user's teams have a model of that name), a prediction's Grad-CAM heatmap
(`heatmap=1` asks for it; then its status and PNG), and batches of a named model.

Authentication: `Authorization: Token <key>` (tokens from the API tokens page), or the browser session. A token
request needs no CSRF token (no cookie is involved, so there is nothing to forge); a session request does. Errors
are JSON with an `error` message; other teams' jobs and names are indistinguishable from missing ones (404).
"""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from webapp.accounts.auth import TooManyFailures, authenticate_request, too_many_failures_response
from webapp.accounts.permissions import Action, can
from webapp.experiments.forms import ApiPredictForm
from webapp.experiments.selectors import heatmap_of, predictions_for_user, succeeded_jobs_for_user
from webapp.experiments.services import heatmap_request, prediction_check_allowed
from webapp.serving import batch_selectors, presenters, selectors
from webapp.serving.batch_views import batch_from_request
from webapp.serving.forms import ModelPredictForm
from webapp.serving.waiting import predict_bounded


def _csrf_failure(request):
    """The CSRF middleware's verdict for a session-authenticated request (None when it passes)."""
    return CsrfViewMiddleware(lambda req: None).process_view(request, None, (), {})


def _api_user(request):
    """(user, error response): token or session user; 401 JSON when neither is valid, 403 on a CSRF failure."""
    try:
        user, via_token = authenticate_request(request)
    except TooManyFailures:
        return None, too_many_failures_response()
    if not user.is_authenticated:
        message = "Invalid token." if via_token else "Authentication required: send 'Authorization: Token <key>'."
        response = JsonResponse({"error": message}, status=401)
        response["WWW-Authenticate"] = "Token"
        return None, response
    if not via_token and _csrf_failure(request) is not None:
        return None, JsonResponse({"error": "CSRF check failed (send the CSRF token, or use a token)."}, status=403)
    return user, None


def _job_json(job) -> dict:
    return {
        "id": job.pk, "backbone": job.backbone, "dataset": job.dataset.name,
        "created_at": job.created_at.isoformat(), "url": job.get_absolute_url(),
    }


@csrf_exempt  # checked in _api_user for session requests; token requests carry no cookie to forge
@login_not_required
@require_POST
def api_predict(request):
    user, error = _api_user(request)
    if error:
        return error
    form = ApiPredictForm(request.POST, request.FILES, user=user)
    if not form.is_valid():
        return JsonResponse({"error": "Invalid request.", "fields": form.errors.get_json_data()}, status=400)
    job = form.cleaned_data["job"]
    if job is None:  # no silent "latest job of anyone": name a job, or use a named model
        return JsonResponse({"error": "Say which model: POST to /api/models/<name>/predict/ (or send job=ID "
                                      f"here). {selectors.available_models_text(user)}"}, status=400)
    refused = predict_refused(job=job, user=user)
    if refused:
        return refused
    prediction, busy = predict_bounded(job=job, upload=form.cleaned_data["image"], user=user)
    return busy or prediction_response(request, prediction, heatmap=form.cleaned_data["heatmap"])


def predict_refused(*, job, user) -> JsonResponse | None:
    """403 JSON when the user may see the job's team but not predict with its models (services'
    prediction_check_allowed), else None."""
    try:
        prediction_check_allowed(job=job, user=user)
    except PermissionDenied as exc:
        return JsonResponse({"error": str(exc)}, status=403)
    return None


def prediction_response(request, prediction, *, heatmap: bool) -> JsonResponse:
    """The finished prediction as JSON (422 when it failed); heatmap: also ask the predict worker for its Grad-CAM
    overlay, and say where to poll for it (`heatmap.status_url`, then `heatmap.url`, a PNG)."""
    body = presenters.prediction_json(prediction)
    if heatmap and prediction.status == "succeeded":
        body["heatmap"] = _heatmap_json(request, heatmap_request(job=prediction.job, prediction=prediction),
                                        prediction)
    return JsonResponse(body, status=200 if prediction.status == "succeeded" else 422)


def _heatmap_json(request, heatmap, prediction) -> dict:
    """The heatmap's state for scripts: `status_url` to poll and, once ready, `url` of the PNG (token auth)."""
    data = presenters.heatmap_json(heatmap, request.build_absolute_uri(
        reverse("experiments:api_prediction_heatmap", args=[prediction.pk])))
    png = reverse("experiments:api_prediction_heatmap_png", args=[prediction.pk])
    return data | {"url": request.build_absolute_uri(png) if data["url"] else None}


def _heatmap_for_api(request, pk):
    """(prediction, heatmap or None, error response) for a token or session request."""
    user, error = _api_user(request)
    if error:
        return None, None, error
    prediction = predictions_for_user(user).filter(pk=pk).first()
    if prediction is None or prediction.job is None:  # a deleted job's model explains nothing any more
        return None, None, JsonResponse({"error": "No such prediction."}, status=404)
    return prediction, heatmap_of(job=prediction.job, prediction=prediction), None


@csrf_exempt
@login_not_required
@require_GET
def api_prediction_heatmap(request, pk):
    """The Grad-CAM overlay of one of your predictions: `status` and, once computed, the PNG's `url`."""
    prediction, heatmap, error = _heatmap_for_api(request, pk)
    return error or JsonResponse(_heatmap_json(request, heatmap, prediction))


@csrf_exempt
@login_not_required
@require_GET
def api_prediction_heatmap_png(request, pk):
    _prediction, heatmap, error = _heatmap_for_api(request, pk)
    if error:
        return error
    if heatmap is None or heatmap.status != "succeeded":
        return JsonResponse({"error": "The heatmap is not ready: poll its status_url."}, status=404)
    return FileResponse(heatmap.file.open("rb"), content_type="image/png")


@csrf_exempt
@login_not_required
@require_GET
def api_jobs(request):
    """The trained models a script can predict with, newest first."""
    user, error = _api_user(request)
    if error:
        return error
    jobs = succeeded_jobs_for_user(user)[:100]
    return JsonResponse({"jobs": [_job_json(job) for job in jobs]})


# --- named models ---------------------------------------------------------------------------------------------------


@csrf_exempt  # checked in _api_user for session requests; token requests carry no cookie to forge
@login_not_required
@require_GET
def api_models(request):
    user, error = _api_user(request)
    if error:
        return error
    return JsonResponse({"models": [selectors.model_json(m) for m in selectors.named_models_for_user(user)]})


@csrf_exempt
@login_not_required
@require_POST
def api_model_predict(request, name):
    user, error = _api_user(request)
    if error:
        return error
    team = request.POST.get("team") or request.GET.get("team")
    try:
        named_model = selectors.named_model_for_user(user, name, team=team)
    except selectors.AmbiguousName as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if named_model is None:
        of_team = f" in team {team!r}" if team else ""
        return JsonResponse({"error": f"No model named {name!r}{of_team}. {selectors.available_models_text(user)}"},
                            status=404)
    form = ModelPredictForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"error": "Invalid request.", "fields": form.errors.get_json_data()}, status=400)
    version = selectors.model_version(named_model, form.cleaned_data["version"])
    if version is None:
        wanted = form.cleaned_data["version"]
        message = (f"Model {name!r} has no version {wanted}." if wanted else
                   f"Model {name!r} has no live version yet: promote a job to it first.")
        return JsonResponse({"error": message}, status=404 if wanted else 409)
    refused = predict_refused(job=version.job, user=user)
    if refused:
        return refused
    prediction, busy = predict_bounded(job=version.job, upload=form.cleaned_data["image"], user=user,
                                       model_version=version)
    return busy or prediction_response(request, prediction, heatmap=form.cleaned_data["heatmap"])


# --- batches of a named model ---------------------------------------------------------------------------------------


def _api_model(request, name):
    """(user, named model, None) or (None, None, an error response)."""
    user, error = _api_user(request)
    if error:
        return None, None, error
    # names are unique per team: `team` picks one when several of the user's teams have it
    team = request.POST.get("team") or request.GET.get("team")
    try:
        named_model = selectors.named_model_for_user(user, name, team=team)
    except selectors.AmbiguousName as exc:
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
    batch, form = batch_from_request(request, named_model, user)
    if batch is None:
        return JsonResponse({"error": "Invalid request.", "fields": form.errors.get_json_data()}, status=400)
    return JsonResponse(batch_selectors.batch_status(batch), status=202)


@csrf_exempt
@login_not_required
@require_GET
@never_cache
def api_batch_detail(request, name, pk):
    user, named_model, error = _api_model(request, name)
    if error:
        return error
    batch = batch_selectors.model_batches(named_model).filter(pk=pk).first()
    if batch is None:
        return JsonResponse({"error": "No such batch."}, status=404)
    return JsonResponse(batch_selectors.batch_status(batch))
