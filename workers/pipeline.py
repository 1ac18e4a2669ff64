"""What the `train` tasks do: extraction (shared across workers in chunks), training, evaluation, re-evaluation.
Only "the job": the claim, heartbeat and failure skeleton is workers/runtime.py's.

Rows are the source of truth: every write goes through webapp.experiments.services (conditional UPDATEs), every
read through webapp.experiments.selectors; nothing here touches the ORM itself. The classifier core
(TensorFlow) is imported inside the functions, so importing this module is light.
"""

import logging
import time
from pathlib import Path

from django.conf import settings

from classifier.features import views
from webapp.core.storage import StoredCopy, delete_under, feature_store, folder_to_publish, local_files, remote
from webapp.experiments import selectors, services
from webapp.experiments.models import Evaluation, JobStatus, TrainingJob
from webapp.experiments.notifications import job_end_notify
from webapp.lifecycle.services import work_mark_cancelled
from workers.runtime import Heartbeat, JobError, pause_point, prepare_tensorflow, run_claimed

logger = logging.getLogger(__name__)


class _Throttled:
    """Progress callback for classifier.features.extract: adds the delta to the job at most 4 times a second."""

    def __init__(self, job_id: int, chunk_id: int | None = None):
        self.job_id, self.chunk_id = job_id, chunk_id
        self.last_done = self.pending = 0
        self.last_write = 0.0

    def __call__(self, done: int, total: int):
        self.pending += done - self.last_done
        self.last_done = done
        now = time.monotonic()
        if self.pending and (now - self.last_write > 0.25 or done >= total):
            self.flush()
            self.last_write = now

    def flush(self):
        if self.pending:
            services.job_progress(job_id=self.job_id, add=self.pending)
            self.pending = 0
        if self.chunk_id:
            services.chunk_heartbeat(chunk_id=self.chunk_id)


def photo_paths(items: list, specs=None, cache=None) -> list[tuple[str, str | StoredCopy]]:
    """(content hash, what to read) for (content hash, stored name) pairs. In a local folder, the photo's path.
    In the store, its StoredCopy, fetched now side by side (with `specs` and `cache`: only those whose features
    are missing) and again when extraction reads it and finds the copy gone. A photo no longer stored is then
    reported as unreadable. Chunks planned by an older version hold absolute paths: those are read where they are."""
    stored = [(digest, name) for digest, name in items if not name.startswith("/")]
    if not remote():
        local = local_files([name for _, name in stored])
        return [(digest, str(local.get(name) or name)) for digest, name in items]
    if cache is not None:  # fetch only what extraction will read
        missing = set().union(*(cache.missing(spec, [digest for digest, _ in items]) for spec in views(specs)))
        stored = [(digest, name) for digest, name in stored if digest in missing]
    local_files([name for _, name in stored])  # side by side, before extraction reads them one by one
    return [(digest, name if name.startswith("/") else StoredCopy(name)) for digest, name in items]


def extraction_batch(specs, photo_pixels: int | None = None) -> int:
    """EXTRACT_BATCH_SIZE, lowered to what fits JOB_MAX_MEMORY_BYTES at these views (classifier.sizing: the web
    estimated the same, and refused a job that fits not even one photo at a time); `photo_pixels`: the largest
    photo's, when known."""
    from classifier.features import views
    from classifier.sizing import TYPICAL_PHOTO_PIXELS

    specs = views(specs)
    return selectors.extraction_batch_size(backbone=specs[0].backbone, sizes=[s.size for s in specs],
                                           photo_pixels=photo_pixels or TYPICAL_PHOTO_PIXELS) or 1


# --- extraction, shared by the job's own task and helper tasks ------------------------------------------------


def measure_precision_once(worker: str, backbone: str) -> None:
    """On this worker's first use of `backbone`: its images/s in float32 and bfloat16, to the registry, where
    precision auto of the next jobs is resolved from (webapp.experiments.selectors.resolved_precision)."""
    from classifier.precision import measure

    from webapp.workers_registry.selectors import worker_named
    from webapp.workers_registry.services import worker_precision_record

    row = worker_named(worker)
    if not settings.WORKER_MEASURE_PRECISION or row is None or backbone in (row.precision_speeds or {}):
        return
    speeds = measure(backbone)
    worker_precision_record(name=worker, backbone=backbone, speeds=speeds)
    logger.info("worker %s measured %s: %s images/s", worker, backbone, speeds)


