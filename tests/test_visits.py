"""Home-visit requests: the citizen's form, the ward's queue, scheduling with the citizen told in the same
transaction, and the officer's phone receiving the visit at its next sync."""

from __future__ import annotations

import re
from datetime import date
from datetime import time
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import AuditEvent
from server.auth.models import Device
from server.auth.models import Role
from server.dossiers.models import HomeServiceReason
from server.dossiers.models import HomeVisit
from server.dossiers.models import VisitStatus
from server.extensions import db
from server.people.models import Person
from server.push import texts
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.sender import payload_of
from server.push.sender import topic_of
from server.reference.models import Agency
from server.reference.models import HomeReception
from server.visits import services
from tests.helpers import consent_to_push
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import procedure
from tests.helpers import sign_in

OFFICER_POSITION = "Công chức Tư pháp – Hộ tịch"


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def _form(**changes) -> dict:
    days = services.offered_days()
    data = {"ward": demo_agency().agency_code, "procedure": "chung-thuc-chu-ky", "reason": "elderly",
            "for_whom": "self", "other_name": "", "phone": "0912 345 678",
            "address": "Số 1 phố Huế, phường Hai Bà Trưng", "days": [days[0].isoformat(), days[2].isoformat()],
            "note": "Buổi sáng nhà có người"}
    data.update(changes)
    return data


def _post_request(client, token, **changes):
    return client.post("/my/visits/new", data={**_form(**changes), "csrf_token": token})


@pytest.fixture
def citizen_client(app):
    client = app.test_client()
    return client, sign_in(client, demo_user(Role.CITIZEN))


@pytest.fixture
def staff_client(app):
    client = app.test_client()
    return client, sign_in(client, demo_user(Role.STAFF))


def _requested_visit(agency=None, name="Trần Văn Phúc", days=None, **fields) -> HomeVisit:
    citizen = demo_user(Role.CITIZEN)
    offered = services.offered_days()
    fields.setdefault("status", VisitStatus.REQUESTED)
    visit = HomeVisit(agency_id=(agency or demo_agency()).id, person=Person(full_name=name, phone_e164="+84987654321"),
                      procedure=procedure("tro-cap-xa-hoi-hang-thang"), reason=HomeServiceReason.MERITORIOUS,
                      address="Ngõ 5 phố Huế, tổ 12",
                      phone_e164="+84987654321", requested_by_id=citizen.id,
                      preferred_days=days or [offered[3].isoformat(), offered[1].isoformat()], **fields)
    db.session.add(visit)
    db.session.commit()
    return visit


def _schedule(client, token, visit, **changes):
    offered = services.offered_days()
    data = {"officer": str(demo_user(Role.OFFICER).id), "day": offered[1].isoformat(), "time": "09:30",
            "csrf_token": token}
    data.update(changes)
    return client.post(f"/staff/visits/{visit.id}/schedule", data=data)


def _other_ward() -> Agency:
    agency = Agency(agency_code="000.20.27.H26", name_vi="Bộ phận Một cửa – phường khác", name_en="Other ward")
    db.session.add(agency)
    db.session.commit()
    return agency


# --- the citizen's request ----------------------------------------------------------------------------------------

