"""The desk's dossier page: what it shows, one form per legal step, every guard's refusal, and ward scope."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from datetime import time
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import AuditEvent
from server.auth.models import Role
from server.auth.models import User
from server.calendar import service as calendar
from server.calendar.workdays import VN_TZ
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierEvent
from server.dossiers.models import DossierFlag
from server.dossiers.models import DossierFollower
from server.dossiers.models import DossierRating
from server.dossiers.models import FollowRole
from server.dossiers.models import RatingLevel
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push.models import InboxMessage
from server.reference.models import Agency
from server.types import utcnow
from tests.desk_support import officer_client
from tests.desk_support import photo
from tests.desk_support import synced_dossier
from tests.desk_support import upload
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in


def desk(app, role: Role = Role.STAFF, user=None):
    """A test client signed in as the ward's demo staff (or leader, or ``user``); returns (client, csrf token)."""
    client = app.test_client()
    return client, sign_in(client, user or demo_user(role))


def act(client, token, dossier_id: int, action: str, **fields):
    return client.post(f"/staff/dossiers/{dossier_id}/actions/{action}", data={"csrf_token": token, **fields})


def state_of(dossier_id: int) -> State:
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id).state


def event_count(dossier_id: int) -> int:
    query = select(func.count()).select_from(DossierEvent).where(DossierEvent.dossier_id == dossier_id)
    return db.session.scalar(query)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_page_shows_people_procedure_documents_flags_history_and_rating(app):
    now = to_local(utcnow())
    dossier, picture = synced_dossier(app, clock_ahead=timedelta(hours=2), printed_due=now + timedelta(days=40))
    db.session.add(DossierRating(dossier_id=dossier.id, user_id=demo_user(Role.CITIZEN).id,
                                 level=RatingLevel.NOT_SATISFIED, criteria={"attitude": False},
                                 comment="Chờ lâu"))
    db.session.commit()
    client, _token = desk(app)
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    assert "Trần Văn Phúc" in page and "001045012345" in page and "Ngõ 5 phố Huế" in page  # owner
    assert "Trần Thị Mai" in page  # submitter
    # The follower scanned the receipt's QR code but is neither the owner nor the submitter (issue 11 point 8).
    assert "Nguyễn Thị Lan" in page and "người thân hoặc người đại diện — nhận bằng mã trên giấy hẹn" in page
    assert "áp dụng từ 01/07/2025" in page and "15 ngày làm việc" in page  # the dated version
    digest = hashlib.sha256(picture).hexdigest()
    assert f"<code class=\"hash\">{digest}</code>" in page
    assert f'href="/staff/attachments/{digest}"' in page
    assert "Giấy tờ đã xem, không chụp ảnh." in page  # the identity card, sighted only
    for kind in ("clock_skew", "due_mismatch", "provisional_code"):
        assert f'data-flag="{kind}" data-resolved="no"' in page
    # Two hours ahead, plus however long the request took to arrive (seconds on a busy machine).
    skew = float(re.search(r"Lệch (\d+\.\d) phút", page).group(1))
    assert 120.0 <= skew <= 121.0, skew
    assert 'data-action="receive"' in page.split('id="control-sheet-table"')[1]
    assert "Người dân → Bộ phận Một cửa" in page
    assert "Không hài lòng" in page and "Thái độ của cán bộ: chưa hài lòng" in page and "Chờ lâu" in page
    # Only what this state allows, for this role: staff may transfer, not approve.
    assert 'id="action-transfer"' in page and 'id="action-approve"' not in page
    assert 'id="action-withdraw"' in page and 'id="action-extend"' in page


