"""Who may promote and roll back a team's named models."""


def can_promote(user, team) -> bool:
    # Placeholder until the Curation roles land: any active member of the team (superusers: every team).
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or user.groups.filter(pk=team.pk).exists()
