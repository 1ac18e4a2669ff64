"""Reads on the worker registry: who is alive, which queues are served, which weights are cached, queue lengths.

The job form, the home page, prediction readiness and the reaper all ask here."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from webapp.workers_registry.models import Worker

logger = logging.getLogger(__name__)

QUEUES = ("train", "predict")


def _alive() -> Q:
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_DEAD_SECONDS)
    return Q(stopped_at__isnull=True, last_seen__gte=cutoff)


def workers_alive() -> QuerySet[Worker]:
    return Worker.objects.filter(_alive())


def worker_named(name: str) -> Worker | None:
    return Worker.objects.filter(name=name).first()


def gone_worker_names() -> list[str]:
    """Workers that stopped, or whose last report is older than WORKER_DEAD_SECONDS (killed, crashed, host down)."""
    return list(Worker.objects.exclude(_alive()).values_list("name", flat=True))


def queue_has_worker(queue: str, *, ready: bool = False) -> bool:
    """An alive worker serves `queue` (with ready=True: one whose pool has TensorFlow loaded)."""
    workers = workers_alive().filter(ready=True) if ready else workers_alive()
    return any(queue in worker.queues for worker in workers.only("queues"))


def backbones_with_weights(queue: str = "train") -> set[str]:
    """Backbones whose ImageNet weights are cached on at least one alive worker serving `queue`."""
    names = set()
    for worker in workers_alive().only("queues", "backbones_with_weights"):
        if queue in worker.queues:
            names.update(worker.backbones_with_weights)
    return names


def queue_lengths() -> dict[str, int | None]:
    """Messages waiting per queue, as the broker counts them (Redis LLEN, the embedded broker's queue folder);
    None for all when the broker cannot be reached."""
    from webapp.lifecycle.services import celery_app

    try:
        with celery_app().connection_for_read() as connection:
            channel = connection.default_channel
            return {queue: channel.queue_declare(queue).message_count for queue in QUEUES}
    except Exception:  # noqa: BLE001 - a page showing lengths must not fail with the broker
        logger.warning("could not read the queue lengths from the broker", exc_info=True)
        return dict.fromkeys(QUEUES)


def imagenet_weights(queue: str = "train") -> dict:
    """Which backbones' ImageNet weights a job can use, and where the missing ones go:
    {"available": set of names, "source": "workers" | "web", "folder": Keras's cache folder}.

    The alive workers serving `queue` say (what they report); before any has reported, this web process's own
    Keras cache stands in (the same folder or volume in `make run` and the compose set-up)."""
    from classifier.backbones import BACKBONES

    folder = settings.KERAS_HOME / "models"
    if queue_has_worker(queue):
        return {"available": backbones_with_weights(queue), "source": "workers", "folder": folder}
    available = {name for name, b in BACKBONES.items() if (folder / b.imagenet_file).is_file()}
    return {"available": available, "source": "web", "folder": folder}


def precision_speeds(backbone: str, queue: str = "train") -> dict[str, dict]:
    """What the alive workers serving `queue` measured for `backbone` in each precision, by worker name (those
    that have measured it): what precision auto is resolved by."""
    return {worker.name: worker.precision_speeds[backbone]
            for worker in workers_alive().only("name", "queues", "precision_speeds")
            if queue in worker.queues and backbone in (worker.precision_speeds or {})}


def throughput_of(worker: str, backbone: str):
    """What `worker` measured on `backbone` in earlier jobs (a Throughput row), or None."""
    from webapp.workers_registry.models import Throughput

    return Throughput.objects.filter(worker=worker, backbone=backbone).first() if worker else None


def fastest_throughput(backbone: str, queue: str = "train"):
    """The best measured extraction speed on `backbone` among the alive workers serving `queue` (the one a new
    job most likely gets: any idle one), or None when none has measured it."""
    from webapp.workers_registry.models import Throughput

    names = [worker.name for worker in workers_alive().only("name", "queues") if queue in worker.queues]
    return (Throughput.objects.filter(worker__in=names, backbone=backbone)
            .order_by(models.F("extract_images_per_second").desc(nulls_last=True)).first())
