"""Writes on dataset audits and their findings (`<entity>_<action>`, keyword-only). The web process creates audits
and applies fixes; the worker claims, beats, and stores the findings (conditional UPDATEs on the status, as for
evaluations). Fixes go through webapp.datasets.services."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from webapp.audits.models import AuditFinding, AuditStatus, DatasetAudit, FindingKind, finding_key
from webapp.datasets import services as dataset_services
from webapp.datasets.models import Dataset, Image, Label
from webapp.lifecycle.registry import KINDS
from webapp.lifecycle.services import enqueue

ACTIVE = [AuditStatus.QUEUED, AuditStatus.RUNNING]


# --- web side -----------------------------------------------------------------------------------------------


@transaction.atomic
def audit_create(*, dataset: Dataset, user, backbone: str | None = None, weights: str = "imagenet",
                 input_size: int | None = None) -> DatasetAudit:
    """A queued audit (sent to the `train` queue once this commits); an audit already queued or running for the
    dataset is returned instead of a second one."""
    running = DatasetAudit.objects.filter(dataset=dataset, status__in=ACTIVE).first()
    if running:
        return running
    if not Image.objects.labelled().filter(dataset=dataset).exists():
        raise ValidationError(f"Dataset {dataset} has no labelled photos to audit.")
    if backbone is None:  # what the workers have weights for, or the dataset's last job's (audit_features)
        from webapp.audits.selectors import audit_features

        features = audit_features(dataset)
        backbone, weights, input_size = features["backbone"], features["weights"], features["input_size"]
    audit = DatasetAudit.objects.create(dataset=dataset, backbone=backbone, weights=weights, input_size=input_size,
                                        created_by=user if user and user.pk else None)
    enqueue(KINDS["audit"].task, audit.pk)
    return audit


def finding_dismiss(*, finding: AuditFinding, user) -> None:
    """Hidden from the lists, and still dismissed when a later audit finds the same photos again."""
    AuditFinding.objects.filter(pk=finding.pk).update(dismissed=True, dismissed_by=user, dismissed_at=timezone.now())


def finding_restore(*, finding: AuditFinding) -> None:
    AuditFinding.objects.filter(pk=finding.pk).update(dismissed=False, dismissed_by=None, dismissed_at=None)


@transaction.atomic
def finding_relabel(*, finding: AuditFinding, user=None) -> int:
    """A suspected label error fixed: its photo moves to the suggested class (recorded in its history); the
    finding goes."""
    if finding.kind != FindingKind.LABEL or not finding.suggested_label:
        raise ValidationError("Only a suspected label error has a suggested class.")
    label = Label.objects.filter(dataset=finding.dataset, name=finding.suggested_label).first()
    if label is None:
        raise ValidationError(f"Class {finding.suggested_label!r} no longer exists in {finding.dataset}.")
    changed = dataset_services.images_relabel(images=finding.images.filter(dataset=finding.dataset), label=label,
                                              user=user)
    finding.delete()
    return changed


def _finding_image(finding: AuditFinding, image: Image) -> QuerySet[Image]:
    if not finding.images.filter(pk=image.pk).exists():
        raise ValidationError("That photo is not part of this finding.")
    return Image.objects.filter(pk=image.pk)


def _resolve_if_done(finding: AuditFinding) -> None:
    """A label finding is done once its photo is dealt with; a group once fewer than 2 of its photos are left in
    use (not deleted, not excluded). Excluded photos are left out of later audits, so it does not come back."""
    if finding.kind == FindingKind.LABEL or finding.images.filter(excluded=False).count() < 2:
        finding.delete()


@transaction.atomic
def finding_image_delete(*, finding: AuditFinding, image: Image, user=None) -> None:
    """Delete one photo of a finding (e.g. the copy of a duplicate pair); the finding goes when it is resolved."""
    dataset_services.images_delete(images=_finding_image(finding, image), user=user)
    _resolve_if_done(finding)


@transaction.atomic
def finding_image_exclude(*, finding: AuditFinding, image: Image, user=None) -> None:
    """Exclude one photo of a finding from jobs (kept in the dataset; the dataset service records the change in
    the photo's history); the finding goes when it is resolved."""
    dataset_services.images_exclude(images=_finding_image(finding, image), user=user)
    _resolve_if_done(finding)


# --- worker side ----------------------------------------------------------------------------------------------


def audit_progress(*, audit_id: int, done: int, total: int) -> None:
    DatasetAudit.objects.filter(pk=audit_id, status=AuditStatus.RUNNING).update(
        progress_done=done, progress_total=total, heartbeat_at=timezone.now()
    )


def _findings(result: dict, images: dict) -> list[dict]:
    """classifier.audit's result (ids: Image ids) as finding rows: {kind, image_ids, score, given, suggested,
    detail}."""
    out = [{"kind": FindingKind.LABEL, "image_ids": [i["id"]], "score": i["score"], "given": i["given"],
            "suggested": i["suggested"], "detail": {"suggested_probability": i["suggested_probability"],
                                                   "probabilities": i.get("probabilities", [])}}
           for i in result["label_issues"]]
    leaked = {frozenset(leak["ids"]) for leak in result["leaks"]}
    out += [{"kind": FindingKind.LEAK, "image_ids": leak["ids"], "score": leak["similarity"], "given": "",
             "suggested": "", "detail": {"splits": leak["splits"], "datasets": leak["datasets"]}}
            for leak in result["leaks"]]
    for group in result["duplicates"]:  # a pair already listed as a leak is not listed twice
        if len(group["ids"]) == 2 and frozenset(group["ids"]) in leaked:
            continue
        out.append({"kind": FindingKind.DUPLICATE, "image_ids": group["ids"], "score": group["similarity"],
                    "given": "", "suggested": "", "detail": {"splits": [images[i].split for i in group["ids"]]}})
    return out


@transaction.atomic
def audit_succeed(*, audit_id: int, result: dict, images: dict[int, Image], skipped_images: list) -> bool:
    """Store the findings of a finished audit. A finding seen before (same kind and photos) keeps its row and
    its dismissal; findings not seen again and never dismissed are dropped."""
    audit = DatasetAudit.objects.select_for_update().filter(pk=audit_id, status=AuditStatus.RUNNING).first()
    if audit is None:
        return False
    existing = {f.key: f for f in AuditFinding.objects.filter(dataset_id=audit.dataset_id)}
    seen = set()
    for row in _findings(result, images):
        key = finding_key(row["kind"], [images[i].content_hash for i in row["image_ids"]])
        if key in seen:
            continue
        seen.add(key)
        fields = {"audit": audit, "kind": row["kind"], "score": row["score"], "given_label": row["given"],
                  "suggested_label": row["suggested"], "detail": row["detail"]}
        finding = existing.get(key)
        if finding is None:
            finding = AuditFinding.objects.create(dataset_id=audit.dataset_id, key=key, **fields)
        else:
            AuditFinding.objects.filter(pk=finding.pk).update(**fields)
        finding.images.set(row["image_ids"])
    AuditFinding.objects.filter(dataset_id=audit.dataset_id, dismissed=False).exclude(key__in=seen).delete()
    summary = {"classes": result["classes"], "oof_accuracy": result["oof_accuracy"], "seconds": result["seconds"]}
    DatasetAudit.objects.filter(pk=audit_id).update(
        status=AuditStatus.SUCCEEDED, summary=summary, image_count=len(images), skipped_images=skipped_images,
        finished_at=timezone.now(), progress_done=len(images), progress_total=len(images),
    )
    return True