def test_the_form_offers_wards_home_procedures_reasons_and_the_next_ten_working_days(app, citizen_client):
    client, _ = citizen_client
    not_at_home = procedure("chung-thuc-ban-sao")
    not_at_home.versions[-1].home_reception = HomeReception.NO
    db.session.commit()
    response = client.get("/my/visits/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert demo_agency().name_vi in page
    assert procedure("chung-thuc-chu-ky").name_vi in page
    assert 'value="chung-thuc-ban-sao"' not in page
    for label in ("Người có công với cách mạng", "Người cao tuổi", "Người khuyết tật", "bất khả kháng", "Lý do khác"):
        assert label in page
    offered = re.findall(r'name="days" value="([0-9-]+)"', page)
    days = services.offered_days()
    assert offered == [d.isoformat() for d in days] and len(offered) == 10
    assert all(services.is_working_day(d) and d > services.today() for d in days)
    assert 'value="0912 345 678"' in page  # the account's phone, ready to keep
    assert 'name="csrf_token"' in page


def test_a_citizen_requests_a_visit_and_sees_it_waiting(app, citizen_client):
    client, token = citizen_client
    citizen = demo_user(Role.CITIZEN)
    response = _post_request(client, token)
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/visits")
    [visit] = db.session.scalars(select(HomeVisit))
    days = services.offered_days()
    assert visit.status is VisitStatus.REQUESTED
    assert visit.requested_by_id == citizen.id and visit.person_id == citizen.person_id
    assert visit.agency_id == demo_agency().id and visit.procedure.key == "chung-thuc-chu-ky"
    assert visit.reason is HomeServiceReason.ELDERLY and visit.phone_e164 == "+84912345678"
    assert visit.preferred_days == [days[0].isoformat(), days[2].isoformat()]
    assert visit.officer_id is None and visit.planned_for is None
    page = client.get("/my/visits").get_data(as_text=True)
    assert "Đang chờ phân công cán bộ" in page and "Đã gửi yêu cầu" in page
    assert "Số 1 phố Huế, phường Hai Bà Trưng" in page


def test_a_relative_asks_for_a_parent(app, citizen_client):
    client, token = citizen_client
    response = _post_request(client, token, for_whom="other", other_name="  Nguyễn   Thị Lan ", procedure="",
                             reason="disabled")
    assert response.status_code == 302
    [visit] = db.session.scalars(select(HomeVisit))
    assert visit.person.full_name == "Nguyễn Thị Lan" and visit.person_id != demo_user(Role.CITIZEN).person_id
    assert visit.procedure is None and visit.reason is HomeServiceReason.DISABLED
    assert "Nguyễn Thị Lan" in client.get("/my/visits").get_data(as_text=True)


def test_an_account_without_a_person_gets_one(app):
    client = app.test_client()
    user = make_user(Role.CITIZEN, None, "Phạm Minh Đức")
    token = sign_in(client, user)
    assert _post_request(client, token).status_code == 302
    db.session.refresh(user)
    [visit] = db.session.scalars(select(HomeVisit))
    assert user.person is not None and visit.person_id == user.person_id
    assert user.person.full_name == "Phạm Minh Đức"


def _sunday_after(day: date) -> date:
    return day + timedelta(days=6 - day.weekday() or 7)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"ward": ""}, "ward", "Vui lòng chọn phường"),
    ({"ward": "999.99.99.H99"}, "ward", "Vui lòng chọn phường"),
    ({"procedure": "khong-co-thu-tuc-nay"}, "procedure", "không tiếp nhận tại nhà"),
    ({"reason": ""}, "reason", "Vui lòng chọn lý do"),
    ({"reason": "rich"}, "reason", "Vui lòng chọn lý do"),
    ({"for_whom": ""}, "for_whom", "Vui lòng chọn người cần cán bộ đến gặp"),
    ({"for_whom": "other", "other_name": " "}, "other_name", "Vui lòng nhập họ và tên người"),
    ({"for_whom": "other", "other_name": "A" * 201}, "other_name", "dài quá 200 ký tự"),
    ({"for_whom": "other", "other_name": "\u200b\u200b"}, "other_name", "ký tự ẩn"),
    ({"for_whom": "other", "other_name": "\u202enA năV nễyugN"}, "other_name", "đổi chiều văn bản"),
    ({"phone": ""}, "phone", "Vui lòng nhập số điện thoại"),
    ({"phone": "12ab"}, "phone", "Số điện thoại"),
    ({"address": "  "}, "address", "Vui lòng nhập địa chỉ"),
    ({"address": "x" * 501}, "address", "Địa chỉ dài quá 500 ký tự"),
    ({"days": []}, "days", "Vui lòng chọn ít nhất một ngày"),
    ({"days": ["2020-01-06"]}, "days", "không còn nhận lịch"),
    ({"days": ["sunday"]}, "days", "không còn nhận lịch"),
    ({"reason": "other", "note": ""}, "note", "Vui lòng ghi rõ lý do"),
    ({"note": "x" * 1001}, "note", "Ghi chú dài quá 1000 ký tự"),
])
def test_each_mistake_is_shown_on_its_field_and_nothing_is_stored(app, citizen_client, changes, field, message):
    client, token = citizen_client
    if changes.get("days") == ["sunday"]:
        changes = {"days": [_sunday_after(services.today()).isoformat()]}
    response = _post_request(client, token, **changes)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = re.findall(r'<p class="field-error" id="([a-z_]+)-error">([^<]+)</p>', page)
    assert [name for name, _ in errors] == [field], errors
    assert message in errors[0][1]
    assert f'<li><a href="#{field}' in page and "Vui lòng sửa các trường được đánh dấu" in page
    assert _count(HomeVisit) == 0
    # What was typed is kept.
    if field != "address":
        assert "Số 1 phố Huế, phường Hai Bà Trưng" in page


