"""The worker registry's services and selectors: who is alive, serving what, with which weights."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.workers_registry import selectors, services
from webapp.workers_registry.models import Worker

pytestmark = pytest.mark.django_db


def register(name: str, queues=("train",), pid: int = 100, backbones=()):
    return services.worker_register(name=name, host="box", pid=pid, queues=list(queues),
                                    backbones_with_weights=list(backbones))


def test_a_registered_worker_is_alive_and_ready_once_its_pool_says_so():
    register("train@box", backbones=["mobilenet_v2"])
    register("predict@box", queues=["predict"], pid=101)
    assert {w.name for w in selectors.workers_alive()} == {"train@box", "predict@box"}
    assert selectors.queue_has_worker("train") and selectors.queue_has_worker("predict")
    assert not selectors.queue_has_worker("predict", ready=True)  # TensorFlow not loaded yet
    assert services.worker_mark_ready(name="predict@box")
    assert selectors.queue_has_worker("predict", ready=True)
    assert selectors.backbones_with_weights() == {"mobilenet_v2"}
    assert selectors.backbones_with_weights("predict") == set()
    assert selectors.gone_worker_names() == []


def test_a_silent_or_stopped_worker_is_gone_and_a_restart_makes_it_alive_again(settings):
    register("train@a")
    register("train@b", pid=200)
    Worker.objects.filter(name="train@a").update(
        last_seen=timezone.now() - timedelta(seconds=settings.WORKER_DEAD_SECONDS + 1))
    assert services.worker_stop(name="train@b", pid=200)
    assert sorted(selectors.gone_worker_names()) == ["train@a", "train@b"]
    assert not selectors.workers_alive().exists() and not selectors.queue_has_worker("train")

    assert not services.worker_heartbeat(name="train@b", pid=999, backbones_with_weights=[])  # not its process
    register("train@b", pid=201)  # restarted: alive, not ready until its pool loads TensorFlow
    assert services.worker_heartbeat(name="train@b", pid=201, backbones_with_weights=["vgg16"])
    worker = Worker.objects.get(name="train@b")
    assert worker.is_alive and not worker.ready and worker.backbones_with_weights == ["vgg16"]
    assert selectors.gone_worker_names() == ["train@a"]


def test_admin_lists_workers_read_only(admin_client):
    register("train@box")
    response = admin_client.get("/admin/workers_registry/worker/")
    assert response.status_code == 200 and b"train@box" in response.content
    assert admin_client.get("/admin/workers_registry/worker/add/").status_code == 403
