"""The API tokens page and the token command (the JSON API that takes the tokens: tests/webapp/experiments)."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from webapp.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann_key(ann):
    return ApiToken.create_for(user=ann, name="script")[1]


def auth(key):
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_the_tokens_page_needs_a_login(client):
    response = client.get(reverse("accounts:api_tokens"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_tokens_are_stored_hashed_and_shown_once(client_for, ann):
    client = client_for(ann)
    page = client.post(reverse("accounts:api_tokens"), {"name": "sorter"}).content.decode()
    token = ApiToken.objects.get(user=ann)
    key = page.split('id="new-key" type="text" readonly value="')[1].split('"')[0]
    assert len(key) >= 40 and key not in (token.key_hash, token.prefix) and key.startswith(token.prefix)
    again = client.get(reverse("accounts:api_tokens")).content.decode()
    assert key not in again and f"{token.prefix}…" in again and "curl -H" in again


def test_revoking_a_token_and_other_users_tokens_are_404(client_for, ann, carl, ann_key):
    token = ApiToken.objects.get()
    assert client_for(carl).post(reverse("accounts:api_token_revoke", args=[token.pk])).status_code == 404
    assert client_for(ann).post(reverse("accounts:api_token_revoke", args=[token.pk])).status_code == 302
    assert not ApiToken.objects.exists()


def test_management_command_creates_a_working_token(ann, capsys):
    call_command("create_api_token", "ann", "--name", "cron")
    key = capsys.readouterr().out.strip()
    assert Client().get(reverse("experiments:api_jobs"), **auth(key)).status_code == 200


def test_a_deactivated_users_token_stops_working(ann, ann_key):
    ann.is_active = False
    ann.save()
    assert Client().get(reverse("experiments:api_jobs"), **auth(ann_key)).status_code == 401


def test_the_tokens_page_links_the_json_apis_not_the_html_jobs_list(client_for, ann):
    """base.html's navigation once set `jobs_url` itself, so the page linked the HTML jobs list."""
    page = client_for(ann).get(reverse("accounts:api_tokens")).content.decode()
    assert f'href="http://testserver{reverse("experiments:api_jobs")}"' in page
    assert f'href="http://testserver{reverse("serving:api_models")}"' in page
    assert f'http://testserver{reverse("serving:api_model_predict", args=["NAME"])}' in page
    assert f'href="http://testserver{reverse("experiments:job_list")}"' not in page


def test_the_tokens_page_says_what_the_api_does_without_a_job(client_for, ann, ann_key):
    """Issue 27 item 7: the page said the latest succeeded job answered; the API answers 400 "Say which model"."""
    from tests.webapp.serving.test_prediction_views import photo

    page = client_for(ann).get(reverse("accounts:api_tokens")).content.decode()
    assert "latest succeeded job" not in page
    assert "<code>-F job=ID</code> is required: without it the answer is a <code>400</code>" in page
    response = Client().post(reverse("experiments:api_predict"), {"image": photo()}, **auth(ann_key))
    assert response.status_code == 400 and response.json()["error"].startswith("Say which model")
