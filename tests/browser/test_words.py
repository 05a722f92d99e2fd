"""Words and numbers a clerk would write (issue 11 point 8), where the page's script writes them.

* Dates, moments and phone numbers: the one JS formatter of each (pwa/app/i18n.js) writes exactly what the server's
  (server/web/formats.py, and the legal wording of server/forms/content.py) writes, on a phone set to another time
  zone; "vừa xong" for just now.
* Devices in words ("Chrome trên Android"), never the user-agent string.
* An invitation as a QR code as well as a link.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.demo import DEMO_AGENCY_CODE
from server.forms.content import time_and_date
from server.web.formats import day_text
from server.web.formats import moment_text
from server.web.formats import phone_text
from tests.browser.pwa import offline_support as app
from tests.browser.support import STEP_TIMEOUT_MS
from tests.browser.support import VirtualAuthenticator
from tests.browser.test_passkey_journeys import invite
from tests.browser.test_passkey_journeys import redeem

pytestmark = pytest.mark.browser

MOMENTS = [
    datetime(2026, 12, 2, 12, 29, tzinfo=VN_TZ),
    datetime(2026, 12, 2, 5, 29, tzinfo=UTC),  # the same moment, stored in UTC
    datetime(2026, 12, 31, 17, 5, tzinfo=UTC),  # already 1 January 2027 in Viet Nam
    datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ),  # one-digit hour and month
    datetime(2027, 1, 1, 0, 0, tzinfo=VN_TZ),  # midnight
]
PHONES = ["+84912345678", "+842437654321", "0912345678", "0912 345 678", "84987654321", "+14155550100", "+8491"]

FORMAT_JS = """async ({moments, phones}) => {
    const f = await import("/pwa/app/i18n.js");
    return {
        moments: moments.map((iso) => f.formatMoment(iso, "", {relative: false})),
        days: moments.map((iso) => f.formatDay(iso)),
        legal: moments.map((iso) => f.legalMoment(iso)),
        isoDays: ["2026-12-02", "2027-01-01"].map((day) => f.formatDay(day)),
        phones: phones.map((raw) => f.formatPhone(raw)),
        justNow: f.formatMoment(new Date(Date.now() - 20000).toISOString()),
        earlier: f.formatMoment(new Date(Date.now() - 5 * 60000).toISOString()),
    };
}"""


def _context(browser, live_server, **options):
    context = browser.new_context(base_url=live_server, locale="vi-VN", **options)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


def test_the_phone_writes_dates_moments_and_phones_as_the_server_does(browser, live_server):
    context = _context(browser, live_server, timezone_id="Europe/London")  # not Viet Nam's: formats must not care
    try:
        page = context.new_page()
        page.goto("/")
        written = page.evaluate(FORMAT_JS, {"moments": [m.isoformat() for m in MOMENTS], "phones": PHONES})
    finally:
        context.close()
    assert written["moments"] == [moment_text(m) for m in MOMENTS]
    assert written["moments"][0] == "12:29, 02/12/2026" and written["moments"][2] == "00:05, 01/01/2027"
    assert written["days"] == [day_text(m) for m in MOMENTS]
    assert written["legal"] == [time_and_date(m) for m in MOMENTS]
    assert written["isoDays"] == ["02/12/2026", "01/01/2027"] == [day_text("2026-12-02"), day_text("2027-01-01")]
    assert written["phones"] == [phone_text(p) for p in PHONES]
    assert written["phones"][:2] == ["0912 345 678", "024 3765 4321"]
    assert written["justNow"] == "vừa xong"
    local = datetime.now(VN_TZ) - timedelta(minutes=5)
    assert written["earlier"] in {moment_text(local), moment_text(local - timedelta(minutes=1))}


ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Mobile Safari/537.36")


def test_devices_are_named_in_words_not_by_their_user_agent(browser, live_server):
    context = _context(browser, live_server, user_agent=ANDROID_CHROME, timezone_id="Asia/Ho_Chi_Minh")
    try:
        page = context.new_page()
        VirtualAuthenticator(page)
        app.enrol_officer(page, app.invite_officer("Phan Thị Ngọc"))
        page.goto("/account/devices")
        item = page.locator("#device-list li").first
        expect(item.locator(".user-agent")).to_have_text("Chrome trên Android")
        assert "Mozilla" not in page.locator("main").inner_text()
        # A moment a minute old or less is "vừa xong", not a date.
        expect(item).to_contain_text("vừa xong")
    finally:
        context.close()


def test_an_invitation_is_shown_as_a_qr_code_as_well_as_a_link(new_page, add_authenticator, live_server):
    admin_page = new_page()
    add_authenticator(admin_page)
    redeem(admin_page, invite(Role.ADMIN, "Đỗ Quản Trị"))
    admin_page.wait_for_url(f"{live_server}/admin/people")
    admin_page.locator("#invite-form").get_by_label("Vai trò").select_option("officer")
    for label, value in {"Mã phường": DEMO_AGENCY_CODE, "Họ tên người được mời": "Ngô Thị Mai"}.items():
        admin_page.locator("#invite-form").get_by_label(label).fill(value)
    admin_page.get_by_role("button", name="Tạo lời mời").click()
    link = admin_page.locator("#invite-result input").input_value()
    qr = admin_page.locator("#invitation-qr svg.qr")
    expect(qr).to_be_visible()
    assert qr.get_attribute("data-text") == link and "/invite/" in link
    expect(qr).to_have_attribute("aria-label", "Mã QR của liên kết mời Ngô Thị Mai")
