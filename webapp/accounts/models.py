"""Accounts: API tokens for scripts (browser users log in with a session)."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX_LENGTH = 8


def hash_token_key(key: str) -> str:
    """Tokens are stored as their sha256: a leaked database does not leak usable keys."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A key a script sends as `Authorization: Token <key>`. The key is shown once, when it is created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'nightly sorting script'")
    prefix = models.CharField(
        max_length=TOKEN_PREFIX_LENGTH, help_text="First characters of the key, to tell tokens apart"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the token never expires")

    class Meta:
        ordering = ["-created_at"]
        # Site-wide permissions live on the accounts app (webapp/accounts/permissions.py).
        permissions = [("view_all_teams", "Can see every team's datasets, jobs and models")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def create_for(cls, *, user, name: str, expires_at=None) -> tuple["ApiToken", str]:
        """Create a token; returns it with the plain key (never stored)."""
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, prefix=key[:TOKEN_PREFIX_LENGTH], key_hash=hash_token_key(key), expires_at=expires_at
        )
        return token, key

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def touch(self) -> None:
        """Record use, at most once a minute (no write per request for a busy script)."""
        now = timezone.now()
        if not self.last_used_at or (now - self.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class Role(models.TextChoices):
    """What a team member may do (webapp/accounts/permissions.py holds the rules)."""

    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A user's role in a team. Being in the team is the Django Group membership (`user.groups`, what every
    visibility selector filters on); this row adds the role. A group member without a row (added in the Django
    admin) is a plain member. The team services keep the two in step."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey("auth.Group", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    can_promote = models.BooleanField(
        default=False, help_text="A member who may also promote models (admins always may)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="unique_membership")]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"


class NotificationPreference(models.Model):
    """How a user wants to hear that one of their jobs ended (none of it by default). The worker sends the notices
    once the job's final state is committed (webapp.experiments.notifications)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    email = models.BooleanField(default=False, help_text="E-mail me (at my account's address) when my job ends")
    webhook_url = models.URLField(blank=True, max_length=500,
                                  help_text="POST a JSON notice here when my job ends (empty: no webhook)")
    webhook_secret = models.CharField(max_length=100, blank=True,
                                      help_text="Signs each webhook body (HMAC-SHA256, X-Menagerie-Signature)")

    def __str__(self):
        return f"Notifications of {self.user}"