def test_the_request_needs_the_csrf_token_and_a_citizen(app, citizen_client, staff_client):
    client, _ = citizen_client
    assert client.post("/my/visits/new", data=_form()).status_code == 400
    staff, token = staff_client
    assert _post_request(staff, token).status_code == 403
    assert staff.get("/my/visits").status_code == 403
    anonymous = app.test_client()
    response = anonymous.get("/my/visits/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert _count(HomeVisit) == 0


# --- the ward's queue ----------------------------------------------------------------------------------------------

def test_staff_see_their_wards_open_requests_with_an_assignment_form(app, staff_client):
    client, _ = staff_client
    days = services.offered_days()
    early = _requested_visit(name="Lê Văn Sớm", days=[days[0].isoformat()])
    late = _requested_visit(name="Đỗ Thị Muộn", days=[days[5].isoformat()])
    elsewhere = _requested_visit(agency=_other_ward(), name="Người Phường Khác")
    done = _requested_visit(name="Đã Xong", status=VisitStatus.DONE)
    response = client.get("/staff/visits")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.index("Lê Văn Sớm") < page.index("Đỗ Thị Muộn")  # the earliest wished day first
    assert "Người Phường Khác" not in page and "Đã Xong" not in page
    assert "Ngõ 5 phố Huế, tổ 12" in page and "0987 654 321" in page
    assert "Người có công với cách mạng" in page and procedure("tro-cap-xa-hoi-hang-thang").name_vi in page
    officer = demo_user(Role.OFFICER)
    assert f'<option value="{officer.id}">{officer.display_name} — {OFFICER_POSITION}</option>' in page
    # The date is preset to the first wished day.
    assert f'id="day-{late.id}" name="day" value="{days[5].isoformat()}"' in page
    assert f'id="day-{early.id}" name="day" value="{days[0].isoformat()}"' in page
    assert f"/staff/visits/{elsewhere.id}/" not in page and f"/staff/visits/{done.id}/" not in page


def test_scheduling_tells_the_citizen_in_the_same_transaction(app, staff_client):
    client, token = staff_client
    citizen = demo_user(Role.CITIZEN)
    officer = demo_user(Role.OFFICER)
    staff = demo_user(Role.STAFF)
    # The visited person has an account of their own too (their child asked): both are told.
    parent = make_user(Role.CITIZEN, None, "Trần Văn Phúc (tài khoản)")
    visit = _requested_visit()
    parent.person_id = visit.person_id
    db.session.add(PushSubscription(user_id=citizen.id, endpoint="https://push.example.com/a", p256dh="A" * 87,
                                    auth="A" * 22))
    db.session.commit()
    consent_to_push(citizen)
    day = services.offered_days()[1]

    response = _schedule(client, token, visit)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/visits")
    db.session.expire_all()
    assert visit.status is VisitStatus.SCHEDULED and visit.officer_id == officer.id
    assert visit.planned_for == day and visit.planned_time == time(9, 30)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit_scheduled"))
    assert event.actor_id == staff.id and event.target_id == str(visit.id)
    assert event.data["officer_id"] == officer.id and event.data["planned_for"] == day.isoformat()

    messages = list(db.session.scalars(select(InboxMessage).order_by(InboxMessage.user_id)))
    assert [m.user_id for m in messages] == sorted([citizen.id, parent.id])
    for message in messages:
        assert message.kind == "visit_scheduled" and message.dossier_id is None
        assert message.data == {"visit_id": visit.id, "planned_for": day.isoformat(), "planned_time": "09:30",
                                "officer_name": officer.display_name, "officer_position": OFFICER_POSITION}
    [delivery] = db.session.scalars(select(PushDelivery))
    assert delivery.message.user_id == citizen.id
    payload = payload_of(delivery)
    assert payload["kind"] == "visit_scheduled" and payload["url"] == "/my/visits"
    assert topic_of(None, delivery.message.data) == f"visit-{visit.id}"
    text = str(payload)
    for private in (officer.display_name, OFFICER_POSITION, "Trần Văn Phúc", "Ngõ 5", "987654321", "09:30"):
        assert private not in text

    # The inbox says who comes and when; so does the citizen's page.
    citizen_client = app.test_client()
    sign_in(citizen_client, citizen)
    [shown] = citizen_client.get("/api/v1/push/inbox").get_json()["messages"]
    assert shown["title"] == "Lịch tiếp nhận tại nhà"
    assert officer.display_name in shown["body"] and OFFICER_POSITION in shown["body"]
    assert "09:30" in shown["body"] and day.strftime("%d/%m/%Y") in shown["body"]
    page = citizen_client.get("/my/visits").get_data(as_text=True)
    assert "Đã có lịch hẹn" in page and officer.display_name in page and OFFICER_POSITION in page
    assert "09:30" in page and day.strftime("%d/%m/%Y") in page


def test_a_failing_notification_leaves_the_visit_unscheduled(app, staff_client, monkeypatch):
    client, token = staff_client
    visit = _requested_visit()
    real = services.notify_visit

    def notify_then_fail(v):
        real(v)
        raise RuntimeError("the outbox is broken")

    monkeypatch.setattr(services, "notify_visit", notify_then_fail)
    assert _schedule(client, token, visit).status_code == 500
    db.session.expire_all()
    assert visit.status is VisitStatus.REQUESTED and visit.officer_id is None and visit.planned_for is None
    assert _count(InboxMessage) == 0 and _count(AuditEvent, AuditEvent.action == "visit_scheduled") == 0


def test_rescheduling_moves_the_visit_and_tells_the_citizen_again(app, staff_client):
    client, token = staff_client
    visit = _requested_visit()
    second = make_user(Role.OFFICER, demo_agency(), "Lê Thị Hoa")
    second.position = "Công chức Văn hóa – Xã hội"
    db.session.commit()
    assert _schedule(client, token, visit).status_code == 302
    page = client.get("/staff/visits").get_data(as_text=True)
    assert "Đổi lịch" in page and '<option value="09:30" selected>' in page
    new_day = services.offered_days()[4]
    assert _schedule(client, token, visit, officer=str(second.id), day=new_day.isoformat(),
                     time="14:00").status_code == 302
    db.session.expire_all()
    assert (visit.officer_id, visit.planned_for, visit.planned_time) == (second.id, new_day, time(14, 0))
    latest = db.session.scalar(select(InboxMessage).order_by(InboxMessage.id.desc()))
    assert latest.data["officer_name"] == "Lê Thị Hoa" and latest.data["planned_time"] == "14:00"
    assert _count(InboxMessage) == 2


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"officer": ""}, "officer", "Vui lòng chọn cán bộ"),
    ({"officer": "999999"}, "officer", "Vui lòng chọn cán bộ"),
    ({"day": ""}, "day", "ngày hẹn hợp lệ"),
    ({"day": "2020-01-06"}, "day", "Ngày hẹn đã qua"),
    ({"day": "sunday"}, "day", "không phải ngày làm việc"),
    ({"time": ""}, "time", "Vui lòng chọn giờ hẹn"),
    ({"time": "25:99"}, "time", "Vui lòng chọn giờ hẹn"),
])
def test_a_wrong_assignment_is_refused_on_its_field(app, staff_client, changes, field, message):
    client, token = staff_client
    visit = _requested_visit()
    if changes.get("day") == "sunday":
        changes = {"day": _sunday_after(services.today()).isoformat()}
    response = _schedule(client, token, visit, **changes)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    found = re.search(rf'<p class="field-error" id="{field}-{visit.id}-error">([^<]+)</p>', page)
    assert found and message in found.group(1)
    db.session.expire_all()
    assert visit.status is VisitStatus.REQUESTED and _count(InboxMessage) == 0


