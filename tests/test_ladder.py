"""The channel ladder's fan-out and the push side of escalation (issue 14 point 2): each follower's rungs written in
the event's transaction with their due times, quiet hours, a later rung skipped once the follower was reached,
the next rung brought forward when push is exhausted, exactly once per channel and follower, through a crash."""

from __future__ import annotations

import socket
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from server.auth.models import ConsentRecord
from server.auth.models import Role
from server.calendar.workdays import to_local
from server.channels import ladder
from server.channels.models import ChannelDelivery
from server.consent import services as consent
from server.consent.purposes import PURPOSES
from server.consent.purposes import Channel
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.models import HomeServiceReason
from server.dossiers.models import HomeVisit
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push import health as health_module
from server.push import notify as notify_module
from server.push import sender as sender_module
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.notify import KINDS
from server.push.notify import notify_dossier
from server.push.notify import notify_passkey_added
from server.push.notify import notify_visit
from server.push.sender import BACKOFF_BASE_SECONDS
from server.push.sender import PushSender
from server.types import utcnow
from tests.helpers import demo_agency
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import procedure
from tests.helpers import sign_in
from tests.helpers import verify_phone

PURPOSE = "dossier_updates"
VERSION = PURPOSES[PURPOSE].text_version
HOUR = timedelta(hours=1)


def local_today(hour: int, minute: int = 0, days: int = 0) -> datetime:
    """Today (in Viet Nam) at ``hour:minute`` local time, as the app's aware datetimes are: close to the real clock,
    so that nothing is older than the push worker's maximum age."""
    moment = to_local(utcnow()).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return moment + timedelta(days=days)


@pytest.fixture
def channels(app):
    """ZNS (a template for every kind) and SMS configured; no provider is called by these tests."""
    app.config.update(ZNS_ACCESS_TOKEN="test-token", ZNS_API_URL="http://127.0.0.1:9/zns",
                      ZNS_TEMPLATES={kind: "1001" for kind in KINDS}, SMS_API_URL="http://127.0.0.1:9/sms")
    return app


@pytest.fixture
def clock(monkeypatch):
    """Set the time the fan-out and the push worker see: ``clock(moment)``."""

    def set_to(moment: datetime) -> datetime:
        monkeypatch.setattr(notify_module, "utcnow", lambda: moment)
        monkeypatch.setattr(sender_module, "utcnow", lambda: moment)
        return moment

    return set_to


@pytest.fixture
def dossier(app):
    """A received dossier whose owner (and submitter), Trần Thị Bình, has no account."""
    return make_dossier(State.RECEIVED, code="000.20.26.H26-261207-0014")


def follower(dossier, name: str, *, push=None, devices: int = 1, zalo: str | None = None, sms: str | None = None):
    """A citizen account following ``dossier``, with the consents asked for (``push``: the loopback push service
    to subscribe ``devices`` times to; ``zalo`` and ``sms``: the account's one checked number)."""
    user = make_user(Role.CITIZEN, None, name)
    user.person = Person(full_name=name)
    if zalo or sms:
        assert not (zalo and sms) or zalo == sms, "a citizen consents for their own checked number only"
        verify_phone(user, zalo or sms)
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=user.id, role=FollowRole.FOLLOWER))
    if push is not None:
        consent.give(user, PURPOSE, Channel.PUSH, VERSION)
        for _ in range(devices):
            info = push.subscribe()
            db.session.add(PushSubscription(user_id=user.id, endpoint=info["endpoint"], p256dh=info["keys"]["p256dh"],
                                            auth=info["keys"]["auth"]))
    if zalo:
        consent.give(user, PURPOSE, Channel.ZALO, VERSION, address=zalo)
    if sms:
        consent.give(user, PURPOSE, Channel.SMS, VERSION, address=sms)
    db.session.commit()
    return user


