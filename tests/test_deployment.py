"""docker-compose.yml, the Dockerfile and the Procfile agree with the settings (no Docker engine runs here)."""

import re

import yaml
from django.conf import settings

from tests.shared import REPO_DIR

SETTINGS_SOURCE = (REPO_DIR / "webapp" / "settings.py").read_text()
SETTINGS_ENV_NAMES = set(re.findall(r'env(?:_bool|_list)?\("([A-Z0-9_]+)"', SETTINGS_SOURCE))
APP_SERVICES = {"web", "worker-train", "worker-predict", "beat"}


def compose() -> dict:
    return yaml.safe_load((REPO_DIR / "docker-compose.yml").read_text())


def test_compose_has_the_app_services_redis_and_postgres_all_with_health_checks():
    services = compose()["services"]
    assert APP_SERVICES | {"redis", "postgres"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"


def test_app_services_run_from_one_image_with_volumes_for_media_features_artifacts_and_keras_cache():
    services = compose()["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        mounts = {volume.split(":")[1] for volume in services[name]["volumes"]}
        env = services[name]["environment"]
        assert {env["MEDIA_ROOT"], env["FEATURES_DIR"], env["ARTIFACTS_DIR"], env["KERAS_HOME"]} <= mounts


def test_compose_variables_are_ones_the_settings_read():
    for name in APP_SERVICES:
        env = compose()["services"][name]["environment"]
        unknown = set(env) - SETTINGS_ENV_NAMES
        assert not unknown, f"{name} sets variables the settings never read: {unknown}"
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    dockerfile_env = set(re.findall(r"\b([A-Z_]+)=", (REPO_DIR / "Dockerfile").read_text().split("WORKDIR")[0]))
    assert dockerfile_env - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"} <= SETTINGS_ENV_NAMES


def test_worker_commands_serve_the_queues_the_tasks_are_routed_to():
    services = compose()["services"]
    procfile = dict(line.split(": ", 1) for line in (REPO_DIR / "Procfile").read_text().splitlines() if line)
    queues = {settings.CELERY_TASK_DEFAULT_QUEUE} | {r["queue"] for r in settings.CELERY_TASK_ROUTES.values()}
    assert queues == {"train", "predict"}
    for queue in queues:
        for command in (services[f"worker-{queue}"]["command"], procfile[f"worker-{queue}"]):
            assert re.search(rf"celery -A workers worker -Q {queue}\b", command), command
    assert "gunicorn webapp.wsgi" in services["web"]["command"] and "gunicorn webapp.wsgi" in procfile["web"]
    assert "celery -A workers beat" in services["beat"]["command"] and "celery -A workers beat" in procfile["beat"]
    assert settings.CELERY_BEAT_SCHEDULE, "beat has nothing to schedule"


def test_the_predict_worker_holds_a_few_predictions_ahead_and_the_train_worker_one_message():
    """Between two predictions a worker with one prefetched message waits for the broker's next look (the embedded
    broker polls): the predict worker prefetches several; a training must not hold other jobs behind it."""
    services = compose()["services"]
    procfile = dict(line.split(": ", 1) for line in (REPO_DIR / "Procfile").read_text().splitlines() if line)
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    for command in (services["worker-predict"]["command"], procfile["worker-predict"]):
        assert int(re.search(r"--prefetch-multiplier (\d+)", command).group(1)) > 1, command
    for command in (services["worker-train"]["command"], procfile["worker-train"]):
        assert "--prefetch-multiplier" not in command, command


def _dockerfile_run_commands() -> list[str]:
    """The shell commands of the Dockerfile's RUN instructions, continuation lines joined, split at `&&`."""
    text = re.sub(r"\\\n", " ", (REPO_DIR / "Dockerfile").read_text())
    runs = [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("RUN ")]
    return [command.strip() for run in runs for command in run.split("&&")]


def _covers(paths: list[str], target: str, recursive: bool) -> bool:
    return any(target == path or (recursive and target.startswith(path.rstrip("/") + "/")) for path in paths)


def test_every_app_volume_mount_point_is_created_in_the_image_and_owned_by_the_user_the_app_runs_as():
    # Docker gives a new named volume the ownership of the image's folder at the mount point; a folder missing
    # from the image is created owned by root, and the app (uid 1000) could not write there.
    dockerfile = (REPO_DIR / "Dockerfile").read_text()
    user = re.search(r"^USER (\S+)", dockerfile, re.M).group(1)
    assert re.search(rf"useradd .*--uid 1000 {user}\b", dockerfile), "the app user is not uid 1000"
    created, chowned, chowned_tree = [], [], []
    for command in _dockerfile_run_commands():
        words = command.split()
        if words[:2] == ["mkdir", "-p"]:
            created += words[2:]
        elif words and words[0] == "chown":
            flags = [w for w in words[1:] if w.startswith("-")]
            owner, *paths = [w for w in words[1:] if not w.startswith("-")]
            if owner.split(":")[0] in (user, "1000"):
                (chowned_tree if "-R" in flags else chowned).extend(paths)
    services = compose()["services"]
    targets = {volume.split(":")[1] for name in APP_SERVICES for volume in services[name]["volumes"]}
    assert targets >= {"/data/media", "/data/features", "/data/artifacts", "/data/keras"}
    for target in sorted(targets):
        assert _covers(created, target, recursive=False), f"{target} is not created in the image"
        assert _covers(chowned, target, False) or _covers(chowned_tree, target, True), f"{target} is not chowned"


def test_every_web_server_keeps_threads_free_beyond_the_api_waiting_bound():
    """A web process lets API_PREDICT_MAX_WAITING requests wait for a prediction: its gunicorn threads must be more,
    so pages and /health/ always find a free one during a burst (issue "Serving")."""
    procfile = dict(line.split(": ", 1) for line in (REPO_DIR / "Procfile").read_text().splitlines() if line)
    dockerfile = " ".join(re.findall(r'"([^"]*)"', (REPO_DIR / "Dockerfile").read_text().split("CMD", 1)[1]))
    for command in (procfile["web"], compose()["services"]["web"]["command"], dockerfile):
        threads = int(re.search(r"--threads (\d+)", command).group(1))
        assert threads >= settings.API_PREDICT_MAX_WAITING + 8, command


def test_a_worker_on_another_machine_needs_only_the_database_the_broker_and_the_store():
    other = yaml.safe_load((REPO_DIR / "docker-compose.worker.yml").read_text())["services"]["worker-train"]
    main = compose()["services"]
    assert other["image"] == main["worker-train"]["image"] and other["command"] == main["worker-train"]["command"]
    env = other["environment"]
    assert set(env) <= SETTINGS_ENV_NAMES and env["MENAGERIE_STORAGE"] == "s3"
    assert not {"MEDIA_ROOT", "FEATURES_DIR", "ARTIFACTS_DIR"} & set(env)  # no folder shared with the web app
    assert {volume.split(":")[1] for volume in other["volumes"]} == {"/data", "/data/keras"}
    # the main installation's store: a profile of the same compose file, which every app service can point at
    assert main["s3"]["profiles"] == ["s3"] and "-s3" in main["s3"]["command"].split()
    for name in APP_SERVICES:
        assert {"MENAGERIE_STORAGE", "S3_ENDPOINT_URL", "S3_BUCKET"} <= set(main[name]["environment"])
        assert main[name]["depends_on"]["s3"]["required"] is False
