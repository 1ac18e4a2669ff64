"""JSON API for scripts: `POST /api/predict/` an image, get per-class probabilities.

Authentication: `Authorization: Token <key>` (tokens from the API tokens page), or the browser session. A token
request needs no CSRF token (no cookie is involved, so there is nothing to forge); a session request does. Errors
are JSON with an `error` message; other teams' jobs are indistinguishable from missing ones.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from webapp.accounts.auth import TooManyFailures, authenticate_request, too_many_failures_response
from webapp.experiments import presenters, selectors, services
from webapp.experiments.forms import ApiPredictForm


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
    job = form.cleaned_data["job"] or selectors.succeeded_jobs_for_user(user).first()
    if job is None:
        return JsonResponse({"error": "No trained model: no job of yours has succeeded yet."}, status=409)
    prediction = services.prediction_run(job=job, upload=form.cleaned_data["image"], user=user)
    return JsonResponse(presenters.prediction_json(prediction), status=200 if prediction.status == "succeeded" else 422)


@csrf_exempt
@login_not_required
@require_GET
def api_jobs(request):
    """The trained models a script can predict with, newest first."""
    user, error = _api_user(request)
    if error:
        return error
    jobs = selectors.succeeded_jobs_for_user(user)[:100]
    return JsonResponse({"jobs": [_job_json(job) for job in jobs]})
