"""Consent per purpose and per channel (issue 12 point 5): given and withdrawn by the citizen, with the notice's
version and the time; separate from the dossier's statutory processing; withdrawal stops push at once, queued
messages included."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from server.auth.models import AuditEvent
from server.auth.models import ConsentRecord
from server.auth.models import Role
from server.consent.purposes import PURPOSES
from server.consent.purposes import Channel
from server.consent.purposes import purpose_of
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push.models import DeliveryStatus
from server.push.models import PushDelivery
from server.push.notify import KINDS
from server.push.notify import notify_dossier
from server.push.notify import notify_passkey_added
from server.push.sender import PushSender
from server.types import utcnow
from tests.helpers import consent_to_push
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in
from tests.test_push import subscribe

URL = "/api/v1/me/consents"
VERSION = PURPOSES["dossier_updates"].text_version


@pytest.fixture
def citizen(app, client):
    """A signed-in citizen who owns a dossier: (user, dossier, CSRF token)."""
    user = make_user(Role.CITIZEN, None, "Nguyễn Văn An")
    user.person = Person(full_name="Nguyễn Văn An")
    dossier = make_dossier(State.RECEIVED, code="000.20.26.H26-261203-0007")
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=user.id, role=FollowRole.OWNER))
    db.session.commit()
    return user, dossier, sign_in(client, user)


def _give(client, token, purpose="dossier_updates", channel="push", version=VERSION):
    return client.put(f"{URL}/{purpose}/{channel}", json={"text_version": version}, headers={"X-CSRFToken": token})


def _withdraw(client, token, purpose="dossier_updates", channel="push"):
    return client.delete(f"{URL}/{purpose}/{channel}", headers={"X-CSRFToken": token})


def _push_state(data: dict, purpose="dossier_updates") -> dict:
    """Channel → state, from the whole list (GET) or one purpose (PUT, DELETE answers)."""
    [found] = [p for p in data["purposes"] if p["purpose"] == purpose] if "purposes" in data else [data]
    return {c["channel"]: c for c in found["channels"]}


def test_every_notification_kind_serves_a_purpose():
    assert {kind: purpose_of(kind) for kind in KINDS if purpose_of(kind) is None} == {}


def test_the_dossier_itself_needs_no_consent_and_nothing_is_preset(app, client, citizen):
    data = client.get(URL).get_json()
    assert data["statutory"]["legal_basis"] == "legal_obligation" and "91/2025/QH15" in data["statutory"]["text"]
    channels = _push_state(data)
    assert channels["push"]["available"] and channels["push"]["consent"] is None
    assert not channels["zalo"]["available"] and not channels["sms"]["available"]
    assert data["history"] == []


def test_a_consent_is_given_with_its_version_and_time_then_withdrawn(app, client, citizen):
    user, _, token = citizen
    before = utcnow()
    given = _give(client, token)
    assert given.status_code == 201, given.get_json()
    consent = _push_state(given.get_json())["push"]["consent"]
    assert consent["text_version"] == VERSION and consent["withdrawn_at"] is None
    assert _give(client, token).status_code == 200  # already in force: kept, not doubled
    [row] = db.session.scalars(select(ConsentRecord).where(ConsentRecord.user_id == user.id))
    assert (row.purpose, row.channel, row.method, row.person_id) == ("dossier_updates", Channel.PUSH,
                                                                     "citizen_app", user.person_id)
    assert row.recorded_at >= before

    withdrawn = _withdraw(client, token)
    assert withdrawn.status_code == 200 and _push_state(withdrawn.get_json())["push"]["consent"] is None
    assert _withdraw(client, token).status_code == 200  # nothing in force: nothing changes
    assert _give(client, token).status_code == 201  # given again: a second period in the history
    history = client.get(URL).get_json()["history"]
    assert [(h["purpose"], h["channel"], h["withdrawn_at"] is None) for h in history] == [
        ("dossier_updates", "push", True), ("dossier_updates", "push", False)]
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("consent_%"))
                                      .order_by(AuditEvent.id)))
    assert actions == ["consent_given", "consent_withdrawn", "consent_given"]


def test_the_account_notice_of_a_registration_shows_in_the_history(app, client, citizen):
    user, _, _ = citizen
    db.session.add(ConsentRecord(user_id=user.id, purpose="data_processing", text_version="2026-11-22",
                                 method="registration"))
    db.session.commit()
    [entry] = client.get(URL).get_json()["history"]
    assert entry["channel"] is None and entry["title"] == "Thông báo xử lý dữ liệu khi tạo tài khoản"


def test_withdrawal_stops_push_at_once_even_for_queued_messages(app, client, citizen, push):
    user, dossier, token = citizen
    subscribe(client, push)
    assert _give(client, token).status_code == 201
    assert _give(client, token, "account_security").status_code == 201
    notify_dossier(dossier, "result_ready")
    notify_passkey_added(user, "Điện thoại mới")
    db.session.commit()
    assert db.session.scalar(select(PushDelivery.status).where(PushDelivery.id == 1)) is DeliveryStatus.QUEUED

    assert _withdraw(client, token).status_code == 200
    db.session.expire_all()
    statuses = {d.message.kind: d.status for d in db.session.scalars(select(PushDelivery))}
    assert statuses == {"result_ready": DeliveryStatus.WITHHELD, "passkey_added": DeliveryStatus.QUEUED}
    assert PushSender().drain() == 1
    # Only the purpose still consented to reached the phone.
    assert [r.payload["kind"] for r in push.received] == ["passkey_added"]
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "consent_withdrawn"))
    assert event.data["stopped"] == 1

    # Later news of the withdrawn purpose still reaches the inbox, never the phone.
    notify_dossier(dossier, "returned")
    db.session.commit()
    assert PushSender().drain() == 0
    inbox = client.get("/api/v1/push/inbox").get_json()
    assert {m["kind"] for m in inbox["messages"]} == {"result_ready", "passkey_added", "returned"}


def test_the_worker_asks_again_for_a_batch_queued_before_the_withdrawal(app, client, citizen, push):
    """The race: the message was queued with consent, which ended (say, while a worker held the row) without the
    queued delivery being withheld. The worker's own check stops it."""
    user, dossier, _ = citizen
    subscribe(client, push)
    consent_to_push(user, "dossier_updates")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    db.session.execute(update(ConsentRecord).values(withdrawn_at=utcnow()))
    db.session.commit()
    assert PushSender().drain() == 1
    [delivery] = db.session.scalars(select(PushDelivery))
    assert delivery.status is DeliveryStatus.WITHHELD and "no consent" in delivery.last_error
    assert push.received == []