def test_a_whole_dossier_through_the_page_forms_from_receipt_to_return(app):
    dossier, _picture = synced_dossier(app)
    staff, staff_token = desk(app, Role.STAFF)
    leader, leader_token = desk(app, Role.LEADER)
    messages_before = db.session.scalar(select(func.count()).select_from(InboxMessage))
    due = to_local(db.session.get(Dossier, dossier.id).due_at)

    steps = [
        (staff, staff_token, "transfer", {}, State.IN_PROCESS),
        (staff, staff_token, "request_supplement", {"items": "Giấy xác nhận khuyết tật\n\nSổ hộ nghèo\n",
                                                    "reason": "Thiếu giấy tờ chứng minh"}, State.AWAITING_SUPPLEMENT),
        (staff, staff_token, "record_supplement", {}, State.IN_PROCESS),
        (staff, staff_token, "request_payment", {"amount_vnd": "50.000"}, State.AWAITING_PAYMENT),
        (staff, staff_token, "record_payment", {}, State.IN_PROCESS),
        (staff, staff_token, "extend", {"reason": "Chờ xác minh", "new_due_date": (due + timedelta(days=60))
                                        .date().isoformat()}, State.IN_PROCESS),
        (staff, staff_token, "submit_for_approval", {}, State.PENDING_APPROVAL),
        (leader, leader_token, "reject", {"reason": "Sai tên"}, State.IN_PROCESS),
        (staff, staff_token, "submit_for_approval", {}, State.PENDING_APPROVAL),
        (leader, leader_token, "approve", {}, State.APPROVED),
        (staff, staff_token, "mark_result_ready", {}, State.RESOLVED),
        (staff, staff_token, "return_result", {"delivery_mode": "home", "recipient_name": "Trần Thị Mai",
                                               "acknowledged": "yes"}, State.RETURNED),
    ]
    for client, token, action, fields, expected in steps:
        response = act(client, token, dossier.id, action, **fields)
        assert response.status_code == 302, (action, text(response)[:2000])
        assert response.headers["Location"].endswith(f"/staff/dossiers/{dossier.id}#actions")
        assert state_of(dossier.id) is expected, action

    stored = db.session.get(Dossier, dossier.id)
    actions = [e.action for e in stored.events]
    assert actions == ["receive"] + [step[2] for step in steps]
    supplement = next(e for e in stored.events if e.action == "request_supplement")
    assert supplement.data["items"] == ["Giấy xác nhận khuyết tật", "Sổ hộ nghèo"]
    assert next(e for e in stored.events if e.action == "request_payment").data["amount_vnd"] == 50_000
    returned = stored.events[-1]
    assert returned.data == {"delivery_mode": "home", "recipient_name": "Trần Thị Mai", "acknowledged": True}
    approved = next(e for e in stored.events if e.action == "approve")
    ready = next(e for e in stored.events if e.action == "mark_result_ready")
    assert stored.processing_finished_at == ready.occurred_at and "timeliness" not in (approved.data or {})
    assert stored.extension_count == 1 and stored.apology_late is False
    assert stored.timeliness is not None and stored.returned_at is not None
    # Each step that concerns the citizen queued a notification in the same commit.
    assert db.session.scalar(select(func.count()).select_from(InboxMessage)) > messages_before

    page = text(staff.get(f"/staff/dossiers/{dossier.id}"))
    assert 'id="no-actions"' in page  # returned: nothing left to do
    sheet = page.split('id="control-sheet-table"')[1].split("</table>")[0]
    assert sheet.count("<tr data-action") == len(actions)
    assert 'data-action="transfer" data-timeliness="on_time"' in sheet
    assert 'data-action="approve" data-timeliness="early"' in sheet
    assert 'data-action="mark_result_ready" data-timeliness="early"' in sheet
    assert 'data-action="return_result" data-timeliness="early"' in sheet
    assert ("Hình thức: Tại nhà người dân; người ký nhận: Trần Thị Mai. "
            "Người nhận đã xác nhận đã nhận kết quả.") in sheet
    assert "Số tiền: 50.000 đồng" in sheet
    assert "Lãnh đạo phê duyệt → Công chức giải quyết" in sheet
    assert "Công chức giải quyết → Bộ phận Một cửa" in sheet
    history = page.split('id="timeline-list"')[1].split("</ol>")[0]
    acknowledged = history.split('data-acknowledged="yes">')[1].split("</span>")[0]
    assert acknowledged == "Hình thức: Tại nhà người dân; người ký nhận: Trần Thị Mai. " \
                           "Người nhận đã xác nhận đã nhận kết quả."


