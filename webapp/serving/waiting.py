"""A bound on web threads that wait for a prediction: API requests past `API_PREDICT_MAX_WAITING` waiting at
once in this process are turned away at once (503 with Retry-After) instead of taking every thread, so pages
and /health/ keep answering during a burst."""

import threading
from contextlib import contextmanager

from django.conf import settings
from django.http import JsonResponse

_slots: dict[int, threading.BoundedSemaphore] = {}  # by limit, so a changed setting (tests) takes effect
_lock = threading.Lock()


class Busy(Exception):
    """Every waiting slot of this web process is taken."""


@contextmanager
def prediction_wait_slot():
    limit = max(1, settings.API_PREDICT_MAX_WAITING)
    with _lock:
        slots = _slots.setdefault(limit, threading.BoundedSemaphore(limit))
    if not slots.acquire(blocking=False):
        raise Busy
    try:
        yield
    finally:
        slots.release()


RETRY_AFTER_SECONDS = 1


def busy_response() -> JsonResponse:
    response = JsonResponse({"error": "Too many predictions waiting on this server; retry shortly."}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def predict_bounded(*, job, upload, user, model_version=None):
    """(prediction, None), or (None, a 503 response) when this process already has its bound of waiting
    requests."""
    from webapp.experiments import services

    try:
        with prediction_wait_slot():
            return services.prediction_run(job=job, upload=upload, user=user, model_version=model_version,
                                           timeout=settings.API_PREDICT_TIMEOUT_SECONDS), None
    except Busy:
        return None, busy_response()
