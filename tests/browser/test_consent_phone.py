"""The consents page offers Zalo and SMS once the ward configured them: a mobile number field prefilled with the
citizen's own checked number, a clear error for a number that cannot receive them or is not theirs, and without a
checked number a word to ask the desk, at 320 CSS px without overflow."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth.models import ConsentRecord
from server.auth.models import Role
from server.consent.purposes import Channel
from server.extensions import db
from server.people.models import Person
from server.push.notify import KINDS
from tests.browser.layout_support import NARROW
from tests.browser.layout_support import apply_setting
from tests.browser.layout_support import layout_problems
from tests.browser.layout_support import signed_in_page
from tests.browser.support import fresh
from tests.helpers import make_user
from tests.helpers import verify_phone

pytestmark = pytest.mark.browser


def test_a_citizen_consents_to_sms_on_their_mobile_at_320_px(app, new_page, live_server):
    app.config.update(ZNS_ACCESS_TOKEN="test-token", ZNS_API_URL="http://127.0.0.1:9/zns",
                      ZNS_TEMPLATES={kind: "1001" for kind in KINDS}, SMS_API_URL="http://127.0.0.1:9/sms")
    citizen = make_user(Role.CITIZEN, None, "Lê Văn Cả")
    verify_phone(citizen, "+84912345001")
    db.session.commit()
    citizen_id = citizen.id
    page = signed_in_page(new_page, app, live_server, citizen)
    apply_setting(page, NARROW)
    page.goto("/account/consents")

    sms = page.locator("section[data-purpose='dossier_updates'] li[data-channel='sms']")
    field = sms.get_by_label("Số điện thoại di động nhận tin")
    expect(field).to_have_value("0912 345 001")  # their own mobile, offered
    expect(page.locator("section[data-purpose='dossier_updates'] li[data-channel='zalo']")
           .get_by_label("Số điện thoại di động nhận tin")).to_be_visible()
    assert layout_problems(page) == []

    field.fill("024 3825 1234")
    sms.get_by_role("button", name="Đồng ý nhận qua kênh này").click()
    expect(sms.locator(".field-error")).to_have_text(
        "Cần số điện thoại di động: số này không nhận được tin Zalo hay SMS.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    assert layout_problems(page) == []

    field.fill("0912 345 002")  # a mobile, but not the one checked as theirs
    sms.get_by_role("button", name="Đồng ý nhận qua kênh này").click()
    expect(sms.locator(".field-error")).to_have_text(
        "Số điện thoại này chưa được xác minh là của bạn. Hãy nhờ Bộ phận Một cửa ghi nhận số điện thoại.")
    assert layout_problems(page) == []

    field.fill("0912 345 001")
    sms.get_by_role("button", name="Đồng ý nhận qua kênh này").click()
    expect(page.locator("#consents-status")).to_have_text("Đã ghi nhận sự đồng ý của bạn.")
    expect(sms).to_contain_text("Gửi tới số 0912 345 001.")
    expect(sms.get_by_role("button", name="Rút lại đồng ý")).to_be_visible()
    assert layout_problems(page) == []

    fresh()
    [record] = db.session.scalars(select(ConsentRecord).where(ConsentRecord.user_id == citizen_id,
                                                              ConsentRecord.channel == Channel.SMS))
    assert record.address == "+84912345001" and record.withdrawn_at is None


def test_without_a_checked_number_the_page_says_to_ask_the_desk(app, new_page, live_server):
    app.config.update(SMS_API_URL="http://127.0.0.1:9/sms")
    citizen = make_user(Role.CITIZEN, None, "Lê Văn Cả")
    citizen.person = Person(full_name="Lê Văn Cả", phone_e164="+84912345001")  # on record, nobody checked it
    db.session.commit()
    page = signed_in_page(new_page, app, live_server, citizen)
    apply_setting(page, NARROW)
    page.goto("/account/consents")
    sms = page.locator("section[data-purpose='dossier_updates'] li[data-channel='sms']")
    expect(sms).to_contain_text("Hãy nhờ Bộ phận Một cửa ghi nhận số điện thoại di động của bạn")
    expect(sms.get_by_label("Số điện thoại di động nhận tin")).to_have_count(0)
    assert layout_problems(page) == []
