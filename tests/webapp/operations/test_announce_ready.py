"""Issue 27 item 4: `make run` ends with the site's address and the admin's password, framed, once the site
answers (the Procfile's `ready` process runs `manage.py announce_ready --stay`)."""

import io

import pytest
from django.core.management import call_command

from tests.shared import REPO_DIR
from webapp.operations.management.commands.announce_ready import site_url


@pytest.fixture
def data_dir(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.delenv("MENAGERIE_ADMIN_PASSWORD", raising=False)
    return tmp_path


def announce(url: str) -> str:
    out = io.StringIO()
    call_command("announce_ready", url=url, workers_timeout=0, stdout=out)
    return out.getvalue()


def test_the_banner_comes_once_the_site_answers_framed_with_the_generated_password(live_server, data_dir,
                                                                                  django_user_model):
    call_command("createadmin", stdout=io.StringIO())
    password = (data_dir / "admin-password.txt").read_text().split("password: ")[1].strip()
    lines = announce(live_server.url).strip("\n").splitlines()
    assert lines[0] == lines[-1] == "=" * len(lines[0])
    assert all(len(line) < len(lines[0]) for line in lines[1:-1])  # inside the frame
    text = "\n".join(lines)
    assert f"answers at {live_server.url}/ (no ready worker yet for: train, predict)" in text
    assert f"Log in as admin with password {password}" in text and str(data_dir / "admin-password.txt") in text


def test_without_the_file_or_once_the_password_changed_it_says_how_to_reset_it(live_server, data_dir,
                                                                             django_user_model):
    call_command("createadmin", stdout=io.StringIO())
    (data_dir / "admin-password.txt").unlink()
    text = announce(live_server.url)
    assert "Log in as admin with your password" in text and "manage.py changepassword admin" in text

    call_command("createadmin", stdout=io.StringIO())  # nothing to do: an admin exists
    (data_dir / "admin-password.txt").write_text("username: admin\npassword: changed-since\n")
    assert "no longer works: delete that file" in announce(live_server.url)


@pytest.mark.parametrize("bind, url", [
    ("127.0.0.1:8000", "http://127.0.0.1:8000/"), ("0.0.0.0:8080", "http://127.0.0.1:8080/"),
    (":9000", "http://127.0.0.1:9000/"), ("[::]:8000", "http://[::1]:8000/"),
    ("menagerie.lan:80", "http://menagerie.lan:80/"),
])
def test_the_address_follows_the_web_servers_bind(bind, url):
    assert site_url(bind) == url


def test_make_run_starts_the_announcement_with_the_site_and_the_workers():
    procfile = dict(line.split(": ", 1) for line in (REPO_DIR / "Procfile").read_text().splitlines() if line)
    assert procfile["ready"] == "python manage.py announce_ready --stay"
