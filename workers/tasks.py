"""Celery tasks: thin wrappers that load rows by id and call services or the classifier core."""

import socket

from workers.celery_app import app


@app.task(name="workers.tasks.ping")
def ping() -> dict:
    """Round trip through the broker; used by health checks and tests."""
    return {"pong": True, "host": socket.gethostname()}


@app.task(name="workers.tasks.predict_ping")
def predict_ping() -> dict:
    """The same round trip on the `predict` queue (routed by name, see CELERY_TASK_ROUTES)."""
    return {"pong": True, "host": socket.gethostname()}
