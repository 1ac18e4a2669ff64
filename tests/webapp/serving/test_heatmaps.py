"""Heatmap endpoints: asked for once, stored once, visible only to the team (the worker side: tests/workers)."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from webapp.experiments import services
from webapp.experiments.models import Heatmap, Prediction

pytestmark = pytest.mark.django_db


def _prediction(job, user) -> Prediction:
    prediction = Prediction(job=job, content_hash="0" * 64, original_name="query.png", created_by=user,
                            status="succeeded", label="cats")
    prediction.file.save("query.png", ContentFile(b"png"), save=False)
    prediction.save()
    return prediction


def _finish(heatmap: Heatmap) -> Heatmap:
    """What the worker does (services.heatmap_claim / heatmap_succeed), without TensorFlow."""
    assert services.heatmap_claim(heatmap_id=heatmap.pk) is not None
    assert services.heatmap_claim(heatmap_id=heatmap.pk) is None  # a redelivered message does nothing
    assert services.heatmap_succeed(heatmap_id=heatmap.pk, png=b"\x89PNG overlay", label="cats")
    heatmap.refresh_from_db()
    return heatmap


def test_a_gallery_photos_heatmap_is_requested_once_polled_then_served_to_the_team_only(
        client_for, ann, bob, finished_job, media_root):
    image = finished_job.dataset.images.first()
    url = reverse("experiments:job_image_heatmap", args=[finished_job.pk, image.pk])
    client = client_for(ann)
    assert client.get(url).json()["status"] == "none"
    first = client.post(url)
    assert first.status_code == 202 and first.json()["status"] == "pending" and first.json()["url"] is None
    client.post(url)  # asking again reuses the row
    [heatmap] = Heatmap.objects.all()
    assert (heatmap.job, heatmap.image, heatmap.prediction) == (finished_job, image, None)
    heatmap = _finish(heatmap)
    ready = client.get(url).json()
    assert ready["status"] == "succeeded" and ready["label"] == "cats" and ready["url"] == heatmap.file.url
    assert heatmap.file.name.startswith(f"heatmaps/job_{finished_job.pk}/")  # a random name in the job's folder
    assert b"".join(client.get(ready["url"]).streaming_content) == b"\x89PNG overlay"

    other = client_for(bob)
    assert other.get(url).status_code == 404 and other.post(url).status_code == 404
    assert other.get(ready["url"]).status_code == 404


def test_a_predictions_heatmap_and_a_failed_one_is_asked_again(client_for, ann, bob, finished_job, media_root):
    prediction = _prediction(finished_job, ann)
    url = reverse("experiments:prediction_heatmap", args=[prediction.pk])
    client = client_for(ann)
    assert client.post(url).json()["status"] == "pending"
    heatmap = Heatmap.objects.get(prediction=prediction)
    assert services.heatmap_claim(heatmap_id=heatmap.pk)
    assert services.heatmap_fail(heatmap_id=heatmap.pk, message="The worker could not read the photo.")
    failed = client.get(url).json()
    assert failed["status"] == "failed" and failed["error"] == "The worker could not read the photo."
    assert client.post(url).json()["status"] == "pending"  # asked again: sent again
    assert client_for(bob).get(url).status_code == 404


def test_a_heatmap_needs_a_succeeded_job(client_for, ann, queued_job):
    image = queued_job.dataset.images.first()
    response = client_for(ann).post(reverse("experiments:job_image_heatmap", args=[queued_job.pk, image.pk]))
    assert response.status_code == 409 and "succeeded" in response.json()["error"]
    assert not Heatmap.objects.exists()


def test_the_api_heatmap_status_and_png_take_a_token(client, ann, bob, finished_job, media_root):
    from webapp.accounts.services import api_token_create

    prediction = _prediction(finished_job, ann)
    _, key = api_token_create(user=ann, name="script")
    _, other_key = api_token_create(user=bob, name="script")
    status_url = reverse("experiments:api_prediction_heatmap", args=[prediction.pk])
    png_url = reverse("experiments:api_prediction_heatmap_png", args=[prediction.pk])
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client.get(status_url, **auth).json()["status"] == "none"
    assert client.get(png_url, **auth).status_code == 404
    _finish(services.heatmap_request(job=finished_job, prediction=prediction))
    ready = client.get(status_url, **auth).json()
    assert ready["status"] == "succeeded" and ready["url"] == f"http://testserver{png_url}"
    response = client.get(png_url, **auth)
    assert response["Content-Type"] == "image/png" and b"".join(response.streaming_content) == b"\x89PNG overlay"
    assert client.get(status_url, HTTP_AUTHORIZATION=f"Token {other_key}").status_code == 404


def test_the_job_pages_gallery_has_a_heatmap_link_per_photo(client_for, ann, finished_job, media_root):
    page = client_for(ann).get(finished_job.get_absolute_url()).content.decode()
    for item in finished_job.evaluations.get().report["misclassified"]:
        url = reverse("experiments:job_image_heatmap", args=[finished_job.pk, item["id"]])
        assert f'data-heatmap-url="{url}" data-heatmap-for="gallery-photo-{item["id"]}"' in page
        assert f'id="gallery-photo-{item["id"]}"' in page
    assert "js/heatmap.js" in page and "csrfmiddlewaretoken" in page