def desk_consent(person_id: int, channel: Channel, phone: str) -> None:
    """A consent a person without an account gave at the desk (as server/consent's desk path records it)."""
    db.session.add(ConsentRecord(user_id=None, person_id=person_id, purpose=PURPOSE, channel=channel,
                                 text_version=VERSION, method="desk", address=phone, granted=True,
                                 recorded_at=utcnow()))
    db.session.commit()


def rungs_of(message: InboxMessage) -> list[tuple[str, int, datetime]]:
    """(channel, step, due) of every delivery of ``message``, in step order."""
    push = [("push", d.step, d.next_attempt_at) for d in db.session.scalars(
        select(PushDelivery).where(PushDelivery.message_id == message.id))]
    others = [(d.channel.value, d.step, d.next_attempt_at) for d in db.session.scalars(
        select(ChannelDelivery).where(ChannelDelivery.message_id == message.id))]
    return sorted(push + others, key=lambda rung: (rung[1], rung[0]))


def message_of(user) -> InboxMessage:
    return db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == user.id))


def test_each_follower_gets_the_rungs_they_can_use_with_their_offsets(channels, dossier, push, clock):
    now = clock(local_today(10))
    everything = follower(dossier, "Lê Văn Cả", push=push, devices=2, zalo="0912345001", sms="0912345001")
    phones = follower(dossier, "Phạm Thị Hai", zalo="0912345002", sms="0912345002")
    basic = follower(dossier, "Đỗ Văn Ba", sms="0912345003")
    nothing = follower(dossier, "Vũ Thị Bốn")
    notify_dossier(dossier, "result_ready")
    db.session.commit()

    assert rungs_of(message_of(everything)) == [("push", 0, now), ("push", 0, now), ("zalo", 1, now + 2 * HOUR),
                                                ("sms", 2, now + 24 * HOUR)]
    assert rungs_of(message_of(phones)) == [("zalo", 0, now), ("sms", 1, now + 22 * HOUR)]
    assert rungs_of(message_of(basic)) == [("sms", 0, now)]
    assert rungs_of(message_of(nothing)) == []  # the inbox only: it needs no consent
    sms = db.session.scalar(select(ChannelDelivery).where(ChannelDelivery.message_id == message_of(basic).id))
    assert sms.phone_e164 == "+84912345003" and sms.status is DeliveryStatus.QUEUED
    # The owner has no account and gave no consent at the desk: nobody to write to, not even a headless message.
    assert db.session.scalar(select(func.count()).select_from(InboxMessage)
                             .where(InboxMessage.user_id.is_(None))) == 0


def test_a_channel_not_configured_is_no_rung(app, dossier, push, clock):
    now = clock(local_today(10))
    user = follower(dossier, "Lê Văn Cả", push=push, zalo="0912345001", sms="0912345001")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert rungs_of(message_of(user)) == [("push", 0, now)]  # neither ZNS nor SMS is configured here


def test_a_follower_without_an_account_is_reached_by_zns_and_sms_and_has_no_inbox(channels, client, dossier, push,
                                                                                  clock):
    now = clock(local_today(10))
    desk_consent(dossier.owner_id, Channel.ZALO, "+84912345010")
    desk_consent(dossier.owner_id, Channel.SMS, "+84912345010")
    relative = follower(dossier, "Lê Văn Cả", push=push)
    notify_dossier(dossier, "result_ready")
    db.session.commit()

    [headless] = db.session.scalars(select(InboxMessage).where(InboxMessage.user_id.is_(None)))
    assert headless.person_id == dossier.owner_id and headless.dossier_id == dossier.id
    assert rungs_of(headless) == [("zalo", 0, now), ("sms", 1, now + 22 * HOUR)]
    assert rungs_of(message_of(relative)) == [("push", 0, now)]
    sign_in(client, relative)
    inbox = client.get("/api/v1/push/inbox").get_json()
    assert [m["id"] for m in inbox["messages"]] == [message_of(relative).id] and inbox["unread"] == 1
    owner_account = make_user(Role.CITIZEN, None, "Trần Thị Bình")  # an account of another person sees nothing
    sign_in(client, owner_account)
    assert client.get("/api/v1/push/inbox").get_json() == {"unread": 0, "messages": []}