def test_without_consent_nothing_is_queued_for_push(app, client, citizen, push):
    _, dossier, _ = citizen
    subscribe(client, push)
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert db.session.scalar(select(PushDelivery)) is None and PushSender().drain() == 0


def test_staff_see_a_withheld_delivery(app, client, citizen, push):
    _, dossier, token = citizen
    subscribe(client, push)
    _give(client, token)
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    _withdraw(client, token)
    staff = app.test_client()
    sign_in(staff, demo_user(Role.STAFF))
    page = staff.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    assert "người nhận đã rút lại hoặc chưa đồng ý" in page


@pytest.mark.parametrize("path, body, status, slug, field", [
    ("dossier_updates/push", {"text_version": "2020-01-01"}, 422, "outdated-notice", "text_version"),
    ("dossier_updates/zalo", {"text_version": VERSION}, 422, "channel-unavailable", "channel"),
    ("dossier_updates/fax", {"text_version": VERSION}, 404, "not-found", None),
    ("marketing/push", {"text_version": VERSION}, 404, "not-found", None),
    ("account_security/sms", {"text_version": VERSION}, 404, "not-found", None),
    ("dossier_updates/push", {}, 400, "bad-request", None),
    ("dossier_updates/push", {"text_version": ""}, 400, "bad-request", None),
    ("dossier_updates/push", {"text_version": VERSION, "granted": False}, 400, "bad-request", None),
    ("dossier_updates/push", {"text_version": "x" * 41}, 400, "bad-request", None),
    ("dossier_updates/push", ["text_version"], 400, "bad-request", None),
    ("%00/push", {"text_version": VERSION}, 404, "not-found", None),
])
def test_hostile_consent_requests_get_problem_documents(app, client, citizen, path, body, status, slug, field):
    _, _, token = citizen
    response = client.put(f"{URL}/{path}", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith(slug) if slug != "bad-request" else problem["status"] == 400
    if field:
        assert problem["errors"][0]["field"] == field and problem["errors"][0]["vi"] and problem["errors"][0]["en"]
    assert db.session.scalar(select(ConsentRecord)) is None


def test_consent_writes_need_a_session_and_the_csrf_token(app, client, citizen):
    assert client.put(f"{URL}/dossier_updates/push", json={"text_version": VERSION}).status_code == 400
    assert client.delete(f"{URL}/dossier_updates/push").status_code == 400
    anonymous = app.test_client()
    assert anonymous.get(URL).status_code == 401
    assert anonymous.delete(f"{URL}/dossier_updates/push").status_code == 401
    assert db.session.scalar(select(ConsentRecord)) is None


def test_a_consent_belongs_to_its_own_account(app, client, citizen):
    user, _, token = citizen
    _give(client, token)
    other = make_user(Role.CITIZEN, None, "Người khác")
    other_client = app.test_client()
    other_token = sign_in(other_client, other)
    assert _push_state(other_client.get(URL).get_json())["push"]["consent"] is None
    _withdraw(other_client, other_token)
    assert _push_state(client.get(URL).get_json())["push"]["consent"] is not None


def test_the_consents_page_is_the_citizens(app, client, citizen):
    page = client.get("/account/consents")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sự đồng ý của tôi" in html and "không cần sự đồng ý" in html
    assert app.test_client().get("/account/consents").status_code == 302  # sign in first


def test_migration_0015_keeps_push_for_those_who_had_turned_it_on_and_says_so(app):
    """A subscription made before consents were recorded per purpose came from a tap after the inbox's notice of
    dossier news: that consent is recorded, marked as such; no other purpose is assumed."""
    from flask_migrate import downgrade
    from flask_migrate import upgrade

    from server.push.models import PushSubscription

    subscriber = make_user(Role.CITIZEN, None, "Đã bật thông báo").id
    make_user(Role.CITIZEN, None, "Chưa bật thông báo")
    db.session.remove()
    downgrade(revision="0014")
    # Only the columns revision 0014 has (the model has gained more since).
    now = datetime.now(UTC)
    db.session.execute(insert(PushSubscription.__table__).values(
        user_id=subscriber, endpoint="https://push.example/old", p256dh="A" * 87, auth="A" * 22, lang="vi",
        created_at=now, last_seen_at=now))
    db.session.commit()
    db.session.remove()
    upgrade()
    [record] = db.session.scalars(select(ConsentRecord).where(ConsentRecord.channel.is_not(None)))
    assert (record.user_id, record.purpose, record.channel, record.method) == (
        subscriber, "dossier_updates", Channel.PUSH, "before_consent_records")
    assert record.withdrawn_at is None and record.text_version == "unversioned-inbox"
