"""Reads on jobs, evaluations and predictions, for the pages and for the workers. Nothing here imports
TensorFlow."""

from pathlib import Path

from django.conf import settings
from django.db.models import F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery

from classifier.recipes import get_recipe
from webapp.accounts.permissions import sees_all_teams
from webapp.core import storage
from webapp.datasets.models import Dataset, Image, Split
from webapp.experiments.models import (
    ACTIVE_STATUSES,
    ChunkStatus,
    EpochMetric,
    Evaluation,
    EvaluationStatus,
    ExtractionChunk,
    Heatmap,
    JobStatus,
    Prediction,
    TrainingJob,
)


def _visible(queryset: QuerySet, user, dataset_path: str) -> QuerySet:
    """Rows whose dataset belongs to one of the user's teams (superusers and "view all teams": everything)."""
    if not user or not user.is_authenticated:
        return queryset.none()
    if sees_all_teams(user):
        return queryset
    return queryset.filter(**{f"{dataset_path}__team__in": user.groups.all()})


def jobs_for_user(user) -> QuerySet[TrainingJob]:
    return _visible(TrainingJob.objects.select_related("dataset", "created_by"), user, "dataset")


def succeeded_jobs_for_user(user) -> QuerySet[TrainingJob]:
    """The trained models a user can predict with, newest first."""
    return jobs_for_user(user).filter(status=JobStatus.SUCCEEDED)


def latest_succeeded_job_id(user) -> int | None:
    return succeeded_jobs_for_user(user).values_list("pk", flat=True).first()


def jobs_with_test_scores(jobs: QuerySet[TrainingJob]) -> QuerySet[TrainingJob]:
    """Jobs annotated with their own test split's scores (test_accuracy, test_macro_f1, test_loss; one query)."""
    own = Evaluation.objects.filter(
        job=OuterRef("pk"), is_job_test_split=True, status=EvaluationStatus.SUCCEEDED
    ).order_by("-created_at")
    return jobs.annotate(
        test_accuracy=Subquery(own.values("accuracy")[:1]),
        test_macro_f1=Subquery(own.values("macro_f1")[:1]),
        test_loss=Subquery(own.values("loss")[:1]),
    )


def jobs_with_epochs(jobs: QuerySet[TrainingJob]) -> QuerySet[TrainingJob]:
    """Jobs with their epoch metrics prefetched in epoch order (compare page: no query per job)."""
    return jobs.prefetch_related(Prefetch("epochs", queryset=EpochMetric.objects.order_by("epoch")))


def predictions_for_user(user) -> QuerySet[Prediction]:
    """By the prediction's own team: the log stays visible after its job is deleted."""
    predictions = Prediction.objects.select_related("job", "job__dataset")
    if not user or not user.is_authenticated:
        return predictions.none()
    return predictions if sees_all_teams(user) else predictions.filter(team__in=user.groups.all())


def heatmaps_for_user(user) -> QuerySet[Heatmap]:
    """Heatmaps of a job the user sees, of a photo the user sees: a dataset photo by its own dataset's team, a
    prediction's photo by the prediction's team (a user in two teams may explain one team's photo with the other's
    model; the overlay shows the photo)."""
    heatmaps = _visible(Heatmap.objects.all(), user, "job__dataset")
    if not user or not user.is_authenticated or sees_all_teams(user):
        return heatmaps
    teams = user.groups.all()
    return heatmaps.filter(Q(image__isnull=True) | Q(image__dataset__team__in=teams),
                           Q(prediction__isnull=True) | Q(prediction__team__in=teams))


def recent_predictions_of(user) -> QuerySet[Prediction]:
    """The predictions this user made (not the teammates'), newest first."""
    return predictions_for_user(user).select_related("job__dataset", "created_by").filter(created_by=user)


