"""When a job ends, its browser tab says so: the title, and a desktop notification where the user allowed them
(granted in the browser context; the page's own Notification calls are recorded)."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.factories import FAST_JOB, make_dataset
from webapp.experiments import services

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-browser-12345"
RECORD_NOTIFICATIONS = """
(function () {
  var Real = window.Notification;
  function Recorded(title, options) {
    var shown = JSON.parse(sessionStorage.getItem("notifications") || "[]");
    shown.push([title, (options || {}).body]);
    sessionStorage.setItem("notifications", JSON.stringify(shown));
    return new Real(title, options);
  }
  Object.defineProperty(Recorded, "permission", { get: function () { return Real.permission; } });
  Recorded.requestPermission = Real.requestPermission.bind(Real);
  window.Notification = Recorded;
})();
"""


def test_the_tab_title_and_a_notification_say_that_the_job_ended(page, live_server, django_user_model):
    team = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(team)
    job = services.job_create(dataset=make_dataset("tabs", team=team, per_class=4), user=ann, **FAST_JOB)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    page.goto(f"/accounts/login/?next=/jobs/{job.pk}/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_title(f"0% queued · Job #{job.pk} · Menagerie", timeout=30_000)

    assert services.job_fail(job_id=job.pk, message="The weights are missing.")  # no worker runs: end it here
    expect(page).to_have_title(f"Failed · Job #{job.pk} · Menagerie", timeout=30_000)
    shown = page.evaluate("JSON.parse(sessionStorage.getItem('notifications') || '[]')")
    assert shown == [[f"Job #{job.pk} failed", "The weights are missing."]]


def test_the_job_page_offers_to_ask_for_notifications(page, live_server, django_user_model):
    team = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(team)
    job = services.job_create(dataset=make_dataset("ask", team=team, per_class=4), user=ann, **FAST_JOB)
    page.goto(f"/accounts/login/?next=/jobs/{job.pk}/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.evaluate("Notification.permission") == "default"  # a fresh context has not answered yet
    # shown by job_detail.js, which runs after Plotly (deferred): give a loaded machine time
    expect(page.get_by_role("button", name="Notify me when it ends")).to_be_visible(timeout=30_000)
