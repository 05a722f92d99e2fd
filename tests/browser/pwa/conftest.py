"""Fixtures for the installable app's browser tests: a page on the officer's shell, controlled by the worker.

The browser, the live server and ``new_page`` (a page in a fresh context that fails the test on script errors and
CSP violations) come from ``tests/browser/conftest.py``.
"""

from __future__ import annotations

import pytest

#: Resolves with the version the page's controlling worker runs (it answers the "version" message).
WORKER_VERSION_JS = """async (target) => {
    const container = navigator.serviceWorker;
    const registration = await container.getRegistration();
    const worker = target === "waiting" ? registration.waiting : container.controller;
    if (!worker) return null;
    return new Promise((resolve) => {
        const listen = (event) => {
            if (event.data && event.data.type === "version") {
                container.removeEventListener("message", listen);
                resolve(event.data.version);
            }
        };
        container.addEventListener("message", listen);
        container.startMessages();
        worker.postMessage({type: "version"});
    });
}"""


STATE_JS = (
    "() => navigator.serviceWorker.getRegistration().then((r) => r ? {installing: r.installing && r.installing.state,"
    " waiting: r.waiting && r.waiting.state, active: r.active && r.active.state,"
    " controller: navigator.serviceWorker.controller !== null} : null)"
)


def wait_for_controller(page) -> None:
    """Until a service worker controls the page (first install: after its activation claimed the page).

    On a timeout the failure says where the worker stopped (a failed install leaves no worker at all), so that a
    slow machine and a broken install can be told apart.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    except PlaywrightTimeout:
        raise AssertionError(f"no service worker controls the page: {page.evaluate(STATE_JS)}") from None


def wait_for_offline_shell(page) -> None:
    """Until the worker says the officer's shell is cached (/app asks for it: issue 11 point 9), i.e. /app would
    open with no network. A worker installed by another page (the enrolment page) fetches it only then."""
    from playwright.sync_api import expect

    expect(page.locator("body[data-offline-ready='true']")).to_have_count(1)


def worker_version(page, target: str = "controller") -> str | None:
    """The VERSION of the controlling (or the waiting) worker."""
    return page.evaluate(WORKER_VERSION_JS, target)


def cache_names(page) -> list[str]:
    return sorted(page.evaluate("caches.keys()"))


@pytest.fixture
def shell_page(new_page):
    """A page on /app, controlled by the service worker (so the shell is precached)."""
    page = new_page()
    page.goto("/app")
    wait_for_controller(page)
    wait_for_offline_shell(page)
    return page


@pytest.fixture
def officer_phone(new_page):
    """A phone whose officer enrolled with a passkey, opened the app and downloaded the day, still online."""
    from tests.browser.pwa.offline_support import set_up_officer

    page = new_page()
    set_up_officer(page)
    return page
