"""Real-browser fixtures: the app served on ``http://localhost:<port>``, headless Chromium, virtual authenticators.

WebAuthn refuses IP origins, so the live server is reached as ``localhost`` (not 127.0.0.1), and the relying party
id and origin of the app are set to match. Chromium comes from Debian (``/usr/bin/chromium`` or ``CHROMIUM_PATH``);
Playwright's own build is used only where that path does not exist (a developer laptop).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from waitress.server import create_server

from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.browser.support import STEP_TIMEOUT_MS
from tests.browser.support import VirtualAuthenticator

# Lets the tests see and route the service worker's own requests (Background Sync sends the outbox from there).
# Without it a worker started while the context is offline may reach the network: see go_offline() in
# tests/browser/pwa/offline_support.py. Read by Playwright's driver when it starts, hence set at import.
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    return path if Path(path).exists() else None


@pytest.fixture(scope="session")
def playwright():
    from playwright.sync_api import expect
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright):
    """One headless Chromium for the whole session (each test gets fresh contexts)."""
    browser = playwright.chromium.launch(executable_path=_chromium_path(), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def live_server(app):
    """The test's app served by waitress (as `./dev run` serves it) in a background thread; yields its base URL
    (``http://localhost:<port>``).

    Waitress rather than the development server: it closes every response, even one whose client went away
    mid-way (a context closed while its service worker was still precaching); the development server left such
    files open for the garbage collector to report in some later test.
    """
    server = create_server(app, listen="127.0.0.1:0", threads=8)
    base_url = f"http://localhost:{server.effective_port}"
    app.config["WEBAUTHN_RP_ID"] = "localhost"
    app.config["WEBAUTHN_ORIGINS"] = [base_url]
    stopping = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            if not stopping.is_set():  # closing the sockets under the loop at shutdown is expected to upset it
                raise

    thread = threading.Thread(target=serve, name="live-server", daemon=True)
    thread.start()
    yield base_url
    stopping.set()
    # Requests still in flight finish before the database is emptied for the next test; then every socket (the
    # listening one and each client's) is closed, which empties the loop's map and ends it.
    server.task_dispatcher.shutdown(timeout=SLOW_MACHINE_TIMEOUT_S)
    for channel in list(server._map.values()):
        channel.handle_close()
    thread.join(timeout=SLOW_MACHINE_TIMEOUT_S)


class PageProblems:
    """Uncaught script errors and Content-Security-Policy violations seen by a page: a test ends with none."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.items.append(f"page error: {error}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.items.append(f"CSP: {message.text}")


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a fresh browser context (its own cookies: another person or phone)."""
    contexts = []
    problems = PageProblems()

    def open_page(locale: str = "vi-VN"):
        context = browser.new_context(base_url=live_server, locale=locale, timezone_id="Asia/Ho_Chi_Minh")
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert problems.items == [], problems.items


@pytest.fixture
def page(new_page):
    """A page in a fresh context."""
    return new_page()


@pytest.fixture
def add_authenticator():
    """``add_authenticator(page)`` gives the page a virtual authenticator with user verification."""
    return VirtualAuthenticator
