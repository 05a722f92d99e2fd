"""Data subjects' requests (deadlines on the working-day calendar, each kind, the desk's queue, exports, deletion
within what the law keeps) and the retention purge (dry run, real run, statistics unchanged, audit without personal
data), on SQLite and PostgreSQL (issue 12, points 6 and 7)."""

from __future__ import annotations

import io
import json
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from server.access_log.models import AccessEvent
from server.auth.models import AuditEvent
from server.auth.models import Role
from server.auth.models import User
from server.calendar import service as calendar_service
from server.calendar.models import OverrideKind
from server.calendar.workdays import VN_TZ
from server.dossiers.models import Attachment
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.services import apply_action
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.extensions import db
from server.people.models import Person
from server.portal.models import PortalMessage
from server.privacy import records
from server.privacy import requests as service
from server.privacy import retention
from server.privacy.models import DataSubjectRequest
from server.privacy.models import RequestKind
from server.privacy.models import RequestState
from server.stats.service import report
from server.storage import backend
from server.types import utcnow
from tests.desk_support import synced_dossier
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import render_forms
from tests.helpers import sign_in

OWNER_ID = "001045012345"  # the owner's personal ID in tests/desk_support.py synced_dossier


def vn(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def desk_client(app, role: Role = Role.STAFF):
    client = app.test_client()
    return client, sign_in(client, demo_user(role))


def close(dossier: Dossier) -> None:
    """Take a received dossier through processing to the returned result (its statutory forms are issued)."""
    staff, leader = demo_user(Role.STAFF), demo_user(Role.LEADER)
    as_staff, as_leader = ActionRequest(staff.id, "staff"), ActionRequest(leader.id, "leader")
    for action, actor, request in ((Action.TRANSFER, staff, as_staff), (Action.SUBMIT_FOR_APPROVAL, staff, as_staff),
                                   (Action.APPROVE, leader, as_leader), (Action.MARK_RESULT_READY, staff, as_staff)):
        apply_action(dossier, action, actor, request)
    apply_action(dossier, Action.RETURN_RESULT, staff, ActionRequest(
        staff.id, "staff", delivery_mode="counter", recipient_name="Trần Văn Phúc", acknowledged=True))
    db.session.commit()


def desk_request(client, token, kind: str, **fields):
    body = {"kind": kind, "personal_id": OWNER_ID, "identity_method": "card_sighted", **fields}
    return client.post("/api/v1/staff/data-requests", json=body, headers={"X-CSRFToken": token})


def step(client, token, request_id: int, name: str, body: dict | None = None, **headers):
    return client.post(f"/api/v1/staff/data-requests/{request_id}/{name}", json=body or {},
                       headers={"X-CSRFToken": token, **headers})


# ------------------------------------------------------------------------------------------------- deadlines


def test_deadlines_are_counted_in_working_days_across_tet(app):
    """Received Thu 12 Feb 2026 10:00 (Tết off 14-22 Feb): acknowledge by Mon 23 Feb, answer by Thu 12 Mar; the one
    extension adds 15 working days from the answer deadline: Thu 2 Apr."""
    subject = synced_dossier(app, follower=None)[0].owner
    staff = demo_user(Role.STAFF)
    found = service.receive(RequestKind.ACCESS, subject, staff, demo_agency(), vn(2026, 2, 12, 10), on_behalf=True)
    assert found.acknowledge_due_at == vn(2026, 2, 23, 10)
    assert found.answer_due_at == vn(2026, 3, 12, 10)
    assert found.deadline_source == "Nghị định 356/2025/NĐ-CP"
    service.extend(found, staff, "Cần xác minh ở đơn vị khác", vn(2026, 3, 2, 9))
    assert found.answer_due_at == vn(2026, 4, 2, 10)
    assert found.original_answer_due_at == vn(2026, 3, 12, 10)
    assert found.state is RequestState.ACKNOWLEDGED  # telling the citizen of the extension acknowledges it
    with pytest.raises(service.RequestStepRefused):
        service.extend(found, staff, "Lần nữa", vn(2026, 3, 3, 9))


def test_a_declared_holiday_moves_the_deadline_and_after_closing_starts_at_the_next_opening(app):
    subject = synced_dossier(app, follower=None)[0].owner
    staff = demo_user(Role.STAFF)
    calendar_service.add_override(date(2026, 2, 13), OverrideKind.DAY_OFF, "Nghỉ thêm (thử)")
    db.session.commit()
    found = service.receive(RequestKind.ACCESS, subject, staff, demo_agency(), vn(2026, 2, 12, 10))
    assert found.acknowledge_due_at == vn(2026, 2, 24, 10)  # Fri 13 is now off: Mon 23 (1), Tue 24 (2)
    late = service.receive(RequestKind.ACCESS, subject, staff, demo_agency(), vn(2026, 3, 2, 18))
    assert late.acknowledge_due_at == vn(2026, 3, 5, 7)  # after closing: from Tue 3 Mar 07:00


def test_the_rule_in_force_on_the_day_of_receipt_applies(app):
    app.config["DATA_REQUEST_DEADLINES"] = [
        *app.config["DATA_REQUEST_DEADLINES"],
        {"from": "2026-03-01", "acknowledge_working_days": 1, "answer_working_days": 20,
         "extension_working_days": 10, "source": "Quy định thử"}]
    subject = synced_dossier(app, follower=None)[0].owner
    staff = demo_user(Role.STAFF)
    before = service.receive(RequestKind.ACCESS, subject, staff, demo_agency(), vn(2026, 2, 27, 9))
    after = service.receive(RequestKind.ACCESS, subject, staff, demo_agency(), vn(2026, 3, 2, 9))
    assert before.deadline_source == "Nghị định 356/2025/NĐ-CP"
    assert (after.deadline_source, after.acknowledge_due_at, after.answer_due_at) == (
        "Quy định thử", vn(2026, 3, 3, 9), vn(2026, 3, 30, 9))


# ------------------------------------------------------------------------------------------- the desk's queue


def test_the_desks_queue_shows_a_request_when_it_is_due(app):
    synced_dossier(app, follower=None)
    client, token = desk_client(app)
    created = desk_request(client, token, "access")
    assert created.status_code == 201, created.get_json()
    request_id = created.get_json()["id"]
    # Due within the window whatever the hour: the 2 working days to acknowledge count from the next working day
    # when the request comes after office hours, and then end after the queue's "due soon" window.
    found = db.session.get(DataSubjectRequest, request_id)
    found.acknowledge_due_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    page = client.get("/staff/queue").get_data(as_text=True)
    assert 'id="due-data-requests"' in page and f'data-request-id="{request_id}"' in page
    assert "xác nhận trước" in page
    assert step(client, token, request_id, "acknowledge").status_code == 200
    # Acknowledged: the answer is due in 15 working days, beyond the "due soon" window: not shown.
    assert f'data-request-id="{request_id}"' not in client.get("/staff/queue").get_data(as_text=True)
    found = db.session.get(DataSubjectRequest, request_id)
    found.answer_due_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    page = client.get("/staff/queue").get_data(as_text=True)
    assert f'data-request-id="{request_id}"' in page and "trả lời trước" in page
    assert step(client, token, request_id, "answer").status_code == 200
    assert 'id="due-data-requests"' not in client.get("/staff/queue").get_data(as_text=True)


def test_another_wards_queue_does_not_show_it(app):
    from server.reference.models import Agency

    synced_dossier(app, follower=None)
    client, token = desk_client(app)
    request_id = desk_request(client, token, "access").get_json()["id"]
    other = Agency(agency_code="000.00.99.H99", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other)
    db.session.commit()
    stranger = app.test_client()
    stranger_token = sign_in(stranger, make_user(Role.STAFF, other))
    assert 'id="due-data-requests"' not in stranger.get("/staff/queue").get_data(as_text=True)
    refused = step(stranger, stranger_token, request_id, "answer")
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert stranger.get(f"/api/v1/data-requests/{request_id}/export.json").status_code == 404


# -------------------------------------------------------------------------------------------- each kind


def test_access_and_export_give_json_and_a_readable_pdf(app):
    dossier, _ = synced_dossier(app, follower=None)
    client, token = desk_client(app)
    request_id = desk_request(client, token, "export", details="Xin bản sao dữ liệu").get_json()["id"]
    answered = step(client, token, request_id, "answer", {"text": "Gửi ông bản trích xuất."})
    assert answered.status_code == 200
    assert answered.get_json()["answer_text"].startswith("Gửi ông bản trích xuất.")
    exported = client.get(f"/api/v1/data-requests/{request_id}/export.json")
    assert exported.status_code == 200 and exported.headers["Cache-Control"] == "no-store"
    data = exported.get_json()
    owner = data["records"][0]
    assert (owner["full_name"], owner["personal_id"], owner["phone"], owner["address"]) == (
        "Trần Văn Phúc", OWNER_ID, "+84912345678", "Ngõ 5 phố Huế")
    assert [d["code"] for d in data["dossiers"]] == [dossier.code]
    assert data["dossiers"][0]["as"] == ["owner"]
    assert any(d["photo_held"] for d in data["dossiers"][0]["documents"])
    assert data["dossiers"][0]["history"][0]["step"] == "receive"
    pdf = client.get(f"/api/v1/data-requests/{request_id}/export.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    for expected in ("DỮ LIỆU CÁ NHÂN PHƯỜNG ĐANG LƯU GIỮ", "Trần Văn Phúc", OWNER_ID, "0912 345 678",
                     "Ngõ 5 phố Huế", dossier.code, "Nghị định 356/2025/NĐ-CP"):
        assert expected in text, expected
    audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "DataSubjectRequest"))
    assert {"data_request_received", "data_request_answered", "data_request_exported"} <= set(audited)
    # Each download is in the access log too, as a view of the subject's data (point 8).
    subject = db.session.get(DataSubjectRequest, request_id).subject_id
    exports = db.session.scalars(select(AccessEvent).where(AccessEvent.kind == "export")).all()
    assert [(e.object_id, e.person_id) for e in exports] == [(str(request_id), subject)] * 2


