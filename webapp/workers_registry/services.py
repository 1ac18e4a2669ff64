"""Writes on the worker registry, called by the workers themselves (workers/presence.py)."""

from django.utils import timezone

from webapp.workers_registry.models import Worker


def worker_register(*, name: str, host: str, pid: int, queues: list[str],
                    backbones_with_weights: list[str]) -> Worker:
    """A worker (re)starting: alive, not ready yet (its pool loads TensorFlow first)."""
    now = timezone.now()
    worker, _ = Worker.objects.update_or_create(name=name, defaults={
        "host": host, "pid": pid, "queues": sorted(queues), "ready": False,
        "backbones_with_weights": sorted(backbones_with_weights), "started_at": now, "last_seen": now,
        "stopped_at": None,
    })
    return worker


def worker_heartbeat(*, name: str, pid: int, backbones_with_weights: list[str]) -> bool:
    """Still alive (and which weights are cached now); False if the row is missing or another process took
    the name, so the caller registers again."""
    return bool(Worker.objects.filter(name=name, pid=pid).update(
        last_seen=timezone.now(), backbones_with_weights=sorted(backbones_with_weights), stopped_at=None,
    ))


def worker_mark_ready(*, name: str) -> bool:
    """A pool process of the worker has TensorFlow loaded."""
    return bool(Worker.objects.filter(name=name, stopped_at__isnull=True).update(ready=True))


def worker_stop(*, name: str, pid: int) -> bool:
    """The worker shut down cleanly."""
    return bool(Worker.objects.filter(name=name, pid=pid).update(stopped_at=timezone.now(), ready=False))
