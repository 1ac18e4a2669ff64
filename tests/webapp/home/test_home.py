"""The home page: the team's running and waiting jobs, recent results with accuracy, models, datasets with their
feature-cache size, disk use, and the workers online per queue with the queue lengths; a bounded query count."""

import numpy as np
import pytest
from django.core.cache import cache
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone

from classifier.features import FeatureCache, FeatureSpec
from tests.webapp.experiments.conftest import FAST_HEAD, make_dataset, succeed_job
from webapp.accounts.services import membership_change
from webapp.experiments import services
from webapp.serving import services as serving
from webapp.workers_registry.models import Worker


@pytest.fixture(autouse=True)
def _fresh_figures():
    cache.clear()  # disk figures are kept a minute


def _worker(name, queues, *, ready=True, seen=None):
    now = timezone.now()
    return Worker.objects.create(name=name, host="h", pid=1, queues=queues, ready=ready, started_at=now,
                                 last_seen=seen or now)


def _job(dataset, user):
    return services.job_create(dataset=dataset, user=user, backbone="mobilenet_v2", weights="none", pooling="avg",
                               input_size=32, head_config=FAST_HEAD)


def test_home_shows_the_teams_work_its_disk_and_its_workers(client_for, ann, lab, other_team, bob, settings):
    membership_change(team=lab, user=ann, role="admin")
    pets = make_dataset("pets", lab)
    done = succeed_job(_job(pets, ann))
    running = _job(pets, ann)
    assert services.job_claim(job_id=running.pk, worker="train@a")
    queued = _job(pets, ann)
    theirs = _job(make_dataset("their-pets", other_team), bob)
    birds = serving.named_model_create(team=lab, name="birds", evaluation_dataset=pets, user=ann)
    serving.model_promote(named_model=birds, job=done, user=ann)
    spec = FeatureSpec(backbone="mobilenet_v2", weights=None, input_size=32, pooling="avg")
    features = FeatureCache(settings.FEATURES_DIR)
    digests = list(pets.images.values_list("content_hash", flat=True)[:3])
    for digest in digests:
        features.save(spec, digest, np.zeros(1280))
    features.save(spec, "f" * 64, np.zeros(1280))  # a photo no dataset holds: not the dataset's
    feature_bytes = sum(features.path(spec, digest).stat().st_size for digest in digests)
    _worker("train@a", ["train"])
    _worker("predict@b", ["predict"], ready=False)
    _worker("train@gone", ["train"], seen=timezone.now() - timezone.timedelta(hours=1))

    page = client_for(ann).get(reverse("home")).content.decode()
    live = page[page.index('id="home-live-jobs"'):page.index('id="home-workers"')]
    assert f"#{running.pk}</a>" in live and "Extracting features" in live and f"#{queued.pk}</a>" in live
    assert f"#{done.pk}</a>" not in live and f"#{theirs.pk}</a>" not in page
    recent = page[page.index('id="home-recent"'):]
    assert f"#{done.pk}</a>" in recent and "33%" in recent
    assert "birds</a>: v1 live" in page
    datasets = page[page.index('id="home-dataset-list"'):]
    assert "pets</a>" in datasets and "their-pets" not in datasets
    assert f"<td class=\"num\">{filesizeformat(feature_bytes)}</td>" in datasets
    disk = page[page.index('id="home-disk-use"'):]
    assert "Prediction photos" in disk and "Feature cache" in disk and "Trained models" in disk
    queues = page[page.index('id="home-queues"'):]
    assert "train</strong>:\n      1 online (train@a)" in queues and "predict@b, starting" in queues
    assert "train@gone" not in queues and "waiting" in queues


def test_home_status_polls_the_live_part(client_for, ann, lab):
    job = _job(make_dataset("pets", lab), ann)
    _worker("train@a", ["train"])
    live = client_for(ann).get(reverse("home_status")).json()
    assert [(j["id"], j["status"]) for j in live["jobs"]] == [(job.pk, "queued")]
    train = next(q for q in live["queues"] if q["name"] == "train")
    assert train["workers"] == [{"name": "train@a", "ready": True}] and isinstance(train["waiting"], int)


def test_home_query_count_does_not_grow_with_the_team(client_for, ann, lab, django_assert_max_num_queries):
    membership_change(team=lab, user=ann, role="admin")
    client = client_for(ann)

    def grow():
        dataset = make_dataset(f"set-{grow.n}", lab, per_class=3)
        grow.n += 1
        done = succeed_job(_job(dataset, ann))
        _job(dataset, ann)
        named = serving.named_model_create(team=lab, name=f"model-{grow.n}", evaluation_dataset=dataset, user=ann)
        serving.model_promote(named_model=named, job=done, user=ann)
        _worker(f"train@{grow.n}", ["train"])

    grow.n = 0
    grow()
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("home"))
    for _ in range(4):
        grow()
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("home"))
