import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from webapp.accounts.models import Membership, Role


class Command(BaseCommand):
    help = (
        "Create the first admin user when there is none. The password comes from MENAGERIE_ADMIN_PASSWORD "
        "(checked by the password validators), or is generated, printed once and written to "
        "DATA_DIR/admin-password.txt (readable by its owner only; `announce_ready` shows it once the site answers). "
        "The admin is the admin of the default team (MENAGERIE_TEAM, default 'Team')."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("MENAGERIE_ADMIN_USER", "admin"))

    def handle(self, *args, username, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin user exists already; nothing to do.")
            return
        given = os.environ.get("MENAGERIE_ADMIN_PASSWORD")
        password = given or secrets.token_urlsafe(12)
        try:
            validate_password(password, users(username=username))
        except ValidationError as error:
            raise CommandError(
                "MENAGERIE_ADMIN_PASSWORD is too weak: " + " ".join(error.messages) + " No user was created."
            )
        admin = users.objects.create_superuser(username=username, email="", password=password)
        team, _ = Group.objects.get_or_create(name=settings.DATASETS_DEFAULT_TEAM)
        admin.groups.add(team)
        Membership.objects.update_or_create(user=admin, team=team, defaults={"role": Role.ADMIN})
        if not given:
            path = admin_password_file()
            write_private(path, f"username: {username}\npassword: {password}\n")
            self.stdout.write(f"The new admin's password is kept in {path} (readable by you only).")
        shown = "(from MENAGERIE_ADMIN_PASSWORD)" if given else password
        self.stdout.write(self.style.SUCCESS(f"Created admin user {username!r} with password {shown}"))


def admin_password_file() -> Path:
    return settings.DATA_DIR / "admin-password.txt"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (created 0600, so it is never readable by others, even briefly)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