@pytest.mark.parametrize(("state", "role", "action", "fields", "messages"), [
    (State.IN_PROCESS, Role.STAFF, "request_supplement", {"items": " \n ", "reason": ""},
     {"items": "Phải liệt kê đầy đủ các giấy tờ cần bổ sung (hướng dẫn một lần).",
      "reason": "Phải ghi rõ lý do."}),
    (State.IN_PROCESS, Role.STAFF, "request_payment", {"amount_vnd": ""},
     {"amount_vnd": "Phải ghi số tiền phải nộp (đồng)."}),
    (State.IN_PROCESS, Role.STAFF, "request_payment", {"amount_vnd": "năm mươi nghìn"},
     {"amount_vnd": "Số tiền chỉ gồm chữ số (đồng), ví dụ 50000."}),
    (State.IN_PROCESS, Role.STAFF, "request_payment", {"amount_vnd": "0"},
     {"amount_vnd": "Phải ghi số tiền phải nộp (đồng)."}),
    (State.PENDING_APPROVAL, Role.LEADER, "reject", {"reason": "  "}, {"reason": "Phải ghi rõ lý do."}),
    (State.IN_PROCESS, Role.STAFF, "stop", {"reason": ""}, {"reason": "Phải ghi rõ lý do."}),
    (State.ONLINE_SUBMITTED, Role.STAFF, "refuse", {"reason": ""}, {"reason": "Phải ghi rõ lý do."}),
    (State.RECEIVED, Role.STAFF, "withdraw", {"citizen_request": ""},
     {"citizen_request": "Rút hồ sơ cần có đề nghị của công dân (số hoặc mô tả văn bản đề nghị)."}),
    (State.IN_PROCESS, Role.STAFF, "extend", {"reason": "", "new_due_date": ""},
     {"reason": "Phải ghi rõ lý do.", "new_due_date": "Phải ghi ngày hẹn mới."}),
    (State.IN_PROCESS, Role.STAFF, "extend", {"reason": "Chờ xác minh", "new_due_date": "31/12/2026"},
     {"new_due_date": "Ngày hẹn mới không hợp lệ (ngày/tháng/năm)."}),
    (State.IN_PROCESS, Role.STAFF, "extend", {"reason": "Chờ xác minh", "new_due_date": "9999-12-31"},
     {"new_due_date": "Ngày hẹn mới quá xa (hơn một năm): vui lòng kiểm tra lại năm."}),
    (State.IN_PROCESS, Role.STAFF, "extend", {"reason": "Chờ xác minh", "new_due_date": "2020-01-01"},
     {"new_due_date": "Ngày hẹn mới phải sau ngày hẹn trả hiện tại."}),
    (State.RESOLVED, Role.STAFF, "return_result", {},
     {"delivery_mode": "Chọn hình thức trả kết quả: tại bộ phận một cửa, tại nhà, qua bưu chính hoặc trực tuyến.",
      "recipient_name": "Phải ghi người nhận kết quả (ký nhận).",
      "acknowledged": "Người nhận phải xác nhận đã nhận kết quả (đánh dấu ô xác nhận)."}),
    (State.RESOLVED, Role.STAFF, "return_result", {"delivery_mode": "counter", "recipient_name": "Trần Thị Mai"},
     {"acknowledged": "Người nhận phải xác nhận đã nhận kết quả (đánh dấu ô xác nhận)."}),
    (State.RESOLVED, Role.STAFF, "return_result", {"delivery_mode": "drone", "recipient_name": "Mai",
                                                   "acknowledged": "yes"},
     {"delivery_mode": "Chọn hình thức trả kết quả: tại bộ phận một cửa, tại nhà, qua bưu chính hoặc trực tuyến."}),
    (State.RECEIVED, Role.STAFF, "resolve_on_spot", {},
     {"form": "Chỉ thủ tục giải quyết trong ngày mới được trả kết quả ngay."}),
])
def test_each_guard_refuses_with_its_message_next_to_its_form(app, state, role, action, fields, messages):
    due = utcnow() + timedelta(days=20)
    dossier = make_dossier(state, due_at=due, code=f"GUARD-{action}-{len(fields)}-{len(str(fields))}")
    before = event_count(dossier.id)
    client, token = desk(app, role)
    response = act(client, token, dossier.id, action, **fields)
    assert response.status_code == 422
    page = text(response)
    assert 'id="action-problem"' in page
    for field, message in messages.items():
        assert f'id="{action}-{field}-error"' in page, field
        error = page.split(f'id="{action}-{field}-error"')[1].split("</p>")[0]
        assert message in error
    # What was typed is kept (a choice that was not offered cannot be), and nothing changed.
    for name, value in fields.items():
        if value.strip() and name not in ("acknowledged", "delivery_mode"):
            assert value.strip() in page
    assert state_of(dossier.id) is state and event_count(dossier.id) == before


