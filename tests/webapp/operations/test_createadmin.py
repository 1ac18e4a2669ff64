"""Item 8 of "Hardening": `createadmin` checks MENAGERIE_ADMIN_PASSWORD with the password validators."""

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.django_db
@pytest.mark.parametrize("weak, reason", [("1", "too short"), ("admin123", "too common"), ("8472910365", "numeric")])
def test_a_weak_admin_password_is_refused_with_the_reason(django_user_model, monkeypatch, weak, reason):
    monkeypatch.setenv("MENAGERIE_ADMIN_PASSWORD", weak)
    with pytest.raises(CommandError, match=reason):
        call_command("createadmin")
    assert not django_user_model.objects.exists()


@pytest.mark.django_db
def test_a_password_like_the_username_is_refused(django_user_model, monkeypatch):
    monkeypatch.setenv("MENAGERIE_ADMIN_PASSWORD", "administrator1")
    with pytest.raises(CommandError, match="too similar to the username"):
        call_command("createadmin", username="administrator1")
    assert not django_user_model.objects.exists()


@pytest.mark.django_db
def test_a_generated_password_passes_the_validators(django_user_model, monkeypatch, capsys):
    monkeypatch.delenv("MENAGERIE_ADMIN_PASSWORD", raising=False)
    call_command("createadmin")
    password = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    assert django_user_model.objects.get(username="admin").check_password(password)


@pytest.mark.django_db
def test_a_generated_password_is_also_kept_in_a_file_only_its_owner_reads(django_user_model, monkeypatch, settings,
                                                                           tmp_path):
    """Issue 27 item 4: `make run` printed it among pip's and the migrations' output."""
    import stat

    settings.DATA_DIR = tmp_path
    monkeypatch.delenv("MENAGERIE_ADMIN_PASSWORD", raising=False)
    call_command("createadmin")
    path = tmp_path / "admin-password.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fields = dict(line.split(": ", 1) for line in path.read_text().splitlines())
    assert fields["username"] == "admin"
    assert django_user_model.objects.get(username="admin").check_password(fields["password"])


@pytest.mark.django_db
def test_a_password_from_the_environment_is_not_written_down(monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("MENAGERIE_ADMIN_PASSWORD", "a-long-and-unusual-passphrase-42")
    call_command("createadmin")
    assert not (tmp_path / "admin-password.txt").exists()
