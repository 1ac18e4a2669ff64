"""A job's export bundle over HTTP: the page says what is inside and how to call it, a POST asks a `train` worker
for it (once: it is kept), the page polls its status, then the zip downloads. The worker's side is played here by
the services it calls (a real worker builds a real bundle in tests/workers/test_bundle.py)."""

import io
import zipfile

import pytest
from django.urls import reverse

from webapp.core.storage import storage, write
from webapp.serving import services
from webapp.serving.models import BundleStatus, ExportBundle

pytestmark = pytest.mark.django_db


def page_url(job):
    return reverse("serving:job_bundle", args=[job.pk])


def status(client, job):
    return client.get(reverse("serving:job_bundle_status", args=[job.pk])).json()


def test_the_job_page_and_the_model_page_link_the_bundle_page(client_for, ann, birds, finished_job):
    services.model_promote(named_model=birds, job=finished_job, user=ann)
    client = client_for(ann)
    assert f'href="{page_url(finished_job)}"' in client.get(finished_job.get_absolute_url()).content.decode()
    assert f'href="{page_url(finished_job)}"' in client.get(birds.get_absolute_url()).content.decode()


def test_asking_for_a_bundle_sends_one_build_then_the_page_polls_and_offers_the_kept_zip(
        client_for, ann, finished_job, django_capture_on_commit_callbacks):
    client = client_for(ann)
    page = client.get(page_url(finished_job)).content.decode()
    for inside in ("model.keras", "labels.json", "MODEL_CARD.md", "model_int8.tflite", "model.onnx", "predict.py",
                   "python predict.py photo.jpg --format onnx", "EXIF orientation"):
        assert inside in page
    assert "Build the bundle" in page and status(client, finished_job)["status"] == "none"

    with django_capture_on_commit_callbacks() as sent:
        assert client.post(page_url(finished_job)).status_code == 302
        client.post(page_url(finished_job))  # asked twice: still one build
    assert len(sent) == 1
    bundle = ExportBundle.objects.get(job=finished_job)
    assert (bundle.status, bundle.requested_by) == (BundleStatus.PENDING, ann)
    page = client.get(page_url(finished_job)).content.decode()
    assert "js/bundle.js" in page and "Build the bundle" not in page  # the page polls while it builds

    assert services.bundle_claim(bundle_id=bundle.pk) is not None  # what the worker does
    assert services.bundle_claim(bundle_id=bundle.pk) is None  # a redelivered message does nothing
    services.bundle_step(bundle_id=bundle.pk, step="TFLite int8")
    assert status(client, finished_job) | {"formats": None} == {
        "status": "running", "status_display": "Building", "step": "TFLite int8", "error": None,
        "formats": None, "size_bytes": None, "download_url": None}
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("labels.json", '["cats", "dogs", "panda"]')
    write(bundle.name, zipped.getvalue(), "artifacts")  # what the worker stores
    assert services.bundle_succeed(bundle_id=bundle.pk, formats={"keras": "ok, 10 bytes"},
                                   size_bytes=len(zipped.getvalue()))

    ready = status(client, finished_job)
    download = reverse("serving:job_bundle_download", args=[finished_job.pk])
    assert ready["status"] == "succeeded" and ready["download_url"] == download
    page = client.get(page_url(finished_job)).content.decode()
    assert f'href="{download}"' in page and "keras</strong>: ok, 10 bytes" in page and "js/bundle.js" not in page
    response = client.get(download)
    assert response["Content-Disposition"] == (
        f'attachment; filename="menagerie-job-{finished_job.pk}-mobilenet_v2-bundle.zip"')
    assert b"".join(response.streaming_content) == zipped.getvalue()
    with django_capture_on_commit_callbacks() as sent:
        client.post(page_url(finished_job))  # built: kept, nothing is built again
    assert not sent

    storage("artifacts").delete(bundle.name)  # the zip went missing: asking again builds it again
    with django_capture_on_commit_callbacks() as sent:
        client.post(page_url(finished_job))
    assert len(sent) == 1 and ExportBundle.objects.get().status == BundleStatus.PENDING


def test_a_failed_build_says_why_and_can_be_asked_again(client_for, ann, finished_job,
                                                        django_capture_on_commit_callbacks):
    client = client_for(ann)
    client.post(page_url(finished_job))
    bundle = ExportBundle.objects.get()
    services.bundle_claim(bundle_id=bundle.pk)
    services.bundle_fail(bundle_id=bundle.pk, message="The export ran out of memory.")
    page = client.get(page_url(finished_job)).content.decode()
    assert "The last build failed: The export ran out of memory." in page and "Build it again" in page
    assert client.get(reverse("serving:job_bundle_download", args=[finished_job.pk])).status_code == 404
    with django_capture_on_commit_callbacks() as sent:
        client.post(page_url(finished_job))
    assert len(sent) == 1 and status(client, finished_job)["status"] == "pending"


def test_only_a_succeeded_job_of_the_users_teams_exports(client_for, ann, bob, finished_job, queued_job):
    client = client_for(ann)
    response = client.post(page_url(queued_job), follow=True)
    assert "Only a job that succeeded can be exported." in response.content.decode()
    assert not ExportBundle.objects.exists()
    client = client_for(bob)
    for url in (page_url(finished_job), reverse("serving:job_bundle_status", args=[finished_job.pk]),
                reverse("serving:job_bundle_download", args=[finished_job.pk])):
        assert client.get(url).status_code == 404
    assert client.post(page_url(finished_job)).status_code == 404
    assert not ExportBundle.objects.exists()