def test_a_person_whose_account_follows_is_reached_by_the_accounts_consents(channels, dossier, push, clock):
    clock(local_today(10))
    desk_consent(dossier.owner_id, Channel.SMS, "+84912345010")
    owner = make_user(Role.CITIZEN, None, "Trần Thị Bình")
    owner.person_id = dossier.owner_id
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=owner.id, role=FollowRole.OWNER))
    db.session.commit()
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    [message] = db.session.scalars(select(InboxMessage))
    assert message.user_id == owner.id and rungs_of(message) == []  # the account gave no consent itself


def test_a_non_urgent_event_in_the_quiet_hours_starts_its_ladder_in_the_morning(channels, dossier, push, clock):
    channels.config["QUIET_HOURS"] = "21:00-07:00"
    evening = clock(local_today(21, 30))
    user = follower(dossier, "Lê Văn Cả", push=push, zalo="0912345001")
    consent.give(user, "account_security", Channel.PUSH, PURPOSES["account_security"].text_version)
    notify_dossier(dossier, "result_ready")
    notify_passkey_added(user, "Điện thoại mới")  # urgent: it goes at once
    db.session.commit()
    morning = local_today(7, days=1)
    result, passkey = db.session.scalars(select(InboxMessage).order_by(InboxMessage.id))
    assert rungs_of(result) == [("push", 0, morning), ("zalo", 1, morning + 2 * HOUR)]
    assert rungs_of(passkey) == [("push", 0, evening)]

    assert PushSender().drain() == 1  # nothing of the result is even claimed at night
    assert [r.payload["kind"] for r in push.received] == ["passkey_added"]
    clock(morning)
    assert PushSender().drain() == 1
    assert [r.payload["kind"] for r in push.received] == ["passkey_added", "result_ready"]


def test_a_retry_backing_off_into_the_night_is_held_until_the_morning(channels, dossier, push, clock):
    channels.config["QUIET_HOURS"] = "21:00-07:00"
    before_nine = clock(local_today(20, 59) + timedelta(seconds=50))
    follower(dossier, "Lê Văn Cả", push=push)
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    push.scripted.append((503, {}))
    assert PushSender().drain() == 1
    delivery = db.session.scalar(select(PushDelivery))
    assert delivery.status is DeliveryStatus.QUEUED and delivery.attempts == 1
    assert delivery.next_attempt_at > before_nine  # the back-off ends after 21:00

    clock(local_today(21, 5))
    assert PushSender().drain() == 1
    db.session.refresh(delivery)
    morning = local_today(7, days=1)
    assert delivery.status is DeliveryStatus.QUEUED and delivery.next_attempt_at == morning
    assert delivery.attempts == 1 and delivery.last_error == "quiet hours until 07:00"  # held, not tried
    assert push.received == []
    clock(morning)
    assert PushSender().drain() == 1
    db.session.refresh(delivery)
    assert delivery.status is DeliveryStatus.SENT and delivery.attempts == 2 and len(push.received) == 1


def test_a_later_push_rung_is_skipped_once_the_follower_was_reached(channels, dossier, push, clock):
    channels.config["NOTIFY_LADDERS"] = {**channels.config["NOTIFY_LADDERS"],
                                         "result_ready": [["sms", 3600], ["push", 3600], ["zalo", 0]]}
    now = clock(local_today(10))
    user = follower(dossier, "Lê Văn Cả", push=push, zalo="0912345001", sms="0912345001")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    message = message_of(user)
    assert rungs_of(message) == [("sms", 0, now), ("push", 1, now + HOUR), ("zalo", 2, now + 2 * HOUR)]
    ladder.mark_reached(message.id, Channel.SMS, now + timedelta(minutes=5))  # the SMS gateway's callback
    db.session.commit()

    clock(now + HOUR)
    assert PushSender().drain() == 1
    delivery = db.session.scalar(select(PushDelivery))
    assert delivery.status is DeliveryStatus.SKIPPED and delivery.last_error == "reached on sms before this rung"
    assert push.received == []
    zalo = db.session.scalar(select(ChannelDelivery).where(ChannelDelivery.channel == Channel.ZALO))
    # The ZNS worker skips it when due (server/channels/sender.py): the push worker's escalation leaves it alone.
    assert zalo.status is DeliveryStatus.QUEUED and zalo.next_attempt_at == now + 2 * HOUR


