"""Issue 11, point 4: the officer's app is honest about the network. It starts from what the phone holds whatever
the network does, every probe of the server has a timeout, and the status bar tells offline, online and signed out
apart in words; "signed out" only after the server really answered 401."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth import services
from server.auth.models import User
from server.extensions import db
from tests.browser.pwa import offline_support as app
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

    app.go_offline(page.context)
    expect(connection(page)).to_contain_text(OFFLINE)  # the browser's "offline" event, before any probe

    page.reload()  # a relaunch with no network: the worker answers, the app opens from IndexedDB
    expect(page.locator("body[data-ready='true']")).to_have_count(1)
    expect(connection(page)).to_contain_text(OFFLINE)
    page.wait_for_function("() => document.body.dataset.lastFlush === 'offline'")  # the flush concluded too...
    expect(connection(page)).to_contain_text(OFFLINE)
    expect(page.locator("#signed-out")).to_be_hidden()  # ...and the session is not called expired
    assert_main_button_works(page)

    app.go_online(page.context)
    expect(connection(page)).to_have_text(ONLINE)


def test_on_a_connection_that_never_answers_the_app_starts_and_says_no_network(officer_phone):
    """Lie-fi: every request Playwright can hold (the page's API calls, the worker's own fetches) reaches a network
    that never answers. The navigation itself is not held (Playwright does not see the browser's navigation preload
    request): bench/app_load.py measures a server that answers nothing at all, navigation included."""
    page = officer_phone
    context = page.context
    hanging = []

    def never_answer(route) -> None:
        hanging.append(route)  # neither fulfilled nor aborted: the request waits, as on lie-fi

    context.route("**/*", never_answer)
    try:
        page.reload()
        expect(page.locator("body[data-ready='true']")).to_have_count(1)
        # The session probe gives up after PROBE_TIMEOUT_MS: no network, not signed out.
        expect(connection(page)).to_contain_text(OFFLINE)
        expect(page.locator("#signed-out")).to_be_hidden()
        assert any(route.request.url.endswith("/api/v1/session") for route in hanging)  # it was the lie-fi
        assert_main_button_works(page)
    finally:
        context.unroute("**/*", never_answer)
        for route in hanging:  # let go of every request still held, so that nothing outlives the test
            try:
                route.abort("connectionreset")
            except PlaywrightError:
                pass  # its page or worker went away meanwhile


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