def evaluations_for_user(user) -> QuerySet[Evaluation]:
    """Of jobs the user sees, on datasets of the job's own team (an evaluation on another team's dataset, made
    before services.evaluation_create refused them, is shown to nobody)."""
    return _visible(Evaluation.objects.select_related("job", "dataset"), user, "job__dataset").filter(
        dataset__team=F("job__dataset__team"))


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
    return job.evaluations.select_related("dataset").filter(is_job_test_split=True).first()


def job_progress_label(job: TrainingJob) -> tuple[str, str]:
    """(what the progress bar counts, the unit of its speed): each stage and step in its own units, so the
    recommended recipe's search folds and fine-tuning epochs are never added up as one count."""
    if job.status == JobStatus.EXTRACTING:
        return "Images through the backbone", "images/s"
    if job.status == JobStatus.EVALUATING:
        return "Evaluating on the test split", "images/s"
    if job.status == JobStatus.QUEUED:
        return "Waiting for a training worker", ""
    if job.status != JobStatus.TRAINING:
        return "Progress", ""
    return {
        "epochs": ("Epochs", "epochs/s"),
        "search": ("Step 1, head search: settings tried, each on every cross-validation fold (a fine-tuning trial "
                   "that can pay follows as its own job)", "trials/s"),
        "refit": ("Step 1, the reused decision refitted (its views and C, on every cross-validation fold; "
                  "no search)", "trials/s"),
        "fine-tune": ("Step 2, fine-tuning trial of the last block: epochs (at most; early stopping may end it "
                      "sooner)", "epochs/s"),
    }.get(job.progress_step, ("Preparing the head search: photos through the last block", ""))


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
    eta, eta_basis = job_eta(job, epochs)
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "stage": job.status,
        "step": job.progress_step,
        "progress_label": job_progress_label(job)[0],
        "rate_unit": job_progress_label(job)[1],
        "stage_detail": job.stage_detail,
        "progress": {"done": done, "total": total},
        "percent": round(100 * done / total, 1) if total else (100.0 if job.status == JobStatus.SUCCEEDED else 0.0),
        "items_per_second": round(rate, 3) if rate else None,
        "eta_seconds": round(eta, 1) if eta is not None else None,
        "eta_basis": eta_basis,
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


def job_eta(job: TrainingJob, epochs: list[dict]) -> tuple[float | None, str]:
    """(seconds left in the current stage, what they are based on). The stage's own rate counts its start-up
    (TensorFlow, the weights, the features), so the first ETAs come from this worker's speed on this backbone
    measured in earlier jobs, and a training's from its own epochs once there are some."""
    from webapp.workers_registry.selectors import throughput_of

    if job.is_finished or job.status == JobStatus.QUEUED:
        return None, ""
    remaining = max(job.progress_total - job.progress_done, 0)
    measured = throughput_of(job.worker, throughput_key(job.backbone, job.recipe))
    if job.status == JobStatus.EXTRACTING and job.progress_total and measured and measured.extract_images_per_second:
        return remaining / measured.extract_images_per_second, "this worker's speed in earlier jobs"
    if job.status == JobStatus.TRAINING and get_recipe(job.recipe).fixed_head:
        seconds = [e["seconds"] for e in epochs if e["seconds"]]
        if seconds:
            return remaining * sum(seconds) / len(seconds), "this job's epochs"
        if measured and measured.train_seconds_per_image_epoch:
            train = job.job_images.filter(split=Split.TRAIN).count()
            return remaining * train * measured.train_seconds_per_image_epoch, "this worker's speed in earlier jobs"
    eta = job.eta_seconds
    return eta, "this stage's rate so far" if eta is not None else ""


def job_evaluations(job: TrainingJob) -> QuerySet[Evaluation]:
    """The job's evaluations on its own team's datasets (see evaluations_for_user)."""
    return job.evaluations.select_related("dataset").filter(dataset__team=job.dataset.team_id)


def job_reevaluations(job: TrainingJob) -> QuerySet[Evaluation]:
    """Evaluations of the job on other datasets (re-evaluations), newest first."""
    return job_evaluations(job).filter(is_job_test_split=False)


