"""Issue 11, point 4: the officer's app is honest about the network. It starts from what the phone holds whatever
the network does, every probe of the server has a timeout, and the status bar tells offline, online and signed out
apart in words; "signed out" only after the server really answered 401."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth import services
from server.auth.models import User
from server.extensions import db
from tests.browser.pwa import offline_support as app_support
from tests.browser.support import fresh

pytestmark = pytest.mark.browser

OFFLINE = "Không có mạng"
ONLINE = "Có mạng."
SIGNED_OUT = "Đã đăng xuất"


def connection(page):
    return page.locator("#connection")


def assert_main_button_works(page) -> None:
    """The officer's main button opens a new dossier, from the phone's own data."""
    page.get_by_role("button", name="Nhập hồ sơ mới").click()
    expect(page.locator("#view-capture")).to_be_visible()
    expect(page.get_by_role("textbox", name="Tìm thủ tục")).to_be_visible()


def test_with_the_network_cut_the_app_says_no_network_not_signed_out(officer_phone):
    page = officer_phone
    expect(connection(page)).to_have_text(ONLINE)

    app_support.go_offline(page.context)
    expect(connection(page)).to_contain_text(OFFLINE)  # the browser's "offline" event, before any probe

    page.reload()  # a relaunch with no network: the worker answers, the app opens from IndexedDB
    expect(page.locator("body[data-ready='true']")).to_have_count(1)
    expect(connection(page)).to_contain_text(OFFLINE)
    page.wait_for_function("() => document.body.dataset.lastFlush === 'offline'")  # the flush concluded too...
    expect(connection(page)).to_contain_text(OFFLINE)
    expect(page.locator("#signed-out")).to_be_hidden()  # ...and the session is not called expired
    assert_main_button_works(page)

    app_support.go_online(page.context)
    expect(connection(page)).to_have_text(ONLINE)


def test_on_a_connection_that_never_answers_the_app_starts_at_once_and_says_no_network(new_page, app):
    """Lie-fi: the server accepts every request, the navigation to /app included, and answers none. The app must
    start from what the phone holds without waiting for any answer. The worker here is given a navigation timeout
    of ten minutes, so an app that waited for the network before showing its cached shell would fail this test
    rather than start late."""
    page = new_page()
    patched = []

    def patient_worker(route) -> None:
        response = route.fetch()
        source = response.text()
        patient = source.replace("const NAVIGATION_TIMEOUT_SECONDS = 4;", "const NAVIGATION_TIMEOUT_SECONDS = 600;")
        patched.append(patient != source)
        route.fulfill(response=response, body=patient)

    page.context.route("**/pwa/sw/config.js", patient_worker)
    app_support.set_up_officer(page)
    assert patched and all(patched)  # the worker that controls the page really has the long timeout

    held = []
    with server_that_never_answers(app, held):
        page.reload()
        expect(page.locator("body[data-ready='true']")).to_have_count(1)
        # The session probe gives up after PROBE_TIMEOUT_MS: no network, not signed out.
        expect(connection(page)).to_contain_text(OFFLINE)
        expect(page.locator("#signed-out")).to_be_hidden()
        assert "/app" in held and "/api/v1/session" in held  # both reached a server that never answered
        assert_main_button_works(page)


def test_a_language_chosen_since_is_the_language_of_the_next_launch_even_on_lie_fi(officer_phone, app):
    """The worker serves its cached shell at once, but a copy rendered in Vietnamese must not come back after the
    officer chose English: the switch goes to the network, and the English copy is what starts the next launch,
    on a connection that answers nothing too."""
    page = officer_phone
    expect(page.get_by_role("button", name="Nhập hồ sơ mới")).to_be_visible()

    for code, main_button in (("en", "Capture a new dossier"), ("vi", "Nhập hồ sơ mới")):
        page.goto(f"/language/{code}?next=/app")
        expect(page.locator("html")).to_have_attribute("lang", code)
        expect(page.get_by_role("button", name=main_button)).to_be_visible()
        held = []
        with server_that_never_answers(app, held):
            page.reload()
            expect(page.locator("body[data-ready='true']")).to_have_count(1)
            expect(page.locator("html")).to_have_attribute("lang", code)
            expect(page.get_by_role("button", name=main_button)).to_be_visible()
            assert "/app" in held  # the page above came from the phone, not from the server


@contextmanager
def server_that_never_answers(app, held: list[str]):
    """The test server holds every request it receives (its path goes to ``held``) until the block ends. Done on
    the server side: Playwright's routes do not see the navigation preload request the browser makes for /app."""
    release = threading.Event()
    wsgi_app = app.wsgi_app

    def never_answer(environ, start_response):
        held.append(environ["PATH_INFO"])
        release.wait()
        return wsgi_app(environ, start_response)

    app.wsgi_app = never_answer
    try:
        yield
    finally:
        app.wsgi_app = wsgi_app
        release.set()


def test_a_session_ended_on_the_server_says_signed_out_and_capture_still_works(officer_phone):
    page = officer_phone
    fresh()
    officer = db.session.scalar(select(User).where(User.display_name == "Cán bộ thử nghiệm"))
    services.sign_out_everywhere(officer)  # e.g. from another device: this phone's session cookie is now refused
    db.session.commit()

    page.reload()
    expect(connection(page)).to_contain_text(SIGNED_OUT)
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.get_by_role("button", name="Đăng nhập bằng khóa truy cập (passkey)")).to_be_visible()
    assert_main_button_works(page)
