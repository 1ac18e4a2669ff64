"""Item 9 of "Hardening": the Content-Security-Policy allows no inline script and no eval, and every page still
works, Plotly charts included (the `page` fixture fails a test on any reported violation)."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.webapp.experiments.conftest import make_dataset, succeed_job
from webapp.experiments import services

pytestmark = pytest.mark.browser
HEAD = {"epochs": 3, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}


@pytest.fixture
def jobs(transactional_db, django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    lab = Group.objects.create(name="lab")
    root = django_user_model.objects.create_superuser("root", password="pw-browser-12345")
    root.groups.add(lab)
    dataset = make_dataset("pets", lab, per_class=3)
    return [succeed_job(services.job_create(dataset=dataset, user=root, backbone="mobilenet_v2", weights="none",
                                            pooling="avg", input_size=32, head_config=HEAD)) for _ in range(2)]


def log_in(page):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("pw-browser-12345")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_pages_and_plotly_charts_work_under_the_policy(page, jobs):
    log_in(page)
    first, second = jobs
    page.goto(first.get_absolute_url())
    expect(page.locator("#accuracy-chart .scatterlayer .trace")).not_to_have_count(0)
    expect(page.locator("#confusion-chart .heatmaplayer")).to_have_count(1)
    page.goto(f"/jobs/compare/?jobs={first.pk}&jobs={second.pk}")
    expect(page.locator(".main-svg").first).to_be_attached()
    for url in ("/", "/datasets/", f"/datasets/{first.dataset_id}/", "/jobs/", "/jobs/new/", "/predict/",
                "/api/token/", "/admin/", f"/admin/datasets/dataset/{first.dataset_id}/change/"):
        page.goto(url)
        expect(page.locator("main, #content").first).to_be_visible()
        assert page.csp_violations() == [], url


def test_an_injected_inline_script_is_blocked_and_reported(page, jobs):
    log_in(page)
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.appendChild(script);
    }""")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.injected") is None
    assert any(v.startswith("script-src") for v in page.csp_violations())
    page.clear_csp_violations()  # expected here; the fixture fails the test on any other