def test_the_approver_cannot_be_the_handler(app):
    leader = demo_user(Role.LEADER)
    dossier = make_dossier(State.PENDING_APPROVAL, handler=leader, due_at=utcnow() + timedelta(days=5))
    client, token = desk(app, Role.LEADER)
    response = act(client, token, dossier.id, "approve")
    assert response.status_code == 422
    assert "Người phê duyệt không được là người thụ lý hồ sơ." in text(response).split('id="approve-form-error"')[1]
    assert state_of(dossier.id) is State.PENDING_APPROVAL
    # Another leader of the ward may.
    other_leader = make_user(Role.LEADER, leader.agency, "Phó Chủ tịch khác")
    client, token = desk(app, user=other_leader)
    assert act(client, token, dossier.id, "approve").status_code == 302
    assert state_of(dossier.id) is State.APPROVED


def test_a_second_extension_is_refused(app):
    dossier = make_dossier(State.IN_PROCESS, due_at=utcnow() + timedelta(days=20))
    client, token = desk(app)
    new_date = (to_local(utcnow()) + timedelta(days=40)).date().isoformat()
    assert act(client, token, dossier.id, "extend", reason="Chờ xác minh", new_due_date=new_date).status_code == 302
    later = (to_local(utcnow()) + timedelta(days=50)).date().isoformat()
    page = client.get(f"/staff/dossiers/{dossier.id}")
    assert "Hồ sơ đã được gia hạn một lần." in text(page)
    response = act(client, token, dossier.id, "extend", reason="Lần hai", new_due_date=later)
    assert response.status_code == 422
    assert "không được hẹn lại lần thứ hai" in text(response).split('id="extend-form-error"')[1]
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).extension_count == 1


def due_on_the_coming_working_day() -> datetime:
    """23:59 of today when it is a working day, else of the next one: always less than one working day ahead, and
    never a due time that falls on a weekend (a test run near midnight once crossed into a Saturday)."""
    today = to_local(utcnow()).date()
    cal = calendar.load_calendar(today.year, today.year + 1)
    day = today if cal.is_working_day(today) else cal.next_working_day(today)
    return datetime.combine(day, time(23, 59), tzinfo=VN_TZ)


def test_an_extension_on_the_due_day_is_allowed_but_flagged_late(app):
    dossier = make_dossier(State.IN_PROCESS, due_at=due_on_the_coming_working_day())
    client, token = desk(app)
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    assert 'id="extend-late-warning"' in page
    new_date = (to_local(utcnow()) + timedelta(days=10)).date().isoformat()
    assert act(client, token, dossier.id, "extend", reason="Chờ xác minh", new_due_date=new_date).status_code == 302
    db.session.expire_all()
    stored = db.session.get(Dossier, dossier.id)
    assert stored.apology_late is True and stored.extension_count == 1
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    assert "văn bản xin lỗi gửi muộn" in page.split('id="extension"')[1]
    # An early one is not flagged.
    early = make_dossier(State.IN_PROCESS, due_at=utcnow() + timedelta(days=20))
    assert 'id="extend-late-warning"' not in text(client.get(f"/staff/dossiers/{early.id}"))


