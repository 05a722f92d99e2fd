"""Delivery receipts and the declarative Web Push payload (issue 14, points 1 and 4): what the phone receives,
decrypted by the loopback push service, and what its service worker's "shown" and "opened" reports do."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.auth.models import Role
from server.dossiers import services
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push import receipts
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.notify import KINDS
from server.push.notify import notify_dossier
from server.push.sender import PushSender
from server.push.sender import payload
from server.types import utcnow
from tests.helpers import consent_to_push
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in

CODE = "000.20.26.H26-261127-0042"
BASE = "https://motcua.phuong-test.gov.vn"


@pytest.fixture
def citizen(app):
    app.config["BASE_URL"] = BASE + "/"  # a trailing slash is not doubled
    user = make_user(Role.CITIZEN, None, "Trần Thị Bích")
    user.person = Person(full_name="Trần Thị Bích", personal_id="079190001234")
    dossier = make_dossier(State.RECEIVED, code=CODE)
    dossier.owner = dossier.submitter = user.person
    db.session.flush()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=user.id, role=FollowRole.OWNER))
    db.session.commit()
    consent_to_push(user)
    return user, dossier


def _subscribe(app, user, push, lang: str) -> dict:
    client = app.test_client()
    token = sign_in(client, user)
    info = push.subscribe()
    response = client.put("/api/v1/push/subscriptions", json={**info, "lang": lang}, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_json()
    return info


def _stop(dossier) -> None:
    """A decision whose reason (typed at the desk) must never travel: the dossier is stopped."""
    staff, leader = demo_user(Role.STAFF), demo_user(Role.LEADER)
    services.apply_action(dossier, Action.TRANSFER, staff, ActionRequest(actor_id=staff.id, actor_role="staff"))
    services.apply_action(dossier, Action.STOP, leader,
                          ActionRequest(actor_id=leader.id, actor_role="leader", reason="Bà Bích đã chuyển đi"))
    db.session.commit()


@pytest.mark.parametrize(("lang", "title", "body"), [
    ("vi", "Hồ sơ dừng giải quyết", f"Hồ sơ {CODE} dừng giải quyết."),
    ("en", "Processing stopped", f"Processing of dossier {CODE} was stopped."),
])
def test_the_phone_receives_both_forms_and_no_personal_data(app, citizen, push, lang, title, body):
    user, dossier = citizen
    _subscribe(app, user, push, lang)
    _stop(dossier)
    assert PushSender().drain() == 1
    [received] = push.received
    sent = received.payload
    [delivery] = db.session.scalars(select(PushDelivery))
    # The app's own fields, as before, and the token of this very delivery.
    assert {k: sent[k] for k in ("kind", "code", "url", "id", "lang")} == {
        "kind": "stopped", "code": CODE, "url": f"/follow/{CODE}", "id": delivery.message_id, "lang": lang}
    assert receipts.delivery_of(sent["receipt"]) == delivery.id
    # The declarative form (W3C Push API "declarative push message"; WebKit's Declarative Web Push).
    assert sent["web_push"] == 8030 and sent["mutable"] is True
    assert sent["notification"] == {"title": title, "body": body, "navigate": f"{BASE}/follow/{CODE}",
                                    "lang": lang, "tag": f"dossier-{CODE}", "silent": False}
    text = json.dumps(sent, ensure_ascii=False)
    assert "Bích" not in text and "079190001234" not in text and "chuyển đi" not in text
    assert received.size < 4096


def test_the_longest_payload_of_every_kind_fits_in_both_languages(app, citizen, push):
    """Every kind, in both languages, with a long code: the encrypted body stays under the 4096 bytes a push service
    takes (the loopback one answers 413 above, as they do)."""
    user, dossier = citizen
    long_code = "000.20.26.H26-261127-" + "9" * 20
    data = {"code": long_code, "due_at": "2026-12-24T17:00:00+07:00", "visit_id": 12345678,
            "officer_name": "Nguyễn Thị Phương Thảo Kim Chi", "reason": "x" * 500, "passkey_name": "y" * 200}
    def size(kind: str, lang: str) -> int:
        return len(json.dumps(payload(2**31, kind, data, lang, 2**31), separators=(",", ":")))

    longest = max(((kind, lang) for kind in KINDS for lang in ("vi", "en")), key=lambda pair: size(*pair))
    assert size(*longest) < 1500  # plaintext; 3993 is the most a 4096-byte record holds
    assert "x" * 20 not in json.dumps(payload(1, "visit_cancelled", data, "vi", 1))  # the reason never travels
    # Sent for real, through the worker, for the longest kind in each language.
    for lang in ("vi", "en"):
        _subscribe(app, user, push, lang)
    db.session.add(InboxMessage(user_id=user.id, dossier_id=dossier.id, kind=longest[0], data=data))
    db.session.flush()
    message = db.session.scalar(select(InboxMessage).order_by(InboxMessage.id.desc()))
    for subscription in db.session.scalars(select(PushSubscription)):
        db.session.add(PushDelivery(message_id=message.id, subscription_id=subscription.id))
    db.session.commit()
    assert PushSender().drain() == 2
    assert sorted(r.payload["notification"]["lang"] for r in push.received) == ["en", "vi"]
    assert all(r.size < 4096 for r in push.received)
    assert {d.status for d in db.session.scalars(select(PushDelivery))} == {DeliveryStatus.SENT}


def _sent_delivery(app, citizen, push, subscribe: bool = True) -> PushDelivery:
    """A result sent to the citizen's one phone; the newest delivery."""
    user, dossier = citizen
    if subscribe:
        _subscribe(app, user, push, "vi")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert PushSender().drain() == 1
    return db.session.scalar(select(PushDelivery).order_by(PushDelivery.id.desc()))


