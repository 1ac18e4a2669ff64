"""The `train` worker tells the job's creator that the job ended, after its final state is committed: an e-mail
(Django's file-based backend, the worker being another process) and a signed webhook to a real local server."""

import hashlib
import hmac
import json

import pytest

from tests.factories import FAST_JOB, make_dataset
from tests.processes import wait_for, worker_env
from tests.webhook_server import webhook_server
from webapp.accounts.services import notification_preference_set
from webapp.experiments import services
from webapp.experiments.models import JobStatus, TrainingJob
from webapp.experiments.notifications import SIGNATURE_HEADER

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]

SECRET = "worker-side-secret-0123456789"


def test_the_worker_mails_and_posts_the_signed_notice_once_the_job_has_succeeded(start_worker, ann, tmp_path,
                                                                                 settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # saving checks the address here, sending in the worker
    ann.email = "ann@example.org"
    ann.save()
    mail_dir = tmp_path / "mail"
    with webhook_server() as (url, received):
        notification_preference_set(user=ann, email=True, webhook_url=url, webhook_secret=SECRET)
        job = services.job_create(dataset=make_dataset("notified", seed=5151, per_class=6), user=ann, **FAST_JOB)
        start_worker(queues="train", env=worker_env(  # the local server's loopback address, opted in
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(mail_dir),
            MENAGERIE_OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32"))
        assert received.arrived.wait(180), "no webhook arrived"
        # the notice went out after the final state was committed: the job reads as succeeded already
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.error_message
    [post] = received.items
    expected = "sha256=" + hmac.new(SECRET.encode(), post["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(post["headers"][SIGNATURE_HEADER], expected)
    assert json.loads(post["body"])["status"] == "succeeded"
    wait_for(lambda: any(mail_dir.glob("*.log")), 30, message="the e-mail file")
    mail = "".join(path.read_text() for path in mail_dir.glob("*.log"))
    assert "To: ann@example.org" in mail and f"Subject: Job #{job.pk} succeeded" in mail
    assert TrainingJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
