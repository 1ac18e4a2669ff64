"""Pages for training jobs, their results and comparisons (predictions: webapp/serving/prediction_views.py).

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

from webapp.accounts.permissions import Action, can, can_delete_job, powers
from webapp.core.ids import parse_id
from webapp.experiments import presenters, selectors, services
from webapp.experiments.forms import (CompareForm, EstimateForm, JobForm, ReevaluateForm, ThresholdForm,
                                      weights_missing)
from webapp.experiments.models import Evaluation, TrainingJob
from webapp.workers_registry.selectors import imagenet_weights


def _get_job_for_user(user, pk) -> TrainingJob:
    return get_object_or_404(selectors.jobs_for_user(user).select_related("dataset", "created_by"), pk=pk)


def _get_evaluation_to_show(job, evaluation_id: str | None) -> Evaluation | None:
    """The evaluation the job page shows: the one asked for (a re-evaluation), else the job's own test split's."""
    if not evaluation_id:
        return selectors.job_evaluation(job)
    evaluation_id = parse_id(evaluation_id)
    if evaluation_id is None:
        return None
    return get_object_or_404(selectors.job_evaluations(job), pk=evaluation_id)


def _estimate_for_form(form, user) -> dict | None:
    """The estimate for what the job form shows: its submitted values, else its initial dataset and defaults."""
    data = {name: form[name].value() for name in EstimateForm.base_fields}
    if parse_id(data["dataset"] or "") is None:
        data["dataset"] = form.fields["dataset"].queryset.values_list("pk", flat=True).first()
    estimate_form = EstimateForm(data, user=user)
    if not estimate_form.is_valid():
        return None
    return selectors.job_estimate(**estimate_form.estimate_kwargs())


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
    jobs = selectors.jobs_with_test_scores(selectors.jobs_for_user(request.user))
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    return render(request, "experiments/job_list.html", {"page": page, "rows": presenters.job_rows(page.object_list)})


def job_new(request):
    initial = {"dataset": parse_id(request.GET.get("dataset"))}
    form = JobForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        _check_can_train(request.user, form.cleaned_data["dataset"])
        try:
            job = services.job_create(user=request.user, **form.job_kwargs())
        except ValidationError as error:  # the settings as a whole, or the dataset, cannot make a job
            form.add_error(None if error.code == "too_much_memory" else "dataset", _error_text(error))
        else:
            # tagged so the job page hides it once the job has left the queue (the page does not reload until then)
            messages.success(request, f"Job #{job.pk} queued.", extra_tags="job-queued")
            return redirect(job)
    estimate = _estimate_for_form(form, request.user)
    return render(request, "experiments/job_new.html", {"form": form, "estimate": estimate})


@require_GET
@never_cache
def job_estimate(request):
    """What a job with these settings would cost (JSON): images not yet in the feature cache, training memory."""
    form = EstimateForm(request.GET, user=request.user)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return JsonResponse(selectors.job_estimate(**form.estimate_kwargs()))


@require_GET
def job_detail(request, pk):
    job = _get_job_for_user(request.user, pk)
    evaluation = _get_evaluation_to_show(job, request.GET.get("evaluation"))
    gallery_ids = [item.get("id") for item in presenters.gallery_items(evaluation)]
    result = presenters.evaluation_context(evaluation, gallery_images=selectors.images_by_id(gallery_ids))
    context = {
        "job": job,
        "status": selectors.job_status(job),
        "evaluation": evaluation,
        "result": result,
        "reevaluations": selectors.job_reevaluations(job),
        "reevaluate_form": ReevaluateForm(user=request.user, job=job),
        "can_cancel": _can_cancel(request.user, job),
        "can_train": can(request.user, Action.TRAIN, job.dataset.team_id),
        "threshold": selectors.job_threshold(job),
        "threshold_form": ThresholdForm(initial={"threshold": job.unsure_threshold}),
        "can_edit_threshold": job.status == "succeeded" and services.can_edit_threshold(request.user, job),
        "can_delete": can_delete_job(request.user, job),
        "dataset_changes": selectors.job_dataset_changes(job) if job.is_finished else None,
        # the gallery's relabel / exclude actions, on the evaluated dataset's photos
        "gallery_powers": powers(request.user, evaluation.dataset.team_id) if evaluation else {},
        "gallery_labels": evaluation.dataset.labels.order_by("name") if evaluation else [],
        "gallery_next": f"{job.get_absolute_url()}?evaluation={evaluation.pk}#gallery" if evaluation else "",
        "duration": presenters.format_duration(job.duration_seconds),
        "model_sizes": presenters.model_input_sizes(job, result["chosen"] if evaluation and result and
                                                    evaluation.is_job_test_split else None),
        "trial_not_kept": presenters.trial_not_kept(job, result),
        "class_names": selectors.job_class_names(job) if job.status == "succeeded" else [],
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


@require_POST
def job_delete(request, pk):
    job = _get_job_for_user(request.user, pk)
    if not can_delete_job(request.user, job):
        raise PermissionDenied("Only the person who started this job, or someone allowed to delete the team's "
                               "jobs, can delete it.")
    try:
        services.job_delete(job=job)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(job)
    messages.success(request, f"Job #{pk} and its files were deleted; its predictions stay in the log.")
    return redirect("experiments:job_list")


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
    missing = weights_missing(job.backbone, job.weights, imagenet_weights())
    if missing:  # it would fail again seconds after it is queued
        messages.error(request, missing)
        return redirect(job)
    try:
        new_job = services.job_retry(job=job, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(job)
    messages.success(request, f"Job #{new_job.pk} queued with the settings of job #{job.pk}.", extra_tags="job-queued")
    return redirect(new_job)


@require_POST
def job_reevaluate(request, pk):
    job = _get_job_for_user(request.user, pk)
    _check_can_train(request.user, job.dataset)
    form = ReevaluateForm(request.POST, user=request.user, job=job)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("dataset", ["Choose a dataset to evaluate on."])))
        return redirect(job)
    try:
        evaluation = services.evaluation_create(job=job, dataset=form.cleaned_data["dataset"], user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(job)
    messages.success(request, f"Evaluation on {evaluation.dataset} queued.")
    return redirect(f"{job.get_absolute_url()}?evaluation={evaluation.pk}")


@require_POST
def job_threshold(request, pk):
    """Edit (or reset) the model's unsure threshold; the job page shows the chosen and the edited values."""
    job = _get_job_for_user(request.user, pk)
    form = ThresholdForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The threshold is a confidence between 0 and 1 (empty: the one chosen on "
                                "validation); nothing changed.")
        return redirect(f"{job.get_absolute_url()}#model-threshold")
    threshold = form.cleaned_data["threshold"]
    try:  # PermissionDenied goes on: a 403
        services.job_threshold_set(job=job, threshold=threshold, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        which = "as edited" if threshold is not None else "the one chosen on validation"
        effective = selectors.job_threshold(job)["effective"] or 0.0
        messages.success(request, f"Predictions of job #{job.pk} now answer \"unsure\" below a confidence of "
                                  f"{effective:.3f} ({which}).")
    return redirect(f"{job.get_absolute_url()}#model-threshold")


@require_GET
def job_download(request, pk):
    """The exported model (`model.keras`: a decoded RGB uint8 photo of any size in, one probability per class out,
    classes in sorted order; the job page says how to call it)."""
    job = _get_job_for_user(request.user, pk)
    path = selectors.job_exported_model_path(job)
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
    jobs = selectors.jobs_with_epochs(selectors.jobs_with_test_scores(form.cleaned_data["jobs"]))
    context = {"jobs": jobs, "rows": presenters.compare_rows(jobs), "chart_data": presenters.compare_data(jobs)}
    return render(request, "experiments/compare.html", context)

