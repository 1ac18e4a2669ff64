"""Grad-CAM heatmaps computed by a real `predict` worker, stored once under MEDIA_ROOT."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.images import jpeg_bytes
from tests.processes import wait_for
from tests.factories import COLOURS, make_dataset
from webapp.experiments import services
from webapp.experiments.models import (
    Heatmap, HeatmapStatus, JobImage, JobStatus, PredictionStatus, TrainingJob,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_broker")]


def _succeeded_job(dataset, user) -> TrainingJob:
    """A job row (with its snapshot of the dataset's photos) whose run folder is a tiny article-recipe model
    (random-init VGG16 on 32 px, trained here)."""
    from classifier.recipes import feature_spec
    from classifier.model_io import save_run
    from classifier.workflow import train_and_evaluate

    job = TrainingJob.objects.create(dataset=dataset, backbone="vgg16", weights="none", input_size=32,
                                     recipe="article", status=JobStatus.SUCCEEDED, created_by=user)
    JobImage.objects.bulk_create(JobImage(job=job, image=i, content_hash=i.content_hash, label_name=i.label.name,
                                          split=i.split) for i in dataset.images.select_related("label"))
    spec = feature_spec("article", "vgg16", None, input_size=32)
    rng = np.random.default_rng(0)
    y = np.arange(12) % 3
    x = rng.normal(0, 1, (12, *spec.shape)).astype("float32")
    out = train_and_evaluate("article", {"train": (x, y), "validation": (x[:3], y[:3]), "test": (x[:3], y[:3])},
                             class_names=["blue", "green", "red"], spec=spec)
    job.artifact_dir = f"jobs/{job.pk}"
    save_run(Path(settings.ARTIFACTS_DIR) / job.artifact_dir, head=out["head"], spec=spec,
             class_names=["blue", "green", "red"], config=None, recipe="article")
    job.save(update_fields=["artifact_dir"])
    return job


def _done(heatmap: Heatmap) -> Heatmap:
    def finished():
        heatmap.refresh_from_db()
        return heatmap.status in (HeatmapStatus.SUCCEEDED, HeatmapStatus.FAILED)

    wait_for(finished, 120, interval=0.1, message=f"heatmap {heatmap.pk}")
    return heatmap


def test_heatmaps_of_a_gallery_photo_and_a_prediction_are_computed_once(warm_workers, ann):
    dataset = make_dataset("shapes", per_class=2, size=48)
    job = _succeeded_job(dataset, ann)
    image = dataset.images.first()

    heatmap = _done(services.heatmap_request(job=job, image=image))
    assert heatmap.status == HeatmapStatus.SUCCEEDED, heatmap.error_message
    assert re.fullmatch(rf"heatmaps/job_{job.pk}/[\w-]{{16,}}\.png", heatmap.file.name)  # not guessable
    assert heatmap.label in {"blue", "green", "red"}
    with heatmap.file.open("rb") as f:
        overlay = Image.open(io.BytesIO(f.read()))
        assert overlay.format == "PNG" and overlay.size == (48, 48)  # the photo's own size
    again = services.heatmap_request(job=job, image=image)  # cached: the same row, nothing recomputed
    assert again.pk == heatmap.pk and again.status == HeatmapStatus.SUCCEEDED and again.finished_at == heatmap.finished_at
    assert Heatmap.objects.count() == 1

    upload = SimpleUploadedFile("query.jpg", jpeg_bytes(COLOURS["blue"], 7, 60), content_type="image/jpeg")
    prediction = services.prediction_run(job=job, upload=upload, user=ann, timeout=90)
    assert prediction.status == PredictionStatus.SUCCEEDED, prediction.error_message
    heatmap = _done(services.heatmap_request(job=job, prediction=prediction))
    assert heatmap.status == HeatmapStatus.SUCCEEDED and heatmap.label == prediction.label
    with heatmap.file.open("rb") as f:
        assert Image.open(io.BytesIO(f.read())).size == (60, 60)
    assert prediction.heatmap == heatmap


@pytest.mark.parametrize("api", ["job", "named model"])
def test_the_predict_api_with_heatmap_1_says_where_to_poll_for_the_overlay(warm_workers, ann, client, api):
    from webapp.accounts.services import api_token_create, membership_change
    from webapp.serving.services import model_promote, named_model_create

    dataset = make_dataset("shapes", per_class=1)
    job = _succeeded_job(dataset, ann)
    url, fields = "/api/predict/", {"job": job.pk}
    if api == "named model":
        membership_change(team=dataset.team, user=ann, role="admin")
        birds = named_model_create(team=dataset.team, name="birds", evaluation_dataset=dataset, user=ann)
        model_promote(named_model=birds, job=job, user=ann)
        url, fields = "/api/models/birds/predict/", {}
    _, key = api_token_create(user=ann, name="script")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    upload = SimpleUploadedFile("query.jpg", jpeg_bytes(COLOURS["red"], 9, 52), content_type="image/jpeg")
    answer = client.post(url, {"image": upload, "heatmap": "1", **fields}, **auth).json()
    assert answer["status"] == "succeeded" and answer["heatmap"]["status"] in ("pending", "running", "succeeded")
    assert (answer["model"], answer["version"]) == (("birds", 1) if api == "named model" else (None, None))

    def ready():
        state = client.get(answer["heatmap"]["status_url"], **auth).json()
        return state if state["status"] in ("succeeded", "failed") else None

    state = wait_for(ready, 120, interval=0.2, message="the API's heatmap")
    assert state["status"] == "succeeded" and state["label"] == answer["label"], state
    png = client.get(state["url"], **auth)
    assert png["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(b"".join(png.streaming_content))).size == (52, 52)
