"""Item 4 of "Hardening": failed log-ins are limited per username and per address (django-axes), with a clear
message; bad API tokens are limited per address. Attempts are database rows, rolled back after each test."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from webapp.accounts.models import ApiToken

PASSWORD = "a-long-passphrase-42"
pytestmark = pytest.mark.django_db


@pytest.fixture
def users(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # many log-ins, fast
    lab = Group.objects.create(name="lab")
    made = {}
    for name in ("ann", "bob"):
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


def test_a_locked_username_is_locked_from_every_address_and_others_are_not(users):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in("ann", "wrong", address="10.0.0.1")
    assert not logged_in(log_in("ann", PASSWORD, address="10.9.9.9")[0])  # per username
    assert not logged_in(log_in("bob", PASSWORD, address="10.0.0.1")[0])  # per address
    assert logged_in(log_in("bob", PASSWORD, address="10.9.9.9")[0])  # another user elsewhere: unaffected


def test_an_address_guessing_many_usernames_is_locked(users):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(f"guess-{n}", "wrong", address="10.6.6.6")
    assert not logged_in(log_in("ann", PASSWORD, address="10.6.6.6")[0])
    assert logged_in(log_in("ann", PASSWORD, address="10.0.0.2")[0])


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
    assert logged_in(log_in("bob", PASSWORD, address="10.0.0.2")[0])  # tokens never lock a username
