"""The Celery app, configured from Django settings (every CELERY_* setting).

Start workers with `celery -A workers worker -Q train` (long work) or `-Q predict` (short work), and one
`celery -A workers beat` (hourly clean-ups) per installation. Workers report themselves to the registry
(workers/presence.py, webapp/workers_registry) through the signals below, and every worker's main process runs the
reaper (webapp.lifecycle.services.work_reap), so no dead worker can stop it.
"""

import logging
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("menagerie")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")

logger = logging.getLogger(__name__)
_reporter = None  # this worker's workers.presence.Reporter (main process)


@worker_init.connect
def _keras_home(**kwargs):
    """Before the pool forks: children inherit KERAS_HOME, read by Keras when a task first imports it."""
    from django.conf import settings

    os.environ["KERAS_HOME"] = str(settings.KERAS_HOME)


@worker_init.connect
def _register(sender=None, **kwargs):
    """Before the pool forks and before any task: register in the worker registry, and fail what an earlier
    process under this name left running (it was killed; a Celery node name runs once at a time)."""
    global _reporter
    from django.db import connection

    from workers.presence import Reporter

    queues = sorted(queue.name for queue in sender.app.amqp.queues.consume_from.values())
    _reporter = Reporter(sender.hostname, queues)
    try:
        from webapp.lifecycle.services import work_reap

        takeover = _reporter.earlier_process_gone()
        _reporter.register()
        reaped = work_reap(worker_names=[sender.hostname]) if takeover else {}
        if not takeover:
            logger.warning("another live worker is named %s: give each worker its own -n name", sender.hostname)
        if reaped:
            logger.warning("failed what an earlier %s left running: %s", sender.hostname, reaped)
    except Exception:  # noqa: BLE001 - e.g. no migrated database yet; the reporter registers later
        logger.exception("registering worker %s failed", sender.hostname)
    finally:
        connection.close()


@worker_process_init.connect
def _own_process_group(**kwargs):
    """A pool process leaves the worker's process group (before warming up, connected first), so a signal to the
    whole group, as honcho sends SIGTERM on Ctrl-C of `make run`, reaches the main process alone and it shuts its
    pool down (warm: a running task finishes). Else each pool process died of the signal at once, and the main
    process logged an ERROR and started a new one before exiting. Celery kills the pool processes itself when the
    main process dies (PR_SET_PDEATHSIG), so none outlives a SIGKILL of the group."""
    os.setpgid(0, 0)


@worker_process_init.connect
def _warm_up(sender=None, **kwargs):
    """Each pool process loads TensorFlow at start (sender: the worker's name), so 'ready' means warm."""
    from workers.presence import warm_up

    warm_up(sender)


@worker_shutdown.connect
def _unregister(**kwargs):
    if _reporter is not None:
        try:
            _reporter.stop()
        except Exception:  # noqa: BLE001 - the registry sees it gone when its reports stop
            logger.exception("marking worker %s stopped failed", _reporter.name)


@worker_ready.connect
def _start_reporting(**kwargs):
    """Report to the registry and reap (at once, then every REAPER_INTERVAL_SECONDS) from the main process."""
    if _reporter is not None:
        _reporter.start()
