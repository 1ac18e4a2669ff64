"""Fixtures shared by all tests: two teams and their members, staff, a media folder per test, real workers.
The environment itself is set up by tests/environment.py; rows with files come from tests/factories.py."""

import os

import pytest
from django.contrib.auth.models import Group

from tests.environment import REDIS_AVAILABLE, REDIS_TEST_URL

PASSWORD = "pw-12345-menagerie"


@pytest.fixture
def media_root(settings, tmp_path):
    """This test's own MEDIA_ROOT (and trained models, feature cache) in its temp folder. Tests whose worker
    processes must see the files use the run's data folder instead (tests/environment.py)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.FEATURES_DIR = tmp_path / "features"
    return root


@pytest.fixture
def require_redis():
    if not REDIS_AVAILABLE:
        reason = f"needs Redis at {REDIS_TEST_URL} (start it, or set MENAGERIE_TEST_REDIS_URL)"
        if os.environ.get("MENAGERIE_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real Celery worker processes on the test database: `start_worker(queues="train")`.

    Workers are stopped (or killed) when the test ends; their log is at `worker.log_path`.
    """
    from tests.processes import WorkerProcess

    workers = []

    def start(queues: str = "train,predict", **kwargs) -> WorkerProcess:
        worker = WorkerProcess(queues=queues, log_dir=tmp_path, **kwargs)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def lab(db):
    return Group.objects.get_or_create(name="lab")[0]


@pytest.fixture
def other_team(db):
    return Group.objects.create(name="other-lab")


def _user(django_user_model, username, group=None, **extra):
    user = django_user_model.objects.create_user(username, password=PASSWORD, **extra)
    if group:
        user.groups.add(group)
    return user


@pytest.fixture
def ann(django_user_model, lab):
    return _user(django_user_model, "ann", lab)


@pytest.fixture
def carl(django_user_model, lab):
    """Ann's teammate."""
    return _user(django_user_model, "carl", lab)


@pytest.fixture
def bob(django_user_model, other_team):
    return _user(django_user_model, "bob", other_team)


@pytest.fixture
def staff(django_user_model):
    return _user(django_user_model, "sam", is_staff=True)


@pytest.fixture
def client_for(client):
    def log_in(user):
        client.force_login(user)
        return client
    return log_in