def extract_chunks(job_id: int, worker: str, *, stale_running: bool = False) -> int:
    """Claim and extract chunks of the job until none is left or the job stops; returns chunks done here."""
    from classifier.features import extract

    from webapp.workers_registry.services import throughput_record

    job = selectors.job_for_run(job_id=job_id)
    measure_precision_once(worker, job.backbone)
    specs, cache = job.specs, feature_store()
    batch_size = extraction_batch(specs, selectors.job_photo_pixels(job))
    done = 0
    while not selectors.job_cancel_requested(job_id=job_id):
        chunk = services.chunk_claim(job_id=job_id, worker=worker, stale_running=stale_running)
        if chunk is None:
            return done
        progress = _Throttled(job_id, chunk.pk)
        photos = photo_paths([tuple(item) for item in chunk.items])
        pause_point("photos fetched")
        report = extract(photos, specs, cache,
                         batch_size=batch_size, on_progress=progress,
                         should_cancel=lambda: selectors.job_cancel_requested(job_id=job_id))
        progress.flush()
        if report.extracted and report.seconds > 0:  # the backbone was loaded before: photos/s of this worker
            throughput_record(worker=worker, backbone=selectors.throughput_key(job.backbone, job.recipe),
                              extract_images_per_second=report.extracted / report.seconds)
        if report.cancelled:
            services.chunk_release(chunk_id=chunk.pk)
            return done
        services.chunk_finish(
            chunk_id=chunk.pk, extracted=report.extracted, seconds=report.seconds,
            skipped=[{"content_hash": s.content_hash, "path": s.path, "reason": s.reason} for s in report.skipped],
        )
        done += 1
    return done


def _plan_extraction(job: TrainingJob, specs, cache) -> tuple[list, list]:
    """(usable job images, skipped [{image_id, name, reason}]); writes the chunks of uncached images."""
    usable, skipped, todo = [], [], {}
    job_images = list(selectors.job_images_with_files(job))
    hashes = list({ji.content_hash: None for ji in job_images})
    uncached = set().union(*(cache.missing(spec, hashes) for spec in specs))  # one query per view, not per photo
    for job_image in job_images:
        image = job_image.image
        if job_image.content_hash not in uncached:
            usable.append(job_image)  # features kept even if the photo was deleted since
        elif image is None or not image.file:
            skipped.append({"image_id": job_image.image_id, "name": str(job_image),
                            "reason": "the image was deleted from the dataset"})
        else:
            usable.append(job_image)
            todo[job_image.content_hash] = image.file.name
    cached = len(usable) - len(todo)
    items = list(todo.items())
    size = max(1, settings.EXTRACT_CHUNK_SIZE)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    services.chunks_replace(job=job, chunks=chunks)
    services.job_progress(job_id=job.pk, done=cached + len(skipped), total=len(usable) + len(skipped),
                          images_cached=cached, chunks_total=len(chunks))
    return usable, skipped


def _extract(job: TrainingJob, worker: str) -> tuple[list, list] | None:
    """Extract the job's uncached features, with help from idle `train` workers when there are several
    chunks. Returns (usable job images, skipped) or None when the job was cancelled or stopped."""
    from workers.tasks import job_extract_chunks

    specs, cache = job.specs, feature_store()  # planned by job_create
    usable, skipped = _plan_extraction(job, specs, cache)
    # One helper message per extra chunk; late ones find nothing to do.
    chunks = selectors.job_chunk_count(job_id=job.pk)
    for _ in range(chunks - 1):
        job_extract_chunks.delay(job.pk)
    if chunks:  # the page says why it sits at the start (seconds, loading TensorFlow's graph and the weights)
        from classifier.features import feature_model

        services.job_progress(job_id=job.pk, stage_detail="loading the backbone")
        for spec in specs:
            feature_model(spec)  # kept per process: extract() reuses it, so its time is the photos' alone
        services.job_progress(job_id=job.pk, stage_detail="")
    extract_chunks(job.pk, worker)
    # Wait for the chunks other workers hold; redo one whose worker stopped beating.
    while (selectors.job_chunks_unfinished(job_id=job.pk)
           and not selectors.job_cancel_requested(job_id=job.pk)):
        if not extract_chunks(job.pk, worker, stale_running=True):
            time.sleep(0.2)
    if selectors.job_cancel_requested(job_id=job.pk):
        return None
    extracted, bad = selectors.job_chunks_result(job_id=job.pk)
    by_hash = {ji.content_hash: ji for ji in usable}
    skipped += [{"image_id": by_hash[h].image_id, "name": str(by_hash[h]), "reason": reason}
                for h, reason in bad.items()]
    services.job_extraction_finish(job_id=job.pk, images_extracted=extracted, skipped_images=skipped)
    return [ji for ji in usable if ji.content_hash not in bad], skipped


# --- the job ---------------------------------------------------------------------------------------------------


def _arrays(job_images: list, split: str, class_ids: dict, specs, cache):
    import numpy as np

    from classifier.features import load_views

    rows = [ji for ji in job_images if ji.split == split]
    x = load_views(cache, specs, [ji.content_hash for ji in rows])
    y = np.array([class_ids[ji.label_name] for ji in rows], dtype=int)
    return x, y, rows


