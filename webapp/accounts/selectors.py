"""Reads on accounts."""

from django.contrib.auth.models import Group
from django.db.models import FilteredRelation, Q, QuerySet

from webapp.accounts.models import ApiToken
from webapp.accounts.permissions import sees_all_teams


def tokens_for_user(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def teams_for_user(user) -> QuerySet[Group]:
    """The user's teams (superusers and "view all teams": every team)."""
    if not user.is_authenticated:
        return Group.objects.none()
    if sees_all_teams(user):
        return Group.objects.order_by("name")
    return user.groups.order_by("name")


def team_members(team: Group) -> list:
    """The team's users, each with `role` and `can_promote` (a member without a role row is a member); one
    query."""
    users = team.user_set.annotate(
        mine=FilteredRelation("memberships", condition=Q(memberships__team=team))
    ).values_list("id", "username", "mine__role", "mine__can_promote").order_by("username")
    return [{"id": pk, "username": name, "role": role or "member", "can_promote": bool(promote)}
            for pk, name, role, promote in users]
