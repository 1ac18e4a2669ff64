"""Trained models kept warm in each `predict` worker process: an LRU of Predictors by job id.

TensorFlow is imported the first time a child process predicts, once; after that a prediction costs one
decode and one forward pass."""

import threading
from collections import OrderedDict

from django.conf import settings

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
