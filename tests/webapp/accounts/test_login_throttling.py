"""Failed log-ins lock the (username, address) pair (django-axes), with a clear message; an address failing for many
usernames is locked, a username failing from many addresses is slowed down; bad API tokens are counted apart and
throttle the API only (webapp/accounts/auth.py). Attempts are database rows, rolled back after each test."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.db.models import F
from django.urls import reverse

from webapp.accounts.models import ApiToken

PASSWORD = "a-long-passphrase-42"
pytestmark = pytest.mark.django_db


@pytest.fixture
def users(django_user_model):
    lab = Group.objects.create(name="lab")
    made = {}
    for name in ("ann", "bob", "mallory"):
        made[name] = django_user_model.objects.create_user(name, password=PASSWORD)
        made[name].groups.add(lab)
    return made


def log_in(username, password, address="10.0.0.1", path=None):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path or reverse("login"), {"username": username, "password": password})
    return client, response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(users):
    for attempt in range(30):
        _, response = log_in("ann", f"wrong-{attempt}")
        assert response.status_code in (200, 429)
    client, response = log_in("ann", PASSWORD)
    assert response.status_code == 429 and not logged_in(client)
    page = response.content.decode()
    assert "Too many failed log-ins" in page and f"After {settings.AXES_FAILURE_LIMIT} failed attempts" in page
    assert "<strong>ann</strong>" in page and "15 minutes" in page


def test_the_limit_counts_failures_not_successes_and_a_success_resets_it(users):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in("ann", "wrong")[1].status_code == 200  # the form again, with its error
    client, _ = log_in("ann", PASSWORD)
    assert logged_in(client)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in("ann", "wrong")
    assert logged_in(log_in("ann", PASSWORD)[0])


def test_wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere(users):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in("ann", "wrong", address="10.6.6.6")
    assert not logged_in(log_in("ann", PASSWORD, address="10.6.6.6")[0])  # the pair is locked
    assert logged_in(log_in("ann", PASSWORD, address="10.0.0.1")[0])  # ann elsewhere: an attacker cannot lock her out
    assert logged_in(log_in("bob", PASSWORD, address="10.6.6.6")[0])  # another user at that address too


def test_an_attackers_own_successes_reset_nothing_of_another_users_failures(users):
    """27 wrong passwords for ann, each followed by the attacker logging in as himself from the same address."""
    statuses = []
    for attempt in range(27):
        statuses.append(log_in("ann", f"wrong-{attempt}", address="10.6.6.6")[1].status_code)
        assert logged_in(log_in("mallory", PASSWORD, address="10.6.6.6")[0])
    assert statuses.index(429) == settings.AXES_FAILURE_LIMIT - 1  # the attempt reaching the limit
    assert not logged_in(log_in("ann", PASSWORD, address="10.6.6.6")[0])


def test_an_address_failing_for_many_usernames_is_locked_and_others_are_not(users, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 15  # 100 by default: an office behind one address
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        log_in(f"guess-{n}", "wrong", address="10.6.6.6")
    client, response = log_in("ann", PASSWORD, address="10.6.6.6")
    assert response.status_code == 429 and not logged_in(client)
    assert "After 15 failed attempts from your address (for any user)" in " ".join(response.content.decode().split())
    assert logged_in(log_in("ann", PASSWORD, address="10.0.0.2")[0])


def test_a_username_failing_from_many_addresses_is_slowed_down_not_locked(users):
    for n in range(settings.LOGIN_USERNAME_SLOWDOWN_FAILURES):  # one wrong password from each of many addresses
        log_in("ann", "wrong", address=f"10.7.{n // 200}.{n % 200 + 1}")
    client, response = log_in("ann", PASSWORD, address="10.0.0.1")
    assert response.status_code == 429 and not logged_in(client)
    assert "slowed down to one attempt every 10 seconds" in " ".join(response.content.decode().split())
    assert response["Retry-After"] == "10"
    assert logged_in(log_in("bob", PASSWORD, address="10.0.0.1")[0])  # only that name
    # the slow-down's interval later (the attempt rows' clock moved back rather than waiting): ann logs in
    interval = timedelta(seconds=settings.LOGIN_USERNAME_SLOWDOWN_SECONDS)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - interval)
    assert logged_in(log_in("ann", PASSWORD, address="10.0.0.1")[0])


def test_behind_a_proxy_each_client_is_counted_at_the_address_the_proxy_saw(users, settings):
    settings.PROXY_COUNT = 1  # MENAGERIE_PROXY_COUNT=1: one nginx appending to X-Forwarded-For

    def through_proxy(forwarded_for, password):
        client = Client(REMOTE_ADDR="172.17.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
        client.post(reverse("login"), {"username": "ann", "password": password})
        return client

    for n in range(settings.AXES_FAILURE_LIMIT):  # what the client writes itself changes nothing
        through_proxy(f"10.9.9.{n}, 203.0.113.66", "wrong")
    assert not logged_in(through_proxy("203.0.113.66", PASSWORD))
    assert logged_in(through_proxy("198.51.100.7", PASSWORD))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}
    settings.PROXY_COUNT = 0  # the default: the proxy's own address for everyone behind it
    for _ in range(settings.AXES_FAILURE_LIMIT):
        through_proxy("203.0.113.66", "wrong")
    assert not logged_in(through_proxy("198.51.100.7", PASSWORD))


def test_the_admin_log_in_is_throttled_too(users):
    users["ann"].is_staff = True
    users["ann"].save()
    admin_login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in("ann", "wrong", path=admin_login)
    assert log_in("ann", PASSWORD, path=admin_login)[1].status_code == 429


def test_repeated_bad_tokens_from_an_address_get_429_and_others_are_unaffected(users):
    _, key = ApiToken.create_for(user=users["ann"], name="script")
    url = reverse("experiments:api_jobs")
    guesser, other = Client(REMOTE_ADDR="10.6.6.6"), Client(REMOTE_ADDR="10.0.0.2")
    statuses = [guesser.get(url, HTTP_AUTHORIZATION=f"Token guess-{n}").status_code
                for n in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [401] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the attempt reaching the limit: 429
    response = guesser.get(url, HTTP_AUTHORIZATION=f"Token {key}")  # even the right key, from this address
    assert response.status_code == 429 and "Too many failed attempts" in response.json()["error"]
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert other.get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_bad_tokens_never_throttle_log_ins_and_wrong_passwords_never_throttle_tokens(users):
    _, key = ApiToken.create_for(user=users["ann"], name="script")
    url = reverse("experiments:api_jobs")
    guesser = Client(REMOTE_ADDR="10.6.6.6")
    for n in range(settings.AXES_FAILURE_LIMIT):
        guesser.get(url, HTTP_AUTHORIZATION=f"Token guess-{n}")
    log_in("bob", "wrong", address="10.6.6.6")  # with the tokens, more failures than the limit at that address
    for name in ("bob", "ann"):
        assert logged_in(log_in(name, PASSWORD, address="10.6.6.6")[0])
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in("ann", "wrong", address="10.0.0.3")
    assert Client(REMOTE_ADDR="10.0.0.3").get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
