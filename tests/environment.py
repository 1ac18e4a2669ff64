"""The test run's environment, loaded as a pytest plugin (`-p tests.environment` in pytest.ini) so that it is
in place before pytest-django loads the settings and before anything imports Keras."""

import os
import socket
import tempfile
from pathlib import Path

from tests.shared import MOBILENET_V2_LEGACY_FILE, shared_dir

# All data of the run (SQLite test database, media, features, embedded broker) lives in a temp folder.
os.environ["MENAGERIE_DATA_DIR"] = tempfile.mkdtemp(prefix="menagerie-test-data-")
for _name in ("MEDIA_ROOT", "FEATURES_DIR", "ARTIFACTS_DIR"):
    os.environ.pop(_name, None)

# Tests get their own Keras cache so they never read or write the user's ~/.keras. It is set before anything
# imports Keras (Keras reads KERAS_HOME once, at import) and is inherited by worker processes the tests start.
# When ../shared has the ImageNet MobileNetV2 weights, the cache is seeded with them as the weights README says.
_keras_home = Path(tempfile.mkdtemp(prefix="menagerie-keras-home-"))
(_keras_home / "models").mkdir()
_weights = shared_dir() / "weights" / MOBILENET_V2_LEGACY_FILE
if _weights.exists():
    (_keras_home / "models" / MOBILENET_V2_LEGACY_FILE).symlink_to(_weights)
os.environ["KERAS_HOME"] = str(_keras_home)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MENAGERIE_WORKER_MEASURE_PRECISION", "0")  # seconds per backbone: tests measure on purpose

# Real services: CI sets MENAGERIE_REQUIRE_SERVICES=1 and starts Redis (and passes DATABASE_URL for PostgreSQL).
# On a machine without Redis, the job tests run through the embedded broker and Redis-only tests skip.
# Under pytest-xdist each test process (gw0, gw1, ...) takes the next database down: its workers' queues, results
# and control messages stay its own.
REDIS_TEST_URL = os.environ.get("MENAGERIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist_worker.startswith("gw"):
    _base, _, _db = REDIS_TEST_URL.rpartition("/")
    REDIS_TEST_URL = f"{_base}/{int(_db or 0) - int(_xdist_worker[2:])}"


def redis_available(url: str = REDIS_TEST_URL) -> bool:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=1):
            return True
    except OSError:
        return False


REDIS_AVAILABLE = redis_available()
if REDIS_AVAILABLE or os.environ.get("MENAGERIE_REQUIRE_SERVICES") == "1":
    os.environ["CELERY_BROKER_URL"] = REDIS_TEST_URL
    os.environ.pop("CELERY_RESULT_BACKEND", None)
else:
    os.environ.pop("CELERY_BROKER_URL", None)