def test_an_officer_of_another_ward_cannot_be_assigned(app, staff_client):
    client, token = staff_client
    stranger = make_user(Role.OFFICER, _other_ward(), "Cán bộ phường khác")
    visit = _requested_visit()
    assert _schedule(client, token, visit, officer=str(stranger.id)).status_code == 422
    db.session.expire_all()
    assert visit.officer_id is None


def test_staff_cancel_with_a_reason(app, staff_client):
    client, token = staff_client
    visit = _requested_visit()
    refused = client.post(f"/staff/visits/{visit.id}/cancel", data={"reason": " ", "csrf_token": token})
    assert refused.status_code == 422 and "Vui lòng ghi lý do hủy" in refused.get_data(as_text=True)
    done = client.post(f"/staff/visits/{visit.id}/cancel",
                       data={"reason": "Người dân đã đến nộp tại Bộ phận Một cửa", "csrf_token": token})
    assert done.status_code == 302
    db.session.expire_all()
    assert visit.status is VisitStatus.CANCELLED
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit_cancelled"))
    assert event.data["reason"] == "Người dân đã đến nộp tại Bộ phận Một cửa"
    # The citizen who asked is told, with the reason, in the same transaction; the inbox links to the visits.
    [told] = db.session.scalars(select(InboxMessage).where(InboxMessage.kind == "visit_cancelled"))
    assert told.user_id == demo_user(Role.CITIZEN).id
    with app.test_request_context():
        assert texts.of(told.kind, told.data)[1].endswith("Người dân đã đến nộp tại Bộ phận Một cửa")
    assert texts.link_of(told.data) == "/my/visits"
    assert f"/staff/visits/{visit.id}/" not in client.get("/staff/visits").get_data(as_text=True)
    # A closed visit can no longer be scheduled or cancelled.
    assert _schedule(client, token, visit).status_code == 409
    assert client.post(f"/staff/visits/{visit.id}/cancel",
                       data={"reason": "lần nữa", "csrf_token": token}).status_code == 409