def test_the_first_push_rung_is_sent_even_if_the_message_was_reached(channels, dossier, push, clock):
    now = clock(local_today(10))
    user = follower(dossier, "Lê Văn Cả", push=push, devices=2)
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    ladder.mark_reached(message_of(user).id, Channel.PUSH, now)  # shown on the first phone
    db.session.commit()
    assert PushSender().drain() == 2 and len(push.received) == 2  # every device of the follower gets it


@pytest.mark.parametrize("gone", [2, 1])
def test_every_push_gone_brings_the_zns_rung_forward(channels, dossier, push, clock, gone):
    now = clock(local_today(10))
    user = follower(dossier, "Lê Văn Cả", push=push, devices=2, zalo="0912345001")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    for subscription in list(db.session.scalars(select(PushSubscription).order_by(PushSubscription.id)))[:gone]:
        push.gone.add(subscription.endpoint.rsplit("/", 1)[-1])
    later = clock(now + timedelta(minutes=3))
    assert PushSender().drain() == 2
    zalo = db.session.scalar(select(ChannelDelivery).where(ChannelDelivery.message_id == message_of(user).id))
    assert zalo.status is DeliveryStatus.QUEUED
    # Both subscriptions answered 410: no push will ever be shown, ZNS is due now rather than in two hours. One
    # still working: its receipt is waited for.
    assert zalo.next_attempt_at == (later if gone == 2 else now + 2 * HOUR)


def test_each_event_gets_its_own_rows_and_a_shared_phone_one_sms(channels, dossier, push, clock):
    clock(local_today(10))
    mother = follower(dossier, "Phạm Thị Hai", zalo="0912345099", sms="0912345099")
    # The family's phone, checked as the son's too (one number per account: his own consents can name no other).
    son = follower(dossier, "Lê Văn Cả", push=push, sms="0912345099")
    notify_dossier(dossier, "received")
    notify_dossier(dossier, "result_ready")
    db.session.commit()  # no unique (message, channel) violation

    for kind in ("received", "result_ready"):
        by_user = {m.user_id: m for m in db.session.scalars(select(InboxMessage).where(InboxMessage.kind == kind))}
        assert [rung[:2] for rung in rungs_of(by_user[mother.id])] == [("zalo", 0), ("sms", 1)]
        assert [rung[:2] for rung in rungs_of(by_user[son.id])] == [("push", 0)]  # no second SMS
    sms = list(db.session.scalars(select(ChannelDelivery).where(ChannelDelivery.channel == Channel.SMS)))
    assert len(sms) == 2 and {d.phone_e164 for d in sms} == {"+84912345099"}  # one per event
    assert db.session.scalar(select(func.count()).select_from(ChannelDelivery)) == 4


def test_a_worker_dying_after_its_claim_costs_no_second_push_and_no_second_zns(channels, dossier, push, clock):
    now = clock(local_today(10))
    user = follower(dossier, "Lê Văn Cả", push=push, devices=2, zalo="0912345001")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    crashed = PushSender()
    assert len(crashed.claim()) == 2  # claimed, then the process died before sending or recording
    assert PushSender().drain() == 0  # its lease holds
    lease_until = db.session.scalar(select(func.max(PushDelivery.lease_until)))
    assert lease_until > now
    clock(lease_until + timedelta(seconds=1))  # the lease has run out
    survivor = PushSender()
    assert survivor.drain() == 2 and survivor.drain() == 0
    assert sorted(r.subscription for r in push.received) == sorted(
        s.endpoint.rsplit("/", 1)[-1] for s in db.session.scalars(select(PushSubscription)))
    [zalo] = db.session.scalars(select(ChannelDelivery).where(ChannelDelivery.message_id == message_of(user).id))
    assert zalo.status is DeliveryStatus.QUEUED and zalo.next_attempt_at == now + 2 * HOUR and zalo.attempts == 0


