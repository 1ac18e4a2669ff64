"""Writes on accounts (`<entity>_<action>`, keyword-only)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from webapp.accounts.models import ApiToken, Membership, NotificationPreference, Role


def api_token_create(*, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """A new token and its plain key, shown once (only its hash is stored); None: it never expires."""
    return ApiToken.create_for(user=user, name=name, expires_at=expires_at)


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()


def notification_preference_set(*, user, email: bool, webhook_url: str = "",
                                webhook_secret: str = "") -> NotificationPreference:
    """A user's job-end notices; a webhook without a secret gets a random one (a body is always signed)."""
    import secrets

    if webhook_url and not webhook_secret:
        webhook_secret = secrets.token_urlsafe(32)
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults={
        "email": email, "webhook_url": webhook_url, "webhook_secret": webhook_secret if webhook_url else ""})
    return preference


def _admin_count(team: Group) -> int:
    """Admins among the team's members (rows of users who left the Group do not count)."""
    return Membership.objects.filter(team=team, role=Role.ADMIN, user__groups=team).count()


def team_create(*, name: str, admin_username: str) -> Group:
    """A new team (a Group) with its first admin, an existing active user. A name already taken, whatever its
    case, is refused: two teams "Lab" and "lab" would be told apart by nobody."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Give the team a name.")
    admin = get_user_model().objects.filter(username=admin_username, is_active=True).first()
    if admin is None:
        raise ValidationError(f"There is no active user named {admin_username!r}: create the user first.")
    try:
        with transaction.atomic():
            if Group.objects.filter(name__iexact=name).exists():
                raise ValidationError(f"A team named {name!r} exists already: choose another name.")
            team = Group.objects.create(name=name)
            admin.groups.add(team)
            Membership.objects.create(user=admin, team=team, role=Role.ADMIN)
    except IntegrityError:  # the same name created at the same moment
        raise ValidationError(f"A team named {name!r} exists already: choose another name.") from None
    return team


@transaction.atomic
def membership_add(*, team: Group, username: str, role: str = Role.MEMBER) -> Membership:
    """Put an existing user into the team with a role (the Group membership and the role row together)."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError(f"There is no active user named {username!r}.")
    if user.groups.filter(pk=team.pk).exists():
        raise ValidationError(f"{username} is already in team {team.name}.")
    user.groups.add(team)
    membership, _ = Membership.objects.update_or_create(user=user, team=team, defaults={"role": role})
    return membership


@transaction.atomic
def membership_change(*, team: Group, user, role: str, can_promote: bool = False) -> Membership:
    """Change a member's role; the last admin cannot step down (someone must manage the team)."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    if not user.groups.filter(pk=team.pk).exists():
        raise ValidationError(f"{user} is not in team {team.name}.")
    membership, _ = Membership.objects.select_for_update().get_or_create(user=user, team=team)
    if membership.role == Role.ADMIN and role != Role.ADMIN and _admin_count(team) <= 1:
        raise ValidationError("A team needs at least one admin: make someone else admin first.")
    membership.role, membership.can_promote = role, can_promote and role == Role.MEMBER
    membership.save(update_fields=["role", "can_promote"])
    return membership


@transaction.atomic
def membership_remove(*, team: Group, user) -> None:
    """Take a user out of the team (Group and role); the last admin cannot be removed."""
    membership = Membership.objects.select_for_update().filter(user=user, team=team).first()
    if membership and membership.role == Role.ADMIN and _admin_count(team) <= 1:
        raise ValidationError("A team needs at least one admin: make someone else admin first.")
    user.groups.remove(team)
    Membership.objects.filter(user=user, team=team).delete()
