import csv

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import ProtectedError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from webapp.datasets import selectors, services
from webapp.datasets.forms import DatasetImportForm, ImagesUploadForm
from webapp.datasets.models import Dataset, Split
from webapp.datasets.services import EXPECTED_LAYOUTS, ImportRejected

RESULT_SESSION_KEY = "datasets_import_result"
REJECTIONS_SESSION_KEY = "datasets_import_rejections"  # the full list, for the download


def _get_dataset_for_user(request, pk) -> Dataset:
    return get_object_or_404(selectors.datasets_for_user(request.user), pk=pk)


def _show_result(request, result: services.ImportResult):
    """Post/redirect/get: the detail page shows this once, with the first rejections; the full list stays
    downloadable (a page listing 20,000 of them weighed megabytes)."""
    report = result.as_dict()
    rejected = report["rejected"]
    report.update(rejected=rejected[:settings.DATASETS_REJECTIONS_SHOWN], rejected_count=len(rejected))
    request.session[RESULT_SESSION_KEY] = report
    request.session[REJECTIONS_SESSION_KEY] = {"dataset_id": result.dataset.pk, "rejected": rejected}
    messages.success(request, f"Added {result.total_added} images to {result.dataset.name}.")
    return redirect(result.dataset)


def dataset_list(request):
    datasets = selectors.datasets_with_counts(selectors.datasets_for_user(request.user))
    return render(request, "datasets/dataset_list.html", {"datasets": datasets})


def dataset_detail(request, pk):
    dataset = _get_dataset_for_user(request, pk)
    result = request.session.pop(RESULT_SESSION_KEY, None)
    counts = selectors.dataset_counts(dataset)
    samples = selectors.dataset_samples(dataset)
    for row in counts["classes"]:
        row["samples"] = samples.get(row["label_id"], [])
    return render(request, "datasets/dataset_detail.html", {
        "dataset": dataset, "counts": counts, "splits": Split.choices,
        "result": result if result and result["dataset_id"] == dataset.pk else None,
    })


def dataset_import(request):
    form = DatasetImportForm(request.POST or None, request.FILES or None, user=request.user)
    rejected = None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.dataset_import_zip(user=request.user, **form.import_kwargs())
        except ImportRejected as exc:
            rejected = exc
        else:
            return _show_result(request, result)
    status = 400 if rejected else 200
    context = {"form": form, "rejected": rejected, "expected_layouts": EXPECTED_LAYOUTS}
    return render(request, "datasets/dataset_import.html", context, status=status)


def images_upload(request, pk):
    dataset = _get_dataset_for_user(request, pk)
    form = ImagesUploadForm(request.POST or None, request.FILES or None, dataset=dataset)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        label = data["label"] or services.label_get_or_create(dataset=dataset, name=data["new_label"])
        result = services.images_add(dataset=dataset, label=label, split=data["split"], files=data["photos"],
                                     user=request.user)
        return _show_result(request, result)
    return render(request, "datasets/images_upload.html", {"dataset": dataset, "form": form})


def import_rejections(request, pk):
    """The last import's rejected files as CSV (entry, reason)."""
    dataset = _get_dataset_for_user(request, pk)
    saved = request.session.get(REJECTIONS_SESSION_KEY)
    if not saved or saved["dataset_id"] != dataset.pk:
        raise Http404
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-rejections-{dataset.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(["entry", "reason"])
    writer.writerows(saved["rejected"])
    return response


@require_POST
def dataset_delete(request, pk):
    dataset = _get_dataset_for_user(request, pk)
    if not request.user.has_perm("datasets.delete_dataset"):
        raise PermissionDenied("Deleting a dataset needs the permission to delete datasets.")
    try:
        services.dataset_delete(dataset=dataset)
    except ProtectedError:
        messages.error(request, f"{dataset.name} is used by training jobs; delete those first.")
        return redirect(dataset)
    messages.success(request, f"Deleted dataset {dataset.name}.")
    return redirect("datasets:list")
