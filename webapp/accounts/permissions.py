"""Who may see what beyond their own teams. Powers come from team membership and Django permissions, never from
the staff flag alone (staff only opens the Django admin, where Django's model permissions apply)."""

VIEW_ALL_TEAMS = "accounts.view_all_teams"


def sees_all_teams(user) -> bool:
    """Superusers, and staff accounts granted "Can see every team's datasets, jobs and models" (e.g. an auditor).
    Staff is required besides the permission only so that a team member's request (the job page polls every
    second) costs no permission query; the flag alone grants nothing."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or (user.is_staff and user.has_perm(VIEW_ALL_TEAMS))
