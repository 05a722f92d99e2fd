"""Synchronisation with the National Public Service Portal (issue 15, point 4): each step's message is queued in the
step's transaction and posted, in order per dossier, once per change, to a loopback portal that checks every field
(tests/fake_portal.py)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import update

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.services import NewDossier
from server.dossiers.services import apply_action
from server.dossiers.services import receive
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.portal import messages
from server.portal import sender as portal_sender
from server.portal.models import PortalAction
from server.portal.models import PortalMessage
from server.portal.models import PortalStatus
from server.reference.models import Agency
from server.types import utcnow
from tests.fake_portal import REJECT
from tests.fake_portal import FakePortal
from tests.fake_provider import REDIRECT
from tests.fake_provider import SERVER_ERROR
from tests.fake_provider import TIMEOUT
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import procedure
from tests.helpers import sign_in

TRO_CAP = "tro-cap-xa-hoi-hang-thang"
OWNER = "Nguyễn Thị Hường"
OWNER_ID = "001190012345"


@pytest.fixture
def portal(app):
    fake = FakePortal().start()
    app.config.update(PORTAL_URL=fake.endpoint, PORTAL_TOKEN=fake.token)
    yield fake
    fake.stop()


def _receive(owner_name: str = OWNER, personal_id: str | None = OWNER_ID):
    owner = Person(full_name=owner_name, personal_id=personal_id, phone_e164="+84912345678")
    received_at = datetime.now(VN_TZ).replace(microsecond=0)
    version = procedure(TRO_CAP).version_at(received_at.date())
    dossier = receive(NewDossier(
        procedure_version=version, agency=demo_agency(), owner=owner, submitter=owner,
        received_by=demo_user(Role.OFFICER), received_at=received_at,
        provided_document_ids=frozenset(d.id for d in version.required_documents)))
    db.session.commit()
    return dossier


def _act(dossier, action: Action, role: Role = Role.STAFF, **fields):
    actor = demo_user(role)
    apply_action(dossier, action, actor, ActionRequest(actor_id=actor.id, actor_role=role.value, **fields))
    db.session.commit()


def _resolve(dossier):
    _act(dossier, Action.TRANSFER)
    _act(dossier, Action.SUBMIT_FOR_APPROVAL)
    _act(dossier, Action.APPROVE, Role.LEADER)
    _act(dossier, Action.MARK_RESULT_READY)


def _live_a_whole_life():
    dossier = _receive()
    _resolve(dossier)
    _act(dossier, Action.RETURN_RESULT, delivery_mode="counter", recipient_name=OWNER, acknowledged=True)
    return dossier


def _messages(dossier) -> list[PortalMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(PortalMessage).where(PortalMessage.dossier_id == dossier.id)
                                   .order_by(PortalMessage.seq)))


def _keys_posted(fake: FakePortal) -> list[str]:
    return [r["headers"].get("Idempotency-Key") for r in fake.requests]


def test_a_dossiers_life_is_queued_with_its_steps_and_reaches_the_portal_in_order_once_each(app, portal):
    dossier = _live_a_whole_life()
    queued = _messages(dossier)
    # received 2, transferred 4 (submit and approve stay 4: not sent), result at the desk 9, returned 10
    assert [(m.seq, m.action, m.national_status, m.status) for m in queued] == [
        (1, PortalAction.SYNC_DOSSIER, 2, PortalStatus.QUEUED),
        (2, PortalAction.UPDATE_PROGRESS, 4, PortalStatus.QUEUED),
        (3, PortalAction.UPDATE_PROGRESS, 9, PortalStatus.QUEUED),
        (4, PortalAction.UPDATE_PROGRESS, 10, PortalStatus.QUEUED)]
    sync = queued[0].payload
    record = sync["data"][0]
    assert sync["service"] == "DongBoHoSoMC" and sync["isUpdating"] == "False" and "session" not in sync
    assert sync["madonvi"] == demo_agency().agency_code
    assert record["MaHoSo"] == dossier.code and record["MaTTHC"] == "1.001776"
    assert record["ChuHoSo"] == OWNER and record["MaDoiTuong"] == OWNER_ID and record["LoaiDoiTuong"] == "1"
    assert record["SoBienNhan"] == "1/TNHS"  # the receipt (Mẫu 01) issued in the same step
    assert record["TrangThaiHoSo"] == "2" and record["HinhThuc"] == "1"
    assert record["DonViXuLy"] == dossier.deciding_agency.agency_code
    assert record["NgayTiepNhan"] == dossier.device_received_at.astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")
    assert record["NgayHenTra"] == dossier.due_at.astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")
    assert record["NgayTra"] == "" and record["NgayKetThucXuLy"] == ""
    progress = queued[3].payload["data"][0]
    assert queued[3].payload["service"] == "CapNhatTienDoHoSoMC"
    assert progress["TrangThai"] == "10" and progress["NoiDungXuLy"] == "Đã trả kết quả"
    assert progress["NguoiXuLy"] == demo_user(Role.STAFF).display_name

    assert portal_sender.send_pending() == 4
    assert portal.violations == []
    assert portal.codes_of(dossier.code) == [2, 4, 9, 10]
    assert [s for _c, _q, s, _t in portal.accepted] == ["DongBoHoSoMC"] + ["CapNhatTienDoHoSoMC"] * 3
    assert _keys_posted(portal) == [f"{dossier.code}-{n}" for n in (1, 2, 3, 4)]
    assert portal.requests[0]["body"]["session"] == portal.token
    assert all(m.status is PortalStatus.SENT and m.attempts == 1 and m.sent_at for m in _messages(dossier))
    assert portal_sender.send_pending() == 0 and len(portal.requests) == 4


def test_the_message_is_written_in_the_steps_transaction(app, portal):
    dossier = _receive()
    actor = demo_user(Role.STAFF)
    apply_action(dossier, Action.TRANSFER, actor, ActionRequest(actor_id=actor.id, actor_role="staff"))
    assert [m.national_status for m in db.session.scalars(
        select(PortalMessage).where(PortalMessage.dossier_id == dossier.id).order_by(PortalMessage.seq))] == [2, 4]
    db.session.rollback()
    assert [m.national_status for m in _messages(dossier)] == [2]


def test_an_extension_is_reported_and_steps_inside_processing_are_not(app, portal):
    dossier = _receive()
    _act(dossier, Action.TRANSFER)
    _act(dossier, Action.SUBMIT_FOR_APPROVAL)
    _act(dossier, Action.REJECT, Role.LEADER, reason="Cần bổ sung nhận xét")
    new_due = (dossier.due_at.astimezone(VN_TZ) + timedelta(days=7)).date()
    _act(dossier, Action.EXTEND, reason="Cần xác minh thêm", new_due_date=new_due)
    queued = _messages(dossier)
    assert [(m.action, m.national_status) for m in queued] == [
        (PortalAction.SYNC_DOSSIER, 2), (PortalAction.UPDATE_PROGRESS, 4), (PortalAction.UPDATE_PROGRESS, 4)]
    extension = queued[2].payload["data"][0]
    assert extension["NoiDungXuLy"] == "Gia hạn thời gian giải quyết"
    assert extension["NgayKetThucTheoQuyDinh"].startswith(new_due.strftime("%Y%m%d"))
    assert "Cần xác minh" not in str(queued[2].payload)  # the reason typed at the desk stays here
    assert portal_sender.send_pending() == 3 and portal.violations == []
    assert portal.codes_of(dossier.code) == [2, 4, 4]


def test_a_refusal_at_reception_is_the_dossiers_first_and_only_message(app, portal):
    from tests.helpers import make_dossier

    dossier = make_dossier(State.ONLINE_SUBMITTED, code=None)
    _act(dossier, Action.REFUSE, reason="Hồ sơ không thuộc thẩm quyền")
    assert _messages(dossier) == []  # no code: nothing the portal could file it under
    dossier = make_dossier(State.ONLINE_SUBMITTED, code=f"{demo_agency().agency_code}-260101-0999")
    _act(dossier, Action.REFUSE, reason="Hồ sơ không thuộc thẩm quyền")
    assert [(m.action, m.national_status) for m in _messages(dossier)] == [(PortalAction.SYNC_DOSSIER, 3)]


def test_a_crash_between_the_post_and_the_commit_posts_again_once_with_the_same_key(app, portal, monkeypatch):
    dossier = _live_a_whole_life()
    sender = portal_sender.PortalSender()

    def killed(self, outgoing, outcomes):
        raise RuntimeError("worker killed before recording the answer")

    monkeypatch.setattr(portal_sender.PortalSender, "_record", killed)
    with pytest.raises(RuntimeError):
        sender.send_batch(sender.claim())
    db.session.rollback()
    monkeypatch.undo()
    assert portal.codes_of(dossier.code) == [2]
    first = _messages(dossier)[0]
    assert first.status is PortalStatus.SENDING
    # While the lease runs nobody posts it again, nor anything after it.
    assert sender.drain() == 0 and len(portal.requests) == 1
    db.session.execute(update(PortalMessage).where(PortalMessage.id == first.id)
                       .values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert sender.drain() == 4
    sender.close()
    assert portal.violations == [] and portal.duplicates == 1
    assert portal.codes_of(dossier.code) == [2, 4, 9, 10]  # each change taken once
    assert _keys_posted(portal) == [f"{dossier.code}-{n}" for n in (1, 1, 2, 3, 4)]
    assert [m.status for m in _messages(dossier)] == [PortalStatus.SENT] * 4


def test_a_503_is_retried_with_back_off_and_holds_the_later_messages(app, portal):
    dossier = _receive()
    _act(dossier, Action.TRANSFER)
    portal.next(SERVER_ERROR)
    before = utcnow()
    assert portal_sender.send_pending() == 1
    first, second = _messages(dossier)
    assert (first.status, first.attempts, first.last_error) == (PortalStatus.QUEUED, 1, "portal answered 503")
    assert first.next_attempt_at >= before + timedelta(seconds=15)  # 30 s halved by the jitter at the least
    assert (second.status, second.attempts) == (PortalStatus.QUEUED, 0)
    assert len(portal.requests) == 1 and portal.accepted == []
    portal.next(SERVER_ERROR)
    db.session.execute(update(PortalMessage).where(PortalMessage.id == first.id).values(next_attempt_at=utcnow()))
    db.session.commit()
    before = utcnow()
    portal_sender.send_pending()
    first = _messages(dossier)[0]
    assert first.attempts == 2 and first.next_attempt_at >= before + timedelta(seconds=30)  # doubled
    db.session.execute(update(PortalMessage).where(PortalMessage.id == first.id).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert portal_sender.send_pending() == 2
    assert portal.codes_of(dossier.code) == [2, 4] and portal.violations == []


def test_a_portal_that_stays_down_fails_the_message_after_the_attempts(app, portal):
    app.config["PORTAL_MAX_ATTEMPTS"] = 2
    dossier = _receive()
    for _ in range(2):
        portal.next(SERVER_ERROR)
        db.session.execute(update(PortalMessage).where(PortalMessage.dossier_id == dossier.id)
                           .values(next_attempt_at=utcnow()))
        db.session.commit()
        portal_sender.send_pending()
    message = _messages(dossier)[0]
    assert (message.status, message.attempts) == (PortalStatus.FAILED, 2)
    assert message.last_error == "gave up after 2 attempts: portal answered 503"


def test_a_timeout_is_retried(app, portal):
    app.config["PORTAL_TIMEOUT_SECONDS"] = 0.5
    dossier = _receive()
    portal.next(TIMEOUT)
    portal_sender.send_pending()
    message = _messages(dossier)[0]
    assert message.status is PortalStatus.QUEUED and message.attempts == 1
    assert message.last_error in ("network: ReadTimeout", "network: ConnectionError") \
        or message.last_error.startswith("no complete answer")


def test_a_rejection_fails_the_message_and_blocks_its_dossier_only(app, portal, runner):
    refused, other = _receive(), _receive("Lê Văn Đức", None)
    for dossier in (refused, other):
        _act(dossier, Action.TRANSFER)
    portal.for_phone(refused.code, REJECT)
    assert portal_sender.send_pending() == 3  # the refused one, then the other dossier's two
    first, second = _messages(refused)
    assert first.status is PortalStatus.FAILED and first.attempts == 1
    assert first.last_error == "portal answered 400, error_code 12, field MaTTHC"
    assert OWNER not in first.last_error  # the portal's words quoted the owner: not kept
    assert (second.status, second.attempts) == (PortalStatus.QUEUED, 0)
    assert portal.codes_of(other.code) == [2, 4] and portal.codes_of(refused.code) == []
    assert portal_sender.send_pending() == 0  # blocked until an operator looks

    portal.for_phone(refused.code, "ok")
    result = runner.invoke(args=["portal", "retry", str(second.id)])
    assert result.exit_code != 0 and "not failed" in result.output
    result = runner.invoke(args=["portal", "retry", str(first.id)])
    assert result.exit_code == 0, result.output
    assert portal_sender.send_pending() == 2
    assert portal.codes_of(refused.code) == [2, 4] and portal.violations == []


def test_a_redirect_is_not_followed(app, portal):
    dossier = _receive()
    portal.next(REDIRECT)
    portal_sender.send_pending()
    message = _messages(dossier)[0]
    assert message.status is PortalStatus.FAILED and message.last_error.startswith("portal answered 302")
    assert len(portal.requests) == 1  # the Location (127.0.0.1:9) was never asked


def test_nothing_is_called_without_a_portal_and_the_backlog_goes_out_in_order_later(app, portal):
    app.config["PORTAL_URL"] = None
    dossier = _receive()
    _act(dossier, Action.TRANSFER)
    assert portal_sender.send_pending() == 0 and portal_sender.send_one_batch() is False
    assert portal.requests == []
    assert [m.status for m in _messages(dossier)] == [PortalStatus.QUEUED] * 2
    app.config["PORTAL_URL"] = portal.endpoint
    assert portal_sender.send_pending() == 2 and portal.codes_of(dossier.code) == [2, 4]


def test_the_worker_loop_posts_through_its_portal_step(app, portal, push, monkeypatch):
    import threading

    from server.push import sender as push_sender

    dossier = _receive()
    _act(dossier, Action.TRANSFER)
    stop = threading.Event()
    calls = []

    def drain_once(self, limit=None):
        calls.append(1)
        if len(calls) > 3:  # the loop came back at once while the portal step had work; then it stops
            stop.set()
        return 0

    monkeypatch.setattr(push_sender.PushSender, "drain", drain_once)
    push_sender.run_worker(app, stop, poll_seconds=0)
    assert portal.codes_of(dossier.code) == [2, 4]


def test_the_desk_sees_the_messages_and_operators_retry_a_refused_one(app, portal, client):
    dossier = _receive()
    portal.for_phone(dossier.code, REJECT)
    portal_sender.send_pending()
    message = _messages(dossier)[0]
    staff = demo_user(Role.STAFF)
    token = sign_in(client, staff)

    page = client.get(f"/staff/dossiers/{dossier.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="portal-messages"' in html and 'data-status="failed"' in html
    assert "portal answered 400, error_code 12, field MaTTHC" in html and 'id="portal-problems-link"' in html

    listing = client.get("/staff/portal")
    assert listing.status_code == 200 and f'data-message="{message.id}"' in listing.get_data(as_text=True)

    url = f"/staff/portal/messages/{message.id}/retry"
    assert client.post(url, data={}).status_code == 400  # no CSRF token
    portal.for_phone(dossier.code, "ok")
    answer = client.post(url, data={"csrf_token": token, "back": "dossier"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/staff/dossiers/{dossier.id}#portal")
    assert _messages(dossier)[0].status is PortalStatus.QUEUED
    again = client.post(url, data={"csrf_token": token})
    assert again.status_code == 409 and "không ở trạng thái bị từ chối" in again.get_data(as_text=True)
    assert portal_sender.send_pending() == 1 and portal.codes_of(dossier.code) == [2]


def test_another_ward_and_other_roles_cannot_see_or_retry(app, portal, client):
    dossier = _receive()
    portal.for_phone(dossier.code, REJECT)
    portal_sender.send_pending()
    message = _messages(dossier)[0]
    other_ward = Agency(agency_code="000.20.99.H26", name_vi="Phường Khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    stranger = make_user(Role.STAFF, other_ward, "Công chức phường khác")
    token = sign_in(client, stranger)
    assert f'data-message="{message.id}"' not in client.get("/staff/portal").get_data(as_text=True)
    assert client.post(f"/staff/portal/messages/{message.id}/retry", data={"csrf_token": token}).status_code == 404
    assert _messages(dossier)[0].status is PortalStatus.FAILED
    citizen = make_user(Role.CITIZEN, None, "Người dân")
    token = sign_in(client, citizen)
    assert client.get("/staff/portal").status_code == 403
    assert client.post(f"/staff/portal/messages/{message.id}/retry", data={"csrf_token": token}).status_code == 403


def test_the_status_mapping_and_the_field_names_are_the_portals():
    from server.dossiers.workflow import NATIONAL_STATUS

    assert sorted({code for code in NATIONAL_STATUS.values() if code}) == list(range(1, 11))
    assert messages.fields_named("Trường MaTTHC và NgayHenTra sai; Nguyễn Văn An 001190012345") == [
        "MaTTHC", "NgayHenTra"]
    outcome = portal_sender.outcome_of(200, {}, b'{"error_code": "00"}', {"00"})
    assert outcome.status is PortalStatus.SENT
    assert portal_sender.outcome_of(200, {}, b"{}", {"00"}).status is PortalStatus.QUEUED
    assert portal_sender.outcome_of(429, {"Retry-After": "120"}, b"", {"00"}).retry_after == 120
    assert portal_sender.outcome_of(404, {}, b"", {"00"}).status is PortalStatus.FAILED


def test_two_workers_at_once_post_each_message_once_and_in_order(app, portal):
    from tests.helpers import in_threads

    dossiers = [_receive(f"Người thứ {n}", None) for n in range(6)]
    for dossier in dossiers:
        _resolve(dossier)
    handled = in_threads(app, portal_sender.send_pending, count=2)
    assert sum(handled) == 6 * 3
    assert portal.violations == [] and portal.duplicates == 0
    for dossier in dossiers:
        assert portal.codes_of(dossier.code) == [2, 4, 9]
        assert [m.status for m in _messages(dossier)] == [PortalStatus.SENT] * 3


def test_the_portal_listens_to_the_core_which_does_not_know_it(app):
    from server.dossiers import signals
    from tests.test_signals import CORE
    from tests.test_signals import CORE_MODULES
    from tests.test_signals import _imported_modules

    receivers = [getattr(r, "__module__", "") for r in signals.transitioned.receivers_for(object())]
    # After the forms: the sync names the receipt they issue in the same step.
    assert receivers.index("server.forms.listeners") < receivers.index("server.portal.listeners")
    for name in CORE_MODULES:
        assert not {m for m in _imported_modules(CORE / name) if m.startswith("server.portal")}, name


def test_the_command_line_says_what_it_cannot_do(app, runner):
    app.config["PORTAL_URL"] = None
    result = runner.invoke(args=["portal", "send-pending"])
    assert result.exit_code != 0 and "PORTAL_URL is not set" in result.output
    result = runner.invoke(args=["portal", "retry", "987654"])
    assert result.exit_code != 0 and "no portal message 987654" in result.output


def test_a_worker_that_lost_its_lease_cannot_put_a_sent_message_back_in_the_queue(app, portal):
    """Worker A claims the first message and stalls past its lease; worker B sends the dossier's four messages in
    order; A's late outcome for the first must change nothing (else it would be sent again after the return)."""
    dossier = _live_a_whole_life()
    stalled = portal_sender.PortalSender()
    fresh = portal_sender.PortalSender()
    try:
        stalled.claim()
        first = _messages(dossier)[0]
        claimed_lease = first.lease_until
        db.session.execute(update(PortalMessage).where(PortalMessage.id == first.id)
                           .values(lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        fresh.drain()
        assert [m.status for m in _messages(dossier)] == [PortalStatus.SENT] * 4
        stalled._record([portal_sender.Outgoing(first.id, 1, first.payload, "late", claimed_lease)],
                        {first.id: portal_sender.Outcome(PortalStatus.QUEUED, "network: ReadTimeout")})
        db.session.expire_all()
        assert [m.status for m in _messages(dossier)] == [PortalStatus.SENT] * 4
        assert fresh.drain() == 0
        assert portal.codes_of(dossier.code) == [2, 4, 9, 10]
    finally:
        stalled.close()
        fresh.close()
