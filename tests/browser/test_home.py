"""The home page keeps its running and waiting jobs and its workers current by polling (no reload)."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import FAST_JOB, make_dataset
from webapp.experiments import services
from webapp.workers_registry.models import Worker

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-browser-12345"


def test_the_home_page_shows_a_new_job_and_a_worker_coming_online_without_a_reload(page, shot, django_user_model):
    team = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(team)
    dataset = make_dataset("pets", team=team, per_class=4)
    page.goto("/accounts/login/?next=/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    live = page.locator("#home-live-jobs tbody")
    expect(live).to_contain_text("No job is running or waiting")
    expect(page.locator('#home-queues [data-queue="train"]')).to_contain_text("no worker online")
    page.evaluate("window.__sameDocument = true")

    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB)
    now = timezone.now()
    Worker.objects.create(name="train@box", host="box", pid=1, queues=["train"], ready=True, started_at=now,
                          last_seen=now)
    expect(live.get_by_role("link", name=f"#{job.pk}")).to_be_visible(timeout=30_000)
    expect(live).to_contain_text("Queued")
    expect(page.locator('#home-queues [data-queue="train"]')).to_contain_text("1 online (train@box)")
    assert page.evaluate("window.__sameDocument") is True
    shot(page, "home")