def test_withdrawing_sms_withholds_the_queued_sms(channels, dossier, push, clock):
    clock(local_today(10))
    user = follower(dossier, "Lê Văn Cả", zalo="0912345001", sms="0912345001")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    assert consent.withdraw(user, PURPOSE, Channel.SMS) is not None
    db.session.commit()
    rows = {d.channel: d for d in db.session.scalars(select(ChannelDelivery))}
    assert rows[Channel.SMS].status is DeliveryStatus.WITHHELD
    assert rows[Channel.SMS].last_error == "consent withdrawn for this purpose on sms"
    assert rows[Channel.ZALO].status is DeliveryStatus.QUEUED


def test_a_phone_consent_needs_a_mobile_number_and_a_new_number_replaces_the_old(app):
    user = make_user(Role.CITIZEN, None, "Lê Văn Cả")
    verify_phone(user, "0912345001")
    for bad, code in ((None, "phone.required"), ("0912 34", "phone.invalid"), ("+33612345678", "phone.not_vietnamese"),
                      ("024 3825 1234", "phone.not_mobile")):
        with pytest.raises(consent.BadAddress) as refused:
            consent.give(user, PURPOSE, Channel.SMS, VERSION, address=bad)
        assert refused.value.code == code and refused.value.vi and refused.value.en
    first, created = consent.give(user, PURPOSE, Channel.SMS, VERSION, address="0912 345 001")
    assert created and first.address == "+84912345001"
    again, created = consent.give(user, PURPOSE, Channel.SMS, VERSION, address="+84 912 345 001")
    assert again.id == first.id and not created
    verify_phone(user, "0912345002")  # the desk recorded the citizen's new number
    second, created = consent.give(user, PURPOSE, Channel.SMS, VERSION, address="0912345002")
    db.session.commit()
    assert created and second.address == "+84912345002" and first.withdrawn_at is not None
    assert consent.in_force(user.id, PURPOSE, Channel.SMS).id == second.id
    push_consent, _ = consent.give(user, PURPOSE, Channel.PUSH, VERSION, address="0912345002")
    assert push_consent.address is None  # push writes to the subscription, not to a number


def test_the_consent_page_offers_zalo_and_sms_once_configured_with_a_checked_number(channels, client):
    user = make_user(Role.CITIZEN, None, "Lê Văn Cả")
    verify_phone(user, "+84912345001")
    db.session.commit()
    token = sign_in(client, user)
    data = client.get("/api/v1/me/consents").get_json()
    assert data["suggested_phone"] == "0912345001"  # offered on the page, never used unless given
    [updates] = [p for p in data["purposes"] if p["purpose"] == PURPOSE]
    assert all(channel["available"] for channel in updates["channels"])
    url = f"/api/v1/me/consents/{PURPOSE}/sms"

    missing = client.put(url, json={"text_version": VERSION}, headers={"X-CSRFToken": token})
    assert missing.status_code == 422 and missing.get_json()["type"].endswith("invalid-phone")
    assert missing.get_json()["errors"][0]["field"] == "address"
    assert missing.get_json()["errors"][0]["message"] == "Vui lòng nhập số điện thoại."
    client.set_cookie("lang", "en")
    landline = client.put(url, json={"text_version": VERSION, "address": "024 3825 1234"},
                          headers={"X-CSRFToken": token})
    assert landline.status_code == 422
    assert landline.get_json()["errors"][0]["message"].startswith("A mobile number is needed")

    given = client.put(url, json={"text_version": VERSION, "address": "0912 345 001"}, headers={"X-CSRFToken": token})
    assert given.status_code == 201
    [sms] = [c for c in given.get_json()["channels"] if c["channel"] == "sms"]
    assert sms["consent"]["address"] == "+84912345001"
    verify_phone(user, "0912345002")  # the desk recorded the citizen's new number
    db.session.commit()
    moved = client.put(url, json={"text_version": VERSION, "address": "0912345002"}, headers={"X-CSRFToken": token})
    assert moved.status_code == 201
    history = client.get("/api/v1/me/consents").get_json()["history"]
    assert [(h["address"], h["withdrawn_at"] is None) for h in history if h["channel"] == "sms"] == [
        ("+84912345002", True), ("+84912345001", False)]


