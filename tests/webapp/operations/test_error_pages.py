"""Issue 14 item 9: 403, 404 and 500 pages in the site's layout with its navigation (tests run with DEBUG=False)."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.webapp.experiments.conftest import FAST_HEAD, make_dataset
from webapp.experiments import services

pytestmark = pytest.mark.django_db


def assert_in_layout(page: str):
    assert 'class="topbar"' in page and "css/app.css" in page
    assert f'href="{reverse("experiments:job_list")}"' in page  # the menu
    assert f'href="{reverse("home")}"' in page


def test_404_is_in_the_layout_with_the_menu(client_for, ann, settings):
    assert settings.DEBUG is False
    response = client_for(ann).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert_in_layout(page)
    assert "Page not found" in page and ann.username in page


def test_a_foreign_job_is_a_404_page_in_the_layout(client_for, bob, lab, ann):
    job = services.job_create(dataset=make_dataset("pets", lab), user=ann, backbone="mobilenet_v2",
                              weights="none", pooling="avg", input_size=32, head_config=FAST_HEAD)
    response = client_for(bob).get(job.get_absolute_url())
    assert response.status_code == 404 and "Page not found" in response.content.decode()


def test_403_says_why_in_the_layout(client_for, ann, carl, lab):
    job = services.job_create(dataset=make_dataset("pets", lab), user=ann, backbone="mobilenet_v2",
                              weights="none", pooling="avg", input_size=32, head_config=FAST_HEAD)
    response = client_for(carl).post(reverse("experiments:job_cancel", args=[job.pk]))
    assert response.status_code == 403
    page = response.content.decode()
    assert_in_layout(page)
    assert "Not allowed" in page and "Only the person who started this job" in page


def test_500_is_in_the_layout_with_the_menu(ann, monkeypatch):
    from webapp.experiments import selectors

    def broken(user):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "jobs_for_user", broken)
    client = Client(raise_request_exception=False)
    client.force_login(ann)
    response = client.get(reverse("experiments:job_list"))
    assert response.status_code == 500
    page = response.content.decode()
    assert_in_layout(page)
    assert "Something went wrong" in page and "boom" not in page


def test_the_500_page_needs_no_database(django_assert_num_queries):
    """Rendered when the database itself may be what failed: no query, no request context."""
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert_in_layout(response.content.decode())