def test_the_citizen_asks_from_their_account_and_downloads_once_answered(app):
    dossier, _ = synced_dossier(app, follower=None)
    citizen = User(role=Role.CITIZEN, display_name="Trần Văn Phúc",
                   person=Person(full_name="Trần Văn Phúc", personal_id=OWNER_ID))
    db.session.add(citizen)
    db.session.flush()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    db.session.commit()
    client = app.test_client()
    token = sign_in(client, citizen)
    created = client.post("/api/v1/me/data-requests", json={"kind": "access"}, headers={"X-CSRFToken": token})
    assert created.status_code == 201, created.get_json()
    request_id = created.get_json()["id"]
    early = client.get(f"/api/v1/data-requests/{request_id}/export.json", headers={"Accept-Language": "en"})
    assert early.status_code == 409 and early.get_json()["title"] == "Not answered yet"
    desk, desk_token = desk_client(app)
    assert step(desk, desk_token, request_id, "answer").status_code == 200
    data = client.get(f"/api/v1/data-requests/{request_id}/export.json").get_json()
    # Without an identity check the request covers the account's record and the dossiers it claimed as owner.
    assert {r["full_name"] for r in data["records"]} == {"Trần Văn Phúc"}
    assert [d["code"] for d in data["dossiers"]] == [dossier.code]
    assert client.get("/api/v1/me/data-requests").get_json()["requests"][0]["state"] == "answered"


