"""The audit of a dataset: start one, see its findings, fix or dismiss them. Thin views: fetch through
datasets_for_user (a foreign id is a 404), check the role (starting, fixing and dismissing are curating: a
viewer gets 403), call a service, redirect."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.permissions import Action, can, powers
from webapp.audits import presenters, selectors, services
from webapp.audits.models import AuditFinding, FindingKind
from webapp.datasets.models import Image
from webapp.datasets.selectors import dataset_counts, datasets_for_user


def _get_dataset_for_user(user, pk):
    return get_object_or_404(datasets_for_user(user), pk=pk)


def _get_finding_for_user(user, pk) -> AuditFinding:
    return get_object_or_404(AuditFinding.objects.select_related("dataset").filter(
        dataset__in=datasets_for_user(user)), pk=pk)


def _check_can_curate(user, dataset) -> None:
    if not can(user, Action.CURATE, dataset.team_id):
        raise PermissionDenied(f"Your role in team {dataset.team} does not allow curating its photos.")


def _get_finding_to_fix(request, pk, image_id=None):
    """(finding, image or None) the user may fix: both of the user's teams (else 404), a curator's (else 403)."""
    finding = _get_finding_for_user(request.user, pk)
    _check_can_curate(request.user, finding.dataset)
    if image_id is None:
        return finding, None
    return finding, get_object_or_404(Image.objects.filter(dataset__in=datasets_for_user(request.user)), pk=image_id)


def dataset_audit(request, pk):
    dataset = _get_dataset_for_user(request.user, pk)
    audit = selectors.latest_audit(dataset)
    findings = selectors.findings_by_kind(dataset)
    user_powers = powers(request.user, dataset.team_id)
    can_fix = user_powers["curate"]
    suspects = findings[FindingKind.LABEL]
    examples = selectors.class_examples(
        dataset, [label for f in suspects for label in (f.given_label, f.suggested_label)],
        leave_out=[image.pk for f in suspects for image in f.images.all()])
    return render(request, "audits/dataset_audit.html", {
        "dataset": dataset, "audit": audit, "finished": selectors.last_finished_audit(dataset),
        "findings": findings, "kinds": FindingKind,
        "label_items": presenters.label_review_items(suspects, examples, can_fix=can_fix),
        "duplicate_items": presenters.group_review_items(findings[FindingKind.DUPLICATE], dataset, can_fix=can_fix),
        "leak_items": presenters.group_review_items(findings[FindingKind.LEAK], dataset, can_fix=can_fix),
        "dismissed_count": selectors.dismissed_count(dataset), "counts": dataset_counts(dataset),
        "status": selectors.audit_status(audit), "powers": user_powers,
    })


def audit_status(request, pk):
    dataset = _get_dataset_for_user(request.user, pk)
    return JsonResponse(selectors.audit_status(selectors.latest_audit(dataset)))


@require_POST
def audit_start(request, pk):
    dataset = _get_dataset_for_user(request.user, pk)
    _check_can_curate(request.user, dataset)
    try:
        services.audit_create(dataset=dataset, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("audits:dataset_audit", dataset.pk)


@require_POST
def finding_dismiss(request, pk):
    finding, _ = _get_finding_to_fix(request, pk)
    return _fix(request, finding, lambda: services.finding_dismiss(finding=finding, user=request.user))


def _wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")  # the review component's keys


def _fix(request, finding, fix, done: str = ""):
    """Run a fix (a service call), say how it went: JSON to the review component, else back to the audit page."""
    try:
        fix()
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": " ".join(exc.messages)}, status=409)
        messages.error(request, " ".join(exc.messages))
    else:
        if _wants_json(request):
            return JsonResponse({"ok": True, "message": done})
        if done:
            messages.success(request, done)
    return redirect("audits:dataset_audit", finding.dataset_id)


@require_POST
def finding_relabel(request, pk):
    finding, _ = _get_finding_to_fix(request, pk)
    return _fix(request, finding, lambda: services.finding_relabel(finding=finding, user=request.user),
                f"Moved the photo to {finding.suggested_label}.")


@require_POST
def finding_image_delete(request, pk, image_id):
    finding, image = _get_finding_to_fix(request, pk, image_id)
    return _fix(request, finding,
                lambda: services.finding_image_delete(finding=finding, image=image, user=request.user),
                f"Deleted {image}.")


@require_POST
def finding_image_exclude(request, pk, image_id):
    finding, image = _get_finding_to_fix(request, pk, image_id)
    return _fix(request, finding,
                lambda: services.finding_image_exclude(finding=finding, image=image, user=request.user),
                f"Excluded {image} from jobs.")
