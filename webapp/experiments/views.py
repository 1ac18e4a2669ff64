"""Pages for training jobs, their results, comparisons and predictions.

Thin views (DESIGN.md): fetch through a `_get_x_for_user` helper (other teams' objects are a 404), validate a
form, call a service, redirect. Reads go through selectors, writes through services.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from webapp.accounts.permissions import Action, can, powers
from webapp.core.ids import parse_id
from webapp.experiments import charts, selectors, services
from webapp.experiments.forms import CompareForm, EstimateForm, JobForm, PredictForm, ReevaluateForm
from webapp.experiments.models import TrainingJob


def _get_job_for_user(user, pk) -> TrainingJob:
    return get_object_or_404(selectors.jobs_for_user(user).select_related("dataset", "created_by"), pk=pk)


def _can_cancel(user, job) -> bool:
    """A job is cancelled by the person who started it, or by a team member allowed to change jobs."""
    return job.created_by_id == user.pk or user.has_perm("experiments.change_trainingjob")


def _check_can_cancel(user, job) -> None:
    if not _can_cancel(user, job):
        raise PermissionDenied("Only the person who started this job, or someone allowed to change jobs, can "
                               "cancel it.")


def _check_can_train(user, dataset) -> None:
    """Starting, retrying and re-evaluating jobs is for the team's members and admins, not its viewers."""
    if not can(user, Action.TRAIN, dataset.team_id):
        raise PermissionDenied(f"Your role in team {dataset.team} does not allow training.")


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_GET
def job_list(request):
    jobs = charts.with_test_accuracy(selectors.jobs_for_user(request.user).select_related("dataset", "created_by"))
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    return render(request, "experiments/job_list.html", {"page": page, "rows": charts.job_rows(page.object_list)})


def job_new(request):
    initial = {"dataset": parse_id(request.GET.get("dataset"))}
    form = JobForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        _check_can_train(request.user, form.cleaned_data["dataset"])
        try:
            job = services.job_create(user=request.user, **form.job_kwargs())
        except ValidationError as error:
            form.add_error("dataset", _error_text(error))
        else:
            messages.success(request, f"Job #{job.pk} queued.")
            return redirect(job)
    estimate = charts.estimate_for_form(form, user=request.user)
    return render(request, "experiments/job_new.html", {"form": form, "estimate": estimate})


@require_GET
@never_cache
def job_estimate(request):
    """How many images of the dataset are not yet in the feature cache for these settings (JSON)."""
    form = EstimateForm(request.GET, user=request.user)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return JsonResponse(charts.estimate(**form.cleaned_data))


@require_GET
def job_detail(request, pk):
    job = _get_job_for_user(request.user, pk)
    evaluation = charts.pick_evaluation(job, request.GET.get("evaluation"))
    context = {
        "job": job,
        "status": selectors.job_status(job),
        "evaluation": evaluation,
        "result": charts.evaluation_context(evaluation, job=job),
        "reevaluations": selectors.job_reevaluations(job),
        "reevaluate_form": ReevaluateForm(user=request.user),
        "can_cancel": _can_cancel(request.user, job),
        "can_train": can(request.user, Action.TRAIN, job.dataset.team_id),
        "dataset_changes": selectors.job_dataset_changes(job) if job.is_finished else None,
        # the gallery's relabel / exclude actions, on the evaluated dataset's photos
        "gallery_powers": powers(request.user, evaluation.dataset.team_id) if evaluation else {},
        "gallery_labels": evaluation.dataset.labels.order_by("name") if evaluation else [],
        "gallery_next": f"{job.get_absolute_url()}?evaluation={evaluation.pk}#gallery" if evaluation else "",
        "duration": charts.format_duration(job.duration_seconds),
        "page_config": {
            "status_url": reverse("experiments:job_status", args=[job.pk]),
            "finished": job.is_finished,
            "evaluation_status_url": (
                reverse("experiments:evaluation_status", args=[evaluation.pk])
                if evaluation and not evaluation.is_finished else None
            ),
        },
    }
    return render(request, "experiments/job_detail.html", context)


