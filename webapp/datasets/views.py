import csv

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ProtectedError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from webapp.accounts.permissions import Action, can, powers
from webapp.audits.selectors import findings_summary
from webapp.core.pagination import IdsFirstPaginator
from webapp.datasets import selectors, services
from webapp.datasets.exporting import dataset_zip_stream
from webapp.datasets.forms import (
    PHOTO_ACTIONS, BucketImportForm, DatasetImportForm, ImagesUploadForm, PhotoActionForm, PhotoFilterForm,
)
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
    added = result.total_added
    messages.success(request, f"Added {added} image{pluralize(added)} to {result.dataset.name}.")
    return redirect(result.dataset)


def dataset_list(request):
    datasets = selectors.datasets_with_counts(selectors.datasets_for_user(request.user))
    return render(request, "datasets/dataset_list.html", {"datasets": datasets})


def _check_can(request, action: Action, dataset: Dataset) -> None:
    if not can(request.user, action, dataset.team_id):
        raise PermissionDenied(f"Your role in team {dataset.team} does not allow this.")


def dataset_detail(request, pk):
    """Counts, the photo browser (filters, sort, pages of thumbnails, bulk actions), recent changes."""
    dataset = get_object_or_404(selectors.datasets_for_user(request.user).select_related("created_by"), pk=pk)
    result = request.session.pop(RESULT_SESSION_KEY, None)
    filters = PhotoFilterForm(request.GET or None, dataset=dataset)
    valid = filters.is_valid()
    images = selectors.images_matching(dataset, **(filters.filters() if valid else {}))
    page = IdsFirstPaginator(images, settings.DATASETS_PHOTOS_PER_PAGE).get_page(request.GET.get("page"))
    filter_items = filters.query_items() if valid else []
    return render(request, "datasets/dataset_detail.html", {
        "dataset": dataset, "counts": selectors.dataset_counts(dataset), "splits": Split.choices,
        "result": result if result and result["dataset_id"] == dataset.pk else None,
        "powers": powers(request.user, dataset.team_id), "filters": filters, "page": page,
        "filter_items": filter_items, "filter_query": urlencode(filter_items),
        "actions": PHOTO_ACTIONS, "changes": selectors.dataset_recent_changes(dataset),
        "findings": findings_summary(dataset),
    })


def photo_detail(request, pk, image_pk):
    """One photo, large, with its history and the actions the user's role allows."""
    dataset = _get_dataset_for_user(request, pk)
    image = get_object_or_404(dataset.images.select_related("label", "added_by"), pk=image_pk)
    return render(request, "datasets/photo_detail.html", {
        "dataset": dataset, "image": image, "history": selectors.image_history(image),
        "powers": powers(request.user, dataset.team_id), "labels": dataset.labels.order_by("name"),
        "splits": Split.choices,
    })


PHOTO_SERVICES = {
    "exclude": services.images_exclude, "include": services.images_include, "flag": services.images_flag,
    "unflag": services.images_unflag, "delete": services.images_delete,
}


@require_POST
def photos_action(request, pk):
    """One bulk action (relabel, move, exclude, include, flag, unflag, delete) on the ticked photos or on all
    photos matching the filters sent along; one service call."""
    dataset = _get_dataset_for_user(request, pk)
    _check_can(request, Action.CURATE, dataset)
    form = PhotoActionForm(request.POST, dataset=dataset)
    back = _safe_next(request, form.data.get("next")) or dataset.get_absolute_url()
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    data = form.cleaned_data
    if data["scope"] == "matching":
        filters = PhotoFilterForm(request.POST, dataset=dataset)
        if not filters.is_valid():
            messages.error(request, "The filters are not valid; nothing was changed.")
            return redirect(back)
        images = selectors.images_matching(dataset, **filters.filters())
    else:
        images = dataset.images.filter(pk__in=data["image"])
    action, user = data["action"], request.user
    if action == "relabel":
        count = services.images_relabel(images=images, label=data["to_label"], user=user)
    elif action == "move":
        count = services.images_move_to_split(images=images, split=data["to_split"], user=user)
    else:
        count = PHOTO_SERVICES[action](images=images, user=user)
    messages.success(request, f"{dict(PHOTO_ACTIONS)[action].rstrip('…')}: {count} photo{pluralize(count)} changed.")
    return redirect(back)


def _safe_next(request, url) -> str | None:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}) and url.startswith("/"):
        return url
    return None


def _import_page(request, form, run_import, template: str):
    """An import form's page: the result once it imported, else the form (400 with the reason it was refused)."""
    rejected = None
    if request.method == "POST" and form.is_valid():
        try:
            result = run_import(user=request.user, **form.import_kwargs())
        except ImportRejected as exc:
            rejected = exc
        else:
            return _show_result(request, result)
    context = {"form": form, "rejected": rejected, "expected_layouts": EXPECTED_LAYOUTS}
    return render(request, template, context, status=400 if rejected else 200)


def dataset_import(request):
    form = DatasetImportForm(request.POST or None, request.FILES or None, user=request.user)
    return _import_page(request, form, services.dataset_import_zip, "datasets/dataset_import.html")


@sensitive_post_parameters("access_key_id", "secret_access_key")
def dataset_import_bucket(request):
    """The import from a bucket runs in the request, as the zip upload does: bounded by the upload's limits, and
    keys typed for it never leave this request (a queued task would carry them through the broker)."""
    form = BucketImportForm(request.POST or None, user=request.user)
    return _import_page(request, form, services.dataset_import_bucket, "datasets/dataset_import_bucket.html")


def images_upload(request, pk):
    dataset = _get_dataset_for_user(request, pk)
    _check_can(request, Action.CURATE, dataset)
    form = ImagesUploadForm(request.POST or None, request.FILES or None, dataset=dataset)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["unlabelled"]:  # the pool: each photo's split from its content hash
            label, split = None, None
        else:
            label, split = data["label"], data["split"]
            if label is None:
                try:
                    label = services.label_get_or_create(dataset=dataset, name=data["new_label"])
                except ValidationError as exc:
                    form.add_error("new_label", exc)
                    return render(request, "datasets/images_upload.html", {"dataset": dataset, "form": form})
        result = services.images_add(dataset=dataset, label=label, split=split, files=data["photos"],
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


def dataset_download(request, pk):
    """The dataset as a zip of class folders with its splits (train/validation/test/<class>/...), streamed: what
    the import and the CLI read back. Looking is enough: a viewer may take the photos it sees."""
    dataset = _get_dataset_for_user(request, pk)
    response = StreamingHttpResponse(dataset_zip_stream(dataset), content_type="application/zip")
    filename = "".join(c if c.isalnum() or c in "-_." else "-" for c in dataset.name) or "dataset"
    response["Content-Disposition"] = f'attachment; filename="{filename}.zip"'
    return response


@require_POST
def dataset_delete(request, pk):
    dataset = _get_dataset_for_user(request, pk)
    if not can(request.user, Action.DELETE_DATASET, dataset.team_id):
        raise PermissionDenied("Deleting a dataset needs the team's admin role or the permission to delete "
                               "datasets.")
    try:
        services.dataset_delete(dataset=dataset)
    except ProtectedError:
        messages.error(request, f"{dataset.name} is used by training jobs; delete those first.")
        return redirect(dataset)
    messages.success(request, f"Deleted dataset {dataset.name}.")
    return redirect("datasets:list")