def _train_and_evaluate(job: TrainingJob, usable: list, skipped: list) -> None:
    """Load the cached features, run classifier.workflow (train, calibrate, evaluate, save), store the results."""
    from classifier.head import HeadConfig
    from classifier.workflow import train_and_evaluate

    config = HeadConfig.from_dict(job.head_config)
    by_epochs = job.recipe_info.fixed_head  # its progress counts epochs; a searched head's on_progress sets its steps
    if not services.job_advance(job_id=job.pk, to=JobStatus.TRAINING, progress_total=config.epochs if by_epochs else 0,
                                progress_step="epochs" if by_epochs else ""):
        work_mark_cancelled(kind="job", pk=job.pk)
        return
    specs, cache = job.specs, feature_store()
    class_names = selectors.job_class_names(job)
    class_ids = {name: i for i, name in enumerate(class_names)}
    pause_point("training")
    arrays = {split: _arrays(usable, split, class_ids, specs, cache) for split in ("train", "validation", "test")}
    if not len(arrays["train"][1]) or not len(arrays["test"][1]):
        raise JobError(f"No usable {'training' if not len(arrays['train'][1]) else 'test'} image is left after "
                       f"skipping {len(skipped)} unreadable image(s).")
    test_rows = arrays["test"][2]
    relative = Path("jobs") / str(job.pk)
    reuse, reused_from = _reused_decision(job, arrays, class_names)
    follow_up = job.follow_up_of_id is not None  # its training is the fine-tuning trial; a model only if it wins
    with folder_to_publish(relative.as_posix(), "artifacts") as run_dir:  # stored when it lives in the store
        result = train_and_evaluate(
            job.recipe, {split: (x, y) for split, (x, y, _) in arrays.items()}, class_names=class_names, spec=specs,
            config=config, test_ids=[ji.image_id for ji in test_rows],  # misclassified[].id: the Image id
            run_dir=run_dir,
            on_epoch_end=lambda epoch, metrics: services.job_epoch_record(job_id=job.pk, epoch=epoch,
                                                                          metrics=metrics),
            should_cancel=lambda: selectors.job_cancel_requested(job_id=job.pk),
            on_progress=lambda done, total, step: services.job_progress(job_id=job.pk, done=done, total=total,
                                                                        step=step),
            on_evaluating=lambda count: services.job_advance(job_id=job.pk, to=JobStatus.EVALUATING,
                                                             progress_total=count),
            reuse=reuse, reused_from=reused_from,
            fine_tuning="now" if follow_up else "follow-up", only_if_fine_tuned=follow_up,
            cache=cache, hashes={split: [ji.content_hash for ji in rows] for split, (_, _, rows) in arrays.items()},
        )
    if result["cancelled"]:
        work_mark_cancelled(kind="job", pk=job.pk)
        return
    if not result["kept"]:
        delete_under(relative.as_posix(), "artifacts")  # the empty run folder
        services.job_not_kept(job_id=job.pk, message=_not_kept_message(job, result["search"]["trials"]))
        return
    if not follow_up:  # the next job's estimate: a search, without the trial a follow-up runs
        _remember_training_speed(job, train_count=len(arrays["train"][1]),
                                 labelled_count=len(arrays["train"][1]) + len(arrays["validation"][1]),
                                 timings=result["timings"])
    services.evaluation_create_for_test_split(job=job, report=result["report"], image_count=len(test_rows))
    services.job_progress(job_id=job.pk, done=len(test_rows))
    services.job_succeed(job_id=job.pk, best_epoch=result["best_epoch"], artifact_dir=str(relative))
    if result["fine_tuning_follow_up"] and settings.FINE_TUNING_FOLLOW_UP:
        services.job_follow_up_create(job=job)


def _not_kept_message(job: TrainingJob, trials: list[dict]) -> str:
    """Why a follow-up ends without a model: the fine-tuning trial's numbers against the parent's linear head."""
    parent = f"job #{job.follow_up_of_id}"
    trial = next((t for t in reversed(trials) if t["head"] == "fine-tune last block"), {})
    if "holdout_accuracy" not in trial:
        why = trial.get("skipped", "the trial did not run")
        return f"Not kept: fine-tuning was not tried ({why}). The model of {parent} stands."
    return (f"Not kept: fine-tuning the last block (its best epoch: {trial['epochs']}) did not beat the linear head "
            f"of {parent} by more than chance on the photos it held out: {trial['holdout_accuracy']:.1%} against "
            f"{trial['linear_holdout_accuracy']:.1%}, p = {trial['p_value']:.2g} (kept only below "
            f"{trial['max_p_value']:g}). The model of {parent} stands.")