def _report(app, token: str, event: str, **extra):
    """A receipt as the service worker sends it: a fresh client, no cookie, no CSRF token."""
    return app.test_client().post("/api/v1/push/receipts", json={"receipt": token, "event": event, **extra})


def test_shown_then_opened_is_recorded_once_and_never_downgraded(app, citizen, push):
    delivery = _sent_delivery(app, citizen, push)
    token = push.received[0].payload["receipt"]
    assert delivery.status is DeliveryStatus.SENT

    assert _report(app, token, "shown").status_code == 204
    db.session.expire_all()
    delivery = db.session.get(PushDelivery, delivery.id)
    shown_at = delivery.shown_at
    assert delivery.status is DeliveryStatus.SHOWN and shown_at is not None and delivery.opened_at is None
    assert delivery.subscription.last_shown_at is not None and delivery.subscription.last_seen_at >= shown_at
    assert delivery.message.reached_channel == "push" and delivery.message.reached_at == shown_at

    assert _report(app, token, "shown").status_code == 204  # a replay from the phone's queue: nothing changes
    db.session.expire_all()
    assert db.session.get(PushDelivery, delivery.id).shown_at == shown_at

    assert _report(app, token, "opened").status_code == 204
    assert _report(app, token, "shown").status_code == 204  # late, after the tap
    db.session.expire_all()
    delivery = db.session.get(PushDelivery, delivery.id)
    assert delivery.status is DeliveryStatus.OPENED and delivery.opened_at is not None
    assert delivery.shown_at == shown_at and delivery.message.reached_at == shown_at


def test_opened_implies_shown_and_the_phones_time_is_kept_within_bounds(app, citizen, push):
    delivery = _sent_delivery(app, citizen, push)
    token = push.received[0].payload["receipt"]
    delivery.created_at -= timedelta(hours=1)
    db.session.commit()
    tapped = utcnow() - timedelta(minutes=5)  # reported from the queue, five minutes late
    assert _report(app, token, "opened", at=tapped.timestamp() * 1000).status_code == 204
    db.session.expire_all()
    delivery = db.session.get(PushDelivery, delivery.id)
    assert delivery.status is DeliveryStatus.OPENED
    assert abs(delivery.opened_at - tapped) < timedelta(seconds=1) and delivery.shown_at == delivery.opened_at
    # A phone whose clock is years off cannot date a receipt before the message or in the future.
    other = _sent_delivery(app, citizen, push, subscribe=False)
    assert _report(app, push.received[1].payload["receipt"], "shown", at=1000).status_code == 204
    db.session.expire_all()
    other = db.session.get(PushDelivery, other.id)
    assert other.shown_at == other.created_at


def test_forged_malformed_and_unknown_receipts_are_problems_not_errors(app, citizen, push):
    delivery = _sent_delivery(app, citizen, push)
    token = push.received[0].payload["receipt"]
    forged = f"{delivery.id}.{'A' * 22}"
    response = _report(app, forged, "shown")
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:motcua:problem:receipt-forged"
    another = f"{delivery.id + 1}.{token.split('.')[1]}"  # a real MAC, moved to another delivery
    assert _report(app, another, "opened").status_code == 403
    for bad in ({"receipt": "not-a-token", "event": "shown"}, {"receipt": token, "event": "dismissed"},
                {"receipt": token}, {"receipt": token, "event": "shown", "at": "yesterday"},
                {"receipt": token, "event": "shown", "user_id": 1}):
        response = app.test_client().post("/api/v1/push/receipts", json=bad)
        assert response.status_code == 400 and response.mimetype == "application/problem+json", bad
    gone = receipts.token_for(delivery.id + 1000)  # ours, but no such delivery
    assert _report(app, gone, "shown").status_code == 404
    db.session.expire_all()
    assert db.session.get(PushDelivery, delivery.id).status is DeliveryStatus.SENT


