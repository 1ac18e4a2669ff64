"""Staff curation in /admin/: counts, thumbnails, filters, search, bulk actions, import; no N+1 queries."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.webapp.datasets.conftest import bulk_images, class_zip, db_snapshot, media_snapshot, photo_bytes, zip_bytes
from webapp.datasets.models import Dataset, Image, Label
from webapp.datasets.services import dataset_import_zip


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_dataset_changelist_shows_counts_with_constant_queries(admin_client, team, django_assert_max_num_queries):
    url = reverse("admin:datasets_dataset_changelist")
    bulk_images(Dataset.objects.create(name="one", team=team), {"a": 10, "b": 5})
    few = queries(admin_client, url)
    for i in range(6):
        bulk_images(Dataset.objects.create(name=f"many{i}", team=team), {"a": 40, "b": 20, "c": 10})
    assert queries(admin_client, url) == few  # 7 datasets, 435 images: same number of queries as 1 dataset
    with django_assert_max_num_queries(12):
        response = admin_client.get(url)
    html = response.content.decode()
    assert "a (40), b (20), c (10)" in html and "Import a zip" in html


def test_image_changelist_thumbnails_without_n_plus_one(admin_client, team, django_assert_max_num_queries):
    url = reverse("admin:datasets_image_changelist")
    bulk_images(Dataset.objects.create(name="one", team=team), {"a": 3})
    few = queries(admin_client, url)
    bulk_images(Dataset.objects.create(name="two", team=team), {"x": 200, "y": 150})
    assert queries(admin_client, url) == few
    with django_assert_max_num_queries(12):
        html = admin_client.get(url).content.decode()
    assert html.count('/thumbs/') == 100  # one page of thumbnails


def test_image_filters_and_search(admin_client, team):
    one, two = Dataset.objects.create(name="one", team=team), Dataset.objects.create(name="two", team=team)
    bulk_images(one, {"cats": 8, "dogs": 4})
    bulk_images(two, {"cats": 6})
    url = reverse("admin:datasets_image_changelist")
    cats_one = Label.objects.get(dataset=one, name="cats")
    cases = {
        f"?dataset__id__exact={one.pk}": 12,
        f"?label__id__exact={cats_one.pk}": 8,
        f"?dataset__id__exact={one.pk}&split=test": 3,
        "?q=dogs": 4,
        f"?q={Image.objects.filter(dataset=two).first().content_hash}": 1,
    }
    for query, expected in cases.items():
        response = admin_client.get(url + query)
        assert response.context["cl"].result_count == expected, query
    html = admin_client.get(url + f"?dataset__id__exact={one.pk}").content.decode()
    assert "one / cats" in html and "two / cats" not in html  # class filter names the dataset


def test_move_to_split_action(admin_client, dataset):
    bulk_images(dataset, {"cats": 8})
    ids = list(Image.objects.filter(split="train").values_list("pk", flat=True))
    admin_client.post(reverse("admin:datasets_image_changelist"),
                      {"action": "move_to_test", ACTION_CHECKBOX_NAME: ids})
    assert Image.objects.filter(split="test").count() == 2 + len(ids)


def test_relabel_action_asks_for_a_class_of_the_same_dataset(admin_client, dataset, other_team):
    bulk_images(dataset, {"cats": 5, "dogs": 5})
    other = Dataset.objects.create(name="other", team=other_team)
    bulk_images(other, {"owls": 2})
    url = reverse("admin:datasets_image_changelist")
    cats = list(Image.objects.filter(label__name="cats").values_list("pk", flat=True))
    page = admin_client.post(url, {"action": "relabel", ACTION_CHECKBOX_NAME: cats})
    assert page.status_code == 200 and list(page.context["form"].fields["label"].queryset.values_list(
        "name", flat=True)) == ["cats", "dogs"]
    dogs = Label.objects.get(dataset=dataset, name="dogs")
    admin_client.post(url, {"action": "relabel", ACTION_CHECKBOX_NAME: cats, "apply": "1", "label": dogs.pk})
    assert Image.objects.filter(label=dogs).count() == 10
    owls = Label.objects.get(name="owls")
    admin_client.post(url, {"action": "relabel", ACTION_CHECKBOX_NAME: cats, "apply": "1", "label": owls.pk})
    assert Image.objects.filter(label=owls).count() == 2  # a class of another dataset is not offered
    mixed = cats + list(Image.objects.filter(dataset=other).values_list("pk", flat=True))
    response = admin_client.post(url, {"action": "relabel", ACTION_CHECKBOX_NAME: mixed}, follow=True)
    assert "Select images of one dataset" in response.content.decode()


def test_delete_action_deletes_files(admin_client, team, member, media_root, django_capture_on_commit_callbacks):
    archive, _ = class_zip({"cats": 3, "dogs": 1})
    dataset = dataset_import_zip(archive=archive, user=member, name="p", team=team).dataset
    doomed = list(Image.objects.filter(label__name="cats"))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:datasets_image_changelist"), {
            "action": "delete_selected", ACTION_CHECKBOX_NAME: [i.pk for i in doomed], "post": "yes"})
    assert list(Image.objects.values_list("label__name", flat=True)) == ["dogs"]
    for image in doomed:
        assert not (media_root / image.file.name).exists() and not (media_root / image.thumbnail.name).exists()
    kept = Image.objects.get()
    assert (media_root / kept.file.name).exists() and (media_root / kept.thumbnail.name).exists()
    assert dataset.labels.count() == 2


def test_dataset_change_page_counts_and_labels_inline(admin_client, team, member, media_root,
                                                      django_capture_on_commit_callbacks):
    archive, _ = class_zip({"cats": 10, "dogs": 2})
    dataset = dataset_import_zip(archive=archive, user=member, name="p", team=team).dataset
    url = reverse("admin:datasets_dataset_change", args=[dataset.pk])
    response = admin_client.get(url)
    html = response.content.decode()
    assert "<td>cats</td><td>8</td><td>1</td><td>1</td><td>10</td>" in html and "Class imbalance" in html
    inline = response.context["inline_admin_formsets"][0].formset
    labels = {form.instance.name: form.instance for form in inline.forms if form.instance.pk}
    assert set(labels) == {"cats", "dogs"}
    dog_files = [media_root / n for n in Image.objects.filter(label__name="dogs").values_list("file", flat=True)]
    data = {"name": "p", "team": team.pk, "description": "",
            "labels-TOTAL_FORMS": "2", "labels-INITIAL_FORMS": "2", "labels-MIN_NUM_FORMS": "0",
            "labels-MAX_NUM_FORMS": "1000",
            "labels-0-id": labels["cats"].pk, "labels-0-dataset": dataset.pk, "labels-0-name": "felines",
            "labels-1-id": labels["dogs"].pk, "labels-1-dataset": dataset.pk, "labels-1-name": "dogs",
            "labels-1-DELETE": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302
    assert list(dataset.labels.values_list("name", flat=True)) == ["felines"]
    assert Image.objects.count() == 10 and not any(path.exists() for path in dog_files)


def test_import_a_zip_from_the_admin(admin_client, team):
    url = reverse("admin:datasets_dataset_import")
    assert admin_client.get(url).status_code == 200
    archive, _ = class_zip({"cats": 4, "dogs": 4})
    response = admin_client.post(url, {"name": "from admin", "team": team.pk, "archive": archive,
                                       "validation_percent": 0, "test_percent": 25}, follow=True)
    dataset = Dataset.objects.get(name="from admin")
    assert response.redirect_chain[-1][0] == reverse("admin:datasets_dataset_change", args=[dataset.pk])
    assert "Added 8 images" in response.content.decode()
    assert Image.objects.filter(dataset=dataset, split="test").count() == 2


def test_admin_import_refusal_lists_entries_and_changes_nothing(admin_client, team, media_root):
    archive = zip_bytes({"cats/a.jpg": photo_bytes(1), "dogs/inner.zip": b"PK\x03\x04"})
    before = (db_snapshot(), media_snapshot(media_root))
    response = admin_client.post(reverse("admin:datasets_dataset_import"), {
        "name": "bad", "team": team.pk, "archive": archive, "validation_percent": 5, "test_percent": 10})
    assert response.status_code == 400 and "dogs/inner.zip" in response.content.decode()
    assert (db_snapshot(), media_snapshot(media_root)) == before


def test_admin_image_page_shows_the_thumbnail(admin_client, team, member):
    archive, _ = class_zip({"cats": 1})
    dataset_import_zip(archive=archive, user=member, name="p", team=team)
    image = Image.objects.get()
    html = admin_client.get(reverse("admin:datasets_image_change", args=[image.pk])).content.decode()
    assert f'src="/media/{image.thumbnail.name}"' in html


def test_clearing_a_photos_class_in_the_admin_puts_it_back_in_the_pool(admin_client, team, member):
    archive, _ = class_zip({"cats": 1, "dogs": 1})
    dataset_import_zip(archive=archive, user=member, name="p", team=team)
    image = Image.objects.get(label__name="cats")
    url = reverse("admin:datasets_image_change", args=[image.pk])
    form = {"dataset": image.dataset_id, "label": "", "split": image.split, "original_name": image.original_name}
    assert admin_client.post(url, form).status_code == 302
    image.refresh_from_db()
    assert image.label is None
    assert list(image.changes.values_list("kind", "old", "new")) == [("label", "cats", "")]
