"""The Celery app, configured from Django settings (every CELERY_* setting).

Start workers with `celery -A workers worker -Q train` (long work) or `-Q predict` (short work), and one
`celery -A workers beat` (the stale-job reaper's schedule) per installation.
"""

import logging
import os

from celery import Celery
from celery.signals import worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("menagerie")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")

logger = logging.getLogger(__name__)


@worker_init.connect
def _keras_home(**kwargs):
    """Before the pool forks: children inherit KERAS_HOME, read by Keras when a task first imports it."""
    from django.conf import settings

    os.environ["KERAS_HOME"] = str(settings.KERAS_HOME)


@worker_ready.connect
def _reap_at_start(**kwargs):
    """A worker coming back after a crash fails the jobs it (or another dead worker) left running."""
    from django.db import connection

    try:
        from webapp.experiments import services

        reaped = services.jobs_reap_stale()
        if reaped:
            logger.warning("failed stale jobs at worker start: %s", reaped)
    except Exception:  # noqa: BLE001 - e.g. no migrated database yet; beat retries later
        logger.exception("reaping stale jobs at worker start failed")
    finally:
        connection.close()