def test_leaders_of_the_ward_may_schedule_too(app):
    client = app.test_client()
    token = sign_in(client, demo_user(Role.LEADER))
    visit = _requested_visit()
    assert "Trần Văn Phúc" in client.get("/staff/visits").get_data(as_text=True)
    assert _schedule(client, token, visit).status_code == 302


def test_another_wards_staff_and_other_roles_see_and_do_nothing(app):
    visit = _requested_visit()
    stranger = make_user(Role.STAFF, _other_ward(), "Công chức phường khác")
    client = app.test_client()
    token = sign_in(client, stranger)
    page = client.get("/staff/visits")
    assert page.status_code == 200 and "Trần Văn Phúc" not in page.get_data(as_text=True)
    assert _schedule(client, token, visit).status_code == 404
    assert client.post(f"/staff/visits/{visit.id}/cancel", data={"reason": "x", "csrf_token": token}).status_code == 404
    for role in (Role.CITIZEN, Role.OFFICER, Role.ADMIN):
        other = app.test_client()
        other_token = sign_in(other, demo_user(role))
        refused = other.get("/staff/visits")
        assert refused.status_code == 403 and "Trần Văn Phúc" not in refused.get_data(as_text=True)
        assert _schedule(other, other_token, visit).status_code == 403
    db.session.expire_all()
    assert visit.status is VisitStatus.REQUESTED and _count(InboxMessage) == 0
    anonymous = app.test_client()
    assert anonymous.get("/staff/visits").headers["Location"].startswith("/sign-in")


