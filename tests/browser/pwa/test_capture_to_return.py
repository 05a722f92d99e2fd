"""A dossier's whole life in real Chromium (issue 6 point 8): captured on the officer's phone at a door with no
network, synced, found in the desk's queue by the owner's name typed without diacritics, then taken through its
steps on the desk's pages by staff and a leader, each signed in with a passkey, to the return of its result."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth.models import Role
from server.dossiers.models import Dossier
from server.extensions import db
from tests.browser.pwa import offline_support as app
from tests.browser.support import fresh
from tests.browser.test_desk import enrol
from tests.browser.test_desk import step

pytestmark = pytest.mark.browser


def test_a_dossier_captured_offline_is_returned_through_the_desk_pages(officer_phone, new_page, add_authenticator):
    phone = officer_phone
    app.go_offline(phone.context)
    receipt = app.capture_dossier(phone, "Đặng Thị Thu Hà", (161, 162))
    app.go_online(phone.context)
    app.wait_until_synced(phone, 1)

    staff = enrol(new_page, add_authenticator, Role.STAFF, "Phạm Thu Trang")
    leader = enrol(new_page, add_authenticator, Role.LEADER, "Lê Văn Hùng")
    staff.goto("/staff/queue")
    staff.get_by_role("searchbox").fill("dang thi thu ha")
    staff.get_by_role("searchbox").press("Enter")
    row = staff.get_by_role("link", name=receipt["code"])
    expect(row).to_be_visible()
    row.click()
    expect(staff.locator("h1")).to_contain_text(receipt["code"])
    expect(staff.locator("#owner")).to_contain_text("Đặng Thị Thu Hà")
    # The receipt slip the server issued at sync is among the dossier's documents (Mẫu 01).
    expect(staff.locator("#forms-link")).to_be_visible()

    step(staff, "transfer", "in_process")
    step(staff, "submit_for_approval", "pending_approval")
    leader.goto(staff.url)
    step(leader, "approve", "approved")
    staff.reload()
    step(staff, "mark_result_ready", "resolved")
    step(staff, "return_result", "returned", delivery_mode=("radio", "home"), recipient_name="Đặng Thị Thu Hà",
         acknowledged=True)
    expect(staff.locator("#no-actions")).to_be_visible()

    fresh()
    stored = db.session.scalar(select(Dossier).where(Dossier.code == receipt["code"]))
    assert [e.action for e in stored.events] == ["receive", "transfer", "submit_for_approval", "approve",
                                                 "mark_result_ready", "return_result"]
    assert stored.state.value == "returned" and stored.returned_at is not None
    assert re.fullmatch(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}", stored.code)