def test_a_citizens_declared_id_alone_reaches_no_one_elses_records(app):
    dossier, _ = synced_dossier(app, follower=None)
    impostor = User(role=Role.CITIZEN, display_name="Kẻ mạo danh",
                    person=Person(full_name="Kẻ mạo danh", personal_id=OWNER_ID))
    db.session.add(impostor)
    db.session.commit()
    other, _ = synced_dossier(app, seed=1, follower=None)  # follows another dossier, with another owner record
    db.session.add(DossierFollower(dossier_id=other.id, user_id=impostor.id, role=FollowRole.FOLLOWER))
    db.session.commit()
    found = service.receive(RequestKind.ACCESS, impostor.person, impostor, demo_agency(), utcnow())
    assert [p.full_name for p in service.subject_records(found)] == ["Kẻ mạo danh"]
    # The desk's request for the real owner (ID card checked) leaves out the account that only declared the ID.
    at_desk = service.receive(RequestKind.ACCESS, dossier.owner, demo_user(Role.STAFF), demo_agency(), utcnow(),
                              on_behalf=True)
    assert {p.full_name for p in service.subject_records(at_desk)} == {"Trần Văn Phúc"}
    assert impostor.person not in service.subject_records(at_desk)


def test_rectify_corrects_every_record_of_the_person(app):
    first, _ = synced_dossier(app, follower=None)
    second, _ = synced_dossier(app, seed=1, follower=None)
    client, token = desk_client(app)
    created = desk_request(client, token, "rectify", corrections={"full_name": "Trần Văn  Phúc Anh",
                                                                  "phone": "091 234 5679"})
    assert created.status_code == 201, created.get_json()
    assert step(client, token, created.get_json()["id"], "answer").status_code == 200
    db.session.expire_all()
    for dossier in (first, second):
        assert (dossier.owner.full_name, dossier.owner.phone_e164) == ("Trần Văn Phúc Anh", "+84912345679")
        assert "tran van phuc anh" in db.session.get(Dossier, dossier.id).search_text


