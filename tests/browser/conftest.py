"""Playwright driving Debian's chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest

from tests.shared import REPO_DIR

CHROMIUM = "/usr/bin/chromium"
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(
    e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


def artifacts_dir() -> Path:
    """Screenshots go here (env MENAGERIE_TEST_ARTIFACTS, default test-artifacts/ in the repo, git-ignored)."""
    path = Path(os.environ.get("MENAGERIE_TEST_ARTIFACTS") or REPO_DIR / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        reason = f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("MENAGERIE_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the main thread; the test's ORM calls are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, settings):
    """A fresh browser context; requests leaving the live server are blocked (the app must work offline).
    Pages poll their status endpoints at least every second (static/js/poll.js), not at their back-off."""
    settings.POLL_MAX_MS = 1000
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(30_000)
    outside = []

    def guard(route):
        if route.request.url.startswith(live_server.url) or route.request.url.startswith(("data:", "blob:")):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    context.route("**/*", guard)
    # Every page reports Content-Security-Policy violations (blocked scripts, styles, eval) into a list.
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    errors, csp_console = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: "Content Security Policy" in message.text and csp_console.append(message.text))
    page.outside_requests = outside
    page.js_errors = errors
    page.csp_violations = lambda: page.evaluate("window.__cspViolations || []") + csp_console

    def clear_csp_violations():  # for a test that provokes one on purpose
        csp_console.clear()
        page.evaluate("window.__cspViolations = []")

    page.clear_csp_violations = clear_csp_violations
    yield page
    violations = csp_console + (page.evaluate("window.__cspViolations || []") if not page.is_closed() else [])
    context.close()
    assert not outside, f"requests left the server: {outside}"
    assert not errors, f"JavaScript errors: {errors}"
    assert not violations, f"Content-Security-Policy violations: {violations}"


@pytest.fixture
def shot():
    """shot(page, "name") saves a full-page screenshot as a test artifact."""
    folder = artifacts_dir()

    def save(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
