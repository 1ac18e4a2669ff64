import ast
import subprocess
import sys

import pytest
from django.urls import reverse

from tests.shared import REPO_DIR


def settings_in_subprocess(env: dict, expression: str) -> tuple:
    """Evaluate `expression` (comma-separated values) on freshly loaded settings in a clean process with `env`."""
    code = f"import django; from django.conf import settings; django.setup(); print(repr(({expression},)))"
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "webapp.settings", "HOME": str(REPO_DIR)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_DIR, env={**base, **env}, capture_output=True, text=True, check=True
    )
    return ast.literal_eval(result.stdout.strip())


@pytest.fixture(scope="module")
def default_start(tmp_path_factory) -> dict:
    """One fresh process on an empty data folder and no other setting, read by several tests (one start instead of
    one each): its settings, its generated secret key, and the modules loaded once it imported the web app."""
    data_dir = tmp_path_factory.mktemp("data")
    names = ["data_dir", "engine", "name", "options", "broker_url", "broker_folder", "debug", "secret_key",
             "ml_modules"]
    values = settings_in_subprocess(
        {"MENAGERIE_DATA_DIR": str(data_dir)},
        f"{str(data_dir)!r}, settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'], "
        "settings.DATABASES['default']['OPTIONS'], settings.CELERY_BROKER_URL, "
        "settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'], settings.DEBUG, settings.SECRET_KEY, "
        "__import__('webapp.urls') and __import__('webapp.wsgi') and "
        "sorted(m for m in __import__('sys').modules if m.split('.')[0] in ('tensorflow', 'keras'))",
    )
    return dict(zip(names, values))


def test_default_database_is_sqlite_in_the_data_folder_with_wal_and_immediate_transactions(default_start):
    assert default_start["engine"] == "django.db.backends.sqlite3"
    assert default_start["name"] == f"{default_start['data_dir']}/db.sqlite3"
    options = default_start["options"]
    assert "PRAGMA journal_mode=WAL" in options["init_command"]
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] == 30


def test_database_url_selects_postgresql(tmp_path):
    out = settings_in_subprocess(
        {"MENAGERIE_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgres://alice:pw@db.example:5433/menagerie"},
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST'], "
        "settings.DATABASES['default']['PORT'], settings.DATABASES['default']['NAME']",
    )
    assert out == ("django.db.backends.postgresql", "db.example", 5433, "menagerie")


def test_settings_come_from_the_environment(tmp_path):
    out = settings_in_subprocess(
        {
            "MENAGERIE_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "s3cret-from-env",
            "DEBUG": "1",
            "ALLOWED_HOSTS": "a.example,b.example",
            "MEDIA_ROOT": str(tmp_path / "m"),
            "FEATURES_DIR": str(tmp_path / "f"),
            "KERAS_HOME": str(tmp_path / "k"),
            "CELERY_BROKER_URL": "redis://cache.example:6380/2",
        },
        "settings.SECRET_KEY, settings.DEBUG, settings.ALLOWED_HOSTS, str(settings.MEDIA_ROOT), "
        "str(settings.FEATURES_DIR), str(settings.KERAS_HOME), settings.CELERY_BROKER_URL, "
        "settings.CELERY_RESULT_BACKEND, settings.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout']",
    )
    assert out == (
        "s3cret-from-env", True, ["a.example", "b.example"], str(tmp_path / "m"), str(tmp_path / "f"),
        str(tmp_path / "k"), "redis://cache.example:6380/2", "redis://cache.example:6380/2", 86400,
    )


def test_without_a_broker_url_the_embedded_filesystem_broker_lives_in_the_data_folder(default_start):
    out = default_start["broker_url"], default_start["broker_folder"], default_start["debug"]
    assert out == ("filesystem://", f"{default_start['data_dir']}/broker/queue", False)


def test_generated_secret_key_is_kept_between_starts(default_start):
    first = default_start["secret_key"]
    second = settings_in_subprocess({"MENAGERIE_DATA_DIR": default_start["data_dir"]}, "settings.SECRET_KEY")
    assert (first,) == second and len(first) >= 50


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin", "MENAGERIE_DATA_DIR": str(tmp_path), "DEBUG": "0", "DJANGO_SECURE": "1",
        "SECRET_KEY": "x" * 60 + "-production-key-with-enough-entropy-0123456789", "ALLOWED_HOSTS": "menagerie.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_web_app_does_not_import_tensorflow(default_start):
    assert default_start["ml_modules"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["home", "admin:index"])
