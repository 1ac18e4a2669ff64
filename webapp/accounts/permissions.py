"""The one place that answers "may user U do action A on team T". Powers come from the user's role in the team
(webapp.accounts.models.Membership) and from Django permissions, never from the staff flag alone (staff only
opens the Django admin, where Django's model permissions apply).

Roles: a viewer looks (datasets, jobs, photos, predictions; predicting a photo is looking); a member also
curates photos and trains; an admin also manages the team's members and roles, deletes datasets and promotes
models. A member with `can_promote` promotes models too. Superusers may do everything; a staff account with
"Can see every team's datasets, jobs and models" only looks."""

from enum import StrEnum

VIEW_ALL_TEAMS = "accounts.view_all_teams"
CREATE_TEAMS = "auth.add_group"  # a team is a Group: Django's own "Can add group"


class Action(StrEnum):
    VIEW = "view"
    PREDICT = "predict"
    CURATE = "curate"  # add, relabel, move between splits, exclude, flag and delete photos
    TRAIN = "train"  # start, retry, re-evaluate jobs
    PROMOTE = "promote"  # promote a model (issue "Serving")
    DELETE_DATASET = "delete_dataset"
    DELETE_JOB = "delete_job"  # any job of the team; whoever started a job deletes it with the TRAIN power
    MANAGE_MEMBERS = "manage_members"


ROLE_ACTIONS = {
    "viewer": {Action.VIEW, Action.PREDICT},
    "member": {Action.VIEW, Action.PREDICT, Action.CURATE, Action.TRAIN},
    "admin": set(Action),
}
# Django permissions that grant an action on the teams a user sees, whatever the role (e.g. a data steward).
ACTION_PERMISSIONS = {Action.DELETE_DATASET: "datasets.delete_dataset",
                      Action.DELETE_JOB: "experiments.delete_trainingjob"}


def sees_all_teams(user) -> bool:
    """Superusers, and staff accounts granted "Can see every team's datasets, jobs and models" (e.g. an auditor).
    Staff is required besides the permission only so that a team member's request (the job page polls every
    second) costs no permission query; the flag alone grants nothing."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or (user.is_staff and user.has_perm(VIEW_ALL_TEAMS))


def can_create_teams(user) -> bool:
    """Superusers, and users granted "Can add group" (a team is a Group), whatever the staff flag."""
    return bool(user and user.is_authenticated and user.is_active) and (
        user.is_superuser or user.has_perm(CREATE_TEAMS))


def team_roles(user) -> dict[int, tuple[str, bool]]:
    """team id -> (role, can_promote) for every team the user is in; one query, cached on the user object for
    the request."""
    cached = getattr(user, "_menagerie_team_roles", None)
    if cached is not None:
        return cached
    from django.db.models import FilteredRelation, Q

    roles = {}
    if user and user.is_authenticated:
        rows = user.groups.annotate(
            mine=FilteredRelation("memberships", condition=Q(memberships__user=user))
        ).values_list("id", "mine__role", "mine__can_promote")
        roles = {team_id: (role or "member", bool(promote)) for team_id, role, promote in rows}
    user._menagerie_team_roles = roles
    return roles


def team_role(user, team) -> str | None:
    """"admin", "member", "viewer", or None for a user outside the team."""
    entry = team_roles(user).get(_team_id(team))
    return entry[0] if entry else None


def can(user, action: Action | str, team) -> bool:
    """May `user` do `action` on `team` (a Group or its id)?"""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    action = Action(action)
    entry = team_roles(user).get(_team_id(team))
    if entry is None:
        return action == Action.VIEW and sees_all_teams(user)
    role, can_promote = entry
    if action in ROLE_ACTIONS[role]:
        return True
    if action == Action.PROMOTE:
        return role == "member" and can_promote
    permission = ACTION_PERMISSIONS.get(action)
    return bool(permission) and user.has_perm(permission)


def can_delete_job(user, job) -> bool:
    """The job's creator (still allowed to train in its team), or whoever may delete the team's jobs."""
    team = job.dataset.team_id
    return (bool(job.created_by_id) and job.created_by_id == getattr(user, "pk", None) and can(user, Action.TRAIN, team)
            ) or can(user, Action.DELETE_JOB, team)


def powers(user, team) -> dict[str, bool]:
    """Every action's answer for one team, for templates: `{% if powers.curate %}`."""
    return {action.value: can(user, action, team) for action in Action}


def _team_id(team) -> int:
    return team if isinstance(team, int) else team.pk
