"""Token authentication for non-browser clients: `Authorization: Token <key>`, throttled per address.

Failed log-ins and bad tokens are counted by django-axes (settings.AXES_*): log-ins per username and per address,
tokens per address (a token names no user, and counting them under one name would let anyone lock out every
script)."""

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_login_failed
from django.http import JsonResponse
from django.shortcuts import render

from webapp.accounts.models import ApiToken, hash_token_key

KEYWORD = "token"
TOKEN_CREDENTIALS = {"api_token": True}  # what axes is told about a token attempt (never the key itself)


class TooManyFailures(Exception):
    """This address sent too many bad tokens or passwords lately; the API answers 429."""


def lockout_response(request, original_response, credentials):
    """AXES_LOCKOUT_CALLABLE: the log-in page says why it refuses, and for how long (429); the API says it in
    JSON (the attempt that reaches the limit is answered here too)."""
    if request.path.startswith("/api/"):
        return too_many_failures_response()
    context = {
        "username": (credentials or {}).get("username") or request.POST.get("username", ""),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": round(settings.AXES_COOLOFF_TIME.total_seconds() / 60),
    }
    return render(request, "registration/locked_out.html", context, status=429)


def too_many_failures_response() -> JsonResponse:
    response = JsonResponse({"error": "Too many failed attempts from your address; try again later."}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


def lockout_parameters(request, credentials) -> list:
    """AXES_LOCKOUT_PARAMETERS: tokens count per address; log-ins per username and, separately, per address."""
    if credentials and credentials.get("api_token"):
        return ["ip_address"]
    return ["username", "ip_address"]


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
    session user. via_token tells the caller whether CSRF applies (sessions need it, tokens do not).
    Raises TooManyFailures when the address is locked out (checked before the key, so guessing stops)."""
    key = token_from_header(request)
    if key is None:
        return request.user, False
    if AxesProxyHandler.is_locked(request, TOKEN_CREDENTIALS):
        raise TooManyFailures
    user = user_for_token(key)
    if user is None:
        user_login_failed.send(sender=__name__, credentials=TOKEN_CREDENTIALS, request=request)
        return AnonymousUser(), True
    return user, True
