"""Reads on jobs, evaluations and predictions. Nothing here imports TensorFlow."""

from django.conf import settings
from django.db.models import QuerySet

from webapp.accounts.permissions import sees_all_teams
from webapp.datasets.models import Dataset, Image
from webapp.experiments.models import Evaluation, EvaluationStatus, JobStatus, Prediction, TrainingJob


def _visible(queryset: QuerySet, user, dataset_path: str) -> QuerySet:
    """Rows whose dataset belongs to one of the user's teams (superusers and "view all teams": everything)."""
    if not user or not user.is_authenticated:
        return queryset.none()
    if sees_all_teams(user):
        return queryset
    return queryset.filter(**{f"{dataset_path}__team__in": user.groups.all()})


def jobs_for_user(user) -> QuerySet[TrainingJob]:
    return _visible(TrainingJob.objects.select_related("dataset", "created_by"), user, "dataset")


def predictions_for_user(user) -> QuerySet[Prediction]:
    return _visible(Prediction.objects.select_related("job", "job__dataset"), user, "job__dataset")


def evaluations_for_user(user) -> QuerySet[Evaluation]:
    return _visible(Evaluation.objects.select_related("job", "dataset"), user, "job__dataset")


def _evaluation_summary(evaluation: Evaluation) -> dict:
    return {
        "id": evaluation.pk,
        "dataset": str(evaluation.dataset),
        "dataset_id": evaluation.dataset_id,
        "status": evaluation.status,
        "is_job_test_split": evaluation.is_job_test_split,
        "accuracy": evaluation.accuracy,
        "loss": evaluation.loss,
        "macro_f1": evaluation.macro_f1,
        "image_count": evaluation.image_count,
        "error_message": evaluation.error_message,
    }


def job_evaluation(job: TrainingJob) -> Evaluation | None:
    """The evaluation on the job's own test split (made by the job itself), if it exists yet."""
    return job.evaluations.filter(is_job_test_split=True).first()


def job_status(job: TrainingJob) -> dict:
    """JSON-ready live state of a job, for the job page's polling (pass a freshly loaded job)."""
    epochs = [
        {"epoch": m.epoch, "loss": m.loss, "accuracy": m.accuracy, "val_loss": m.val_loss,
         "val_accuracy": m.val_accuracy, "seconds": m.seconds}
        for m in job.epochs.all()
    ]
    done, total = job.progress_done, job.progress_total
    rate = job.items_per_second
    evaluation = job_evaluation(job)
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "stage": job.status,
        "progress": {"done": done, "total": total},
        "percent": round(100 * done / total, 1) if total else (100.0 if job.status == JobStatus.SUCCEEDED else 0.0),
        "items_per_second": round(rate, 3) if rate else None,
        "eta_seconds": round(job.eta_seconds, 1) if job.eta_seconds is not None else None,
        "error_message": job.error_message,
        "cancel_requested": job.cancel_requested,
        "epochs": epochs,
        "epochs_planned": job.epochs_planned,
        "best_epoch": job.best_epoch,
        "images_cached": job.images_cached,
        "images_extracted": job.images_extracted,
        "skipped_images": job.skipped_images,
        "finished": job.is_finished,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
        "evaluation": _evaluation_summary(evaluation) if evaluation else None,
    }


def job_reevaluations(job: TrainingJob) -> QuerySet[Evaluation]:
    """Evaluations of the job on other datasets (re-evaluations), newest first."""
    return job.evaluations.filter(is_job_test_split=False).select_related("dataset")


def evaluation_status(evaluation: Evaluation) -> dict:
    evaluation.refresh_from_db()
    return _evaluation_summary(evaluation) | {
        "finished": evaluation.status in (EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED)
    }


def uncached_image_count(*, dataset: Dataset, backbone: str, weights: str = "imagenet", pooling: str = "",
                         precision: str = "float32", input_size: int | None = None) -> int:
    """How many of the dataset's images a new job would run through the backbone (not yet in the cache)."""
    from classifier.backbones import WeightsMissingError, weights_arg
    from classifier.features import FeatureCache, FeatureSpec

    hashes = list(Image.objects.filter(dataset=dataset).values_list("content_hash", flat=True).distinct())
    try:
        spec = FeatureSpec(backbone, weights_arg(weights), pooling or None, precision,
                           input_size)
        return len(FeatureCache(settings.FEATURES_DIR).missing(spec, hashes))
    except (WeightsMissingError, ValueError, OSError):
        return len(hashes)  # weights not here yet (the worker downloads them): every image is work


def backbone_choices() -> list[tuple[str, str]]:
    """(name, label) pairs for a form's choices, from the core's registry (plain data, no TF)."""
    from classifier.backbones import BACKBONES, DEFAULT_BACKBONE

    names = [DEFAULT_BACKBONE, *(n for n in BACKBONES if n != DEFAULT_BACKBONE)]
    return [
        (name, f"{BACKBONES[name].constructor} ({BACKBONES[name].channels} features"
               f"{', the article' if name == DEFAULT_BACKBONE else ''})")
        for name in names
    ]


def job_dataset_changes(job: TrainingJob) -> dict:
    """How the job's dataset differs from the photos the job trained on (its JobImage snapshot), in two queries:
    {"relabelled", "moved" (to another split), "excluded", "deleted", "added" (photos a new job would use that
    this one did not), "any"}."""
    from django.db.models import Count, F, Q

    from webapp.experiments.models import JobImage

    kept = Q(image__isnull=False)
    counts = JobImage.objects.filter(job=job).aggregate(
        relabelled=Count("id", filter=kept & ~Q(image__label__name=F("label_name"))),
        moved=Count("id", filter=kept & ~Q(image__split=F("split"))),
        excluded=Count("id", filter=Q(image__excluded=True)),
        deleted=Count("id", filter=~kept),
    )
    used = JobImage.objects.filter(job=job, image__isnull=False).values("image_id")
    counts["added"] = Image.objects.filter(dataset_id=job.dataset_id, excluded=False).exclude(pk__in=used).count()
    counts["any"] = any(counts.values())
    return counts


REVIEW_FILTERS = {"review": "to review", "unsure": "unsure", "wrong": "marked wrong", "all": "all"}


def predictions_to_review(user, *, show: str = "review") -> QuerySet[Prediction]:
    """Finished predictions of the user's teams for the review list, newest first: "review" (unsure or marked
    wrong, and not yet added to a dataset), "unsure" (below the model's threshold), "wrong" (marked wrong) or
    "all"; each with its job's dataset and that dataset's classes prefetched."""
    from django.db.models import Prefetch

    from webapp.datasets.models import Label

    predictions = predictions_for_user(user).filter(status="succeeded").select_related(
        "job__dataset", "added_image__label").prefetch_related(
        Prefetch("job__dataset__labels", queryset=Label.objects.order_by("name"), to_attr="classes"))
    from django.db.models import Q

    if show == "review":
        predictions = predictions.filter(Q(marked_wrong=True) | Q(decision="unsure"), added_image__isnull=True)
    elif show == "unsure":
        predictions = predictions.filter(decision="unsure")
    elif show == "wrong":
        predictions = predictions.filter(marked_wrong=True)
    return predictions


def images_by_id(ids: list) -> dict[int, Image]:
    """The dataset images with these ids (an evaluation's gallery); ids of deleted images are simply missing."""
    return {image.pk: image for image in Image.objects.filter(pk__in=ids).select_related("label")}