@require_GET
@never_cache
def job_status(request, pk):
    """Polled by the job page (20 open pages must not load the server): small, fast, JSON. The visibility check
    skips the joins the HTML pages need."""
    job = get_object_or_404(selectors.jobs_for_user(request.user).select_related(None), pk=pk)
    return JsonResponse(selectors.job_status(job))


@require_GET
@never_cache
def evaluation_status(request, pk):
    evaluation = get_object_or_404(selectors.evaluations_for_user(request.user), pk=pk)
    return JsonResponse(selectors.evaluation_status(evaluation))


@require_POST
def job_cancel(request, pk):
    job = _get_job_for_user(request.user, pk)
    _check_can_cancel(request.user, job)
    if job.is_finished:
        messages.warning(request, f"Job #{job.pk} has already finished.")
    else:
        services.job_cancel(job=job)
        messages.success(request, f"Cancellation of job #{job.pk} requested.")
    return redirect(job)


@require_POST
def job_retry(request, pk):
    job = _get_job_for_user(request.user, pk)
    _check_can_train(request.user, job.dataset)
    try:
        new_job = services.job_retry(job=job, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(job)
    messages.success(request, f"Job #{new_job.pk} queued with the settings of job #{job.pk}.")
    return redirect(new_job)


@require_POST
def job_reevaluate(request, pk):
    job = _get_job_for_user(request.user, pk)
    _check_can_train(request.user, job.dataset)
    form = ReevaluateForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Choose a dataset to evaluate on.")
        return redirect(job)
    try:
        evaluation = services.evaluation_create(job=job, dataset=form.cleaned_data["dataset"], user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(job)
    messages.success(request, f"Evaluation on {evaluation.dataset} queued.")
    return redirect(f"{job.get_absolute_url()}?evaluation={evaluation.pk}")


@require_GET
def job_download(request, pk):
    """The exported model (`model.keras`: raw RGB image in, probabilities out)."""
    job = _get_job_for_user(request.user, pk)
    path = charts.exported_model_path(job)
    if path is None:
        raise Http404("This job has no exported model.")
    filename = f"menagerie-job-{job.pk}-{job.backbone}.keras"
    return FileResponse(open(path, "rb"), as_attachment=True, filename=filename)


@require_GET
def compare(request):
    form = CompareForm(request.GET or None, user=request.user)
    if not form.is_valid():
        if request.GET:
            messages.error(request, " ".join(form.errors.get("jobs", ["Pick at least two jobs to compare."])))
        return redirect("experiments:job_list")
    jobs = charts.with_test_accuracy(form.cleaned_data["jobs"].select_related("dataset", "created_by"))
    context = {"jobs": jobs, "rows": charts.compare_rows(jobs), "chart_data": charts.compare_data(jobs)}
    return render(request, "experiments/compare.html", context)


def predict(request):
    initial = {"job": parse_id(request.GET.get("job")) or charts.latest_succeeded_job_id(request.user)}
    form = PredictForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        job = form.cleaned_data["job"]
        done = [
            services.prediction_run(job=job, upload=photo, user=request.user) for photo in form.cleaned_data["photos"]
        ]
        shown = ",".join(str(prediction.pk) for prediction in done)
        return redirect(f"{reverse('experiments:predict')}?job={job.pk}&shown={shown}")
    predictions = selectors.predictions_for_user(request.user).select_related("job__dataset", "created_by")
    shown = charts.shown_predictions(predictions, request.GET.get("shown", ""))
    context = {
        "form": form,
        "shown": shown,
        "chart_data": charts.prediction_charts(shown),
        "recent": predictions.filter(created_by=request.user)[:20],
        "has_models": form.fields["job"].queryset.exists(),
    }
    return render(request, "experiments/predict.html", context, status=400 if form.errors else 200)

