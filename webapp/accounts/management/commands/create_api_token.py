from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from webapp.accounts.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for a user and print its key (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="script")
        parser.add_argument("--expires-days", type=int, default=None, help="Days until the key stops working "
                            "(default: never)")

    def handle(self, *args, username, name, expires_days, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        _, key = ApiToken.create_for(user=user, name=name, expires_at=expires_at)
        self.stdout.write(key)