def test_restrict_marks_the_person(app):
    dossier, _ = synced_dossier(app, follower=None)
    client, token = desk_client(app)
    request_id = desk_request(client, token, "restrict").get_json()["id"]
    answered = step(client, token, request_id, "answer").get_json()
    assert "hạn chế xử lý" in answered["answer_text"]
    db.session.refresh(dossier.owner)
    assert dossier.owner.processing_restricted_at is not None
    assert dossier.submitter.processing_restricted_at is None  # another person
    page = client.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    assert page.count('class="restricted"') == 1


def test_erase_keeps_what_the_law_obliges_and_says_so(app):
    open_dossier, _ = synced_dossier(app, follower=None)
    closed_kept, _ = synced_dossier(app, seed=3, follower=None)  # seeds 1 and 2 give the same JPEG
    closed_expired, _ = synced_dossier(app, seed=4, follower=None)
    for dossier in (closed_kept, closed_expired):
        close(dossier)
    procedure = closed_kept.procedure_version.procedure
    procedure.personal_data_retention_days = procedure.photo_retention_days = 30
    closed_expired.closed_at = utcnow() - timedelta(days=31)
    db.session.commit()
    render_forms()  # the receipts' PDFs, as the worker renders them after each sync
    expired_sha = records.photo_documents(closed_expired)[0].sha256
    client, token = desk_client(app)
    request_id = desk_request(client, token, "erase").get_json()["id"]
    answer = step(client, token, request_id, "answer").get_json()["answer_text"]
    assert f"Hồ sơ {open_dossier.code} đang được giải quyết" in answer
    assert f"Hồ sơ {closed_kept.code} đã kết thúc: phường lưu hồ sơ đến ngày" in answer
    assert f"Hồ sơ {closed_expired.code}: đã hết thời hạn lưu trữ" in answer
    assert "văn bản, biểu mẫu đã cấp" in answer
    db.session.expire_all()
    assert open_dossier.owner.full_name == closed_kept.owner.full_name == "Trần Văn Phúc"
    assert closed_expired.owner.full_name == records.ANONYMOUS_NAME
    assert closed_expired.owner.personal_id is None and closed_expired.owner.phone_e164 is None
    assert db.session.get(Attachment, expired_sha) is None and not backend().has(expired_sha)
    assert records.photo_documents(closed_kept)  # within its retention: the photo stays
    issued = [d for d in closed_expired.documents if d.form_key]
    assert issued and all(d.sha256 and backend().has(d.sha256) for d in issued)  # statutory forms stay


