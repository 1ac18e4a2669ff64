"""Writes on accounts (`<entity>_<action>`, keyword-only)."""

from webapp.accounts.models import ApiToken


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token and its plain key, shown once (only its hash is stored)."""
    return ApiToken.create_for(user=user, name=name)


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()
