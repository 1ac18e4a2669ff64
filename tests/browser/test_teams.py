"""Issue 27 item 2: a superuser creates a team on the Teams page and names its first admin, who then runs it."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-browser-12345"


def log_in(page, username):
    page.goto("/accounts/login/?next=/teams/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_superuser_creates_a_team_for_its_first_admin(page, shot, django_user_model):
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    django_user_model.objects.create_user("nora", password=PASSWORD)
    log_in(page, "root")
    expect(page.get_by_role("heading", name="New team")).to_be_visible()
    expect(page.locator("tbody")).to_contain_text("No team yet: create one below.")
    page.get_by_label("Team name").fill("Birders")
    page.get_by_label("First admin").fill("nora")
    shot(page, "teams-new-team")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Team Birders")).to_be_visible()
    expect(page.locator(".message.success")).to_have_text("Created team Birders; nora is its admin.")
    expect(page.locator('#members tr[data-username="nora"]')).to_contain_text("admin")

    page.goto("/teams/")  # the same name again, in another case: refused, nothing made
    page.get_by_label("Team name").fill("birders")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator(".message.error")).to_have_text("A team named 'birders' exists already: choose another name.")
    assert Group.objects.filter(name__iexact="birders").count() == 1

    page.context.clear_cookies()
    log_in(page, "nora")  # the new admin sees the team, not the form, and manages its members
    expect(page.get_by_role("link", name="Birders")).to_be_visible()
    expect(page.get_by_role("heading", name="New team")).to_have_count(0)
    page.get_by_role("link", name="Birders").click()
    expect(page.get_by_role("heading", name="Add a member")).to_be_visible()
