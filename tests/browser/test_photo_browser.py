"""Issue "Curation" item 2 in a real browser: filter the photo browser, select all photos matching the filter,
relabel them in one action; the keyboard moves between photos, selects and opens them."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.webapp.roles import photos_dataset
from webapp.datasets.models import Image, ImageChange

pytestmark = pytest.mark.browser
PASSWORD = "pw-browser-12345"


@pytest.fixture
def dataset(transactional_db, django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATASETS_PHOTOS_PER_PAGE = 4  # the matching photos span several pages
    lab = Group.objects.create(name="lab")
    django_user_model.objects.create_user("mel", password=PASSWORD).groups.add(lab)
    return photos_dataset("pets", lab, per_class=6)


def log_in(page):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("mel")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_select_all_matching_then_relabel(page, dataset, shot):
    log_in(page)
    page.goto(dataset.get_absolute_url())
    page.get_by_label("Class", exact=True).first.select_option(label="cat")
    page.get_by_label("Split", exact=True).first.select_option(label="Train")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#photo-count")).to_contain_text("4 photos match")
    page.get_by_label("all 4 matching the filter").check()
    page.locator("#photo-action").select_option("relabel")
    page.locator("#to-label").select_option(label="emu")
    shot(page, "photo-browser-relabel")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".message.success")).to_contain_text("4 photos changed")
    assert Image.objects.filter(dataset=dataset, label__name="emu").count() == 10
    assert Image.objects.filter(dataset=dataset, label__name="cat").count() == 2
    assert ImageChange.objects.filter(kind="label", old="cat", new="emu").count() == 4


def test_the_keyboard_moves_selects_and_opens(page, dataset):
    log_in(page)
    page.goto(dataset.get_absolute_url())
    boxes = page.locator("#photo-grid input[type=checkbox]")
    boxes.first.focus()
    page.keyboard.press("ArrowRight")
    expect(boxes.nth(1)).to_be_focused()
    page.keyboard.press("Space")
    expect(boxes.nth(1)).to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("1")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator("#photo-label")).to_have_text("cat")
