"""Issue "Curation" item 6: a job page says how its dataset changed since the job, and retrains on the current
data with the same settings."""

import pytest
from django.urls import reverse

from tests.webapp.roles import client_as, world  # noqa: F401  (world: fixture)
from webapp.datasets import services as dataset_services
from webapp.experiments import selectors, services
from webapp.experiments.models import TrainingJob

HEAD = {"epochs": 2, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}


@pytest.fixture
def job(world):
    job = services.job_create(dataset=world["dataset"], user=world["users"]["member"], backbone="mobilenet_v2",
                              weights="none", pooling="avg", input_size=32, head_config=HEAD, recipe="article")
    services.job_cancel(job=job)  # finished: the page shows how the data moved on since
    return job


def test_the_job_page_counts_each_kind_of_change_in_constant_queries(client, world, job,
                                                                     django_assert_max_num_queries):
    dataset, member = world["dataset"], world["users"]["member"]
    assert selectors.job_dataset_changes(job) == {
        "relabelled": 0, "moved": 0, "excluded": 0, "deleted": 0, "added": 0, "any": False}
    assert "changed since this job" not in client_as(client, member).get(job.get_absolute_url()).content.decode()
    images = dataset.images
    dataset_services.images_relabel(images=images.filter(original_name__in=["cat-2.jpg", "cat-3.jpg"]),
                                    label=dataset.labels.get(name="dog"), user=member)
    dataset_services.images_move_to_split(images=images.filter(original_name="dog-2.jpg"), split="test", user=member)
    dataset_services.images_exclude(images=images.filter(original_name="emu-3.jpg"), user=member)
    dataset_services.images_delete(images=images.filter(original_name="emu-2.jpg"), user=member)
    from tests.webapp.roles import photos_dataset

    extra = photos_dataset("extra", world["lab"], classes=("cat",), per_class=1, seed=9).images.get()
    extra.dataset, extra.label = dataset, dataset.labels.get(name="cat")
    extra.save()
    expected = {"relabelled": 2, "moved": 1, "excluded": 1, "deleted": 1, "added": 1, "any": True}
    with django_assert_max_num_queries(2):
        assert selectors.job_dataset_changes(job) == expected
    html = client.get(job.get_absolute_url()).content.decode()
    assert "The dataset changed since this job" in html
    assert "2 relabelled, 1 added, 1 excluded" in html and "1 deleted, 1 moved" in html


@pytest.mark.parametrize("who, status", [("member", 302), ("admin", 302), ("viewer", 403), ("auditor", 403),
                                         ("other_team", 404), ("staff", 404), ("anonymous", 302)])
def test_retraining_on_the_current_data_needs_a_training_role(client, world, job, who, status):
    dataset = world["dataset"]
    dataset_services.images_exclude(images=dataset.images.filter(original_name="emu-3.jpg"), user=None)
    client = client_as(client, world["users"][who])
    if who in ("member", "viewer"):
        html = client.get(job.get_absolute_url()).content.decode()
        assert ("Retrain on the current data" in html) == (who == "member")
    assert client.post(reverse("experiments:job_retry", args=[job.pk])).status_code == status
    retrained = TrainingJob.objects.filter(retry_of=job).first()
    assert bool(retrained) == (status == 302 and who != "anonymous")
    if retrained:
        assert (retrained.recipe, retrained.head_config, retrained.backbone) == (job.recipe, job.head_config,
                                                                                  job.backbone)
        assert retrained.job_images.count() == job.job_images.count() - 1  # the excluded photo is left out
        assert selectors.job_dataset_changes(retrained)["any"] is False