def evaluation_status(evaluation: Evaluation) -> dict:
    """JSON-ready state of an evaluation, for polling: reads the row it is given (load it fresh)."""
    return _evaluation_summary(evaluation) | {
        "finished": evaluation.status in (EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED)
    }


def images_by_id(ids: list) -> dict[int, Image]:
    """The dataset images with these ids (an evaluation's gallery); ids of deleted images are simply missing."""
    wanted = [i for i in ids if isinstance(i, int)]
    return {image.pk: image for image in Image.objects.filter(pk__in=wanted).select_related("label")}


def job_threshold(job: TrainingJob) -> dict:
    """The model's unsure threshold: `chosen` on validation by the job (None before it finished), `edited` by a
    person (None if not), and `effective`, the one predictions use (classifier.decision's rule)."""
    from classifier.decision import effective_threshold

    evaluation = job_evaluation(job) if job.status == JobStatus.SUCCEEDED else None
    chosen = ((evaluation.report or {}).get("calibration") or {}).get("threshold") if evaluation else None
    return {"chosen": chosen, "edited": job.unsure_threshold,
            "effective": effective_threshold(chosen, job.unsure_threshold)}


def effective_thresholds(predictions) -> dict[int, float | None]:
    """The unsure threshold the jobs of the "unsure" predictions use now, by job id (one evaluation read per
    job; none for the others)."""
    jobs = {p.job_id: p.job for p in predictions if p.job_id and p.decision == "unsure"}
    return {pk: job_threshold(job)["effective"] for pk, job in jobs.items()}


def job_exported_model_path(job: TrainingJob) -> Path | None:
    """The job's exported `model.keras`, if the job succeeded and the file is there."""
    if job.status != JobStatus.SUCCEEDED or not job.artifact_dir:
        return None
    try:
        path = storage.local_file(f"{job.artifact_dir}/model.keras", "artifacts")  # with a store: a local copy
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


