"""docker-compose.yml, the Dockerfile and the Procfile agree with the settings (no Docker engine runs here)."""

import re

import yaml
from django.conf import settings

from tests.shared import REPO_DIR

SETTINGS_SOURCE = (REPO_DIR / "webapp" / "settings.py").read_text()
SETTINGS_ENV_NAMES = set(re.findall(r'env(?:_bool|_list)?\("([A-Z_]+)"', SETTINGS_SOURCE))
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


def test_every_web_server_keeps_threads_free_beyond_the_api_waiting_bound():
    """A web process lets API_PREDICT_MAX_WAITING requests wait for a prediction: its gunicorn threads must be more,
    so pages and /health/ always find a free one during a burst (issue "Serving")."""
    procfile = dict(line.split(": ", 1) for line in (REPO_DIR / "Procfile").read_text().splitlines() if line)
    dockerfile = " ".join(re.findall(r'"([^"]*)"', (REPO_DIR / "Dockerfile").read_text().split("CMD", 1)[1]))
    for command in (procfile["web"], compose()["services"]["web"]["command"], dockerfile):
        threads = int(re.search(r"--threads (\d+)", command).group(1))
        assert threads >= settings.API_PREDICT_MAX_WAITING + 8, command
