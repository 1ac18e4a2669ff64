"""The one polling helper (static/js/poll.js): waits longer while an answer does not change, and never longer
than the installation's cap (settings.POLL_MAX_MS, which the browser tests set to 1 s)."""

import pytest
from django.contrib.auth.models import Group

from tests.factories import FAST_JOB, make_dataset
from webapp.experiments import services

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-browser-12345"


RECORD_POLLS = """
window.__polls = [];
window.__answered = [];
const realFetch = window.fetch;
window.fetch = function (url, options) {
  const answer = realFetch.call(this, url, options);
  if (!String(url).includes("/status/")) return answer;
  window.__polls.push(performance.now());
  return answer.finally(() => window.__answered.push(performance.now()));
};
"""


def _queued_job_page(page, django_user_model):
    team = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(team)
    job = services.job_create(dataset=make_dataset("polls", team=team, per_class=4), user=ann, **FAST_JOB)
    page.context.add_init_script(RECORD_POLLS)
    page.goto(f"/accounts/login/?next=/jobs/{job.pk}/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return job


def _poll_gaps(page, count):
    """The waits (ms) between each of the job page's first `count` polls of its status endpoint being answered and
    the next poll (no worker runs, so every answer is the same); the server's answering time is not part of them."""
    page.wait_for_function("(count) => window.__polls && window.__polls.length >= count", arg=count, timeout=20_000)
    asked, answered = page.evaluate("[window.__polls, window.__answered]")
    return [asked[i + 1] - answered[i] for i in range(count - 1)]


def test_an_unchanged_answer_is_asked_for_less_and_less_often(page, settings, django_user_model):
    settings.POLL_MAX_MS = 0  # the job page's own back-off: 1 s, then 1.5x per unchanged answer
    _queued_job_page(page, django_user_model)
    gaps = _poll_gaps(page, 4)
    assert gaps[1] > 1.2 * gaps[0] and gaps[2] > 1.2 * gaps[1], gaps


def test_the_installation_caps_the_wait_between_polls(page, settings, django_user_model):
    settings.POLL_MAX_MS = 200
    _queued_job_page(page, django_user_model)
    assert page.locator("body").get_attribute("data-poll-max-ms") == "200"
    gaps = _poll_gaps(page, 6)
    assert max(gaps) < 900, gaps  # uncapped, the fifth gap alone would be 1 s x 1.5^4 = 5 s
