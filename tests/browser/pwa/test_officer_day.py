"""The officer's day on the phone: visits downloaded and prefilled, the checks at the door, the receipt's QR code,
and the changes pulled after a sync. Real Chromium, real worker, offline where the officer is.
"""

from __future__ import annotations

import re

import pytest
import qrcode
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.dossiers import services
from server.dossiers.models import HomeServiceReason
from server.dossiers.models import HomeVisit
from server.dossiers.models import VisitStatus
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.extensions import db
from server.people.models import Person
from tests.browser.pwa import offline_support as app
from tests.browser.support import VirtualAuthenticator
from tests.browser.support import fresh
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import procedure

pytestmark = pytest.mark.browser

MODULE = re.compile(r"M(\d+) (\d+)h1v1h-1z")


def schedule_visit(officer_name: str, person_name: str, address: str) -> HomeVisit:
    fresh()
    officer = db.session.scalar(select(User).where(User.display_name == officer_name))
    visit = HomeVisit(agency_id=demo_agency().id, officer_id=officer.id, address=address,
                      person=Person(full_name=person_name, phone_e164="+84912000111"),
                      procedure=procedure("tro-cap-huu-tri-xa-hoi"), reason=HomeServiceReason.ELDERLY,
                      status=VisitStatus.SCHEDULED)
    db.session.add(visit)
    db.session.commit()
    return visit


def test_visits_prefill_capture_and_later_changes_reach_the_phone(new_page):
    """Point 2: the day's visits on the phone, a dossier captured for one, then only what changed comes back."""
    page = new_page()
    VirtualAuthenticator(page)
    app.enrol_officer(page, app.invite_officer())
    visit = schedule_visit("Cán bộ thử nghiệm", "Nguyễn Thị Hằng", "Số 9 ngõ Huế, Hai Bà Trưng")
    app.open_app(page)
    app.wait_for_controller(page)
    app.download_day(page)
    expect(page.locator("#day-freshness")).to_contain_text("Dữ liệu tải lúc")
    expect(page.locator("#visit-list")).to_contain_text("Nguyễn Thị Hằng")
    expect(page.locator("#visit-list")).to_contain_text("Số 9 ngõ Huế, Hai Bà Trưng")

    app.go_offline(page.context)
    page.reload()  # the visits come from IndexedDB, not the network
    page.locator("#visit-list li", has_text="Nguyễn Thị Hằng").get_by_role("button").click()
    expect(page.get_by_label("Họ và tên").first).to_have_value("Nguyễn Thị Hằng")
    expect(page.get_by_label("Địa chỉ").first).to_have_value("Số 9 ngõ Huế, Hai Bà Trưng")
    expect(page.locator("#procedure-chosen")).to_contain_text(app.PROCEDURE_NAME)
    for index, camera in enumerate(page.locator("#documents input[type=file]").all()[:2]):
        camera.set_input_files({"name": "p.jpg", "mimeType": "image/jpeg", "buffer": app.photo_bytes(120 + index)})
        expect(page.locator("#documents .photo-list li")).to_have_count(index + 1)
    app.finish_capture(page)  # through the review (issue 11.7)
    expect(page.locator("#view-receipt")).to_be_visible()

    app.go_online(page.context)
    app.wait_until_synced(page, 1)
    [dossier] = app.server_dossiers()
    assert dossier.home_visit_id == visit.id

    # At the desk, staff move the dossier on; and a new visit is scheduled for the officer.
    staff = demo_user(Role.STAFF)
    services.apply_action(dossier, Action.TRANSFER, staff, ActionRequest(actor_id=staff.id, actor_role="staff"))
    db.session.commit()
    schedule_visit("Cán bộ thử nghiệm", "Phan Văn Lộc", "Số 3 phố Mai Hắc Đế")
    app.go_home(page)
    app.sync_now(page)
    expect(page.locator("#visit-list")).to_contain_text("Phan Văn Lộc")
    expect(page.locator(f"#dossier-list li[data-uuid='{dossier.client_uuid}']")).to_contain_text(
        "Trạng thái trên máy chủ: Đang giải quyết")


