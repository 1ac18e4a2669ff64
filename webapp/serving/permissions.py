"""Who may promote and roll back a team's named models: the team's admins and members with `can_promote`."""

from webapp.accounts.permissions import Action, can


def can_promote(user, team) -> bool:
    return can(user, Action.PROMOTE, team)
