"""Job-end notices a user opted into (webapp.accounts.models.NotificationPreference): an e-mail through Django's
e-mail backend, and a webhook POST whose body is signed with HMAC-SHA256 of the user's secret
(header `X-Menagerie-Signature: sha256=<hex>`). Sent by the worker after the job's final state is committed; a
failure is logged and never changes the job. The webhook goes through webapp.core.outbound (public addresses only,
no redirects, a bounded time and answer)."""

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.core.mail import send_mail

from webapp.accounts.models import NotificationPreference
from webapp.core import outbound
from webapp.experiments.models import Evaluation, TrainingJob

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Menagerie-Signature"


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def job_end_payload(job: TrainingJob) -> dict:
    accuracy = (Evaluation.objects.filter(job=job, is_job_test_split=True)
                .values_list("accuracy", flat=True).first())
    return {
        "event": "job.ended", "job": job.pk, "status": job.status, "dataset": job.dataset.name,
        "backbone": job.backbone, "test_accuracy": accuracy, "error": job.error_message or None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "url": settings.SITE_URL + job.get_absolute_url(),
    }


def _email(job: TrainingJob, payload: dict) -> None:
    accuracy = f", test accuracy {100 * payload['test_accuracy']:.1f}%" if payload["test_accuracy"] is not None else ""
    lines = [f"Job #{job.pk} ({job.backbone} on {job.dataset.name}) {job.get_status_display().lower()}{accuracy}."]
    if job.error_message:
        lines.append(job.error_message)
    lines.append(payload["url"])
    send_mail(f"Job #{job.pk} {job.get_status_display().lower()}", "\n\n".join(lines),
              settings.DEFAULT_FROM_EMAIL, [job.created_by.email])


def _webhook(preference: NotificationPreference, payload: dict) -> None:
    body = json.dumps(payload).encode()
    outbound.post(preference.webhook_url, body=body, timeout=settings.WEBHOOK_TIMEOUT_SECONDS, headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: webhook_signature(preference.webhook_secret, body),
    })


def job_end_notify(*, job_id: int) -> dict[str, str]:
    """Send the notices the job's creator opted into; {"email"|"webhook": "sent"|"failed"}. Never raises."""
    sent = {}
    try:
        job = TrainingJob.objects.select_related("dataset", "created_by").get(pk=job_id)
        preference = NotificationPreference.objects.filter(user_id=job.created_by_id).first()
        if not job.is_finished or preference is None:
            return sent
        payload = job_end_payload(job)
    except Exception:  # noqa: BLE001 - a notice never fails the job
        logger.exception("job %s: could not prepare its end notices", job_id)
        return sent
    channels = [("email", lambda: _email(job, payload)) if preference.email and job.created_by.email else None,
                ("webhook", lambda: _webhook(preference, payload)) if preference.webhook_url else None]
    for name, send in filter(None, channels):
        try:
            send()
            sent[name] = "sent"
        except Exception:  # noqa: BLE001 - logged, the job stays as it ended
            logger.exception("job %s: its %s notice failed", job_id, name)
            sent[name] = "failed"
    return sent
