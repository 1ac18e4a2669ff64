"""The `suggestion_run` task's body: features of the dataset's labelled photos and of its unlabelled pool (through
the feature cache: only photos never seen are extracted), then classifier.labelling: a suggested class with
calibrated confidence for every pool photo once every class has a few labels, the expected error of accepting
them from cross-validated predictions, and the photos worth labelling next (the pool's most typical photos while
classes lack labels). Reads go through webapp.labelling.selectors, writes through webapp.labelling.services; the
claim, heartbeat and failure skeleton is workers/runtime.py's."""

import logging
import time

from django.conf import settings

from webapp.core.storage import feature_store
from webapp.labelling import selectors, services
from webapp.labelling.models import SuggestionRun
from workers.pipeline import extraction_batch, photo_paths
from workers.runtime import JobError, run_claimed

logger = logging.getLogger(__name__)
CURVE_STEPS = 100  # the error curve's confidences: 0.00, 0.01, ..., 1.00


def run_suggestions(run_id: int, worker: str = "") -> str:
    return run_claimed("suggestion", run_id, worker, lambda: _suggest(selectors.run_for_worker(run_id=run_id)))


def _spec(run: SuggestionRun):
    from classifier.labelling import LABELLING_BACKBONE, labelling_spec

    return labelling_spec(weights=run.weights_arg, input_size=run.input_size,
                          backbone=run.backbone or LABELLING_BACKBONE)


def error_curve(suggestions) -> list:
    """[[min confidence, expected error or None, held-out photos at that confidence], ...] over 0..1."""
    out = []
    for step in range(CURVE_STEPS + 1):
        confidence = step / CURVE_STEPS
        kept = int((suggestions.heldout_confidence >= confidence).sum())
        error = suggestions.expected_error(confidence)
        out.append([confidence, None if error is None else round(error, 4), kept])
    return out


def _suggest(run: SuggestionRun) -> None:
    import numpy as np

    from classifier.features import extract
    from classifier.labelling import DEFAULT_STRATEGY, can_suggest, next_to_label, suggest

    started = time.monotonic()
    inputs = selectors.run_inputs(run)
    classes, labelled, pool = inputs["classes"], inputs["labelled"], inputs["pool"]
    if not pool:  # every photo has a class: nothing to suggest or propose
        services.suggestion_succeed(run_id=run.pk, state=inputs["state"], classes=classes, label_count=len(labelled),
                                    pool_ids=[], proposal="", proposed=[], seconds={})
        return
    images = [image for image, _ in labelled] + pool
    spec, cache = _spec(run), feature_store()
    report = extract(photo_paths([(i.content_hash, i.file.name) for i in images], spec, cache), spec, cache,
                     batch_size=extraction_batch(spec),
                     on_progress=lambda done, total: services.suggestion_progress(run_id=run.pk, done=done,
                                                                                  total=total))
    bad = {s.content_hash for s in report.skipped}
    if bad:
        logger.warning("suggestion run %s: %d photos could not be read", run.pk, len(bad))
    labelled = [(image, y) for image, y in labelled if image.content_hash not in bad]
    pool = [image for image in pool if image.content_hash not in bad]
    if not pool:
        raise JobError("None of the unlabelled photos could be read.")
    seconds = {"features": round(time.monotonic() - started, 3)}

    x_pool = cache.load(spec, [i.content_hash for i in pool])
    x_labelled = cache.load(spec, [i.content_hash for i, _ in labelled]) if labelled else \
        np.zeros((0, x_pool.shape[1]), "float32")
    y = np.array([y for _, y in labelled], dtype=int)
    ready = can_suggest(y, len(classes))
    probabilities, curve = None, None
    if ready:
        tick = time.monotonic()
        suggestions = suggest(x_labelled, y, x_pool, num_classes=len(classes))
        probabilities, curve = suggestions.probabilities, error_curve(suggestions)
        seconds["suggest"] = round(time.monotonic() - tick, 3)
    tick = time.monotonic()
    # a batch to label next, at most half the pool (all of a small pool would be no choice at all)
    n = min(max(settings.LABELLING_PROPOSALS, 3 * len(classes)), max(1, len(pool) // 2))
    proposed = next_to_label(x_labelled, y, x_pool, n, num_classes=len(classes))
    seconds["next"] = round(time.monotonic() - tick, 3)
    seconds["total"] = round(time.monotonic() - started, 3)
    services.suggestion_succeed(
        run_id=run.pk, state=inputs["state"], classes=classes, label_count=len(labelled),
        pool_ids=[i.pk for i in pool], probabilities=probabilities, error_curve=curve,
        proposal=DEFAULT_STRATEGY if ready else "cover", proposed=[pool[i].pk for i in proposed], seconds=seconds)