def test_receipts_are_rate_limited(app, citizen, push):
    delivery = _sent_delivery(app, citizen, push)
    app.config["PUSH_RECEIPT_RATE_LIMIT"] = "3 per minute"
    token = receipts.token_for(delivery.id)
    assert [_report(app, token, "shown").status_code for _ in range(4)] == [204, 204, 204, 429]


def test_a_receipt_that_beats_the_workers_record_is_not_overwritten_by_sent(app, citizen, push, monkeypatch):
    """The push service delivers at once and the phone reports before the worker has recorded the 201: the row
    must end shown (or opened), not sent."""
    user, dossier = citizen
    _subscribe(app, user, push, "vi")
    _subscribe(app, user, push, "en")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    original = PushSender._record

    def receipts_first(self, outgoing, outcomes):
        by_lang = {r.payload["lang"]: r.payload["receipt"] for r in push.received}
        assert _report(app, by_lang["vi"], "shown").status_code == 204
        assert _report(app, by_lang["en"], "opened").status_code == 204
        return original(self, outgoing, outcomes)

    monkeypatch.setattr(PushSender, "_record", receipts_first)
    assert PushSender().drain() == 2
    db.session.expire_all()
    statuses = {d.subscription.lang: (d.status, d.sent_at is not None, d.lease_until)
                for d in db.session.scalars(select(PushDelivery))}
    assert statuses == {"vi": (DeliveryStatus.SHOWN, True, None), "en": (DeliveryStatus.OPENED, True, None)}


def test_the_desk_sees_each_followers_deliveries_per_channel(app, client, citizen, push):
    from server.channels.models import ChannelDelivery
    from server.consent.purposes import Channel

    _sent_delivery(app, citizen, push)
    assert _report(app, push.received[0].payload["receipt"], "opened").status_code == 204
    user, dossier = citizen
    # A relative without an account, reached by ZNS (the channel ladder's rows, written by its own worker).
    relative = Person(full_name="Lê Văn Cường")
    db.session.add(relative)
    db.session.flush()
    for_relative = InboxMessage(person_id=relative.id, dossier_id=dossier.id, kind="result_ready",
                                data={"code": CODE})
    db.session.add(for_relative)
    db.session.flush()
    db.session.add(ChannelDelivery(message_id=for_relative.id, channel=Channel.ZALO, phone_e164="+84912345678",
                                   status=DeliveryStatus.FAILED, last_error="-124: phone without Zalo"))
    db.session.add(ChannelDelivery(message_id=for_relative.id, channel=Channel.SMS, phone_e164="+84912345678",
                                   step=1, status=DeliveryStatus.SENT, sent_at=utcnow(), cost_vnd=800))
    db.session.commit()

    sign_in(client, demo_user(Role.STAFF))
    answer = client.get(f"/api/v1/push/dossiers/{dossier.id}").get_json()
    owner, other = answer["followers"]
    assert (owner["user_id"], other["person_id"]) == (user.id, relative.id)
    [message] = owner["messages"]
    [push_row] = message["channels"]["push"]
    assert push_row["status"] == "opened" and push_row["shown_at"] and push_row["opened_at"]
    assert message["reached_channel"] == "push"
    channels = other["messages"][0]["channels"]
    assert [d["status"] for d in channels["zalo"]] == ["failed"] and "Zalo" in channels["zalo"][0]["last_error"]
    assert channels["sms"][0]["status"] == "sent" and channels["sms"][0]["cost_vnd"] == 800
    assert "912345678" not in json.dumps(answer)  # the phone is masked
    assert answer["sms_avoided"] == 1

    page = client.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    section = page.split('id="notifications"')[1]
    assert 'data-status="opened" data-channel="push"' in section and "Người nhận đã mở" in section
    assert 'data-status="failed" data-channel="zalo"' in section and "phone without Zalo" in section
    assert 'data-status="sent" data-channel="sms"' in section and "•••• 678" in section
    assert "Lê Văn Cường" in section and "Trần Thị Bích" in section
    dashboard = client.get("/staff").get_data(as_text=True).split('id="latest-notifications"')[1]
    assert 'data-status="opened" data-channel="push"' in dashboard and CODE in dashboard
    client.set_cookie("lang", "en")
    assert "Opened by the recipient" in client.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
