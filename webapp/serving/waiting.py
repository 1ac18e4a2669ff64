"""A bound on web threads that wait for a prediction: API requests past `API_PREDICT_MAX_WAITING` waiting at
once in this process are turned away at once (503 with Retry-After) instead of taking every thread, so pages
and /health/ keep answering during a burst."""

import threading
from contextlib import contextmanager

from django.conf import settings

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
