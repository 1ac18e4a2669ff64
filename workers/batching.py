"""The `batch_run` task's body: predict a zip of photos (or a dataset's photos) with a named model's version, on
the `train` queue (a batch is long work: it must never delay single predictions).

The photos go through the same path as a re-evaluation: features through the shared cache
(classifier.features.extract, which also reports unreadable photos), then the run's calibrated head; so when the
true classes are known (class folders, a dataset) the report equals a re-evaluation's on the same photos. Writes go
through webapp.serving.batch_services; the claim, heartbeat and failure skeleton is workers/runtime.py's."""

import logging
import tempfile
from pathlib import Path

from django.conf import settings

from classifier.files import content_hash
from classifier.images import ImageError
from webapp.core.storage import feature_store
from webapp.datasets.importing.archive import zip_open
from webapp.datasets.importing.result import ImportRejected
from webapp.experiments.selectors import scored_images
from webapp.serving import batch_selectors as selectors
from webapp.serving import batch_services as services
from webapp.lifecycle.services import work_mark_cancelled
from workers.pipeline import extraction_batch, photo_paths
from workers.runtime import JobError, run_claimed

logger = logging.getLogger(__name__)
HEAD_CHUNK = 1024  # photos whose features are in memory at once


def run_batch(batch_id: int, worker: str = "") -> str:
    return run_claimed("batch", batch_id, worker, lambda: _predict(batch_id))


def _row(name: str, true: str = "", **fields) -> dict:
    return {"file": name, "true": true, "error": "", "content_hash": "", "path": "", "label": "",
            "confidence": None, "decision": "", "probabilities": []} | fields


def _zip_rows(batch, folder: Path) -> list[dict]:
    """The zip's files written to `folder` (extraction reads paths), with their class folder ("" if none)."""
    rows = []
    with batch.archive.open("rb") as archive:
        opened = zip_open(archive, classes_optional=True)  # checked again: the rules may have changed since
        try:
            for index, (info, (name, _, class_name)) in enumerate(zip(opened.infos, opened.layout.files)):
                try:
                    data = opened.read(info, settings.DATASETS_MAX_IMAGE_BYTES)
                except ImageError as exc:
                    rows.append(_row(name, class_name, error=exc.reason))
                    continue
                path = folder / f"{index}{Path(name).suffix.lower()[:10]}"
                path.write_bytes(data)
                rows.append(_row(name, class_name, content_hash=content_hash(data), path=str(path)))
        except ImportRejected as exc:
            raise JobError(exc.text) from None
        finally:
            opened.close()
    return rows


def _dataset_rows(batch) -> list[dict]:
    if batch.dataset is None:
        raise JobError("The batch's dataset was deleted.")
    images = scored_images(dataset=batch.dataset, job=batch.version.job)
    paths = dict(photo_paths([(image.content_hash, image.file.name) for image in images]))
    return [_row(image.original_name or str(image), image.label.name, content_hash=image.content_hash,
                 path=paths[image.content_hash]) for image in images]


def _truth_note(rows: list[dict], class_names: list[str]) -> str:
    """Why the photos are not scored ("" when they are, or when no photo has a class folder)."""
    folders = sorted({row["true"] for row in rows if row["true"]})
    unknown = [name for name in folders if name not in class_names]
    if not unknown:
        return ""
    return (f"Not evaluated: the folders {', '.join(unknown[:10])} are not classes of the model "
            f"(it knows {', '.join(class_names)}).")


def _predict(batch_id: int) -> None:
    import numpy as np

    from classifier.decision import effective_threshold, rank
    from classifier.evaluate import scores
    from classifier.features import extract, load_views
    from classifier.model_io import load_head, load_run

    batch = selectors.batch_for_run(batch_id=batch_id)
    run_dir = batch.version.job.artifact_path
    run, head = load_run(run_dir), load_head(run_dir)  # in memory before extraction: its local copy may go
    spec, class_names = run["views"], run["class_names"]
    threshold = effective_threshold(run["calibration"]["threshold"], batch.version.job.unsure_threshold)
    cache = feature_store()
    with tempfile.TemporaryDirectory(prefix="menagerie-batch-") as folder:
        if batch.archive:
            try:
                rows = _zip_rows(batch, Path(folder))
            finally:  # read once: a claimed batch is never run again, so the upload can go now
                services.batch_archive_delete(batch=batch)
        else:
            rows = _dataset_rows(batch)
        unread = sum(1 for row in rows if row["error"])
        services.batch_progress(batch_id=batch_id, done=unread, total=len(rows))
        readable = [row for row in rows if not row["error"]]
        report = extract([(row["content_hash"], row["path"]) for row in readable], spec, cache,
                         batch_size=extraction_batch(spec),
                         on_progress=lambda done, _: services.batch_progress(batch_id=batch_id, done=unread + done),
                         should_cancel=lambda: selectors.batch_cancel_requested(batch_id=batch_id))
        if report.cancelled or selectors.batch_cancel_requested(batch_id=batch_id):
            work_mark_cancelled(kind="batch", pk=batch_id)
            return
        bad = {s.content_hash: s.reason for s in report.skipped}
        for row in readable:
            if row["content_hash"] in bad:  # the reason names the temporary file: keep only the reason
                row["error"] = bad[row["content_hash"]].removeprefix(f"{row['path']}: ")
        readable = [row for row in readable if not row["error"]]
        if not readable:
            raise JobError("None of the files could be read as a photo.")
        hashes = [row["content_hash"] for row in readable]
        probabilities = np.concatenate([  # features loaded a slice at a time: a big batch never fills the memory
            np.asarray(head.predict(load_views(cache, spec, hashes[start:start + HEAD_CHUNK]), batch_size=256,
                                    verbose=0))
            for start in range(0, len(hashes), HEAD_CHUNK)])
        for row, p in zip(readable, probabilities):
            answer = rank(p, class_names, threshold)
            row.update({key: answer[key] for key in ("label", "confidence", "decision", "probabilities")})
        note = _truth_note(rows, class_names)
        if note:
            for row in rows:
                row["true"] = ""
        labelled = [i for i, row in enumerate(readable) if row["true"]]
        evaluation = {}
        if labelled:
            y = [class_names.index(readable[i]["true"]) for i in labelled]
            evaluation = scores(probabilities[labelled], y, class_names, ids=[readable[i]["file"] for i in labelled])
        services.batch_succeed(batch_id=batch_id, rows=rows, report=evaluation, evaluation_note=note)
