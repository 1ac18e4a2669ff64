"""Token authentication for non-browser clients: `Authorization: Token <key>`, throttled per address; and the
log-in throttling rules.

Failed log-ins and bad tokens are rows of django-axes (settings.AXES_*), locked per (username, address) pair: a
wrong password for ann from one address neither locks ann out elsewhere nor is reset by someone else's success
there. A bad token names no user: its rows have no username, so they lock only the API at that address, never a
log-in. Two limits axes does not have are ours (LoginThrottleHandler): failed log-ins from one address over every
username (settings.LOGIN_ADDRESS_FAILURE_LIMIT, high enough for an office behind one address), and a slow-down of
one attempt per LOGIN_USERNAME_SLOWDOWN_SECONDS for a username with LOGIN_USERNAME_SLOWDOWN_FAILURES failures from
every address (guessing from many addresses)."""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_login_failed
from django.db.models import Max, Sum
from django.http import JsonResponse
from django.shortcuts import render

from webapp.accounts.models import ApiToken, hash_token_key

KEYWORD = "token"
TOKEN_CREDENTIALS = {"api_token": True}  # what axes is told about a token attempt (never the key itself)
REASON_ATTRIBUTE = "login_throttle_reason"  # set on the request when one of our limits refuses it


class TooManyFailures(Exception):
    """This address sent too many bad tokens lately; the API answers 429."""


class LoginThrottleHandler(AxesDatabaseHandler):
    """AXES_HANDLER: axes' lock of the (username, address) pair, then our per-address limit and per-username
    slow-down for log-ins (never for tokens, whose rows have no username)."""

    def is_locked(self, request, credentials=None) -> bool:
        if super().is_locked(request, credentials):
            return True
        if credentials and credentials.get("api_token"):
            return False
        reason = _login_limit_reached(request, get_client_username(request, credentials))
        if reason:
            setattr(request, REASON_ATTRIBUTE, reason)
        return bool(reason)


def client_address(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: REMOTE_ADDR, or behind settings.PROXY_COUNT proxies the address the outermost one
    saw: the PROXY_COUNT-th from the right of X-Forwarded-For (each proxy appends the address it was reached from;
    what the client itself wrote is further left and never trusted)."""
    count = settings.PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count and len(forwarded) >= count:
        try:
            return str(ipaddress.ip_address(forwarded[-count]))
        except ValueError:
            pass  # a proxy that wrote something else: its own address is the best we know
    return request.META.get("REMOTE_ADDR")


def _login_limit_reached(request, username) -> str:
    """"address" | "username" | "" for this log-in attempt (failures within the cool-off time)."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request), username__isnull=False)
    from_address = recent.filter(ip_address=request.axes_ip_address).aggregate(n=Sum("failures_since_start"))["n"]
    if (from_address or 0) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        return "address"
    if username:
        for_name = recent.filter(username=username).aggregate(n=Sum("failures_since_start"), last=Max("attempt_time"))
        since_last = for_name["last"] and (request.axes_attempt_time - for_name["last"]).total_seconds()
        if (for_name["n"] or 0) >= settings.LOGIN_USERNAME_SLOWDOWN_FAILURES \
                and since_last < settings.LOGIN_USERNAME_SLOWDOWN_SECONDS:
            return "username"
    return ""


def lockout_response(request, original_response, credentials):
    """AXES_LOCKOUT_CALLABLE: the log-in page says why it refuses, and for how long (429); the API says it in
    JSON (the attempt that reaches the limit is answered here too)."""
    if request.path.startswith("/api/"):
        return too_many_failures_response()
    reason = getattr(request, REASON_ATTRIBUTE, "pair")
    context = {
        "reason": reason,
        "username": (credentials or {}).get("username") or request.POST.get("username", ""),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "address_limit": settings.LOGIN_ADDRESS_FAILURE_LIMIT,
        "slowdown_seconds": round(settings.LOGIN_USERNAME_SLOWDOWN_SECONDS),
        "minutes": round(settings.AXES_COOLOFF_TIME.total_seconds() / 60),
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    if reason == "username":
        response["Retry-After"] = str(round(settings.LOGIN_USERNAME_SLOWDOWN_SECONDS))
    return response


def too_many_failures_response() -> JsonResponse:
    response = JsonResponse({"error": "Too many failed attempts from your address; try again later."}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


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
    Raises TooManyFailures when the address sent too many bad tokens (checked before the key, so guessing stops)."""
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
