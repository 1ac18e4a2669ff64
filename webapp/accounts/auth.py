"""Token authentication for non-browser clients: `Authorization: Token <key>`."""

from django.contrib.auth.models import AnonymousUser

from webapp.accounts.models import ApiToken, hash_token_key

KEYWORD = "token"


def token_from_header(request) -> str | None:
    """The key sent in the Authorization header, or None when the request carries no token."""
    header = request.headers.get("Authorization", "")
    keyword, _, key = header.strip().partition(" ")
    if keyword.lower() != KEYWORD:
        return None
    return key.strip()


def user_for_token(key: str):
    """The active user owning this key (unless it has expired), else None."""
    if not key:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token_key(key)).first()
    if token is None or token.is_expired or not token.user.is_active:
        return None
    token.touch()
    return token.user


def authenticate_request(request):
    """(user, via_token): the token's user when a token is sent (AnonymousUser if it is invalid), else the
    session user. via_token tells the caller whether CSRF applies (sessions need it, tokens do not)."""
    key = token_from_header(request)
    if key is None:
        return request.user, False
    return user_for_token(key) or AnonymousUser(), True
