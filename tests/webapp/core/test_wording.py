"""Issue 27 item 14: what a few messages say (one photo is a photo; the home page's disk use says it is the whole
installation's; a refused compare: tests/webapp/experiments/test_views.py)."""

import re

import pytest
from django.urls import reverse

from tests.webapp.roles import client_as, world  # noqa: F401  (world: fixture)

pytestmark = pytest.mark.django_db


def messages_shown(html: str) -> list[str]:
    return re.findall(r'<li class="message [^"]*">(.*?)</li>', html)


def test_one_changed_photo_is_one_photo(client, world):
    dataset = world["dataset"]
    photos = list(dataset.images.filter(split="train").values_list("pk", flat=True)[:2])
    client = client_as(client, world["users"]["member"])
    url = reverse("datasets:photos_action", args=[dataset.pk])
    one = client.post(url, {"action": "flag", "scope": "selected", "image": photos[:1]}, follow=True)
    assert messages_shown(one.content.decode()) == ["Flag: 1 photo changed."]
    two = client.post(url, {"action": "exclude", "scope": "selected", "image": photos}, follow=True)
    assert messages_shown(two.content.decode()) == ["Exclude from training: 2 photos changed."]


def test_the_home_page_says_its_disk_use_is_the_whole_installations(client_for, ann, lab):
    page = client_for(ann).get(reverse("home")).content.decode()
    heading = re.search(r'<h2 id="home-disk">(.*?)</h2>', page).group(1)
    assert "the whole installation" in heading