def _reused_decision(job: TrainingJob, arrays: dict, class_names: list[str]) -> tuple[dict | None, str]:
    """(the decision (views, C, fine-tuned) to reuse, "job N" that made it): a retrain's or a fine-tuning
    follow-up's when the labelled photos changed a little since that job's search
    (classifier.recipes.reusable_decision); (None, "") otherwise."""
    from classifier.recipes import labelled_set, reusable_decision, views_label

    stored = None if job.recipe_info.fixed_head else selectors.job_parent_decision(job)  # None: no parent
    if stored is None:
        return None, ""
    rows = arrays["train"][2] + arrays["validation"][2]
    photos = labelled_set([ji.content_hash for ji in rows], [ji.label_name for ji in rows])
    reuse = reusable_decision(stored, photos, class_names, views_label(job.specs))
    return (reuse, f"job {stored['job']}") if reuse is not None else (None, "")


def _remember_training_speed(job: TrainingJob, *, train_count: int, labelled_count: int, timings: dict) -> None:
    """Seconds per training photo per epoch of the article's head on this worker, or the recommended recipe's
    training seconds (pooling, search, fine-tuning) per labelled photo: the next job's estimate and first ETA."""
    from webapp.workers_registry.services import throughput_record

    key = selectors.throughput_key(job.backbone, job.recipe)
    seconds = [s for s in job.epochs.values_list("seconds", flat=True) if s]
    if job.recipe_info.fixed_head and seconds and train_count:
        throughput_record(worker=job.worker, backbone=key,
                          train_seconds_per_image_epoch=sum(seconds) / len(seconds) / train_count)
    elif not job.recipe_info.fixed_head and labelled_count:
        spent = sum(timings.get(part, 0.0) for part in ("pooling", "search", "fine_tuning"))
        throughput_record(worker=job.worker, backbone=key, train_seconds_per_image_epoch=spent / labelled_count)


def run_job(job_id: int, worker: str) -> str:
    """The `train` task's body: claim, extract, train, evaluate; any failure ends as a readable message."""

    def body():
        job = selectors.job_for_run(job_id=job_id)
        extracted = _extract(job, worker)
        if extracted is None:
            work_mark_cancelled(kind="job", pk=job_id)
        else:
            _train_and_evaluate(job, *extracted)

    status = run_claimed("job", job_id, worker, body,
                         beat=lambda: services.chunks_heartbeat(job_id=job_id, worker=worker))
    if status != "not claimed":  # the final state is committed (autocommit): tell whoever opted in
        job_end_notify(job_id=job_id)
    return status


def help_extract(job_id: int, worker: str) -> int:
    """A helper task's body: extract chunks of a job another worker runs (nothing if none is left)."""
    if not selectors.job_needs_extraction_help(job_id=job_id):
        return 0
    prepare_tensorflow()
    try:
        with Heartbeat(lambda: services.chunks_heartbeat(job_id=job_id, worker=worker)):
            return extract_chunks(job_id, worker)
    except Exception:
        logger.exception("helping job %s extract failed (its own worker redoes the chunk)", job_id)
        return 0


# --- re-evaluation ----------------------------------------------------------------------------------------------


def run_evaluation(evaluation_id: int, worker: str = "") -> str:
    return run_claimed("evaluation", evaluation_id, worker,
                       lambda: _evaluate(selectors.evaluation_for_run(evaluation_id=evaluation_id)))


def _evaluate(evaluation: Evaluation) -> None:
    import numpy as np

    from classifier.evaluate import evaluate
    from classifier.features import extract, load_views
    from classifier.model_io import load_head, load_run

    run_dir = evaluation.job.artifact_path
    if run_dir is None:
        raise JobError("The job's trained model is gone: it cannot be evaluated again.")
    run, head = load_run(run_dir), load_head(run_dir)  # in memory before extraction: its local copy may go
    specs, cache = run["views"], feature_store()
    class_ids = {name: i for i, name in enumerate(run["class_names"])}
    images = [i for i in selectors.evaluation_images(evaluation) if i.label.name in class_ids]
    report = extract(photo_paths([(i.content_hash, i.file.name) for i in images], specs, cache), specs, cache,
                     batch_size=extraction_batch(specs, max((i.width * i.height for i in images), default=None)))
    bad = {s.content_hash: s.reason for s in report.skipped}
    skipped = [{"image_id": i.pk, "name": str(i), "reason": bad[i.content_hash]} for i in images
               if i.content_hash in bad]
    images = [i for i in images if i.content_hash not in bad]
    if not images:
        raise JobError("None of the dataset's images could be read.")
    x = load_views(cache, specs, [i.content_hash for i in images])
    y = np.array([class_ids[i.label.name] for i in images], dtype=int)
    result = evaluate(head, x, y, run["class_names"], ids=[i.pk for i in images])
    services.evaluation_succeed(evaluation_id=evaluation.pk, report=result, image_count=len(images),
                                skipped_images=skipped)