# -------------------------------------------------------------------------------------------------- retention


def _closed_dossier_past_retention(app, days_ago: int = 40, seed: int = 0):
    dossier, _ = synced_dossier(app, seed=seed, follower=None)
    close(dossier)
    procedure = dossier.procedure_version.procedure
    procedure.photo_retention_days, procedure.personal_data_retention_days = 30, 30
    dossier.closed_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    return dossier


def test_retention_dry_run_lists_and_the_real_run_purges(app, runner):
    dossier = _closed_dossier_past_retention(app)
    kept = _closed_dossier_past_retention(app, days_ago=10, seed=1)
    photo_sha = records.photo_documents(dossier)[0].sha256
    def portal_copies(of):
        return json.dumps([m.payload for m in db.session.scalars(
            select(PortalMessage).where(PortalMessage.dossier_id == of.id))], ensure_ascii=False)

    assert "Trần Văn Phúc" in portal_copies(dossier) and OWNER_ID in portal_copies(dossier)  # the DVCQG sync's
    dry = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Would delete the photos of 1 dossiers (1 photographed papers): {dossier.id}" in dry.output
    assert f"Would anonymise the personal data of 1 dossiers: {dossier.id}" in dry.output
    db.session.expire_all()
    assert db.session.get(Attachment, photo_sha) is not None and backend().has(photo_sha)
    assert db.session.get(Dossier, dossier.id).owner.full_name == "Trần Văn Phúc"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention_purge")) is None

    real = runner.invoke(args=["retention", "purge"])
    assert real.exit_code == 0, real.output
    assert f"Deleted the photos of 1 dossiers (1 photographed papers, 1 files): {dossier.id}" in real.output
    assert f"Anonymised the personal data of 1 dossiers (2 person records): {dossier.id}" in real.output
    db.session.expire_all()
    purged = db.session.get(Dossier, dossier.id)
    assert db.session.get(Attachment, photo_sha) is None and not backend().has(photo_sha)
    assert purged.photos_purged_at and purged.personal_data_purged_at and purged.photographed
    assert purged.owner.full_name == purged.submitter.full_name == records.ANONYMOUS_NAME
    assert "tran van phuc" not in purged.search_text and "0912345678" not in purged.search_text
    assert db.session.get(Dossier, kept.id).owner.full_name == "Trần Văn Phúc"
    assert "Trần" not in portal_copies(purged) and OWNER_ID not in portal_copies(purged)
    assert purged.code in portal_copies(purged)  # the messages themselves stay: the dossier's history
    assert "Trần Văn Phúc" in portal_copies(kept)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention_purge"))
    assert event.data["photos_dossier_ids"] == [dossier.id] and event.data["people_anonymised"] == 2
    logged = json.dumps(event.data, ensure_ascii=False)
    for personal in ("Trần", OWNER_ID, "0912345678", "+84912345678", "phố Huế", photo_sha):
        assert personal not in logged
    again = runner.invoke(args=["retention", "purge"])
    assert "of 0 dossiers" in again.output  # idempotent


def test_the_statistics_are_the_same_before_and_after_the_purge(app):
    dossier = _closed_dossier_past_retention(app)
    synced_dossier(app, seed=3, follower=None)  # still open, with another photo
    today = utcnow().astimezone(VN_TZ).date()
    period = (today - timedelta(days=60), today)
    before = report(*period, agency_ids=[demo_agency().id])
    done = retention.purge(utcnow())
    db.session.commit()
    assert done.photos == [dossier.id]
    db.session.expire_all()
    after = report(*period, agency_ids=[demo_agency().id])
    assert after == before
    assert before.totals.total == 2


