"""Issue "Curation" items 2 and 6: the photo browser (filters, sort, pages, bulk actions as one service call),
the photo view, the Excluded and Flagged flags, and the history every change leaves."""

import pytest
from django.urls import reverse

from tests.webapp.roles import WHO, client_as, photos_dataset, world  # noqa: F401  (world: fixture)
from webapp.datasets import services
from webapp.datasets.models import Image, ImageChange, Label, Split
from webapp.experiments import services as job_services

HEAD = {"epochs": 2, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}
ACTIONS = {  # action -> (extra POST data, check on the changed photo)
    "relabel": (lambda d: {"to_label": d.labels.get(name="emu").pk}, lambda i: i.label.name == "emu"),
    "move": (lambda d: {"to_split": "test"}, lambda i: i.split == "test"),
    "exclude": (lambda d: {}, lambda i: i.excluded),
    "flag": (lambda d: {}, lambda i: i.flagged),
    "delete": (lambda d: {}, None),
}
STATUS = {"admin": 302, "member": 302, "viewer": 403, "other_team": 404, "staff": 404, "auditor": 403,
          "anonymous": 302}


def action_url(dataset):
    return reverse("datasets:photos_action", args=[dataset.pk])


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", WHO)
def test_every_photo_action_needs_a_curating_role(client, world, who, action):
    dataset = world["dataset"]
    photo = dataset.images.filter(label__name="cat", split="train").first()
    extra, check = ACTIONS[action]
    response = client_as(client, world["users"][who]).post(
        action_url(dataset), {"action": action, "scope": "selected", "image": [photo.pk], **extra(dataset)})
    assert response.status_code == STATUS[who]
    allowed = who in ("admin", "member")
    if who == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    if action == "delete":
        assert Image.objects.filter(pk=photo.pk).exists() != allowed
    else:
        assert check(Image.objects.get(pk=photo.pk)) == allowed
    assert ImageChange.objects.exists() == allowed


@pytest.mark.parametrize("who, status", [
    ("admin", 200), ("member", 200), ("viewer", 200), ("other_team", 404), ("staff", 404), ("auditor", 200),
])
def test_the_photo_view_and_browser_show_actions_only_to_curators(client, world, who, status):
    dataset = world["dataset"]
    photo = dataset.images.first()
    client = client_as(client, world["users"][who])
    response = client.get(reverse("datasets:photo", args=[dataset.pk, photo.pk]))
    assert response.status_code == status
    if status == 200:
        curates = who in ("admin", "member")
        assert ("Relabel" in response.content.decode()) == curates
        browser = client.get(dataset.get_absolute_url()).content.decode()
        assert ('name="image"' in browser) == curates and ("Upload photos" in browser) == curates
        upload = client.post(reverse("datasets:upload", args=[dataset.pk]))
        assert upload.status_code == (200 if curates else 403)


def test_a_photo_from_another_dataset_is_never_touched(client, world):
    theirs = photos_dataset("theirs", world["other"], seed=5)
    photo = theirs.images.first()
    client = client_as(client, world["users"]["member"])
    client.post(action_url(world["dataset"]), {"action": "exclude", "scope": "selected", "image": [photo.pk]})
    assert not Image.objects.get(pk=photo.pk).excluded
    response = client.post(action_url(world["dataset"]), {"action": "exclude", "scope": "selected",
                                                          "image": ["²", "9" * 30]}, follow=True)
    assert response.status_code == 200 and "Malformed photo id" in response.content.decode()


def test_filters_sort_and_pages(client, world, settings):
    settings.DATASETS_PHOTOS_PER_PAGE = 5
    dataset, member = world["dataset"], world["users"]["member"]
    cats = dataset.images.filter(label__name="cat")
    services.images_exclude(images=cats.filter(split="train"), user=member)
    services.images_flag(images=dataset.images.filter(original_name="dog-3.jpg"), user=member)
    client = client_as(client, member)

    def names(**query):
        response = client.get(dataset.get_absolute_url(), query)
        return [str(image) for image in response.context["page"]], response.context["page"].paginator.count

    cat = dataset.labels.get(name="cat").pk
    assert names(label=cat, excluded="yes") == (["cat-2.jpg", "cat-3.jpg"], 2)
    assert names(label=cat, excluded="no", sort="name") == (["cat-0.jpg", "cat-1.jpg"], 2)
    assert names(flagged="yes") == (["dog-3.jpg"], 1)
    assert names(split="test", sort="-added") == (["emu-0.jpg", "dog-0.jpg", "cat-0.jpg"], 3)
    assert names(name="EMU-", sort="name", page=1)[0] == ["emu-0.jpg", "emu-1.jpg", "emu-2.jpg", "emu-3.jpg"]
    first, total = names(sort="class")
    assert total == 12 and first == ["cat-0.jpg", "cat-1.jpg", "cat-2.jpg", "cat-3.jpg", "dog-0.jpg"]
    assert names(sort="class", page=3)[0] == ["emu-2.jpg", "emu-3.jpg"]
    bad = client.get(dataset.get_absolute_url(), {"label": "abc", "split": "nope"})
    assert bad.status_code == 200 and bad.context["page"].paginator.count == 12


