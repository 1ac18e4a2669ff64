"""Reads of audits and findings; the dataset itself is fetched through datasets_for_user by the views."""

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from webapp.audits.models import AuditFinding, DatasetAudit, FindingKind
from webapp.datasets.models import Dataset, Image


def audit_for_run(*, audit_id: int) -> DatasetAudit:
    return DatasetAudit.objects.select_related("dataset").get(pk=audit_id)


def audit_images(audit: DatasetAudit) -> list[Image]:
    """The photos an audit reads: its dataset's, and the team's other datasets' (they take part in the search for
    the same photo, leaks, not in the label audit). Excluded and unlabelled photos are in no job: no label check,
    no leak."""
    return list(Image.objects.labelled().filter(dataset__team_id=audit.dataset.team_id, excluded=False)
                .select_related("label").order_by("id"))


def latest_audit(dataset: Dataset) -> DatasetAudit | None:
    return DatasetAudit.objects.filter(dataset=dataset).first()


def last_finished_audit(dataset: Dataset) -> DatasetAudit | None:
    return DatasetAudit.objects.filter(dataset=dataset, finished_at__isnull=False, status="succeeded").first()


def audit_features(dataset: Dataset) -> dict:
    """{backbone, weights, input_size} of a new audit's features: the dataset's most recent ImageNet job's (its
    features are cached already) when a train worker has that backbone's weights, else AUDIT_BACKBONE if a worker
    has its weights, else a backbone whose weights a worker has (an offline install may have only MobileNetV2's:
    classifier.backbones.choose_backbone, as the CLI). With no worker reporting yet: the recent job's backbone,
    else AUDIT_BACKBONE."""
    from classifier.backbones import choose_backbone
    from webapp.experiments.models import TrainingJob
    from webapp.workers_registry.selectors import backbones_with_weights

    available = backbones_with_weights("train")
    job = (TrainingJob.objects.filter(dataset=dataset, weights="imagenet").order_by("-created_at", "-id")
           .values("backbone", "input_size").first())
    if job and (job["backbone"] in available or not available):
        return {"backbone": job["backbone"], "weights": "imagenet", "input_size": job["input_size"]}
    return {"backbone": choose_backbone(available, settings.AUDIT_BACKBONE), "weights": "imagenet", "input_size": None}


def findings_by_kind(dataset: Dataset, *, limit: int = 200) -> dict[str, list[AuditFinding]]:
    """Open (not dismissed) findings per kind, most severe first, with their photos (3 queries)."""
    images = Image.objects.select_related("label", "dataset").order_by("id")
    findings = (AuditFinding.objects.filter(dataset=dataset, dismissed=False)
                .prefetch_related(Prefetch("images", queryset=images)))
    out = {}
    for kind in FindingKind.values:
        out[kind] = list(findings.filter(kind=kind).order_by("-score", "id")[:limit])
    return out


def findings_summary(dataset: Dataset) -> dict:
    """For the dataset page: {"audit": the last finished audit or None, "open": {kind: count of open findings}}."""
    from django.db.models import Count

    rows = (AuditFinding.objects.filter(dataset=dataset, dismissed=False).order_by().values("kind")
            .annotate(n=Count("id")))
    counts = {row["kind"]: row["n"] for row in rows}
    return {"audit": last_finished_audit(dataset), "open": {kind: counts.get(kind, 0) for kind in FindingKind.values}}


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


def class_examples(dataset: Dataset, labels, *, per_class: int = 3, leave_out=()) -> dict[str, list[Image]]:
    """A few photos in use of each of these classes (the oldest first), none of `leave_out` (the suspects): what a
    reviewer compares a suspected label error with. One query per class."""
    return {name: list(Image.objects.filter(dataset=dataset, label__name=name, excluded=False)
                       .exclude(pk__in=leave_out).select_related("label").order_by("id")[:per_class])
            for name in sorted(set(labels))}
