"""Reads of audits and findings; the dataset itself is fetched through datasets_for_user by the views."""

from django.db.models import Prefetch, QuerySet

from webapp.audits.models import AuditFinding, DatasetAudit, FindingKind
from webapp.datasets.models import Dataset, Image


def latest_audit(dataset: Dataset) -> DatasetAudit | None:
    return DatasetAudit.objects.filter(dataset=dataset).first()


def last_finished_audit(dataset: Dataset) -> DatasetAudit | None:
    return DatasetAudit.objects.filter(dataset=dataset, finished_at__isnull=False, status="succeeded").first()


def findings_by_kind(dataset: Dataset, *, limit: int = 200) -> dict[str, list[AuditFinding]]:
    """Open (not dismissed) findings per kind, most severe first, with their photos (3 queries)."""
    images = Image.objects.select_related("label", "dataset").order_by("id")
    findings = (AuditFinding.objects.filter(dataset=dataset, dismissed=False)
                .prefetch_related(Prefetch("images", queryset=images)))
    out = {}
    for kind in FindingKind.values:
        out[kind] = list(findings.filter(kind=kind).order_by("-score", "id")[:limit])
    return out


def dismissed_count(dataset: Dataset) -> int:
    return AuditFinding.objects.filter(dataset=dataset, dismissed=True).count()


def findings_for_dataset(dataset: Dataset) -> QuerySet[AuditFinding]:
    return AuditFinding.objects.filter(dataset=dataset)


def audit_status(audit: DatasetAudit | None) -> dict:
    if audit is None:
        return {"status": None}
    return {"id": audit.pk, "status": audit.status, "finished": audit.is_finished,
            "progress_done": audit.progress_done, "progress_total": audit.progress_total,
            "error_message": audit.error_message}
