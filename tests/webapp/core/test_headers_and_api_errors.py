"""Item 9 of "Hardening" (small things): JSON for every API error, a Content-Security-Policy on every answer,
`Cache-Control: private` on media."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from tests.webapp.experiments.conftest import make_dataset
from webapp.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(django_user_model):
    user = django_user_model.objects.create_user("ann")
    user.groups.add(Group.objects.create(name="lab"))
    return user


@pytest.fixture
def token_client(ann):
    key = ApiToken.create_for(user=ann, name="script")[1]
    return Client(HTTP_AUTHORIZATION=f"Token {key}", raise_request_exception=False)


def assert_json_error(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json", response.content[:200]
    assert response.json()["error"]


def test_an_oversized_field_is_a_json_413(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = token_client.post(reverse("experiments:api_predict"), {"job": "1", "note": "x" * 5000})
    assert_json_error(response, 413)
    assert "larger than" in response.json()["error"]


def test_missing_routes_and_wrong_methods_under_api_are_json(token_client):
    assert_json_error(token_client.get("/api/no-such-thing/"), 404)
    response = token_client.get(reverse("experiments:api_predict"))
    assert_json_error(response, 405)
    assert response["Allow"] == "POST"
    assert_json_error(token_client.delete(reverse("experiments:api_jobs")), 405)


def test_a_server_error_under_api_is_json(token_client, monkeypatch):
    from webapp.experiments import selectors

    def broken(user):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "jobs_for_user", broken)  # a bug anywhere behind the view
    assert_json_error(token_client.get(reverse("experiments:api_jobs")), 500)


def test_pages_outside_the_api_keep_their_html_errors(client, ann):
    client.force_login(ann)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


def test_every_answer_has_a_content_security_policy_without_inline_script(client, ann):
    for url in (reverse("login"), "/api/no-such-thing/", "/static/css/app.css"):
        policy = client.get(url)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_media_is_private_to_the_browser(client, ann, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    dataset = make_dataset("pets", ann.groups.get(), per_class=1)
    client.force_login(ann)
    response = client.get(dataset.images.first().file.url)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