def test_the_door_checks_refuse_a_bad_id_before_any_code_is_used(officer_phone):
    """Point 3: the ID and phone checks run on the phone, offline, with the server's messages."""
    page = officer_phone
    app.go_offline(page.context)
    app.start_capture(page, "Lê Văn Tám")
    page.get_by_label("Số định danh cá nhân").first.fill("00108901234")  # 11 digits
    page.get_by_label("Số điện thoại").first.fill("0123")
    app.review_capture(page)  # the form's button checks it before any review (issue 11.7)
    errors = page.locator("#capture-errors")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("12 chữ số")
    expect(errors).to_contain_text("Thiếu giấy tờ bắt buộc")
    expect(page.locator("#owner-personal_id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#owner-phone")).to_have_attribute("aria-invalid", "true")
    assert app.statuses(page) == ["draft"]
    blocks = page.evaluate("""async () => {
        const { openOutbox } = await import("/pwa/lib/outbox-db.js");
        const db = await openOutbox();
        const all = await new Promise((resolve) => {
            const request = db.transaction("code_blocks").objectStore("code_blocks").getAll();
            request.onsuccess = () => resolve(request.result);
        });
        db.close();
        return all.map((block) => block.next - block.first);
    }""")
    assert blocks and set(blocks) == {0}  # no code was taken


def test_the_receipt_qr_code_holds_the_follow_up_address(officer_phone, live_server):
    """Point 4: the QR code drawn offline encodes the dossier's follow-up address (checked module by module)."""
    page = officer_phone
    app.go_offline(page.context)
    receipt = app.capture_dossier(page, "Đinh Thị Uyên", (131, 132))
    svg = page.locator("#receipt svg.qr")
    text = svg.get_attribute("data-text")
    # The follow-up address, with the claim token made on the phone (26 characters of base32).
    assert re.fullmatch(rf"{re.escape(live_server)}/follow/{re.escape(receipt['code'])}\?t=[A-Z2-7]{{26}}", text)
    drawn = {(int(x) - 4, int(y) - 4) for x, y in MODULE.findall(svg.locator("path").get_attribute("d"))}
    candidates = []
    for mask in range(8):
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=mask)
        code.add_data(text, optimize=0)
        code.make(fit=True)
        candidates.append({(x, y) for y, row in enumerate(code.get_matrix()) for x, dark in enumerate(row) if dark})
    assert drawn in candidates

    # Scanned once the dossier is on the server, the address shows its status (holding the paper is the proof);
    # without the token, only after the owner's last 4 digits.
    app.go_online(page.context)
    app.wait_until_synced(page, 1)
    page.goto(text)
    expect(page.locator(".facts")).to_contain_text("Đã tiếp nhận")
    page.goto(text.split("?")[0])
    expect(page.get_by_role("heading", name="Theo dõi hồ sơ")).to_be_visible()
    page.get_by_label("4 số cuối số định danh cá nhân").fill(app.OWNER_ID[-4:])
    page.get_by_role("button", name="Xem tình trạng hồ sơ").click()
    expect(page.locator(".facts")).to_contain_text("Đã tiếp nhận")


def test_a_same_day_procedure_needs_no_slip_unless_the_citizen_asks(officer_phone):
    """Point 4: signature certification is done on the spot: recorded with its code, a slip only on request."""
    page = officer_phone
    app.go_offline(page.context)
    for asks in (False, True):
        app.start_capture(page, "Hà Văn Vinh", "chung thuc chu ky", "Chứng thực chữ ký")
        for box in page.locator("#documents input[name$='.ticked']").all():
            box.check()
        if asks:
            page.get_by_label("Công dân yêu cầu giấy tiếp nhận").check()
        app.finish_capture(page)  # through the review (issue 11.7)
        title = "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" if asks else "Hồ sơ đã được ghi nhận"
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.locator("#receipt-code")).not_to_be_empty()
        app.go_home(page)
    app.wait_until_queued(page, 2)


def test_a_server_error_backs_off_and_retries_by_itself(officer_phone):
    """Point 5: a 503 stops the flush; the timer retries after a jittered back-off with no tap and no event."""
    page = officer_phone
    context = page.context
    app.go_offline(context)
    receipt = app.capture_dossier(page, "Lò Văn Xuân", (141, 142))
    photos = app.phone_photos(page)
    refused = []

    def unavailable_once(route):
        if not refused:
            refused.append(route.request.url)
            route.fulfill(status=503, content_type="application/problem+json",
                          body='{"type": "about:blank", "title": "Service Unavailable", "status": 503}')
        else:
            route.fallback()

    context.route("**/api/v1/dossiers/*", unavailable_once)
    page.evaluate("delete document.body.dataset.lastFlush")
    app.go_online(context)
    page.wait_for_function("() => document.body.dataset.lastFlush === 'retry_later'")
    assert len(refused) == 1 and app.statuses(page) == ["queued"]
    app.wait_until_synced(page, 1)  # nothing else happens: the back-off timer (2.5 to 5 s) sends it
    app.assert_server_matches([receipt], photos)


