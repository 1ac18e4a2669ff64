"""The one settings module. Everything that differs between machines comes from the environment.

Defaults give a working single-machine install with nothing but Python: SQLite and the media, feature and
broker folders under ./data. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL (PostgreSQL) and
CELERY_BROKER_URL (Redis); see README.md.
"""

import ipaddress
import os
import secrets
import time
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

import dj_database_url

from classifier.data import DEFAULT_FRACTIONS
from classifier.images import MAX_PIXELS
from webapp.lifecycle.registry import task_annotations, task_routes

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DATA_DIR = Path(env("MENAGERIE_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data folder.

    Processes starting together on an empty data folder must agree on one key: the file is created with O_EXCL
    (exactly one process wins) and mode 0600 from the start, the key is written in one call, and every process
    then reads the file (a loser waits until the winner has written it)."""
    if env("SECRET_KEY"):
        return env("SECRET_KEY")
    key_file = DATA_DIR / "secret_key"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    for _ in range(100):  # the winner writes right after creating; wait up to ~5 s for its key
        key = key_file.read_text().strip()
        if key:
            return key
        time.sleep(0.05)
    raise RuntimeError(f"{key_file} is empty: delete it, or set SECRET_KEY")


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Behind HTTPS in production: DJANGO_SECURE=1 turns on every secure-transport setting `check --deploy` asks for.
SECURE = env_bool("DJANGO_SECURE")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and not env_bool("DJANGO_SECURE_NO_REDIRECT")
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Scripts only from our static files (no inline script, no eval: Plotly.js needs neither for our charts). Styles
# allow inline: Plotly.js writes style attributes and a <style> element as it draws.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "webapp.core",
    "webapp.home",
    "webapp.operations",
    "webapp.accounts",
    "webapp.datasets",
    "webapp.experiments",
    "webapp.audits",
    "webapp.workers_registry",
    "webapp.serving",
    "webapp.labelling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "webapp.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "webapp.core.middleware.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login, except views marked @login_not_required (the login page, token-auth API).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the "too many failed log-ins" page
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

# The longest wait between two polls of a status endpoint, in ms (static/js/poll.js); 0: each page's own back-off.
# Tests set it short so that they never sit out a back-off.
POLL_MAX_MS = int(env("MENAGERIE_POLL_MAX_MS", "0"))

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webapp.core.context_processors.polling",
            ],
        },
    },
]


def _database() -> dict:
    url = env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
    db = dj_database_url.parse(url, conn_max_age=0 if url.startswith("sqlite") else 60, conn_health_checks=True)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # The web process and the workers write at once: WAL lets readers run beside the writer, IMMEDIATE takes
        # the write lock when a transaction starts (no lock upgrade deadlock), the timeout waits for it.
        db["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        # A file, not memory, so that worker processes started by the tests see the test database.
        db["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
        _create_private(Path(db["NAME"]))
    return db


def _create_private(path: Path) -> None:
    """Create the SQLite file empty and 0600 (like the secret key) unless it exists: it holds password hashes,
    sessions and webhook secrets, and SQLite gives its -wal and -shm files the database's mode."""
    if str(path) in ("", ":memory:") or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Login throttling (django-axes and webapp/accounts/auth.py): LOGIN_FAILURE_LIMIT failed log-ins for one username
# from one address lock that pair for LOGIN_COOLOFF_MINUTES (429 and a page saying so); its success resets it.
# From one address, LOGIN_ADDRESS_FAILURE_LIMIT failures over every username lock the address (an office behind one
# address fails far less). A username with LOGIN_USERNAME_SLOWDOWN_FAILURES failures from every address is slowed
# to one attempt per LOGIN_USERNAME_SLOWDOWN_SECONDS (guessing from many addresses; never a lock-out). Bad API
# tokens count per address apart (LOGIN_FAILURE_LIMIT of them) and throttle the API only. Failures are rows in
# the database, so every web process sees them.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "webapp.accounts.auth.LoginThrottleHandler"
AXES_FAILURE_LIMIT = int(env("MENAGERIE_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(env("MENAGERIE_LOGIN_COOLOFF_MINUTES", "15")))
# A token attempt has no username: its rows are (no username, address), apart from every log-in's.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A refused attempt is not a failure: it neither extends a lock-out nor counts towards another limit.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "webapp.accounts.auth.lockout_response"
LOGIN_ADDRESS_FAILURE_LIMIT = int(env("MENAGERIE_LOGIN_ADDRESS_FAILURE_LIMIT", "100"))
LOGIN_USERNAME_SLOWDOWN_FAILURES = int(env("MENAGERIE_LOGIN_USERNAME_SLOWDOWN_FAILURES", "30"))
LOGIN_USERNAME_SLOWDOWN_SECONDS = float(env("MENAGERIE_LOGIN_USERNAME_SLOWDOWN_SECONDS", "10"))
AXES_DISABLE_ACCESS_LOG = True  # keep failures only, not a row per successful log-in
# Behind N reverse proxies (e.g. 1 for nginx in front of gunicorn) the client's address is the N-th from the right
# of X-Forwarded-For; with 0, REMOTE_ADDR (never trust a header a client can set). README: "Behind a reverse proxy".
PROXY_COUNT = int(env("MENAGERIE_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "webapp.accounts.auth.client_address"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # collectstatic fills it in production; whitenoise wants it to exist
# Plotly.js comes from the installed plotly package (no CDN: the app works offline), served as
# static/plotly/plotly.min.js. find_spec locates the package without importing it.
STATICFILES_DIRS = [
    BASE_DIR / "webapp" / "static",
    ("plotly", Path(find_spec("plotly").origin).parent / "package_data"),
]
WHITENOISE_USE_FINDERS = True  # serve static files without a collectstatic step in development

# Files: uploaded photos and what is made from them (media: served only to logged-in users, by a view), cached
# bottleneck features and trained models. MENAGERIE_STORAGE picks where they live, for every process alike:
# "local" (default): three folders on this machine (one machine, or a network file system);
# "s3": one bucket of an S3-compatible store (the areas are key prefixes), so that the web app and workers on other
# machines share nothing but PostgreSQL, Redis and the store. Only webapp/core/storage.py reads these.
STORAGE_BACKEND = env("MENAGERIE_STORAGE", "local").strip().lower()
if STORAGE_BACKEND not in {"local", "s3"}:
    raise ValueError(f"MENAGERIE_STORAGE must be 'local' or 's3', not {STORAGE_BACKEND!r}")
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
MEDIA_URL = "/media/"
FEATURES_DIR = Path(env("FEATURES_DIR", str(DATA_DIR / "features"))).resolve()
ARTIFACTS_DIR = Path(env("ARTIFACTS_DIR", str(DATA_DIR / "artifacts"))).resolve()
# Each process's bounded copy of stored files it reads (photos being extracted, features, models it serves):
# used with "s3" only, least recently used first out past LOCAL_CACHE_BYTES.
LOCAL_CACHE_DIR = Path(env("MENAGERIE_LOCAL_CACHE_DIR", str(DATA_DIR / "cache"))).resolve()
LOCAL_CACHE_BYTES = int(float(env("MENAGERIE_LOCAL_CACHE_GB", "10")) * 1024**3)
# The store's client gives up on a request after these (connect, read) seconds and retries: a store outage fails
# a job within the lifecycle's 30 s instead of hanging it.
S3_OPTIONS = {
    "bucket_name": env("S3_BUCKET", "menagerie"),
    "endpoint_url": env("S3_ENDPOINT_URL") or None,  # None: AWS itself
    "access_key": env("S3_ACCESS_KEY_ID") or None,
    "secret_key": env("S3_SECRET_ACCESS_KEY") or None,
    "region_name": env("S3_REGION") or None,
    # as FileSystemStorage: a FileField never takes another row's file (two predictions of one photo share a
    # content-hash name, and deleting one's must not delete the other's); storage.write() replaces on purpose
    "file_overwrite": False,
    "querystring_auth": True,
    "default_acl": None,
    "signature_version": "s3v4",
    "addressing_style": "path",
    "connect_timeout": float(env("S3_CONNECT_TIMEOUT", "3")),
    "read_timeout": float(env("S3_READ_TIMEOUT", "10")),
    "max_attempts": int(env("S3_MAX_ATTEMPTS", "2")),
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {"BACKEND": "webapp.core.storage.S3Area", "OPTIONS": {"location": "media"}}
# Where Keras keeps downloaded ImageNet weights (models/ below it); workers export it before loading Keras.
KERAS_HOME = Path(env("KERAS_HOME", str(Path.home() / ".keras"))).resolve()

# The team (auth Group) that `createadmin` joins and `import_dataset` uses when none is given.
DATASETS_DEFAULT_TEAM = env("MENAGERIE_TEAM", "Team")
MiB = 1024 * 1024
# Dataset imports (docs/datasets-import.md). Splits and the pixel limit are the classifier's own (one rule for the
# web app and the CLI); the pixel limit may be lowered here, never raised above what extraction accepts.
DATASETS_SPLIT_FRACTIONS = DEFAULT_FRACTIONS  # train, validation, test
DATASETS_MAX_IMAGE_PIXELS = MAX_PIXELS
DATASETS_MAX_ARCHIVE_BYTES = 2048 * MiB  # the uploaded zip itself
DATASETS_MAX_IMAGE_BYTES = 25 * MiB  # one photo (uploaded, or uncompressed inside a zip)
DATASETS_ZIP_MAX_ENTRIES = 100_000
DATASETS_ZIP_MAX_TOTAL_BYTES = 8192 * MiB  # sum of uncompressed sizes, declared and actually read
DATASETS_ZIP_MAX_RATIO = 100  # uncompressed / compressed, per entry over 64 KiB and for the archive as a whole
DATASETS_THUMBNAIL_SIZE = 256
DATASETS_REJECTIONS_SHOWN = 200  # rejected files listed on the result page (the full list is a download)
DATASETS_PHOTOS_PER_PAGE = 60  # the photo browser's page of thumbnails

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Celery (workers/celery_app.py reads every CELERY_* setting). With no broker URL, an embedded default: kombu's
# filesystem transport in the data folder, which works across processes on one machine without Redis.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
# Background work of every kind (webapp/lifecycle): a running one writes a heartbeat every JOB_HEARTBEAT_SECONDS;
# the reaper (every worker's main process) fails those whose worker is gone from the registry, or whose heartbeat is
# older than JOB_STALE_SECONDS (a worker the registry never saw).
JOB_TIME_LIMIT_SECONDS = int(env("MENAGERIE_JOB_TIME_LIMIT_SECONDS", str(12 * 3600)))
JOB_HEARTBEAT_SECONDS = float(env("MENAGERIE_JOB_HEARTBEAT_SECONDS", "10"))
JOB_STALE_SECONDS = float(env("MENAGERIE_JOB_STALE_SECONDS", "120"))
# Workers report themselves (webapp/workers_registry) every WORKER_REPORT_SECONDS; one silent for WORKER_DEAD_SECONDS
# is gone, and the reaper (in every live worker's main process, every REAPER_INTERVAL_SECONDS) fails what it was
# running: within ~20 s of a hard kill, whatever the kind of work and whichever worker died.
WORKER_REPORT_SECONDS = float(env("MENAGERIE_WORKER_REPORT_SECONDS", "5"))
# A train worker measures each backbone in float32 and bfloat16 once, on first use (a few seconds), for precision
# auto (classifier.precision); the tests turn it off (tests/environment.py) and measure where they mean to.
WORKER_MEASURE_PRECISION = env("MENAGERIE_WORKER_MEASURE_PRECISION", "1") == "1"
# A recommended job answers with its linear head; where fine-tuning the last block can pay, a follow-up job then
# tries it on the same photos and ends with a new model only if it wins (classifier.recipes.FINE_TUNING). "0": no
# follow-ups (the trial costs more than the rest of the training).
FINE_TUNING_FOLLOW_UP = env("MENAGERIE_FINE_TUNING_FOLLOW_UP", "1") == "1"
WORKER_DEAD_SECONDS = float(env("MENAGERIE_WORKER_DEAD_SECONDS", "15"))
REAPER_INTERVAL_SECONDS = float(env("MENAGERIE_REAPER_INTERVAL_SECONDS", "5"))
# Test-only: while this file exists, a claimed run waits at the pause point its text names (workers/runtime.py
# pause_point; empty: before its work), so a test can kill its worker or wipe its local copies mid-run. Empty in
# production.
WORK_PAUSE_FILE = env("MENAGERIE_WORK_PAUSE_FILE", "")
# Uncached images of one job are split into chunks of this many; idle `train` workers extract chunks at once.
EXTRACT_CHUNK_SIZE = int(env("MENAGERIE_EXTRACT_CHUNK_SIZE", "256"))
EXTRACT_BATCH_SIZE = int(env("MENAGERIE_EXTRACT_BATCH_SIZE", "32"))
# Web-process bound on API requests waiting for a prediction at once; past it, 503 with Retry-After, so a burst
# never takes every web thread (the UI and /health/ stay responsive).
# API requests of one web process that may wait for a prediction at once; keep it below gunicorn's --threads
# (Procfile: 64) so pages and /health/ always find a free thread. 48 lets a burst of 50 wait even if one process
# takes them all (bench/predict_latency.py --burst 50).
API_PREDICT_MAX_WAITING = int(env("MENAGERIE_API_PREDICT_MAX_WAITING", "48"))
API_PREDICT_TIMEOUT_SECONDS = float(env("MENAGERIE_API_PREDICT_TIMEOUT_SECONDS", "30"))  # then 422, failed
# Dataset audits (webapp/audits) use the default recipe's features: the dataset's last job's backbone, else this
# one, else one whose weights a train worker has (webapp.audits.selectors.audit_features).
AUDIT_BACKBONE = env("MENAGERIE_AUDIT_BACKBONE", "vgg16")
# The Label page's suggester (webapp/labelling): its features (classifier.labelling.labelling_spec: MobileNetV2's
# pooled output at 224 px with ImageNet weights; tests use random weights on small inputs) and how many photos it
# proposes to label next.
LABELLING_BACKBONE = env("MENAGERIE_LABELLING_BACKBONE", "mobilenet_v2")
LABELLING_WEIGHTS = env("MENAGERIE_LABELLING_WEIGHTS", "imagenet")
LABELLING_INPUT_SIZE = int(env("MENAGERIE_LABELLING_INPUT_SIZE", "0")) or None
LABELLING_PROPOSALS = int(env("MENAGERIE_LABELLING_PROPOSALS", "24"))
LABELLING_PHOTOS_PER_PAGE = 48
# A job whose estimated training memory (classifier.sizing) exceeds this is refused before it is queued.
JOB_MAX_MEMORY_BYTES = int(env("MENAGERIE_JOB_MAX_MEMORY_BYTES", str(8 * 1024**3)))
# A worker that only trains runs this much nicer (os.nice), so predictions and pages on the same machine get the
# CPU first (bench/predict_latency.py --training on); 0 keeps the training's priority.
TRAIN_WORKER_NICENESS = int(env("MENAGERIE_TRAIN_WORKER_NICENESS", "19"))
PREDICTOR_CACHE_SIZE = int(env("MENAGERIE_PREDICTOR_CACHE_SIZE", "4"))  # trained models kept warm per process
BROKER_DIR = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "workers.embedded_broker:Transport"  # FIFO across restarts
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        # How often a worker looks into the queue folder when it has nothing to take: also between two tasks (a
        # worker that has its one prefetched message cannot take the next until the next look), so in a burst of
        # predictions half of it is added to each one. kombu's default, 1 s, added ~0.5-1 s to every prediction;
        # 0.05 s cost a burst of 50 ~0.7 s and 0.7 % of a core idle, 0.02 s ~1.3 % idle (bench/predict_latency.py).
        "polling_interval": float(env("MENAGERIE_BROKER_POLL_SECONDS", "0.02")),
    }
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", f"file://{BROKER_DIR / 'results'}")
    for folder in ("queue", "control", "results"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
else:
    # Redis re-delivers an unacknowledged message after the visibility timeout: it must outlast the longest job
    # (acks_late means a training is acknowledged only when it ends).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(24 * 3600, 2 * JOB_TIME_LIMIT_SECONDS)}
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_DEFAULT_QUEUE = "train"
# Each kind of work's queue and time limit come from its registry (webapp/lifecycle/registry.py): short work on
# `predict` (never behind a training), long work on `train`.
CELERY_TASK_ROUTES = task_routes() | {"workers.tasks.predict*": {"queue": "predict"}}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# ... except the predict worker: `--prefetch-multiplier 4` on its command line (Procfile, compose), so it takes the
# next prediction without a broker look (Celery's CLI reads this setting before any per-queue hook could change it).
CELERY_TASK_IGNORE_RESULT = True  # rows are the results; tasks that are awaited set ignore_result=False
CELERY_TASK_ANNOTATIONS = task_annotations(long_seconds=JOB_TIME_LIMIT_SECONDS)
# Uploaded prediction photos are removed after this many days (0: kept for ever); the prediction log stays.
PREDICTION_PHOTO_RETENTION_DAYS = int(env("MENAGERIE_PREDICTION_PHOTO_RETENTION_DAYS", "90"))
CELERY_BEAT_SCHEDULE = {  # a message nobody took in time is dropped (no pile-up without `predict` workers)
    "prune-prediction-photos": {"task": "workers.tasks.prediction_photos_prune", "schedule": 3600,
                                "options": {"expires": 3600}},
}
# A pool process whose resident memory peaked above this (a large extraction or training: TensorFlow and the C
# allocator keep what they once used) is replaced by a fresh one after its task, so the memory goes back to the
# machine; below it the process stays, warm, and TensorFlow is not loaded again for the next task.
WORKER_MAX_RSS_MB = int(env("MENAGERIE_WORKER_MAX_RSS_MB", "4096"))
CELERY_WORKER_MAX_MEMORY_PER_CHILD = WORKER_MAX_RSS_MB * 1024  # KiB: Celery checks the peak after each task
# Pool processes load TensorFlow when they start (workers/presence.py), which takes longer than Celery's 4 s.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# E-mail (job-end notices users opt into): Django's e-mail backend; the console backend prints them by default.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))  # the file-based backend's folder
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "menagerie@localhost")
# Links in notices point here (workers have no request to build them from).
SITE_URL = env("MENAGERIE_SITE_URL", "http://localhost:8000").rstrip("/")
# Webhooks (and any URL a user gives) reach public addresses only (webapp/core/outbound.py); an installation that
# wants intranet webhooks names the networks it allows, e.g. "10.20.0.0/16,fd00:1::/64". The timeout counts in all.
WEBHOOK_TIMEOUT_SECONDS = float(env("MENAGERIE_WEBHOOK_TIMEOUT_SECONDS", "5"))
OUTBOUND_ALLOWED_NETWORKS = [str(ipaddress.ip_network(net, strict=False))
                             for net in env_list("MENAGERIE_OUTBOUND_ALLOWED_NETWORKS")]
# Imports from a bucket (README "Import a dataset from a bucket"): the installation's keys for the buckets its
# curators may import from, and their store's endpoint ("": AWS). Deliberately not the S3_* keys of Menagerie's own
# store (through those, a curator could import another team's photos): read-only keys, scoped to the source
# buckets. Left empty, users type keys in the form (for that import only), and the command uses boto3's own chain.
S3_IMPORT_ENDPOINT_URL = env("S3_IMPORT_ENDPOINT_URL")
S3_IMPORT_REGION = env("S3_IMPORT_REGION")
S3_IMPORT_ACCESS_KEY_ID = env("S3_IMPORT_ACCESS_KEY_ID")
S3_IMPORT_SECRET_ACCESS_KEY = env("S3_IMPORT_SECRET_ACCESS_KEY")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