# --- the officer's phone -------------------------------------------------------------------------------------------

def test_the_officers_phone_receives_the_scheduled_visit_at_its_next_sync(app, staff_client):
    officer = demo_user(Role.OFFICER)
    device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
    phone = app.test_client()
    phone_token = sign_in(phone, officer, device)
    day = phone.post("/api/v1/sync/day", json={}, headers={"X-CSRFToken": phone_token})
    assert day.status_code == 200 and day.get_json()["visits"] == []
    cursor = day.get_json()["cursor"]
    visit = _requested_visit()
    assert phone.get("/api/v1/sync/changes", query_string={"cursor": cursor}).get_json()["visits"] == []

    client, token = staff_client
    assert _schedule(client, token, visit).status_code == 302
    changes = phone.get("/api/v1/sync/changes", query_string={"cursor": cursor})
    assert changes.status_code == 200
    [received] = changes.get_json()["visits"]
    planned = services.offered_days()[1].isoformat()
    assert received["id"] == visit.id and received["status"] == "scheduled"
    assert received["planned_for"] == planned and received["planned_time"] == "09:30"
    assert received["person"]["full_name"] == "Trần Văn Phúc" and received["address"] == "Ngõ 5 phố Huế, tổ 12"
    assert received["procedure_key"] == "tro-cap-xa-hoi-hang-thang" and received["reason"] == "meritorious"
    # The next day download has it too.
    again = phone.post("/api/v1/sync/day", json={}, headers={"X-CSRFToken": phone_token}).get_json()
    assert [v["id"] for v in again["visits"]] == [visit.id]


# --- words and demo data -------------------------------------------------------------------------------------------

def test_the_inbox_text_names_the_officer_and_falls_back_without_data(app):
    with app.test_request_context():
        title, body = texts.of("visit_scheduled", {"planned_for": "2026-12-15", "planned_time": "09:00",
                                                   "officer_name": "Lê Thị Hoa", "officer_position": OFFICER_POSITION})
        assert title == "Lịch tiếp nhận tại nhà"
        assert body == ("Cán bộ Lê Thị Hoa, Công chức Tư pháp – Hộ tịch, sẽ đến nhà lúc 09:00 ngày 15/12/2026 "
                        "để tiếp nhận hồ sơ.")
        assert texts.of("visit_scheduled", {})[1] == "Cán bộ sẽ đến nhà để tiếp nhận hồ sơ."
        assert "Lê Thị Hoa sẽ đến nhà ngày 15/12/2026" in texts.of(
            "visit_scheduled", {"planned_for": "2026-12-15", "officer_name": "Lê Thị Hoa"})[1]


def test_demo_ward_people_have_positions(app):
    assert demo_user(Role.OFFICER).position == OFFICER_POSITION
    assert demo_user(Role.STAFF).position and demo_user(Role.LEADER).position
    assert demo_user(Role.CITIZEN).position is None


def test_the_nav_links_to_the_right_page_per_role(app):
    for role, link in ((Role.CITIZEN, 'href="/my/visits"'), (Role.STAFF, 'href="/staff/visits"'),
                       (Role.LEADER, 'href="/staff/visits"')):
        client = app.test_client()
        sign_in(client, demo_user(role))
        page = client.get("/inbox").get_data(as_text=True)
        assert link in page and "Yêu cầu đến nhà" in page
    client = app.test_client()
    sign_in(client, demo_user(Role.OFFICER))
    assert "Yêu cầu đến nhà" not in client.get("/inbox").get_data(as_text=True)
