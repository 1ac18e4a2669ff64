"""Issue "Curation" item 5: predictions marked wrong are reviewed in a list and added to the model's dataset with
the right class in one click (a copy through the import code; the same photo already there is relabelled)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.images import jpeg_bytes
from tests.webapp.experiments.conftest import succeed_job
from tests.webapp.roles import client_as, world  # noqa: F401  (world: fixture)
from webapp.datasets.models import Image, ImageChange
from webapp.experiments import services
from webapp.experiments.models import Prediction

HEAD = {"epochs": 2, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}


@pytest.fixture
def admins_promote():
    """Replaces the named-model conftest's autouse roles: `world` makes its own teams and roles."""


@pytest.fixture
def prediction(world):
    dataset, member = world["dataset"], world["users"]["member"]
    job = succeed_job(services.job_create(dataset=dataset, user=member, backbone="mobilenet_v2", weights="none",
                                          pooling="avg", input_size=32, head_config=HEAD))
    upload = SimpleUploadedFile("garden.jpg", jpeg_bytes((40, 160, 40), 999, size=32))
    made = services._prediction_save(job=job, upload=upload, user=member)
    services.prediction_succeed(prediction_id=made.pk, result={
        "label": "cat", "confidence": 0.51, "probabilities": [{"label": "cat", "probability": 0.51}]})
    return Prediction.objects.get(pk=made.pk)


@pytest.mark.parametrize("who, mark, add", [
    ("admin", 302, 302), ("member", 302, 302), ("viewer", 302, 403), ("other_team", 404, 404),
    ("staff", 404, 404), ("auditor", 403, 403), ("anonymous", 302, 302),
])
def test_marking_needs_the_team_and_adding_a_curating_role(client, world, prediction, who, mark, add):
    client = client_as(client, world["users"][who])
    emu = world["dataset"].labels.get(name="emu")
    assert client.post(reverse("review:mark", args=[prediction.pk])).status_code == mark
    assert client.post(reverse("review:add", args=[prediction.pk]), {"label": emu.pk}).status_code == add
    added = Image.objects.filter(content_hash=prediction.content_hash).exists()
    assert added == (who in ("admin", "member"))


def test_a_wrong_prediction_goes_back_to_the_dataset_with_the_right_class(client, world, prediction):
    dataset = world["dataset"]
    emu, dog = dataset.labels.get(name="emu"), dataset.labels.get(name="dog")
    client = client_as(client, world["users"]["member"])
    assert "garden.jpg" not in client.get(reverse("review:list")).content.decode()
    client.post(reverse("review:mark", args=[prediction.pk]))
    listed = client.get(reverse("review:list")).content.decode()
    assert "garden.jpg" in listed and "Add to pets" in listed
    added = client.post(reverse("review:add", args=[prediction.pk]), {"label": emu.pk}, follow=True)
    assert "garden.jpg is in pets as emu" in added.content.decode()
    image = Image.objects.get(dataset=dataset, content_hash=prediction.content_hash)
    assert (image.label.name, image.split, image.added_by) == ("emu", "train", world["users"]["member"])
    assert image.thumbnail and (image.width, image.height) == (32, 32)
    assert "garden.jpg" not in client.get(reverse("review:list")).content.decode()  # done: off the list
    assert "In the dataset as" in client.get(reverse("review:list") + "?show=all").content.decode()
    client.post(reverse("review:add", args=[prediction.pk]), {"label": dog.pk})  # the same photo again
    assert Image.objects.filter(dataset=dataset, content_hash=prediction.content_hash).get().label == dog
    assert ImageChange.objects.get().new == "dog"  # relabelled, with history, not copied twice


def test_unsure_predictions_wait_for_review_without_being_marked(client, world, prediction):
    Prediction.objects.filter(pk=prediction.pk).update(decision="unsure")
    client = client_as(client, world["users"]["viewer"])
    for show, listed in (("review", True), ("unsure", True), ("wrong", False), ("all", True)):
        html = client.get(reverse("review:list"), {"show": show}).content.decode()
        assert ("garden.jpg" in html) == listed, show
    assert "unsure (cat?)" in html and "your role cannot add photos" in html