def predictions_by_ids(predictions: QuerySet[Prediction], ids: list[int]) -> list[Prediction]:
    """Those of `predictions` with these ids, in the order asked for."""
    found = {prediction.pk: prediction for prediction in predictions.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


def training_images(dataset: Dataset) -> list[Image]:
    """The photos a job on `dataset` trains on, the one definition its snapshot (job_create) and its estimate
    (job_estimate) share: the labelled photos not excluded (a photo is in a dataset once), with their classes;
    the unlabelled pool never trains a job."""
    return list(Image.objects.labelled().filter(dataset=dataset, excluded=False).select_related("label")
                .order_by("id"))


def _labelled_longer_sides(photos) -> list[int]:
    """The longer sides of the training and validation photos among (split, width, height): what the recommended
    recipe sizes its views by (the test photos are not looked at)."""
    return [max(width, height) for split, width, height in photos if split != Split.TEST]


def resolved_precision(job_settings):
    """(job_settings with precision auto resolved, why): bfloat16 where every alive train worker that measured the
    backbone found it clearly faster (classifier.precision.choose; chunks are shared between workers, so a job
    runs one precision), float32 when none has measured it yet. Other precisions are kept as asked."""
    from classifier.precision import AUTO, choose

    from webapp.workers_registry.selectors import precision_speeds

    if job_settings.precision != AUTO:
        return job_settings, "asked for"
    measured = precision_speeds(job_settings.backbone)
    precision, why = choose(list(measured.values()))
    if measured:
        why += f"; measured by {', '.join(sorted(measured))}"
    return job_settings.with_precision(precision), why


def planned_views(*, images: list[Image], job_settings) -> list:
    """The feature specs (main view first) a job with these settings (classifier.settings.JobSettings) on `images`
    extracts, sized by their labelled photos: job_create stores them on the job (TrainingJob.feature_specs), the
    estimate shows them. Precision auto is resolved here as job_create resolves it."""
    job_settings, _ = resolved_precision(job_settings)
    return job_settings.feature_specs(_labelled_longer_sides((i.split, i.width, i.height) for i in images))


def uncached_image_count(*, dataset: Dataset, images: list[Image] | None = None, specs: list | None = None,
                         **setting_values) -> int:
    """How many of the photos a new job would train on (training_images, unless `images` gives them) it would
    run through the backbone (not yet in the cache) for its views: `specs` (planned_views), or planned here from
    job_create's settings (backbone=..., weights=..., ...)."""
    from classifier.backbones import WeightsMissingError
    from classifier.settings import JobSettings

    images = training_images(dataset) if images is None else images
    hashes = [image.content_hash for image in images]
    try:
        if specs is None:
            specs = planned_views(images=images, job_settings=JobSettings.from_job(**setting_values))
        cache = storage.feature_store()
        return len({h for spec in specs for h in cache.missing(spec, hashes)})
    except (WeightsMissingError, ValueError, OSError):
        return len(hashes)  # weights not here yet (the worker downloads them): every image is work


def _gigabytes(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 / 10 else f"{n / 1024**2:.0f} MB"


def extraction_batch_size(*, backbone: str, sizes: list[int], photo_pixels: int) -> int | None:
    """The extraction batch a worker uses for these views: EXTRACT_BATCH_SIZE, lowered to what fits
    JOB_MAX_MEMORY_BYTES (classifier.sizing); None when not even one photo at a time fits."""
    from classifier.sizing import extraction_batch_size as fitting_batch

    return fitting_batch(backbone=backbone, sizes=sizes, limit_bytes=settings.JOB_MAX_MEMORY_BYTES,
                         preferred=settings.EXTRACT_BATCH_SIZE, photo_pixels=photo_pixels)


def job_memory_estimate(*, job_settings, specs: list, image_count: int, class_count: int,
                        photo_pixels: int | None = None) -> dict:
    """Estimated memory of a job (classifier.sizing) against JOB_MAX_MEMORY_BYTES, JSON-ready: the larger of
    extracting its features (its views `specs`, at the batch a worker will use, lowered to fit) and training (its
    settings, classifier.settings.JobSettings); when it does not fit, `message` says so and which setting to
    lower. `photo_pixels`: the largest photo's pixels (decoding)."""
    from classifier.sizing import TYPICAL_PHOTO_PIXELS, extraction_footprint, too_big_advice, training_footprint

    backbone, recipe = job_settings.backbone, job_settings.recipe
    footprint = training_footprint(backbone=backbone, pooling=job_settings.pooling or None,
                                   input_size=job_settings.input_size, hidden=job_settings.hidden,
                                   num_classes=class_count, batch_size=job_settings.batch_size,
                                   optimizer=job_settings.optimizer, image_count=image_count, recipe=recipe)
    limit = settings.JOB_MAX_MEMORY_BYTES
    sizes = [spec.size for spec in specs]
    photo_pixels = photo_pixels or TYPICAL_PHOTO_PIXELS
    batch = extraction_batch_size(backbone=backbone, sizes=sizes, photo_pixels=photo_pixels)
    extraction = extraction_footprint(backbone=backbone, sizes=sizes, batch_size=batch or 1,
                                      photo_pixels=photo_pixels)
    total = max(footprint.total_bytes, extraction.total_bytes)
    problems = []
    if footprint.total_bytes > limit:
        problems.append(f"This job would need about {_gigabytes(footprint.total_bytes)} of memory to train, more "
                        f"than the workers' {_gigabytes(limit)}: {too_big_advice(footprint)}.")
    if batch is None:
        problems.append(f"Extracting its features at {' and '.join(f'{s} px' for s in sizes)} would need about "
                        f"{_gigabytes(extraction.total_bytes)} of memory even one photo at a time, more than the "
                        f"workers' {_gigabytes(limit)}: lower the input size.")
    return {
        "parameters": footprint.parameters,
        "features_per_image": footprint.features_per_image,
        "bytes": total,
        "training_bytes": footprint.total_bytes,
        "extraction_bytes": extraction.total_bytes,
        "extraction_batch_size": batch,
        "limit_bytes": limit,
        "fits": not problems,
        "text": (f"{_gigabytes(total)} of the workers' {_gigabytes(limit)} (extracting "
                 f"{_gigabytes(extraction.total_bytes)}, {batch or 1} photo{'s' if (batch or 1) > 1 else ''} at a "
                 f"time; training {_gigabytes(footprint.total_bytes)}, " + (
                     f"{footprint.parameters:,} parameters in the head)" if get_recipe(recipe).fixed_head else
                     # its head is searched, not set: what weighs is the cached maps the last block trains on
                     f"{footprint.features_per_image:,} values per photo at the last block's input, for the head "
                     f"search and fine-tuning)")),
        "message": " ".join(problems),
    }


def job_photo_sizes(images) -> tuple[list[int], int]:
    """(the labelled photos' longer sides, the largest photo's pixels) of a job's photos: what sizes its views
    and its decoding memory."""
    rows = [(image.split, image.width or 0, image.height or 0) for image in images]
    return _labelled_longer_sides(rows), max((width * height for _, width, height in rows), default=0)


def job_estimate(*, dataset: Dataset, backbone: str, weights: str = "imagenet", pooling: str = "",
                 precision: str = "auto", input_size: int | None = None, head_config: dict | None = None,
                 recipe: str = "recommended") -> dict:
    """What a new job would cost, for the photos it would train on (training_images) and the views it would plan
    for them (planned_views, as job_create): photos to run through the backbone (the rest are cached), the views,
    training memory and time."""
    from classifier.settings import JobSettings

    job_settings = JobSettings.from_job(recipe=recipe, backbone=backbone, weights=weights, pooling=pooling or "",
                                        precision=precision, input_size=input_size, head_config=head_config)
    images = training_images(dataset)
    specs = planned_views(images=images, job_settings=job_settings)
    total = len(images)
    uncached = uncached_image_count(dataset=dataset, images=images, specs=specs)
    memory = job_memory_estimate(job_settings=job_settings, specs=specs, image_count=total,
                                 class_count=len({image.label.name for image in images}),
                                 photo_pixels=job_photo_sizes(images)[1])
    return {"dataset": dataset.pk, "total": total, "uncached": uncached, "cached": total - uncached,
            "view_sizes": [spec.size for spec in specs], "feature_specs": [spec.to_dict() for spec in specs],
            "memory": memory, "time": job_time_estimate(images=images, backbone=backbone, uncached=uncached,
                                                        recipe=recipe, head_config=head_config or {})}


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def throughput_key(backbone: str, recipe: str) -> str:
    """What workers' speeds are remembered under (workers_registry Throughput.backbone): the backbone, and for
    the recommended recipe its own key, since its jobs cost differently. They extract up to the last block's input
    (~20 % less per photo on MobileNetV2: bench/quality.py) and train by a search (a follow-up's fine-tuning
    trial is not counted), whose seconds are kept per labelled photo in `train_seconds_per_image_epoch` (one pass,
    no epochs)."""
    return backbone if get_recipe(recipe).fixed_head else f"{backbone}:{recipe}"


def job_time_estimate(*, images: list[Image], backbone: str, uncached: int, recipe: str, head_config: dict) -> dict:
    """How long the job's extraction and training would take on the fastest alive `train` worker, from its
    speed with this backbone and recipe in earlier jobs; JSON-ready, `text` says which worker measured it, or
    that nobody has yet."""
    from classifier.head import HeadConfig
    from webapp.workers_registry.selectors import fastest_throughput

    measured = fastest_throughput(throughput_key(backbone, recipe))
    if measured is None:
        return {"extract_seconds": None, "train_seconds": None, "worker": None,
                "text": f"No worker has measured its speed on {backbone} yet with the {recipe} recipe: the first "
                        f"job does (its ETA starts after the first photos)."}
    parts, extract_seconds, train_seconds = [], None, None
    if measured.extract_images_per_second:
        extract_seconds = uncached / measured.extract_images_per_second
        parts.append(f"{_duration(extract_seconds)} of extraction ({measured.extract_images_per_second:.1f} photos/s)")
    fixed_head = get_recipe(recipe).fixed_head
    if fixed_head and measured.train_seconds_per_image_epoch:
        epochs = HeadConfig.from_dict(head_config).epochs
        train = sum(1 for image in images if image.split == Split.TRAIN)
        train_seconds = epochs * train * measured.train_seconds_per_image_epoch
        parts.append(f"{_duration(train_seconds)} of training ({epochs} epochs)")
    if not fixed_head and measured.train_seconds_per_image_epoch:
        labelled = sum(1 for image in images if image.split != Split.TEST)
        train_seconds = labelled * measured.train_seconds_per_image_epoch
        parts.append(f"{_duration(train_seconds)} of training (head search)")
    text = (f"About {' and '.join(parts)}, as measured on {measured.worker} in earlier jobs (plus its start-up)."
            if parts else f"{measured.worker} has not measured this part yet.")
    return {"extract_seconds": extract_seconds, "train_seconds": train_seconds, "worker": measured.worker,
            "text": text}


def backbone_choices(weights: dict | None = None) -> list[tuple[str, str]]:
    """(name, label) pairs for a form's choices, from the core's registry (plain data, no TF); with `weights`
    (workers_registry.selectors.imagenet_weights) a backbone whose ImageNet weights are missing says which file to
    put in which folder."""
    from classifier.backbones import BACKBONES, DEFAULT_BACKBONE

    names = [DEFAULT_BACKBONE, *(n for n in BACKBONES if n != DEFAULT_BACKBONE)]
    choices = []
    for name in names:
        label = (f"{BACKBONES[name].constructor} ({BACKBONES[name].channels} features"
                 f"{', the article' if name == DEFAULT_BACKBONE else ''})")
        if weights is not None and name not in weights["available"]:
            label += f" — weights missing: put {BACKBONES[name].imagenet_file} in {weights['folder']}"
        choices.append((name, label))
    return choices


def default_backbone(weights: dict) -> str:
    """The article's backbone when its weights are there, else the first (in registry order) whose weights are:
    the CLI's rule (classifier.backbones.choose_backbone)."""
    from classifier.backbones import choose_backbone

    return choose_backbone(weights["available"])


# --- for the workers ----------------------------------------------------------------------------------------------


def job_for_run(*, job_id: int) -> TrainingJob:
    return TrainingJob.objects.select_related("dataset", "created_by").get(pk=job_id)


def job_class_names(job: TrainingJob) -> list[str]:
    """The job's classes, sorted: the index of a name is its class id in the trained model."""
    return sorted(set(job.job_images.values_list("label_name", flat=True)))


def job_images_with_files(job: TrainingJob) -> QuerySet:
    """The job's snapshot of images, each with its dataset Image (None when deleted since)."""
    return job.job_images.select_related("image")


def job_photo_pixels(job: TrainingJob) -> int | None:
    """The largest of the job's photos still in the dataset, in pixels (what decoding it holds in memory)."""
    return job.job_images.aggregate(largest=Max(F("image__width") * F("image__height")))["largest"]


def job_cancel_requested(*, job_id: int) -> bool:
    """True when the job should stop: a cancel was asked for, or it is no longer running (reaped, failed)."""
    row = TrainingJob.objects.filter(pk=job_id).values("status", "cancel_requested").first()
    return row is None or row["cancel_requested"] or row["status"] not in ACTIVE_STATUSES


def job_needs_extraction_help(*, job_id: int) -> bool:
    """The job is extracting and has chunks nobody has taken yet."""
    return TrainingJob.objects.filter(pk=job_id, status=JobStatus.EXTRACTING,
                                      chunks__status=ChunkStatus.PENDING).exists()


def job_chunk_count(*, job_id: int) -> int:
    return ExtractionChunk.objects.filter(job_id=job_id).count()


def job_chunks_unfinished(*, job_id: int) -> bool:
    return ExtractionChunk.objects.filter(job_id=job_id).exclude(status=ChunkStatus.DONE).exists()


def job_chunks_result(*, job_id: int) -> tuple[int, dict[str, str]]:
    """(features extracted, {content_hash: reason} of the photos that could not be read) over all chunks."""
    chunks = list(ExtractionChunk.objects.filter(job_id=job_id).only("extracted", "skipped"))
    bad = {s["content_hash"]: s["reason"] for chunk in chunks for s in chunk.skipped}
    return sum(chunk.extracted for chunk in chunks), bad


def evaluation_for_run(*, evaluation_id: int) -> Evaluation:
    return Evaluation.objects.select_related("job", "dataset").get(pk=evaluation_id)


def evaluation_images(evaluation: Evaluation) -> list[Image]:
    return scored_images(dataset=evaluation.dataset, job=evaluation.job)


def scored_images(*, dataset: Dataset, job: TrainingJob) -> list[Image]:
    """What an evaluation (or a batch on a dataset) scores: the test split of the job's own dataset, or all images
    of another one (excluded and unlabelled photos left out)."""
    images = Image.objects.labelled().filter(dataset=dataset, excluded=False).select_related("label").order_by("id")
    if dataset.pk == job.dataset_id:
        images = images.filter(split=Split.TEST)
    return list(images)


def prediction_for_run(*, prediction_id: int) -> Prediction | None:
    return Prediction.objects.select_related("job").filter(pk=prediction_id).first()


def heatmap_for_run(*, heatmap_id: int) -> Heatmap:
    return Heatmap.objects.select_related("job", "prediction", "image").get(pk=heatmap_id)


def heatmap_of(*, job: TrainingJob, prediction: Prediction | None = None, image=None) -> Heatmap | None:
    """The stored (or requested) heatmap of a prediction, or of a dataset photo under this job's model."""
    if prediction is not None:
        return Heatmap.objects.filter(prediction=prediction).first()
    return Heatmap.objects.filter(job=job, image=image).first()


def images_for_user(user):
    """Dataset photos of the datasets the user sees (a gallery photo of a re-evaluation may be of another one)."""
    from webapp.datasets.selectors import datasets_for_user

    return Image.objects.filter(dataset__in=datasets_for_user(user))
def job_parent_decision(job: TrainingJob) -> dict | None:
    """The decision a retrain (job_retry) or a fine-tuning follow-up (job_follow_up_create) may reuse, as
    classifier.recipes.decision_record writes it: {"classes", "views", "photos" (the training and validation photos
    it could read: {content_hash: label}), "chosen"} and "job", the job that made it by a search: the parent, or
    the job whose decision the parent reused in turn (so small changes never add up unchecked). None when that job
    did not succeed or has no searched head."""
    from classifier.recipes import decision_record, views_label

    source, chosen = job.retry_of or job.follow_up_of, None
    while source is not None and source.status == JobStatus.SUCCEEDED and source.recipe == job.recipe \
            and not source.recipe_info.fixed_head:
        evaluation = job_evaluation(source)
        chosen = ((evaluation.report if evaluation else {}).get("search") or {}).get("chosen")
        if not chosen or not chosen.get("reused_from"):
            break
        source, chosen = source.retry_of or source.follow_up_of, None
    if not chosen or source is None:
        return None
    skipped = {s.get("image_id") for s in source.skipped_images}
    photos = {ji.content_hash: ji.label_name for ji in source.job_images.filter(split__in=("train", "validation"))
              if ji.image_id not in skipped}
    return decision_record(chosen, photos, job_class_names(source), views_label(source.specs)) | {"job": source.pk}


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
    counts["added"] = (Image.objects.labelled().filter(dataset_id=job.dataset_id, excluded=False)
                       .exclude(pk__in=used).count())
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