def test_the_browser_costs_the_same_queries_on_any_page_and_size(client, world, django_assert_num_queries,
                                                                 django_assert_max_num_queries, settings):
    dataset = world["dataset"]
    client = client_as(client, world["users"]["member"])
    url = dataset.get_absolute_url()
    client.get(url)  # session and caches warmed alike
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(url, {"sort": "class"})
    label = dataset.labels.first()
    Image.objects.bulk_create([
        Image(dataset=dataset, label=label, split=Split.TRAIN, file=f"datasets/x/{i}.jpg", content_hash=f"{i:064x}",
              width=8, height=8, original_name=f"bulk-{i}.jpg") for i in range(500)
    ])
    services.images_flag(images=dataset.images.filter(original_name__startswith="bulk-1"), user=None)
    with django_assert_num_queries(len(small)):
        response = client.get(url, {"sort": "class", "page": 4, "flagged": "no", "name": "bulk"})
    assert len(response.context["page"]) == settings.DATASETS_PHOTOS_PER_PAGE
    with django_assert_max_num_queries(len(small)):
        client.get(reverse("datasets:photo", args=[dataset.pk, label.images.last().pk]))  # and a photo view


def test_all_matching_relabel_is_one_change_per_photo_in_the_history(client, world):
    dataset, member = world["dataset"], world["users"]["member"]
    dog = dataset.labels.get(name="dog")
    client = client_as(client, member)
    response = client.post(action_url(dataset), {
        "action": "relabel", "scope": "matching", "to_label": dog.pk,
        "label": dataset.labels.get(name="cat").pk, "split": "train",  # the filters: cats in train
    }, follow=True)
    assert "2 photos changed" in response.content.decode()
    moved = Image.objects.filter(dataset=dataset, original_name__in=["cat-2.jpg", "cat-3.jpg"])
    assert {image.label.name for image in moved} == {"dog"}
    assert Image.objects.filter(dataset=dataset, label__name="cat").count() == 2  # test and validation kept
    changes = ImageChange.objects.filter(dataset=dataset)
    assert sorted(changes.values_list("image_name", "kind", "old", "new", "user__username")) == [
        ("cat-2.jpg", "label", "cat", "dog", "mel"), ("cat-3.jpg", "label", "cat", "dog", "mel")]
    photo = moved.first()
    view = client.get(reverse("datasets:photo", args=[dataset.pk, photo.pk])).content.decode()
    assert "cat → dog" in view and "mel" in view
    assert "cat-3.jpg" in client.get(dataset.get_absolute_url()).content.decode().split("Recent changes")[1]


def test_unchanged_photos_record_nothing_and_deletions_keep_their_history(world, settings):
    dataset, member = world["dataset"], world["users"]["member"]
    tests = dataset.images.filter(split="test")
    assert services.images_move_to_split(images=dataset.images.all(), split="test", user=member) == 9
    assert ImageChange.objects.count() == 9  # the 3 already in test record nothing
    photo = tests.first()
    path = settings.MEDIA_ROOT / photo.file.name
    assert path.exists()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.images_delete(images=Image.objects.filter(pk=photo.pk), user=member)
    assert not path.exists()
    deleted = ImageChange.objects.get(kind="deleted")
    assert (deleted.image_id, deleted.image_name, deleted.old, deleted.user) == (None, str(photo), "cat", member)


def test_excluded_photos_stay_in_the_dataset_but_not_in_new_jobs(world):
    dataset, member = world["dataset"], world["users"]["member"]
    services.images_exclude(images=dataset.images.filter(original_name__in=["emu-3.jpg", "dog-1.jpg"]), user=member)
    job = job_services.job_create(dataset=dataset, user=member, backbone="mobilenet_v2", weights="none",
                                  pooling="avg", input_size=32, head_config=HEAD)
    assert job.job_images.count() == 10 and dataset.images.count() == 12
    assert not job.job_images.filter(original_name__in=["emu-3.jpg", "dog-1.jpg"]).exists()
    services.images_include(images=dataset.images.all(), user=member)
    assert ImageChange.objects.filter(kind="excluded", new="no").count() == 2


def test_relabel_to_another_datasets_class_is_refused(world):
    theirs = photos_dataset("theirs", world["other"], seed=5)
    with pytest.raises(Exception, match="belongs to dataset"):
        services.images_relabel(images=world["dataset"].images.all(), label=Label.objects.get(dataset=theirs,
                                                                                               name="cat"))
