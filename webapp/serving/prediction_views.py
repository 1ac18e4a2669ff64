"""Pages of single predictions: upload photos and watch their answers arrive (the predict page polls
prediction_status), and the Grad-CAM heatmap of a prediction or of a job's gallery photo. Batches:
batch_views.py; the JSON API: api.py; the review of predictions: review_views.py.

The Prediction and Heatmap rows, and their services and selectors, stay in webapp.experiments (the models are
not moved between apps). URL names stay in the `experiments` namespace (prediction_urls.py)."""

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from webapp.core.ids import parse_id
from webapp.experiments import selectors, services
from webapp.experiments.forms import PredictForm
from webapp.serving import presenters


def predict(request):
    """Upload photos: the predictions are created and sent to the `predict` worker, and the page comes back at
    once; it shows each result as it arrives (predict.js polls prediction_status)."""
    initial = {"model": parse_id(request.GET.get("model")), "job": parse_id(request.GET.get("job"))}
    form = PredictForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        job, version = form.job_and_version()
        services.prediction_check_allowed(job=job, user=request.user)  # PermissionDenied: a 403, nothing stored
        created = [
            services.prediction_create(job=job, upload=photo, user=request.user, model_version=version)
            for photo in form.cleaned_data["photos"]
        ]
        shown = ",".join(str(prediction.pk) for prediction in created)
        chosen = f"model={version.named_model_id}" if version else f"job={job.pk}"
        return redirect(f"{reverse('experiments:predict')}?{chosen}&shown={shown}")
    predictions = selectors.predictions_for_user(request.user).select_related("job__dataset", "created_by")
    shown = selectors.predictions_by_ids(predictions, presenters.shown_ids(request.GET.get("shown", "")))
    shown = presenters.with_unsure_reasons(shown, selectors.effective_thresholds(shown))
    context = {
        "form": form,
        "shown": shown,
        "chart_data": presenters.prediction_charts(shown),
        "page_config": {
            "status_url": reverse("experiments:prediction_status"),
            "pending": [prediction.pk for prediction in shown if prediction.status == "pending"],
        },
        "recent": selectors.recent_predictions_of(request.user)[:20],
        "has_models": form.fields["job"].queryset.exists(),
        "has_named_models": form.fields["model"].queryset.exists(),
    }
    return render(request, "serving/predict.html", context, status=400 if form.errors else 200)


@require_GET
@never_cache
def prediction_status(request):
    """Polled by the predict page: `?ids=1,2` -> {"predictions": [...]} (the user's own team's only)."""
    ids = presenters.shown_ids(request.GET.get("ids", ""))
    shown = selectors.predictions_by_ids(selectors.predictions_for_user(request.user), ids)
    shown = presenters.with_unsure_reasons(shown, selectors.effective_thresholds(shown))
    return JsonResponse({"predictions": [presenters.prediction_json(prediction) | {
        "unsure_reason": prediction.unsure_reason} for prediction in shown]})


def _heatmap_response(request, *, job, prediction=None, image=None, status_url: str):
    """GET: the heatmap's state; POST: ask for it (computed once by the `predict` worker), then its state. The
    page polls GET (heatmap.js); no web thread waits on the worker."""
    if request.method == "POST":
        try:
            heatmap = services.heatmap_request(job=job, prediction=prediction, image=image)
        except ValidationError as error:
            return JsonResponse({"status": "failed", "error": " ".join(error.messages)}, status=409)
    else:
        heatmap = selectors.heatmap_of(job=job, prediction=prediction, image=image)
    return JsonResponse(presenters.heatmap_json(heatmap, status_url), status=202 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
@never_cache
def prediction_heatmap(request, pk):
    prediction = get_object_or_404(selectors.predictions_for_user(request.user), pk=pk, job__isnull=False)
    return _heatmap_response(request, job=prediction.job, prediction=prediction,
                             status_url=reverse("experiments:prediction_heatmap", args=[pk]))


@require_http_methods(["GET", "POST"])
@never_cache
def job_image_heatmap(request, pk, image_pk):
    """A gallery photo's heatmap under this job's model (any photo of a dataset the user sees)."""
    job = get_object_or_404(selectors.jobs_for_user(request.user), pk=pk)
    image = get_object_or_404(selectors.images_for_user(request.user), pk=image_pk)
    return _heatmap_response(request, job=job, image=image,
                             status_url=reverse("experiments:job_image_heatmap", args=[pk, image_pk]))