def test_an_action_illegal_in_the_state_is_409_and_a_role_that_may_not_is_403(app):
    dossier = make_dossier(State.IN_PROCESS, due_at=utcnow() + timedelta(days=20))
    client, token = desk(app)
    response = act(client, token, dossier.id, "transfer")
    assert response.status_code == 409
    problem = text(response).split('id="page-problem"')[1].split("</p>")[0]
    assert "Không thể «Chuyển hồ sơ cho công chức giải quyết» khi hồ sơ đang ở trạng thái «Đang giải quyết»" in problem
    pending = make_dossier(State.PENDING_APPROVAL, due_at=utcnow() + timedelta(days=20))
    response = act(client, token, pending.id, "approve")
    assert response.status_code == 403
    assert "Vai trò của bạn không được thực hiện thao tác «Phê duyệt" in text(response)
    assert act(client, token, dossier.id, "fly_away").status_code == 404
    assert state_of(dossier.id) is State.IN_PROCESS and state_of(pending.id) is State.PENDING_APPROVAL


@pytest.mark.parametrize(("state", "action", "fields", "expected"), [
    (State.IN_PROCESS, "stop", {"reason": "Không đủ điều kiện hưởng"}, State.STOPPED),
    (State.AWAITING_SUPPLEMENT, "withdraw", {"citizen_request": "Đơn xin rút ngày 05/03"}, State.WITHDRAWN),
    (State.ONLINE_SUBMITTED, "refuse", {"reason": "Không thuộc thẩm quyền"}, State.REFUSED),
    (State.AWAITING_SUPPLEMENT, "expire_supplement", {}, State.STOPPED),
])
def test_the_closing_steps(app, state, action, fields, expected):
    dossier = make_dossier(state, due_at=utcnow() + timedelta(days=20))
    client, token = desk(app)
    assert act(client, token, dossier.id, action, **fields).status_code == 302
    assert state_of(dossier.id) is expected
    event = db.session.get(Dossier, dossier.id).events[-1]
    assert event.action == action and event.reason == (next(iter(fields.values()), None))


def test_a_flag_is_marked_resolved_once_with_who_and_when(app):
    dossier, _ = synced_dossier(app, clock_ahead=timedelta(hours=3))
    flag = next(f for f in dossier.flags if f.kind.value == "clock_skew")
    client, token = desk(app)
    response = client.post(f"/staff/dossiers/{dossier.id}/flags/{flag.id}/resolve", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("#flags")
    client.post(f"/staff/dossiers/{dossier.id}/flags/{flag.id}/resolve", data={"csrf_token": token})
    db.session.expire_all()
    stored = db.session.get(DossierFlag, flag.id)
    assert stored.resolved_at is not None and stored.resolved_by_id == demo_user(Role.STAFF).id
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "dossier_flag_resolved"))
    assert audits == 1
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    assert 'data-flag="clock_skew" data-resolved="yes"' in page
    assert 'data-flag="provisional_code" data-resolved="no"' in page
    # Without the CSRF token nothing happens.
    other = next(f for f in dossier.flags if f.kind.value == "provisional_code")
    assert client.post(f"/staff/dossiers/{dossier.id}/flags/{other.id}/resolve").status_code == 400


def test_the_photo_is_served_to_the_ward_only_with_its_type_and_no_shared_caching(app):
    dossier, picture = synced_dossier(app)
    digest = hashlib.sha256(picture).hexdigest()
    client, _token = desk(app, Role.LEADER)
    with client.get(f"/staff/attachments/{digest}") as response:  # a streamed file: closed when read
        assert response.status_code == 200
        assert response.data == picture
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"
    # Stored, but in no dossier: not served (an upload alone gives no one a right to see it).
    phone, phone_token = officer_client(app)
    orphan = upload(phone, phone_token, photo(99))
    assert client.get(f"/staff/attachments/{orphan}").status_code == 404
    assert client.get("/staff/attachments/..%2F..%2Fsecret_key").status_code == 404


