"""The desk in a real browser: staff and a leader enrol with passkeys, then take a synced dossier from its receipt
at a home to the return of its result, one page form per legal step; a refused form shows its messages next to
its fields; another ward's staff sees nothing. Each step is checked against what the server stored.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from server.auth import services
from server.auth.models import Role
from server.auth.models import User
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFlag
from server.dossiers.workflow import State
from server.extensions import db
from server.reference.models import Agency
from tests.browser.support import fresh
from tests.desk_support import synced_dossier
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_dossier

pytestmark = pytest.mark.browser


def enrol(new_page, add_authenticator, role: Role, name: str, agency=None):
    """A page of a new desk member who redeemed an invitation with a passkey (a virtual authenticator)."""
    _, token = services.create_invitation(role, agency or demo_agency(), name, demo_user(Role.ADMIN))
    db.session.commit()
    page = new_page()
    add_authenticator(page)
    page.goto(f"/invite/{token}")
    expect(page.locator("#link-details")).to_be_visible()
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(lambda url: "/invite/" not in url)
    return page


def step(page, action: str, expected_state: str, **fields) -> None:
    """Fill the form of ``action`` (text fields by name; ``True`` ticks a box, ``("radio", value)`` chooses),
    press its button and wait for the dossier to be in ``expected_state``."""
    form = page.locator(f"#action-{action}")
    for name, value in fields.items():
        if value is True:
            form.locator(f"[name={name}]").check()
        elif isinstance(value, tuple):
            form.locator(f"[name={name}][value={value[1]}]").check()
        else:
            form.locator(f"[name={name}]").fill(value)
    form.get_by_role("button").click()
    expect(page.locator("#dossier-state")).to_have_attribute("data-state", expected_state)
    expect(page.locator(".notice[role=status]")).to_contain_text("Đã thực hiện")


def test_staff_and_leader_take_a_dossier_from_receipt_to_return(new_page, add_authenticator, live_server, app):
    dossier, picture = synced_dossier(app, clock_ahead=timedelta(hours=2))
    digest = hashlib.sha256(picture).hexdigest()
    url = f"/staff/dossiers/{dossier.id}"
    staff = enrol(new_page, add_authenticator, Role.STAFF, "Phạm Thu Trang")
    leader = enrol(new_page, add_authenticator, Role.LEADER, "Lê Văn Hùng")

    staff.goto(url)
    expect(staff.locator("h1")).to_contain_text(dossier.code)
    expect(staff.locator("#owner")).to_contain_text("Trần Văn Phúc")
    expect(staff.locator("#submitter")).to_contain_text("Trần Thị Mai")
    expect(staff.locator("#followers")).to_contain_text("Nguyễn Thị Lan")
    expect(staff.locator("#procedure-version")).to_contain_text("áp dụng từ 01/07/2025")
    expect(staff.locator("#documents")).to_contain_text(digest)
    # The photo is shown from the ward-scoped route, decoded by the browser, and opens full size.
    image = staff.locator(f"img[src='/staff/attachments/{digest}']")
    expect(image).to_be_visible()
    assert staff.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 640
    full = staff.context.request.get(f"/staff/attachments/{digest}")
    assert full.status == 200 and full.body() == picture
    assert full.headers["content-type"] == "image/jpeg" and full.headers["cache-control"] == "private, no-store"
    # Staff may not approve: the leader's forms are not offered.
    expect(staff.locator("#action-approve")).to_have_count(0)

    # A sync flag is looked at and marked resolved.
    skew = staff.locator("[data-flag=clock_skew]")
    expect(skew).to_contain_text("Đồng hồ điện thoại lệch")
    skew.get_by_role("button", name="Đánh dấu đã xem xét").click()
    expect(staff.locator("[data-flag=clock_skew]")).to_have_attribute("data-resolved", "yes")
    expect(staff.locator("[data-flag=clock_skew]")).to_contain_text("Phạm Thu Trang")

    step(staff, "transfer", "in_process")
    # A refused form: the guards' messages next to their fields, what was typed kept, nothing stored.
    staff.locator("#action-request_supplement [name=reason]").fill("Thiếu giấy tờ")
    staff.locator("#action-request_supplement").get_by_role("button").click()
    expect(staff.locator("#request_supplement-items-error")).to_have_text(
        "Phải liệt kê đầy đủ các giấy tờ cần bổ sung (hướng dẫn một lần).")
    expect(staff.locator("#request_supplement-items")).to_have_attribute("aria-invalid", "true")
    expect(staff.locator("#request_supplement-reason")).to_have_value("Thiếu giấy tờ")
    expect(staff.locator("#dossier-state")).to_have_attribute("data-state", "in_process")
    step(staff, "request_supplement", "awaiting_supplement",
         items="Giấy xác nhận khuyết tật\nSổ hộ nghèo", reason="Thiếu giấy tờ chứng minh")
    step(staff, "record_supplement", "in_process")
    step(staff, "request_payment", "awaiting_payment", amount_vnd="50000")
    step(staff, "record_payment", "in_process")
    new_due = (to_local(db.session.get(Dossier, dossier.id).due_at) + timedelta(days=90)).date()
    fresh()
    step(staff, "extend", "in_process", reason="Chờ kết quả xác minh", new_due_date=new_due.isoformat())
    expect(staff.locator("#extension")).to_contain_text(new_due.strftime("%d/%m/%Y"))
    step(staff, "submit_for_approval", "pending_approval")

    leader.goto(url)
    step(leader, "reject", "in_process", reason="Sai tên người hưởng")
    staff.reload()
    step(staff, "submit_for_approval", "pending_approval")
    leader.reload()
    step(leader, "approve", "approved")
    expect(leader.locator("#dossier-state")).to_have_text("Đã phê duyệt, chờ chuyển kết quả")

    staff.reload()
    step(staff, "mark_result_ready", "resolved")
    form = staff.locator("#action-return_result")
    form.locator("[name=delivery_mode][value=home]").check()
    form.locator("[name=recipient_name]").fill("Trần Thị Mai")
    form.get_by_role("button").click()
    expect(staff.locator("#return_result-acknowledged-error")).to_have_text(
        "Người nhận phải xác nhận đã nhận kết quả (đánh dấu ô xác nhận).")
    expect(staff.locator("#return_result-recipient_name")).to_have_value("Trần Thị Mai")
    step(staff, "return_result", "returned", acknowledged=True)
    expect(staff.locator("#no-actions")).to_be_visible()
    sheet = staff.locator("#control-sheet-table tbody tr")
    expect(sheet).to_have_count(13)  # receipt and twelve steps
    expect(staff.locator("#control-sheet-table tr[data-action=transfer]")).to_have_attribute(
        "data-timeliness", "on_time")
    expect(staff.locator("#control-sheet-table tr[data-action=return_result]")).to_contain_text(
        "Trần Thị Mai. Người nhận đã xác nhận đã nhận kết quả.")
    expect(staff.locator("#timeline-list li[data-action=return_result] [data-acknowledged=yes]")).to_be_visible()

    fresh()
    stored = db.session.get(Dossier, dossier.id)
    assert [e.action for e in stored.events] == [
        "receive", "transfer", "request_supplement", "record_supplement", "request_payment", "record_payment",
        "extend", "submit_for_approval", "reject", "submit_for_approval", "approve", "mark_result_ready",
        "return_result"]
    by_name = {e.action: e for e in stored.events}
    assert db.session.get(User, by_name["transfer"].actor_id).display_name == "Phạm Thu Trang"
    assert db.session.get(User, by_name["approve"].actor_id).display_name == "Lê Văn Hùng"
    assert stored.handler.display_name == "Phạm Thu Trang"
    assert by_name["return_result"].data == {"delivery_mode": "home", "recipient_name": "Trần Thị Mai",
                                             "acknowledged": True}
    assert db.session.get(User, by_name["mark_result_ready"].actor_id).display_name == "Phạm Thu Trang"
    assert stored.processing_finished_at == by_name["mark_result_ready"].occurred_at
    assert by_name["request_supplement"].data["items"] == ["Giấy xác nhận khuyết tật", "Sổ hộ nghèo"]
    assert stored.extension_count == 1 and stored.state.value == "returned"
    skew_flag = next(f for f in stored.flags if f.kind.value == "clock_skew")
    assert isinstance(skew_flag, DossierFlag) and skew_flag.resolved_at is not None

    # The steps that end a dossier early, each on a dossier of its own.
    withdrawn, _ = synced_dossier(app, seed=1, follower=None)
    stopped, _ = synced_dossier(app, seed=2, follower=None)
    refused = make_dossier(State.ONLINE_SUBMITTED, code="ONLINE-REFUSED-1")
    staff.goto(f"/staff/dossiers/{withdrawn.id}")
    step(staff, "withdraw", "withdrawn", citizen_request="Đơn xin rút hồ sơ ngày hôm nay, có chữ ký")
    staff.goto(f"/staff/dossiers/{stopped.id}")
    step(staff, "transfer", "in_process")
    step(staff, "stop", "stopped", reason="Không đủ điều kiện hưởng")
    staff.goto(f"/staff/dossiers/{refused.id}")
    step(staff, "refuse", "refused", reason="Không thuộc thẩm quyền của phường")
    fresh()
    assert [db.session.get(Dossier, d.id).events[-1].reason for d in (withdrawn, stopped, refused)] == [
        "Đơn xin rút hồ sơ ngày hôm nay, có chữ ký", "Không đủ điều kiện hưởng", "Không thuộc thẩm quyền của phường"]


def test_staff_of_another_ward_sees_nothing(new_page, add_authenticator, live_server, app):
    dossier, picture = synced_dossier(app)
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="UBND phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    stranger = enrol(new_page, add_authenticator, Role.STAFF, "Công chức phường khác", agency=other_ward)
    response = stranger.goto(f"/staff/dossiers/{dossier.id}")
    assert response.status == 404
    request = stranger.context.request
    assert request.get(f"/staff/attachments/{hashlib.sha256(picture).hexdigest()}").status == 404
    csrf = request.get("/api/v1/csrf-token").json()["csrf_token"]
    for action in ("transfer", "withdraw", "stop", "extend", "return_result"):
        posted = request.post(f"/staff/dossiers/{dossier.id}/actions/{action}",
                              form={"csrf_token": csrf, "reason": "x", "citizen_request": "x"},
                              headers={"Referer": f"{live_server}/staff"})
        assert posted.status == 404, action
    fresh()
    assert db.session.get(Dossier, dossier.id).state.value == "received"
