"""Job-end notices: the e-mail (Django's locmem backend) and the webhook (a real local HTTP server checking the
HMAC-SHA256 signature); a failed delivery is logged and leaves the job as it ended. The preferences page. The local
server is on loopback, which webhooks may not reach: the tests that deliver opt its address in (what an installation
with intranet webhooks does); tests/webapp/core/test_outbound.py has the address rules."""

import hashlib
import hmac
import json
import socket

import pytest
from django.urls import reverse

from tests.webapp.experiments.conftest import succeed_job
from tests.webhook_server import webhook_server
from webapp.accounts import services as account_services
from webapp.accounts.models import NotificationPreference
from webapp.experiments import services
from webapp.experiments.models import JobStatus, TrainingJob
from webapp.experiments.notifications import SIGNATURE_HEADER, job_end_notify

SECRET = "a-secret-of-some-length"


@pytest.fixture
def loopback_allowed(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def locmem_mail(settings):
    """Django's locmem e-mail backend: sent messages land in django.core.mail.outbox."""
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://menagerie.example"
    mail.outbox = []
    return mail


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"  # nothing listens there any more


def test_an_ended_job_mails_and_posts_a_signed_webhook_to_its_creator(locmem_mail, loopback_allowed, ann, dataset):
    ann.email = "ann@example.org"
    ann.save()
    job = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none"))
    with webhook_server() as (url, received):
        account_services.notification_preference_set(user=ann, email=True, webhook_url=url, webhook_secret=SECRET)
        assert job_end_notify(job_id=job.pk) == {"email": "sent", "webhook": "sent"}
    [mail] = locmem_mail.outbox
    assert mail.to == ["ann@example.org"] and mail.subject == f"Job #{job.pk} succeeded"
    assert "test accuracy 33.3%" in mail.body and f"https://menagerie.example/jobs/{job.pk}/" in mail.body
    [post] = received.items
    expected = "sha256=" + hmac.new(SECRET.encode(), post["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(post["headers"][SIGNATURE_HEADER], expected)
    payload = json.loads(post["body"])
    assert payload["job"] == job.pk and payload["status"] == "succeeded" and payload["test_accuracy"] == pytest.approx(1 / 3)


def test_a_failed_webhook_is_logged_and_changes_nothing(locmem_mail, loopback_allowed, ann, dataset, caplog):
    ann.email = "ann@example.org"
    ann.save()
    job = services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none")
    assert services.job_fail(job_id=job.pk, message="weights missing")
    account_services.notification_preference_set(user=ann, email=True, webhook_url=_closed_port_url(),
                                                 webhook_secret=SECRET)
    assert job_end_notify(job_id=job.pk) == {"email": "sent", "webhook": "failed"}
    assert "its webhook notice failed" in caplog.text
    assert "weights missing" in locmem_mail.outbox[0].body
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_message == "weights missing"


def test_the_address_is_checked_again_when_sending(ann, dataset):
    """A row saved before the address rules, without the opt-in: the sender refuses it too."""
    job = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none"))
    with webhook_server() as (url, received):
        NotificationPreference.objects.create(user=ann, webhook_url=url, webhook_secret=SECRET)
        assert job_end_notify(job_id=job.pk) == {"webhook": "failed"}
    assert len(received) == 0


def test_a_name_resolving_to_loopback_by_the_time_it_is_sent_is_refused(ann, dataset, monkeypatch):
    """Saved while the name did not resolve; when sending it resolves to loopback (getaddrinfo, the OS boundary,
    answers for it): nothing is sent."""
    job = succeed_job(services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none"))
    with webhook_server(host="hooks.example") as (url, received):
        account_services.notification_preference_set(user=ann, email=False, webhook_url=url, webhook_secret=SECRET)
        real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: (
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))] if host == "hooks.example"
            else real(host, port, *a, **k)))
        assert job_end_notify(job_id=job.pk) == {"webhook": "failed"}
    assert len(received) == 0


def test_nothing_is_sent_without_an_opt_in_or_before_the_job_ends(locmem_mail, ann, dataset):
    ann.email = "ann@example.org"
    ann.save()
    job = services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none")
    assert job_end_notify(job_id=job.pk) == {}  # no preference
    account_services.notification_preference_set(user=ann, email=True)
    assert job_end_notify(job_id=job.pk) == {}  # still queued
    assert not locmem_mail.outbox


def test_the_notifications_page_saves_the_choice_and_makes_a_secret(client_for, ann):
    client = client_for(ann)
    url = reverse("accounts:notifications")
    assert client.get(url).status_code == 200
    response = client.post(url, {"email": "on", "webhook_url": "https://hooks.example/menagerie"})
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=ann)
    assert preference.email and preference.webhook_url == "https://hooks.example/menagerie"
    assert len(preference.webhook_secret) >= 32
    assert preference.webhook_secret in client.get(url).content.decode()  # the user reads it there


def test_the_notifications_page_refuses_a_bad_url_or_a_short_secret_and_keeps_the_old_choice(client_for, ann):
    account_services.notification_preference_set(user=ann, email=False)
    client = client_for(ann)
    for data in ({"webhook_url": "ftp://files.example/x"}, {"webhook_url": "https://ok.example", "webhook_secret": "short"}):
        response = client.post(reverse("accounts:notifications"), data)
        assert response.status_code == 200 and b"has-error" in response.content
    preference = NotificationPreference.objects.get(user=ann)
    assert not preference.email and preference.webhook_url == ""
    assert TrainingJob.objects.count() == 0


def test_the_job_page_offers_browser_notifications_and_titles_an_ended_job(client_for, ann, dataset):
    job = services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none")
    page = client_for(ann).get(job.get_absolute_url()).content.decode()
    assert 'id="job-notify"' in page and f"<title>Job #{job.pk} · Menagerie</title>" in page
    assert services.job_fail(job_id=job.pk, message="boom")
    page = client_for(ann).get(job.get_absolute_url()).content.decode()
    assert f"<title>Failed · Job #{job.pk} · Menagerie</title>" in page and 'id="job-notify"' not in page
