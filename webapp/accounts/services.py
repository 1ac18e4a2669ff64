"""Writes on accounts (`<entity>_<action>`, keyword-only)."""

from webapp.accounts.models import ApiToken


def api_token_create(*, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """A new token and its plain key, shown once (only its hash is stored); None: it never expires."""
    return ApiToken.create_for(user=user, name=name, expires_at=expires_at)


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()
