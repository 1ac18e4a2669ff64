"""JSON API of named models: `GET /api/models/` lists the team's names, `POST /api/models/<name>/predict/` an
image (optional `version`, default the live one; `heatmap=1` also asks for the Grad-CAM overlay; `team` when several
of the user's teams have a model of that name). Authentication and errors as in webapp.experiments.api; other
teams' names are missing ones (404)."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from webapp.experiments.api import _api_user, predict_refused, prediction_response
from webapp.serving import selectors
from webapp.serving.forms import ModelPredictForm
from webapp.serving.waiting import predict_bounded


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
