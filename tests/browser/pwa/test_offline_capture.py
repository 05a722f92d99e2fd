"""Home visits with no network, in real Chromium: capture, receipt, outbox, and what the server finally stores.

Every test compares the server's rows and files with what the phone held, byte for byte: a dossier or a photo
lost, doubled or altered on the way fails it.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from playwright.sync_api import expect

from server import pwa_routes
from server.calendar.workdays import to_local
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.conftest import PageProblems
from tests.browser.conftest import _chromium_path
from tests.browser.pwa import offline_support as app
from tests.browser.pwa.conftest import worker_version
from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.browser.support import STEP_TIMEOUT_MS

pytestmark = pytest.mark.browser


def launch_phone(playwright, profile, base_url):
    """A phone's browser with a profile on disk: what it stores survives closing it."""
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=_chromium_path(), args=CHROMIUM_ARGS, headless=True, base_url=base_url,
        locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


def page_of(context, problems: PageProblems):
    page = context.pages[0] if context.pages else context.new_page()
    problems.watch(page)
    return page


def test_three_dossiers_captured_offline_survive_a_reload_and_a_closed_browser(playwright, live_server, tmp_path):
    """9a and 9g: three dossiers with two photos each, offline, reload, relaunch, then the network comes back."""
    profile = tmp_path / "phone"
    problems = PageProblems()
    context = launch_phone(playwright, profile, live_server)
    page = page_of(context, problems)
    app.set_up_officer(page)

    app.go_offline(context)
    receipts = app.capture_several(page, ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"], 1)
    assert all(not r["provisional"] for r in receipts)
    assert len({r["code"] for r in receipts}) == 3
    expect(page.locator("#sync-summary")).to_contain_text("Chờ gửi: 3 hồ sơ")

    page.reload()
    expect(page.locator("body[data-ready='true']")).to_have_count(1)
    app.wait_until_queued(page, 3)
    photos = app.phone_photos(page)
    assert len(photos) == 6
    assert app.server_dossiers() == []
    context.close()

    context = launch_phone(playwright, profile, live_server)
    app.go_offline(context)
    page = page_of(context, problems)
    app.open_app(page)
    app.wait_until_queued(page, 3)
    app.go_online(context)  # the `online` event starts the flush
    app.wait_until_synced(page, 3)
    app.assert_server_matches(receipts, photos)

    # Confirmed: the phone keeps the code, the status and the receipt, not the personal data or the photos.
    left = app.outbox(page)
    assert left["photos"] == []
    assert all(d["payload"] is None and not d["has_form"] for d in left["dossiers"])
    assert sorted(d["receipt"]["code"] for d in left["dossiers"]) == sorted(r["code"] for r in receipts)
    expect(page.locator("#sync-summary")).to_have_text("Không có hồ sơ chờ gửi.")
    context.close()
    assert problems.items == []


def test_a_lost_response_makes_the_phone_send_again_and_the_server_store_once(officer_phone):
    """9c: the server stores the dossier but the answer never reaches the phone; the retry is recognised."""
    page = officer_phone
    context = page.context
    app.go_offline(context)
    receipt = app.capture_dossier(page, "Phạm Thị Dung", (41, 42))
    photos = app.phone_photos(page)

    answered = []

    def lose_first_answer(route):
        if route.request.method == "PUT" and not answered:
            response = route.fetch()  # the server receives and stores it...
            answered.append(response.status)
            route.abort("connectionreset")  # ...and the phone never hears back
        else:
            route.fallback()

    context.route("**/api/v1/dossiers/*", lose_first_answer)
    page.evaluate("delete document.body.dataset.lastFlush")
    app.go_online(context)
    # Until the try that reached the server has ended: a try begun while offline may end first, also "offline".
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
    ended = "() => document.body.dataset.lastFlush === 'offline' && !document.body.dataset.flushing"
    while not (answered and page.evaluate(ended)):  # what the phone concluded
        assert time.monotonic() < deadline, f"no try reached the server and ended: {answered}"
        page.wait_for_timeout(100)
    assert answered == [201]
    assert app.statuses(page) == ["queued"]  # the phone cannot know: it keeps the dossier and tries again

    app.sync_now(page)
    app.wait_until_synced(page, 1)
    app.assert_server_matches([receipt], photos)


def test_an_expired_session_pauses_the_outbox_until_the_officer_signs_in(officer_phone):
    """9d: capture works with the session gone; the flush stops at 401 and resumes after a passkey sign-in."""
    page = officer_phone
    context = page.context
    app.go_offline(context)
    context.clear_cookies(name="session")  # the session is gone, as after an expiry; the phone's device cookie stays
    receipt = app.capture_dossier(page, "Hoàng Văn Em", (51, 52))
    photos = app.phone_photos(page)

    app.go_online(context)
    expect(page.locator("#signed-out")).to_be_visible()
    page.wait_for_function("() => document.body.dataset.lastFlush === 'signed_out'")
    assert app.statuses(page) == ["queued"]
    assert app.server_dossiers() == []

    page.get_by_role("button", name="Đăng nhập bằng khóa truy cập (passkey)").click()
    app.wait_until_synced(page, 1)
    expect(page.locator("#signed-out")).to_be_hidden()
    app.assert_server_matches([receipt], photos)


def test_a_refused_dossier_waits_in_quarantine_with_the_reason_and_is_fixed_and_resent(officer_phone):
    """9e: a 422 puts the dossier in quarantine with the server's reason; the officer fixes it and it goes."""
    page = officer_phone
    context = page.context
    app.go_offline(context)
    receipt = app.capture_dossier(page, "Vũ Thị Giang", (61, 62))
    app.go_home(page)

    # Meanwhile the procedure stopped being in force at the ward (the phone's catalogue is a day old).
    app.withdraw_today("tro-cap-huu-tri-xa-hoi")

    app.go_online(context)
    quarantined = page.locator("#quarantine-list li")
    expect(quarantined).to_have_count(1)
    expect(quarantined).to_contain_text("Thủ tục không có hiệu lực vào ngày tiếp nhận.")
    assert app.statuses(page) == ["quarantined"]
    assert app.server_dossiers() == []

    quarantined.get_by_role("button", name="Sửa và gửi lại").click()
    expect(page.locator("#view-capture")).to_be_visible()
    expect(page.locator("#capture-errors")).to_contain_text("Thủ tục không có hiệu lực")
    page.get_by_role("textbox", name="Tìm thủ tục").fill("tro cap xa hoi hang thang")
    page.locator("#procedure-results label", has_text="thôi hưởng trợ cấp xã hội hàng tháng").first.click()
    for box in page.locator("#documents input[name$='.ticked']").all():
        box.check()
    app.finish_capture(page)  # through the review (issue 11.7)
    expect(page.locator("#view-receipt")).to_be_visible()
    assert page.locator("#receipt-code").inner_text().strip() == receipt["code"]  # the citizen's code stays

    app.sync_now(page)
    app.wait_until_synced(page, 1)
    [dossier] = app.server_dossiers()
    assert dossier.code == receipt["code"]
    assert dossier.procedure_version.procedure.key == "tro-cap-xa-hoi-hang-thang"
    assert to_local(dossier.due_at) == datetime.fromisoformat(page.locator("#receipt-due").get_attribute("data-iso"))
    expect(page.locator("#quarantine")).to_be_hidden()


def test_dossiers_waiting_survive_a_new_app_version_and_sync_after_it(officer_phone, monkeypatch):
    """9f: a deploy while dossiers wait: the officer accepts the update, the outbox is intact and syncs."""
    page = officer_phone
    context = page.context
    app.go_offline(context)
    receipts = [app.capture_dossier(page, "Đỗ Văn Hùng", (71, 72), personal_id=app.owner_id(71))]
    app.go_home(page)
    receipts.append(app.capture_dossier(page, "Ngô Thị Lan", (73, 74), personal_id=app.owner_id(73)))
    photos = app.phone_photos(page)

    # Back online, but the API is unreachable (a proxy hiccup): nothing leaves while the new version arrives.
    context.route("**/api/**", lambda route: route.abort("connectionrefused"))
    app.go_online(context)
    monkeypatch.setattr(pwa_routes, "shell_version", lambda: "test-new-version")
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    # The page reloads on the new version. Waited for by the old document's mark going away rather than with
    # expect_navigation, which once caught a navigation Chromium aborted and retried while the worker took over.
    page.evaluate("document.body.dataset.oldDocument = 'true'")
    page.get_by_role("button", name="Cập nhật").click()
    expect(page.locator("body[data-old-document]")).to_have_count(0)
    expect(page.locator("body[data-ready='true']")).to_have_count(1)
    assert worker_version(page) == "test-new-version"
    assert app.statuses(page) == ["queued", "queued"]

    context.unroute("**/api/**")
    app.sync_now(page)
    app.wait_until_synced(page, 2)
    app.assert_server_matches(receipts, photos)