def test_a_citizen_consents_for_their_checked_number_only(channels, client):
    """Any other number could be someone else's: paid messages and the dossier's news would go there."""
    user = make_user(Role.CITIZEN, None, "Kẻ gian")
    user.person = Person(full_name="Kẻ gian", phone_e164="+84912000111")  # on record, but nobody checked it
    db.session.commit()
    token = sign_in(client, user)
    assert client.get("/api/v1/me/consents").get_json()["suggested_phone"] is None  # the page says: ask the desk
    url = f"/api/v1/me/consents/{PURPOSE}/sms"
    for phone in ("0912000111", "0987654321"):
        refused = client.put(url, json={"text_version": VERSION, "address": phone}, headers={"X-CSRFToken": token})
        assert refused.status_code == 422 and refused.get_json()["type"].endswith("invalid-phone")
        [error] = refused.get_json()["errors"]
        assert (error["field"], error["code"], error["message"]) == (
            "address", "phone.not_verified",
            "Số điện thoại này chưa được xác minh là của bạn. Hãy nhờ Bộ phận Một cửa ghi nhận số điện thoại.")
    assert client.post("/account/channels/sms/test", data={"csrf_token": token}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(ChannelDelivery)) == 0

    verify_phone(user, "0912000111")  # a clerk checked who they are, and their number
    db.session.commit()
    data = client.get("/api/v1/me/consents").get_json()
    assert data["suggested_phone"] == "0912000111"
    client.set_cookie("lang", "en")
    other = client.put(url, json={"text_version": VERSION, "address": "0987654321"}, headers={"X-CSRFToken": token})
    assert other.status_code == 422
    assert other.get_json()["errors"][0]["message"].startswith("This phone number has not been verified as yours")
    assert client.put(url, json={"text_version": VERSION, "address": "0912 000 111"},
                      headers={"X-CSRFToken": token}).status_code == 201
    with pytest.raises(consent.BadAddress) as refused:  # the service itself, whoever calls it
        consent.give(user, PURPOSE, Channel.ZALO, VERSION, address="0987654321")
    assert refused.value.code == "phone.not_verified"


def test_without_providers_the_page_offers_push_only(app, client):
    user = make_user(Role.CITIZEN, None, "Lê Văn Cả")
    verify_phone(user, "+842438251234")  # a landline, even checked: nothing to suggest
    db.session.commit()
    token = sign_in(client, user)
    data = client.get("/api/v1/me/consents").get_json()
    assert data["suggested_phone"] is None
    refused = client.put(f"/api/v1/me/consents/{PURPOSE}/zalo", json={"text_version": VERSION,
                                                                       "address": "0912345001"},
                         headers={"X-CSRFToken": token})
    assert refused.status_code == 422 and refused.get_json()["type"].endswith("channel-unavailable")


