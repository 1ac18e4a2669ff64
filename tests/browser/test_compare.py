"""The compare page shows the settings that differ highlighted and the best job per metric marked."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.webapp.experiments.conftest import make_dataset, succeed_job
from webapp.experiments import services
from webapp.experiments.models import Evaluation

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-browser-12345"


def test_compare_highlights_differences_and_the_best_job(page, shot, django_user_model):
    team = Group.objects.create(name="lab")
    ann = django_user_model.objects.create_user("ann", password=PASSWORD)
    ann.groups.add(team)
    dataset = make_dataset("pets", team)
    jobs = [succeed_job(services.job_create(dataset=dataset, user=ann, backbone="vgg16", weights="none",
                                            recipe="article", head_config={"keep_best": keep}))
            for keep in (False, True)]
    Evaluation.objects.filter(job=jobs[1]).update(accuracy=0.9)
    page.goto(f"/accounts/login/?next=/jobs/compare/?jobs={jobs[0].pk}%26jobs={jobs[1].pk}")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    row = page.locator("#compare-table tr", has=page.get_by_role("rowheader", name="Keep best epoch"))
    expect(row).to_have_class("row-setting differs")
    page.wait_for_load_state("load")  # the page after the login redirect may still wait for its stylesheet
    assert row.evaluate("r => getComputedStyle(r.cells[1]).backgroundColor") != "rgba(0, 0, 0, 0)"
    best = page.locator("#compare-table tr", has=page.get_by_role("rowheader", name="Test accuracy")).locator("td.best")
    expect(best).to_have_count(1)
    expect(best).to_contain_text("90.0% best")
    tie = page.locator("#compare-table tr", has=page.get_by_role("rowheader", name="Test macro-F1"))
    expect(tie.locator("td.best")).to_have_count(0)  # equal for both: neither is better
    shot(page, "compare")