def test_nothing_is_purged_without_a_retention_setting(app):
    dossier, _ = synced_dossier(app, follower=None)
    close(dossier)
    dossier.closed_at = utcnow() - timedelta(days=3650)
    db.session.commit()
    assert retention.plan(utcnow()).photos == []


def test_the_worker_purges_at_most_once_per_interval(app):
    dossier = _closed_dossier_past_retention(app)
    first = retention.purge_if_due(utcnow())
    assert first is not None and first.photos == [dossier.id]
    assert retention.purge_if_due(utcnow()) is None
    assert retention.purge_if_due(utcnow() + timedelta(hours=25)) is not None
    app.config["RETENTION_PURGE_INTERVAL_HOURS"] = 0
    assert retention.purge_if_due(utcnow() + timedelta(days=9)) is None


# ------------------------------------------------------------------------------------------------ hostile input


@pytest.mark.parametrize("body, status, field", [
    ({"kind": "delete_everything", "personal_id": OWNER_ID, "identity_method": "card_sighted"}, 400, "kind"),
    ({"kind": "access", "personal_id": OWNER_ID, "identity_method": "card_sighted", "extra": 1}, 400, None),
    ({"kind": "access", "personal_id": "12", "identity_method": "card_sighted"}, 422, "personal_id"),
    ({"kind": "access", "personal_id": "079203000001", "identity_method": "card_sighted"}, 422, "personal_id"),
    ({"kind": "access", "personal_id": OWNER_ID, "identity_method": "guessed"}, 400, "identity_method"),
    ({"kind": "access", "personal_id": OWNER_ID, "identity_method": "card_sighted",
      "corrections": {"phone": "0912345679"}}, 422, "corrections"),
    ({"kind": "rectify", "personal_id": OWNER_ID, "identity_method": "card_sighted"}, 422, "corrections"),
    ({"kind": "rectify", "personal_id": OWNER_ID, "identity_method": "card_sighted",
      "corrections": {"phone": "+33 1 23 45 67 89"}}, 422, "corrections.phone"),
    ({"kind": "rectify", "personal_id": OWNER_ID, "identity_method": "card_sighted",
      "corrections": {"date_of_birth": "2999-01-01"}}, 422, "corrections.date_of_birth"),
    ({"kind": "rectify", "personal_id": OWNER_ID, "identity_method": "card_sighted",
      "corrections": {"full_name": "\u202eAdmin"}}, 422, "corrections.full_name"),
    ({"kind": "rectify", "personal_id": OWNER_ID, "identity_method": "card_sighted",
      "corrections": {"address": "\x00\x01"}}, 422, "corrections.address"),
])
def test_hostile_requests_are_refused_with_problems_in_both_languages(app, body, status, field):
    synced_dossier(app, follower=None)
    client, token = desk_client(app)
    titles = {}
    for language in ("vi", "en"):
        answer = client.post("/api/v1/staff/data-requests", json=body,
                             headers={"X-CSRFToken": token, "Accept-Language": language})
        assert answer.status_code == status, answer.get_json()
        assert answer.mimetype == "application/problem+json"
        problem = answer.get_json()
        assert problem["type"].startswith("urn:motcua:problem:") and problem["title"]
        titles[language] = problem["title"]
        if field:
            errors = [e for e in problem["errors"] if e["field"].startswith(field)]
            assert errors and all(e["vi"] and e["en"] for e in errors), problem
    assert titles["vi"] != titles["en"]  # each language its own
    assert db.session.scalar(select(DataSubjectRequest.id)) is None