def test_a_push_rung_still_retrying_keeps_the_zns_rung_waiting(channels, dossier, push, clock):
    """One subscription gone, the other's push service unreachable: push is not exhausted (its retry is on its way),
    so ZNS keeps its time, and the retry keeps its back-off."""
    now = clock(local_today(10))
    user = follower(dossier, "Lê Văn Cả", push=push, devices=2, zalo="0912345001")
    notify_dossier(dossier, "result_ready")
    db.session.commit()
    first, second = db.session.scalars(select(PushSubscription).order_by(PushSubscription.id))
    push.gone.add(first.endpoint.rsplit("/", 1)[-1])
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        second.endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}/push/x"
    db.session.commit()
    later = clock(now + timedelta(minutes=1))
    assert PushSender().drain() == 2
    statuses = sorted(d.status.value for d in db.session.scalars(select(PushDelivery)))
    assert statuses == ["expired", "queued"]
    retry = db.session.scalar(select(PushDelivery).where(PushDelivery.status == DeliveryStatus.QUEUED))
    assert retry.next_attempt_at > later + timedelta(seconds=BACKOFF_BASE_SECONDS / 2 - 1)
    zalo = db.session.scalar(select(ChannelDelivery).where(ChannelDelivery.message_id == message_of(user).id))
    assert zalo.next_attempt_at == now + 2 * HOUR


def test_a_visited_person_without_an_account_hears_of_the_visit_by_sms(channels, clock):
    now = clock(local_today(10))
    visited = Person(full_name="Trần Thị Bình")
    visit = HomeVisit(agency_id=demo_agency().id, person=visited, procedure=procedure("tro-cap-xa-hoi-hang-thang"),
                      reason=HomeServiceReason.MERITORIOUS, address="Ngõ 5 phố Huế, tổ 12")
    db.session.add(visit)
    db.session.commit()
    desk_consent(visited.id, Channel.SMS, "+84987654321")
    notify_visit(visit)
    db.session.commit()
    [message] = db.session.scalars(select(InboxMessage))
    assert message.user_id is None and message.person_id == visited.id and message.kind == "visit_scheduled"
    assert rungs_of(message) == [("sms", 0, now)]


def test_a_subscription_taken_over_expires_what_waited_on_it_and_the_next_rung_is_due(channels, dossier, push, clock,
                                                                                       monkeypatch):
    """The phone changed hands before its push went out: the push is not for its new owner, and the follower it was
    for is not reached, so their SMS is due now."""
    now = clock(local_today(10))
    monkeypatch.setattr(health_module, "utcnow", lambda: now)
    owner = follower(dossier, "Lê Văn Cả", push=push, sms="0912345001")
    notify_dossier(dossier, "received")
    db.session.commit()
    assert [rung[:2] for rung in rungs_of(message_of(owner))] == [("push", 0), ("sms", 1)]
    phone = db.session.scalar(select(PushSubscription).where(PushSubscription.user_id == owner.id))

    newcomer = make_user(Role.CITIZEN, None, "Người khác")
    consent.give(newcomer, PURPOSE, Channel.PUSH, VERSION)
    db.session.commit()
    client = channels.test_client()
    token = sign_in(client, newcomer)
    response = client.put("/api/v1/push/subscriptions", headers={"X-CSRFToken": token}, json={
        "endpoint": phone.endpoint, "keys": {"p256dh": phone.p256dh, "auth": phone.auth}, "lang": "vi"})
    assert response.status_code == 200
    db.session.expire_all()
    [delivery] = message_of(owner).deliveries
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.EXPIRED, "the subscription changed hands")
    assert rungs_of(message_of(owner))[1] == ("sms", 1, now)  # brought forward: push will not reach them
    PushSender().drain()
    assert push.received == []
    assert message_of(owner).reached_at is None


def test_the_worker_sends_no_push_to_a_subscription_now_owned_by_someone_else(app, dossier, push, clock):
    """Whatever moved the subscription (another path, or the instant between a claim and the change of hands), the
    worker checks the owner again before it sends."""
    clock(local_today(10))
    owner = follower(dossier, "Lê Văn Cả", push=push)
    notify_dossier(dossier, "received")
    db.session.commit()
    newcomer = make_user(Role.CITIZEN, None, "Người khác")
    consent.give(newcomer, PURPOSE, Channel.PUSH, VERSION)
    db.session.execute(update(PushSubscription).values(user_id=newcomer.id))  # bypasses the API's hand-over
    db.session.commit()
    PushSender().drain()
    assert push.received == []
    db.session.expire_all()
    [delivery] = message_of(owner).deliveries
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.EXPIRED, "the subscription changed hands")