def test_anonymous_requests_redirect_to_login(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") if url_name == "home" else "/admin/login/")


@pytest.mark.django_db
def test_login_page_is_public_and_logging_in_reaches_home(client, django_user_model):
    assert client.get(reverse("login")).status_code == 200
    django_user_model.objects.create_user("ada", password="a-long-passphrase")
    response = client.post(reverse("login"), {"username": "ada", "password": "a-long-passphrase"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert b"Log out" in response.content


@pytest.mark.django_db
def test_media_is_served_only_to_the_owning_team_and_never_outside_media_root(client, django_user_model, settings):
    from django.contrib.auth.models import Group

    from webapp.datasets.models import Dataset, Image, Label, image_storage_name

    lab, other = Group.objects.create(name="lab"), Group.objects.create(name="other")
    dataset = Dataset.objects.create(name="d", team=lab)
    digest, orphan_digest = "ab" + "c" * 62, "ab" + "d" * 62
    name = image_storage_name(dataset.pk, digest, ".jpg")
    Image.objects.create(dataset=dataset, label=Label.objects.create(dataset=dataset, name="cats"), file=name,
                         content_hash=digest, width=1, height=1)
    photo = settings.MEDIA_ROOT / name
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"jpeg bytes")
    (settings.MEDIA_ROOT / image_storage_name(dataset.pk, orphan_digest, ".jpg")).write_bytes(b"left by a crash")
    url = f"/media/{name}"
    assert client.get(url).status_code == 302  # anonymous: to the login page

    outsider = django_user_model.objects.create_user("eve")
    outsider.groups.add(other)
    client.force_login(outsider)
    assert client.get(url).status_code == 404

    member = django_user_model.objects.create_user("ada")
    member.groups.add(lab)
    client.force_login(member)
    assert b"".join(client.get(url).streaming_content) == b"jpeg bytes"
    # A file in the team's own dataset folder that no row owns (a killed import) is served to nobody.
    assert client.get(f"/media/{image_storage_name(dataset.pk, orphan_digest, '.jpg')}").status_code == 404
    other_dataset = Dataset.objects.create(name="e", team=other)
    (settings.MEDIA_ROOT / "datasets" / str(other_dataset.pk)).mkdir(parents=True)
    (settings.MEDIA_ROOT / "datasets" / str(other_dataset.pk) / "x.jpg").write_bytes(b"secret")
    assert client.get(f"/media/datasets/{dataset.pk}/../{other_dataset.pk}/x.jpg").status_code == 404
    assert client.get(f"/media/datasets/{dataset.pk}/../../../secret_key").status_code == 404
    assert client.get(f"/media/datasets/{dataset.pk}/missing.jpg").status_code == 404


def test_plotly_js_is_served_from_the_installed_package(client, django_user_model, db):
    client.force_login(django_user_model.objects.create_user("ada"))
    response = client.get("/static/plotly/plotly.min.js")
    assert response.status_code == 200
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()


@pytest.mark.django_db
def test_createadmin_makes_the_first_admin_once(django_user_model, monkeypatch, capsys):
    from django.core.management import call_command

    monkeypatch.setenv("MENAGERIE_ADMIN_PASSWORD", "correct horse battery staple")
    call_command("createadmin")
    call_command("createadmin")
    admins = django_user_model.objects.filter(is_superuser=True)
    assert admins.count() == 1 and admins[0].check_password("correct horse battery staple")
    assert "exists already" in capsys.readouterr().out


WRITER = """
import sys, django
django.setup()
from django.contrib.auth.models import Group
from django.db import transaction
for i in range(int(sys.argv[2])):
    with transaction.atomic():  # read, then write: the lock upgrade that deadlocks in SQLite's deferred mode
        group, _ = Group.objects.get_or_create(name="counter")
        Group.objects.filter(pk=group.pk).update(name="counter")
        Group.objects.create(name=f"{sys.argv[1]}-{i}")
"""


@pytest.mark.slow  # a migrated database and four writer processes
def test_sqlite_takes_concurrent_writers_from_several_processes(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "webapp.settings", "MENAGERIE_DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO_DIR, env=env, check=True)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, f"w{n}", "150"], cwd=REPO_DIR, env=env,
                         stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * 4, "\n".join(errors)
    count = settings_in_subprocess(
        env, "__import__('django.contrib.auth.models').contrib.auth.models.Group.objects.count()")
    assert count == (1 + 4 * 150,)
