"""Trained models kept warm in each `predict` worker process: an LRU of Predictors by job id.

TensorFlow is imported the first time a child process predicts, once; after that a prediction costs one
decode and one forward pass. A predict worker's processes build the live named models' predictors when they start
(`warm_live_models`, from workers.presence.warm_up), and predict once with each."""

import logging
import threading
from collections import OrderedDict

from django.conf import settings

logger = logging.getLogger(__name__)
_predictors: OrderedDict = OrderedDict()
_lock = threading.Lock()


def get_predictor(job):
    """The job's classifier.predict.Predictor, built on first use and kept (the least recently used goes)."""
    from classifier.predict import Predictor

    with _lock:
        if job.pk in _predictors:
            _predictors.move_to_end(job.pk)
            return _predictors[job.pk]
    predictor = Predictor.from_run_dir(job.artifact_path)
    with _lock:
        _predictors[job.pk] = predictor
        while len(_predictors) > max(1, settings.PREDICTOR_CACHE_SIZE):
            _predictors.popitem(last=False)
    return predictor


def clear() -> None:
    _predictors.clear()


def warm_live_models() -> list[int]:
    """Build the predictors of the live versions of named models (newest promotions first, up to the cache
    size), so the first prediction after a predict worker starts costs no model load. Returns their job ids."""
    from webapp.serving.selectors import live_jobs

    warmed = []
    for job in live_jobs(limit=max(1, settings.PREDICTOR_CACHE_SIZE)):
        try:
            # one prediction too: Keras traces its graphs on the first call (seconds), not when the model loads
            get_predictor(job).predict([_warm_up_photo()])
            warmed.append(job.pk)
        except Exception:  # noqa: BLE001 - a missing artifact fails its own predictions, readably
            logger.exception("warming the predictor of job %s failed", job.pk)
    logger.info("warmed the live models: jobs %s", warmed)
    return warmed


def _warm_up_photo() -> bytes:
    """A small grey JPEG: what a first real prediction goes through (decode, resize, the model)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (128, 128, 128)).save(buffer, "JPEG")
    return buffer.getvalue()
