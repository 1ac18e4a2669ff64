"""JSON API for scripts: `POST /api/predict/` an image, get per-class probabilities.

Authentication: `Authorization: Token <key>` (tokens from the API tokens page), or the browser session. A token
request needs no CSRF token (no cookie is involved, so there is nothing to forge); a session request does. Errors
are JSON with an `error` message; other teams' jobs are indistinguishable from missing ones.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from webapp.accounts.auth import TooManyFailures, authenticate_request, too_many_failures_response
from webapp.accounts.models import ApiToken
from webapp.experiments import selectors, services
from webapp.experiments.forms import ApiPredictForm, ApiTokenForm
from webapp.experiments.models import JobStatus


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


def _prediction_json(prediction) -> dict:
    return {
        "id": prediction.pk,
        "status": prediction.status,
        "job": prediction.job_id,
        "file": prediction.original_name,
        "label": prediction.label or None,
        "confidence": prediction.confidence,
        # "unsure": the calibrated confidence is below the model's threshold; label is then only the top candidate
        "decision": prediction.decision or None,
        "probabilities": prediction.probabilities,
        "latency_ms": prediction.latency_ms,
        "error": prediction.error_message or None,
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
    job = form.cleaned_data["job"] or selectors.jobs_for_user(user).filter(status=JobStatus.SUCCEEDED).first()
    if job is None:
        return JsonResponse({"error": "No trained model: no job of yours has succeeded yet."}, status=409)
    prediction = services.prediction_run(job=job, upload=form.cleaned_data["image"], user=user)
    return JsonResponse(_prediction_json(prediction), status=200 if prediction.status == "succeeded" else 422)


@csrf_exempt
@login_not_required
@require_GET
def api_jobs(request):
    """The trained models a script can predict with, newest first."""
    user, error = _api_user(request)
    if error:
        return error
    jobs = selectors.jobs_for_user(user).filter(status=JobStatus.SUCCEEDED)[:100]
    return JsonResponse({"jobs": [_job_json(job) for job in jobs]})


def api_tokens(request):
    """The user's tokens; POST creates one and shows its key once."""
    form = ApiTokenForm(request.POST or None)
    context = {}
    if request.method == "POST" and form.is_valid():
        token, key = ApiToken.create_for(user=request.user, name=form.cleaned_data["name"],
                                         expires_at=form.expires_at())
        context = {"new_token": token, "new_key": key}
        form = ApiTokenForm()
    context |= {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user),
        "api_url": request.build_absolute_uri(reverse("experiments:api_predict")),
        "jobs_url": request.build_absolute_uri(reverse("experiments:api_jobs")),
    }
    response = render(request, "experiments/api_tokens.html", context)
    response["Cache-Control"] = "no-store"  # a page showing a key must not be cached
    return response


@require_POST
def api_token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.delete()
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("experiments:api_tokens")