def test_hostile_steps_are_refused(app):
    synced_dossier(app, follower=None)
    client, token = desk_client(app)
    request_id = desk_request(client, token, "access").get_json()["id"]
    assert step(client, token, request_id, "extend", {"reason": "   "}).status_code == 422
    assert step(client, token, request_id, "extend", {"reason": "x" * 5000}).status_code == 400
    assert step(client, token, request_id, "extend", {"reason": "Chờ xác minh"}).status_code == 200
    twice = step(client, token, request_id, "extend", {"reason": "Lần nữa"}, **{"Accept-Language": "en"})
    assert twice.status_code == 409 and twice.get_json()["detail"] == "A request can be extended only once."
    assert step(client, token, request_id, "acknowledge").status_code == 409
    assert step(client, token, request_id, "answer", {"text": ["not", "text"]}).status_code == 400
    assert step(client, token, request_id, "answer").status_code == 200
    again = step(client, token, request_id, "answer")
    assert again.status_code == 409 and again.get_json()["detail"] == "Yêu cầu đã được trả lời."
    assert step(client, token, 2**31 + 5, "answer").status_code == 404
    assert step(client, token, 999999, "answer").status_code == 404
    rectify = desk_request(client, token, "rectify", corrections={"address": "Số 1"}).get_json()["id"]
    not_export = client.get(f"/api/v1/data-requests/{rectify}/export.pdf")
    assert not_export.status_code == 409 and not_export.mimetype == "application/problem+json"
    # No CSRF token, no session, the wrong role.
    assert client.post(f"/api/v1/staff/data-requests/{request_id}/answer", json={}).status_code == 400
    assert app.test_client().post("/api/v1/staff/data-requests", json={}).status_code in (400, 401)
    officer = app.test_client()
    officer_token = sign_in(officer, demo_user(Role.OFFICER))
    assert officer.get("/api/v1/staff/data-requests").status_code == 403
    assert officer.post("/api/v1/me/data-requests", json={"kind": "access"},
                        headers={"X-CSRFToken": officer_token}).status_code == 403


def test_a_citizen_without_a_record_or_a_dossier_is_told_to_ask_at_the_desk(app):
    citizen = make_user(Role.CITIZEN, None, "Người dân")
    client = app.test_client()
    token = sign_in(client, citizen)
    refused = client.post("/api/v1/me/data-requests", json={"kind": "erase"},
                          headers={"X-CSRFToken": token, "Accept-Language": "en"})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["code"] == "no_record"
    citizen.person = Person(full_name="Người dân")
    db.session.commit()
    refused = client.post("/api/v1/me/data-requests", json={"kind": "erase"}, headers={"X-CSRFToken": token})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["code"] == "no_ward"
    assert client.get("/api/v1/data-requests/1/export.json").status_code == 404


# ------------------------------------------------------------------------------------------------------- pages