def test_another_ward_sees_nothing_and_can_do_nothing(app):
    dossier, picture = synced_dossier(app, clock_ahead=timedelta(hours=2))
    flag = dossier.flags[0]
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    for role in (Role.STAFF, Role.LEADER):
        stranger = make_user(role, other_ward, f"{role.value} phường khác")
        client, token = desk(app, user=stranger)
        assert client.get(f"/staff/dossiers/{dossier.id}").status_code == 404
        assert client.get(f"/staff/attachments/{hashlib.sha256(picture).hexdigest()}").status_code == 404
        for action in ("transfer", "withdraw", "stop", "extend", "approve", "return_result"):
            assert act(client, token, dossier.id, action, reason="x", citizen_request="x").status_code == 404, action
        resolve = client.post(f"/staff/dossiers/{dossier.id}/flags/{flag.id}/resolve", data={"csrf_token": token})
        assert resolve.status_code == 404
    assert state_of(dossier.id) is State.RECEIVED
    db.session.expire_all()
    assert db.session.get(DossierFlag, flag.id).resolved_at is None
    # The officer and the citizen are not the desk: 403 (the access matrix covers every role).
    for role in (Role.OFFICER, Role.CITIZEN):
        client, token = desk(app, role)
        assert client.get(f"/staff/dossiers/{dossier.id}").status_code == 403
        assert act(client, token, dossier.id, "transfer").status_code == 403


def test_a_follower_is_shown_with_the_role_their_person_has_in_the_dossier(app):
    """Issue 11 point 8: scanning the QR code does not make anyone the owner; the account's person says who it is."""
    dossier, _picture = synced_dossier(app, follower=None)
    owner_account = User(role=Role.CITIZEN, display_name="Trần Văn Phúc",
                         person=Person(full_name="Trần Văn Phúc", personal_id=dossier.owner.personal_id))
    submitter_account = User(role=Role.CITIZEN, display_name="Trần Thị Mai", person=dossier.submitter)
    relative = User(role=Role.CITIZEN, display_name="Lê Thị Hoa")
    db.session.add_all([owner_account, submitter_account, relative])
    db.session.flush()
    for account in (owner_account, submitter_account, relative):
        db.session.add(DossierFollower(dossier_id=dossier.id, user_id=account.id, role=FollowRole.OWNER))
    db.session.commit()
    client, _token = desk(app)
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    roles = re.findall(r'<span class="follower-role">([^<]*)</span>', page)
    assert roles == ["chủ hồ sơ — nhận bằng mã trên giấy hẹn",
                     "người nộp hồ sơ (người thân hoặc người đại diện) — nhận bằng mã trên giấy hẹn",
                     "người thân hoặc người đại diện — nhận bằng mã trên giấy hẹn"]


def test_fields_are_named_never_shown_by_their_key(app):
    """Issue 11 point 8: "Người có công", not ``nguoi_co_cong``, on the dossier page and in the queue."""
    from server.reference.fields import field_labels

    dossier, _picture = synced_dossier(app)
    key = dossier.procedure_version.procedure.field
    client, _token = desk(app)
    page = text(client.get(f"/staff/dossiers/{dossier.id}"))
    with app.test_request_context():
        name = field_labels()[key]
    assert f'id="procedure-field">{name}</dd>' in page
    queue = text(client.get("/staff/queue"))
    for shown in (page, queue):
        visible = re.sub(r'<[^>]*>', " ", shown)  # option values and links may hold the key; the text must not
        assert key not in visible


def test_result_at_once_is_offered_only_for_same_day_procedures(app):
    """Issue 11 point 8: the desk's "Có kết quả ngay" only where the procedure is decided the same day."""
    same_day = make_dossier(State.RECEIVED, procedure_key="chung-thuc-chu-ky", due_at=utcnow() + timedelta(hours=3),
                            code="SAME-DAY-1")
    fifteen_days = make_dossier(State.RECEIVED, due_at=utcnow() + timedelta(days=20), code="FIFTEEN-DAYS-1")
    assert same_day.procedure_version.time_unit.value == "same_day"
    assert fifteen_days.procedure_version.time_unit.value != "same_day"
    client, _token = desk(app)
    assert 'id="action-resolve_on_spot"' in text(client.get(f"/staff/dossiers/{same_day.id}"))
    page = text(client.get(f"/staff/dossiers/{fifteen_days.id}"))
    assert 'id="action-resolve_on_spot"' not in page and 'id="action-transfer"' in page
