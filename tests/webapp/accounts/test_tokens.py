"""Item 9 of "Hardening" (tokens): an optional expiry and the last use, shown on the API tokens page."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from webapp.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(django_user_model):
    user = django_user_model.objects.create_user("ann")
    user.groups.add(Group.objects.create(name="lab"))
    return user


def api_jobs(key):
    return Client().get(reverse("experiments:api_jobs"), HTTP_AUTHORIZATION=f"Token {key}")


def test_a_token_created_with_an_expiry_works_until_then_and_the_page_shows_it(client, ann):
    client.force_login(ann)
    page = client.post(reverse("accounts:api_tokens"), {"name": "ci", "expires_in_days": "30"}).content.decode()
    key = page.split('id="new-key" type="text" readonly value="')[1].split('"')[0]
    token = ApiToken.objects.get()
    expected = timezone.now() + timedelta(days=30)
    assert abs((token.expires_at - expected).total_seconds()) < 60
    assert api_jobs(key).status_code == 200
    listing = client.get(reverse("accounts:api_tokens")).content.decode()
    assert token.expires_at.strftime("%Y-%m-%d") in listing  # the expiry
    assert timezone.now().strftime("%Y-%m-%d") in listing.split("<td>ci</td>")[1]  # created and last used

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_jobs(key)
    assert response.status_code == 401 and response.json() == {"error": "Invalid token."}
    assert "expired" in client.get(reverse("accounts:api_tokens")).content.decode()


def test_a_token_without_expiry_never_expires_and_its_last_use_is_recorded(ann):
    token, key = ApiToken.create_for(user=ann, name="laptop")
    assert token.expires_at is None and token.last_used_at is None
    assert api_jobs(key).status_code == 200
    token.refresh_from_db()
    assert (timezone.now() - token.last_used_at).total_seconds() < 60


def test_the_management_command_sets_an_expiry(ann, capsys):
    call_command("create_api_token", "ann", "--name", "cron", "--expires-days", "2")
    key = capsys.readouterr().out.strip()
    assert api_jobs(key).status_code == 200
    assert ApiToken.objects.get().expires_at.date() == (timezone.now() + timedelta(days=2)).date()


def test_the_expiry_must_be_a_positive_number_of_days(client, ann):
    client.force_login(ann)
    page = client.post(reverse("accounts:api_tokens"), {"name": "ci", "expires_in_days": "0"}).content.decode()
    assert "greater than or equal to 1" in page and not ApiToken.objects.exists()