def test_the_desk_takes_and_answers_a_request_on_its_page(app):
    dossier, _ = synced_dossier(app, follower=None)
    client, token = desk_client(app)
    refused = client.post("/staff/data-requests", data={"csrf_token": token, "kind": "rectify",
                                                         "personal_id": OWNER_ID, "identity_method": "card_sighted",
                                                         "correct_phone": "12"})
    assert refused.status_code == 422
    assert 'id="correct_phone-error"' in refused.get_data(as_text=True)
    hostile = client.post("/staff/data-requests", data={"csrf_token": token, "kind": "everything",
                                                         "personal_id": OWNER_ID, "identity_method": "x"})
    assert hostile.status_code == 422 and 'id="kind-error"' in hostile.get_data(as_text=True)
    taken = client.post("/staff/data-requests", data={"csrf_token": token, "kind": "restrict",
                                                       "personal_id": OWNER_ID, "identity_method": "chip_read"})
    assert taken.status_code == 303
    request_id = db.session.scalar(select(DataSubjectRequest.id))
    page = client.get("/staff/data-requests").get_data(as_text=True)
    assert f'id="request-{request_id}"' in page and "Trần Văn Phúc" in page
    assert client.post(f"/staff/data-requests/{request_id}/acknowledge", data={"csrf_token": token}).status_code == 303
    assert client.post(f"/staff/data-requests/{request_id}/acknowledge",
                       data={"csrf_token": token}).status_code == 409
    assert client.post(f"/staff/data-requests/{request_id}/bogus", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/staff/data-requests/{request_id}/answer", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).owner.processing_restricted_at is not None
    assert client.post("/staff/data-requests/1/answer", data={}).status_code == 400  # no CSRF token


def test_the_citizen_asks_on_their_page(app):
    dossier, _ = synced_dossier(app, follower=None)
    citizen = User(role=Role.CITIZEN, display_name="Trần Văn Phúc", person=Person(full_name="Trần Văn Phúc"))
    db.session.add(citizen)
    db.session.flush()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    db.session.commit()
    client = app.test_client()
    token = sign_in(client, citizen)
    assert "Dữ liệu cá nhân của tôi" in client.get("/my/data").get_data(as_text=True)
    refused = client.post("/my/data", data={"csrf_token": token, "kind": "rectify"})
    assert refused.status_code == 422 and "Vui lòng ghi thông tin cần đính chính." in refused.get_data(as_text=True)
    client.set_cookie("lang", "en")
    refused = client.post("/my/data", data={"csrf_token": token, "kind": "rectify"})
    assert refused.status_code == 422 and "Say what is to be corrected." in refused.get_data(as_text=True)
    client.delete_cookie("lang")
    asked = client.post("/my/data", data={"csrf_token": token, "kind": "export", "details": "Xin bản sao"})
    assert asked.status_code == 303
    page = client.get("/my/data").get_data(as_text=True)
    assert "Chờ xác nhận" in page and "export.pdf" not in page
    desk, desk_token = desk_client(app)
    step(desk, desk_token, db.session.scalar(select(DataSubjectRequest.id)), "answer")
    assert "export.pdf" in client.get("/my/data").get_data(as_text=True)


def test_a_restricted_owner_gets_no_notifications(app):
    from server.dossiers.workflow import State
    from server.push.models import InboxMessage

    dossier, _ = synced_dossier(app)  # with a citizen following it
    before = db.session.query(InboxMessage).count()
    dossier.owner.processing_restricted_at = utcnow()
    db.session.commit()
    staff = demo_user(Role.STAFF)
    apply_action(dossier, Action.TRANSFER, staff, ActionRequest(staff.id, "staff"))
    apply_action(dossier, Action.REQUEST_SUPPLEMENT, staff, ActionRequest(
        staff.id, "staff", reason="Thiếu giấy tờ", items=("Bản sao CCCD",)))
    db.session.commit()
    assert dossier.state is State.AWAITING_SUPPLEMENT
    assert db.session.query(InboxMessage).count() == before


def test_the_administrator_sets_a_procedures_retention(app):
    admin = demo_user(Role.ADMIN)
    procedure = synced_dossier(app, follower=None)[0].procedure_version.procedure
    client = app.test_client()
    token = sign_in(client, admin)
    url = f"/admin/procedures/{procedure.id}/retention"
    refused = client.post(url, data={"csrf_token": token, "photo_retention_days": "-3",
                                     "personal_data_retention_days": "9" * 40})
    assert refused.status_code == 422 and 'id="photo_retention_days-error"' in refused.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": token, "photo_retention_days": "0",
                                  "personal_data_retention_days": ""}).status_code == 302
    db.session.expire_all()
    assert (procedure.photo_retention_days, procedure.personal_data_retention_days) == (0, None)
    page = client.get(f"/admin/procedures/{procedure.id}").get_data(as_text=True)
    assert 'name="photo_retention_days" value="0"' in page


def test_the_push_worker_runs_the_retention_purge(app, monkeypatch):
    import threading

    from server.push import sender

    dossier = _closed_dossier_past_retention(app)
    purged = threading.Event()
    real = retention.purge_if_due

    def observed(now):
        done = real(now)
        if done is not None:
            purged.set()
        return done

    monkeypatch.setattr(retention, "purge_if_due", observed)
    stop = threading.Event()
    worker = threading.Thread(target=sender.run_worker, args=(app, stop, 0.05))
    worker.start()
    try:
        assert purged.wait(60), "the worker did not purge"
    finally:
        stop.set()
        worker.join(60)
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).personal_data_purged_at is not None
