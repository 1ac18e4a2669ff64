"""Who may see what beyond their own teams. Powers come from team membership and Django permissions, never from
the staff flag alone (staff only opens the Django admin, where Django's model permissions apply)."""

VIEW_ALL_TEAMS = "accounts.view_all_teams"


def sees_all_teams(user) -> bool:
    """Superusers, and users granted "Can see every team's datasets, jobs and models"."""
    return bool(user and user.is_authenticated and user.has_perm(VIEW_ALL_TEAMS))
