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


def worker_precision_record(*, name: str, backbone: str, speeds: dict[str, float]) -> None:
    """Remember what the worker measured for `backbone` in each precision (classifier.precision.measure)."""
    from django.db import transaction

    from webapp.workers_registry.models import Worker

    with transaction.atomic():
        worker = Worker.objects.select_for_update().filter(name=name).first()
        if worker is not None:
            worker.precision_speeds = {**worker.precision_speeds, backbone: speeds}
            worker.save(update_fields=["precision_speeds"])


def throughput_record(*, worker: str, backbone: str, extract_images_per_second: float | None = None,
                      train_seconds_per_image_epoch: float | None = None) -> None:
    """Remember a measured speed of `worker` on `backbone`: the mean of the last value and the new one, so one
    odd job (a busy machine) moves the estimate only halfway."""
    from webapp.workers_registry.models import Throughput

    measured = {"extract_images_per_second": extract_images_per_second,
                "train_seconds_per_image_epoch": train_seconds_per_image_epoch}
    measured = {name: value for name, value in measured.items() if value and value > 0}
    if not measured or not worker:
        return
    row, created = Throughput.objects.get_or_create(worker=worker, backbone=backbone, defaults=measured)
    if not created:
        for name, value in measured.items():
            old = getattr(row, name)
            setattr(row, name, value if old is None else (old + value) / 2)
        row.save()