def test_a_quarantined_dossier_is_discarded_only_after_confirmation(officer_phone):
    """Point 5: discarding from the quarantine asks first, then removes the dossier and its photos."""
    page = officer_phone
    app.go_offline(page.context)
    app.capture_dossier(page, "Mạc Thị Yến", (151, 152))
    app.go_home(page)
    app.withdraw_today("tro-cap-huu-tri-xa-hoi")
    app.go_online(page.context)
    item = page.locator("#quarantine-list li")
    expect(item).to_have_count(1)

    item.get_by_role("button", name="Bỏ hồ sơ").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Mạc Thị Yến")
    dialog.get_by_role("button", name="Hủy").click()
    assert app.statuses(page) == ["quarantined"]

    item.get_by_role("button", name="Bỏ hồ sơ").click()
    page.get_by_role("dialog").get_by_role("button", name="Bỏ hồ sơ").click()
    expect(page.locator("#quarantine")).to_be_hidden()
    assert app.outbox(page) == {"dossiers": [], "photos": []}
    assert app.server_dossiers() == []


def synced_once(page) -> None:
    """Tap "Đồng bộ ngay" and wait until that sync, changes included, has finished (a tap during a running sync
    joins it rather than starting another)."""
    page.evaluate("delete document.body.dataset.lastFlush")
    app.sync_now(page)
    page.wait_for_function("() => document.body.dataset.lastFlush !== undefined")


def test_a_visit_the_desk_schedules_then_cancels_reaches_the_phone_at_its_next_sync(new_page):
    """Issue 5 point 8: staff assign a request to the officer with a time; the phone shows it at its next sync, and
    drops it when the desk cancels it or gives it to another officer."""
    from datetime import time

    from server.visits import services as visits

    page = new_page()
    VirtualAuthenticator(page)
    app.enrol_officer(page, app.invite_officer())
    app.open_app(page)
    app.wait_for_controller(page)
    app.download_day(page)
    expect(page.locator("#visit-list")).to_contain_text("Không có lịch thăm nào.")

    fresh()
    officer = db.session.scalar(select(User).where(User.display_name == "Cán bộ thử nghiệm"))
    request = HomeVisit(agency_id=demo_agency().id, address="Số 14 ngõ 3 phố Huế", reason=HomeServiceReason.DISABLED,
                        person=Person(full_name="Vũ Thị Nga", phone_e164="+84912000222"),
                        procedure=procedure("tro-cap-huu-tri-xa-hoi"), status=VisitStatus.REQUESTED)
    db.session.add(request)
    db.session.flush()
    day = visits.offered_days()[0]
    visits.schedule_visit(request, officer, day, time(9, 30), demo_user(Role.STAFF))
    db.session.commit()

    synced_once(page)
    card = page.locator("#visit-list li", has_text="Vũ Thị Nga")
    expect(card).to_contain_text(f"Hẹn lúc: 09:30, {day.strftime('%d/%m/%Y')}")
    expect(card).to_contain_text("Số 14 ngõ 3 phố Huế")

    visits.cancel_visit(request, demo_user(Role.STAFF), "Người dân đã tự đến Bộ phận Một cửa")
    db.session.commit()
    synced_once(page)
    expect(page.locator("#visit-list")).not_to_contain_text("Vũ Thị Nga")
    page.reload()  # gone from IndexedDB too, not only from the screen
    expect(page.locator("#visit-list")).to_contain_text("Không có lịch thăm nào.")
    # The reopened app syncs by itself; a tap while that sync runs would join it rather than start another.
    page.wait_for_function("() => document.body.dataset.lastFlush !== undefined")

    # A visit given to another officer leaves this phone too.
    fresh()
    moved = HomeVisit(agency_id=demo_agency().id, address="Số 2 phố Lò Đúc", reason=HomeServiceReason.ELDERLY,
                      person=Person(full_name="Đỗ Văn Toàn"), status=VisitStatus.REQUESTED)
    db.session.add(moved)
    db.session.flush()
    officer = db.session.scalar(select(User).where(User.display_name == "Cán bộ thử nghiệm"))
    visits.schedule_visit(moved, officer, day, time(14, 0), demo_user(Role.STAFF))
    db.session.commit()
    synced_once(page)
    expect(page.locator("#visit-list")).to_contain_text("Đỗ Văn Toàn")
    visits.schedule_visit(moved, demo_user(Role.OFFICER), day, time(15, 0), demo_user(Role.STAFF))
    db.session.commit()
    synced_once(page)
    expect(page.locator("#visit-list")).not_to_contain_text("Đỗ Văn Toàn")
