"""ZNS and SMS: the provider adapters against loopback fakes of their documented APIs, the worker that drains the
channel outbox (server/channels/sender.py), and the delivery callbacks (server/channels/hooks.py).

The deliveries are written directly here (the fan-out that writes them on an event is the ladder's own tests)."""

from __future__ import annotations

import json
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import requests
from sqlalchemy import inspect
from sqlalchemy import update

from server.auth.models import ConsentRecord
from server.auth.models import Role
from server.channels import sender as channel_sender
from server.channels.models import ChannelDelivery
from server.channels.providers import provider_for
from server.channels.providers.base import ProviderResult
from server.channels.providers.base import Result
from server.channels.sender import ProviderSender
from server.channels.texts import segments
from server.channels.texts import sms_text
from server.consent.purposes import PURPOSES
from server.consent.purposes import Channel
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.sender import BACKOFF_BASE_SECONDS
from server.push.sender import RETRY_AFTER_CAP_SECONDS
from server.types import utcnow
from tests import fake_sms
from tests import fake_zns
from tests.drip_server import DripServer
from tests.fake_provider import REDIRECT
from tests.fake_provider import SERVER_ERROR
from tests.fake_provider import TIMEOUT
from tests.fake_sms import FakeSms
from tests.fake_zns import FakeZns
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import send_channels

PHONE = "+84912345678"
SMS_TOKEN = "s" * 43
OTHER = "+84987654321"


@pytest.fixture
def zns(app):
    fake = FakeZns().start()
    app.config.update(ZNS_API_URL=fake.send_url, ZNS_ACCESS_TOKEN=fake.token,
                      ZNS_TEMPLATES={"result_ready": "tpl-result", "received": "tpl-result"},
                      ZNS_APP_ID=fake.app_id, ZNS_OA_SECRET_KEY=fake.secret, PROVIDERS_ALLOW_PRIVATE_URLS=True,
                      PROVIDER_TIMEOUT_SECONDS=0.5, QUIET_HOURS="")
    yield fake
    fake.stop()


@pytest.fixture
def sms(app):
    fake = FakeSms().start()
    app.config.update(SMS_API_URL=fake.send_url, SMS_API_KEY=fake.api_key, SMS_SECRET_KEY=fake.secret_key,
                      SMS_BRANDNAME="MOTCUA", SMS_CALLBACK_BASE_URL="https://motcua.example.vn",
                      SMS_CALLBACK_TOKEN=SMS_TOKEN, PROVIDERS_ALLOW_PRIVATE_URLS=True, PROVIDER_TIMEOUT_SECONDS=0.5,
                      QUIET_HOURS="")
    yield fake
    fake.stop()


def consent(user=None, person=None, channel=Channel.ZALO, phone=PHONE, purpose="dossier_updates") -> ConsentRecord:
    record = ConsentRecord(user_id=user.id if user else None, person_id=person.id if person else user.person_id,
                           purpose=purpose, channel=channel, text_version=PURPOSES[purpose].text_version,
                           method="desk", address=phone, granted=True, recorded_at=utcnow())
    db.session.add(record)
    db.session.commit()
    return record


def message_for(user=None, person=None, kind="result_ready", dossier=None) -> InboxMessage:
    dossier = dossier or make_dossier(State.RESOLVED, code="000.20.26.H26-261207-0001")
    message = InboxMessage(user_id=user.id if user else None, person_id=person.id if person else None,
                           dossier_id=dossier.id, kind=kind, data={"code": dossier.code})
    db.session.add(message)
    db.session.commit()
    return message


def delivery(message, channel=Channel.ZALO, step=1, phone=PHONE, due=None) -> ChannelDelivery:
    row = ChannelDelivery(message_id=message.id, channel=channel, phone_e164=phone, step=step,
                          next_attempt_at=due or utcnow())
    db.session.add(row)
    db.session.commit()
    return row


def follower(channels=(Channel.ZALO,), phone=PHONE):
    user = make_user(Role.CITIZEN, None, "Nguyễn Văn Thân")
    for channel in channels:
        consent(user, channel=channel, phone=phone)
    return user


def fresh(row: ChannelDelivery) -> ChannelDelivery:
    """The row as the database has it now (``row`` may come from a session a command closed)."""
    db.session.expire_all()
    return db.session.get(ChannelDelivery, inspect(row).identity[0])


def one_batch() -> None:
    """One claim and one batch, as one turn of the worker loop (send_channels drains on to what became due)."""
    sender = ProviderSender()
    try:
        sender.send_batch(sender.claim())
    finally:
        sender.close()


def make_due(*rows) -> None:
    db.session.execute(update(ChannelDelivery).where(ChannelDelivery.id.in_([row.id for row in rows]))
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


# The adapters and the worker ---------------------------------------------------------------------------------------


def test_zns_success_sends_only_the_code_and_the_kind(app, zns):
    user = follower()
    message = message_for(user)
    row = delivery(message)
    assert send_channels() == 1
    row = fresh(row)
    assert row.status is DeliveryStatus.SENT
    assert (row.provider, row.provider_message_id, row.cost_vnd) == ("zns", zns.sent[0]["msg_id"], 150)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
    request = zns.requests[0]
    assert request["headers"]["access_token"] == zns.token
    assert request["body"] == {"phone": "84912345678", "template_id": "tpl-result",
                               "template_data": {"ma_ho_so": message.data["code"], "trang_thai": "Đã có kết quả"},
                               "tracking_id": row.tracking_id}
    # No personal data beyond the push payload's: not the name, not the owner's.
    raw = request["raw"].decode()
    assert "Thân" not in raw and "Bình" not in raw


def test_sms_success_text_cost_and_callback(app, sms):
    user = follower((Channel.SMS,))
    message = message_for(user)
    row = delivery(message, Channel.SMS, step=2)
    send_channels()
    row = fresh(row)
    body = sms.requests[0]["body"]
    text = sms_text("result_ready", {"code": message.data["code"]})
    assert body["Content"] == text and "Bình" not in text
    assert (body["Phone"], body["Brandname"], body["SmsType"], body["RequestId"]) == \
           ("0912345678", "MOTCUA", "2", row.tracking_id)
    assert body["CallbackUrl"] == f"https://motcua.example.vn/hooks/sms/{SMS_TOKEN}"
    assert row.status is DeliveryStatus.SENT
    assert (row.provider, row.provider_message_id) == ("sms", sms.sent[0]["SMSID"])
    assert row.cost_vnd == 800 * segments(text)


@pytest.mark.parametrize(("behaviour", "code"), [(fake_zns.NO_ZALO, "-118"), (fake_zns.TEMPLATE, "-131"),
                                                 (fake_zns.TOKEN, "-124"), (fake_zns.QUOTA, "-144")])
def test_zns_failures_fail_and_bring_the_sms_rung_forward(app, zns, behaviour, code):
    user = follower((Channel.ZALO, Channel.SMS))
    message = message_for(user)
    row = delivery(message)
    later = utcnow() + timedelta(hours=22)
    sms_row = delivery(message, Channel.SMS, step=2, due=later)
    zns.next(behaviour)
    one_batch()
    row, sms_row = fresh(row), fresh(sms_row)
    assert row.status is DeliveryStatus.FAILED
    assert row.last_error.startswith(f"zns {code}") and PHONE not in row.last_error
    assert row.cost_vnd == 0
    # Nobody waits 22 hours for a receipt that will never come: SMS is due now.
    assert sms_row.status is DeliveryStatus.QUEUED and sms_row.next_attempt_at <= utcnow()


def test_zns_refuses_an_invalid_phone_and_an_unapproved_template(app, zns):
    app.config["ZNS_TEMPLATES"] = {"result_ready": "tpl-result", "received": "tpl-draft"}
    bad_phone = delivery(message_for(follower(phone="+8412")), phone="+8412")
    draft = delivery(message_for(follower(), kind="received", dossier=make_dossier(State.RECEIVED, code="D-2")))
    send_channels()
    assert fresh(bad_phone).last_error.startswith("zns -108")
    assert fresh(draft).last_error.startswith("zns -131")
    assert fresh(draft).status is fresh(bad_phone).status is DeliveryStatus.FAILED


def test_zns_server_error_retries_with_the_same_tracking_id(app, zns):
    row = delivery(message_for(follower()))
    zns.next(SERVER_ERROR)
    send_channels()
    retried = fresh(row)
    assert retried.status is DeliveryStatus.QUEUED and retried.next_attempt_at > utcnow()
    assert retried.last_error == "zns answered 502" and retried.attempts == 1
    make_due(row)
    send_channels()
    assert fresh(row).status is DeliveryStatus.SENT and fresh(row).attempts == 2
    assert [r["body"]["tracking_id"] for r in zns.requests] == [row.tracking_id, row.tracking_id]


def test_sms_timeout_retries_with_the_same_request_id_and_is_sent_once(app, sms):
    row = delivery(message_for(follower((Channel.SMS,))), Channel.SMS)
    sms.next(TIMEOUT)
    send_channels()
    assert sms.held.is_set()
    retried = fresh(row)
    assert retried.status is DeliveryStatus.QUEUED and retried.last_error.startswith("network: ")
    make_due(row)
    send_channels()
    sent = fresh(row)
    # The gateway had taken the first request: it drops the second (RequestId) and we count the SMS once.
    assert sent.status is DeliveryStatus.SENT and sent.cost_vnd > 0
    assert len(sms.sent) == 1 and sms.duplicates == 1
    assert {r["body"]["RequestId"] for r in sms.requests} == {row.tracking_id}


def test_sms_balance_and_blocked_fail(app, sms):
    user = follower((Channel.SMS,))
    first = delivery(message_for(user), Channel.SMS)
    second = delivery(message_for(user, dossier=make_dossier(State.RESOLVED, code="D-3")), Channel.SMS)
    sms.next(fake_sms.BALANCE)
    sms.next(fake_sms.BLOCKED)
    send_channels()
    assert {fresh(first).last_error, fresh(second).last_error} == {"sms 103: not enough balance",
                                                                   "sms 99: phone number blocked"}


def test_a_worker_dying_after_the_request_sends_nothing_twice(app, sms):
    row = delivery(message_for(follower((Channel.SMS,))), Channel.SMS)
    dying = ProviderSender()
    ids = dying.claim()
    outgoing, outcomes = dying._prepare(ids)
    assert not outcomes
    dying._deliver(outgoing[0])  # the gateway took it; the worker dies before recording anything
    dying.close()
    assert fresh(row).status is DeliveryStatus.SENDING
    assert send_channels() == 0  # leased: nobody else takes it meanwhile
    db.session.execute(update(ChannelDelivery).where(ChannelDelivery.id == row.id)
                       .values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert send_channels() == 1
    assert fresh(row).status is DeliveryStatus.SENT and fresh(row).attempts == 2
    assert len(sms.sent) == 1 and sms.duplicates == 1


def test_not_configured_is_never_called(app, zns, sms):
    app.config.update(ZNS_ACCESS_TOKEN=None, SMS_API_URL=None)
    assert provider_for(Channel.ZALO) is None and provider_for(Channel.SMS) is None
    user = follower((Channel.ZALO, Channel.SMS))
    message = message_for(user)
    rows = [delivery(message), delivery(message, Channel.SMS, step=2)]
    send_channels()
    assert zns.requests == [] and sms.requests == []
    assert {fresh(r).last_error for r in rows} == {"zalo is not configured", "sms is not configured"}


def test_a_kind_without_template_is_not_sent_by_zns(app, zns):
    user = follower()
    row = delivery(message_for(user, kind="stopped"))
    send_channels()
    assert zns.requests == []
    assert fresh(row).status is DeliveryStatus.FAILED


def test_redirects_are_not_followed(app, zns):
    row = delivery(message_for(follower()))
    zns.next(REDIRECT)
    send_channels()
    assert len(zns.requests) == 1
    assert fresh(row).status is DeliveryStatus.FAILED and "redirects are not followed" in fresh(row).last_error


def test_private_addresses_are_refused_unless_allowed(app, zns):
    app.config["PROVIDERS_ALLOW_PRIVATE_URLS"] = False
    row = delivery(message_for(follower()))
    send_channels()
    assert zns.requests == []
    assert fresh(row).status is DeliveryStatus.FAILED and fresh(row).last_error.startswith("refused")


# The ladder and the consents, asked again after the claim ---------------------------------------------------------


def test_quiet_hours_hold_until_the_morning_without_counting(app, zns, monkeypatch):
    app.config["QUIET_HOURS"] = "21:00-07:00"
    night = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)  # 22:30 in Viet Nam
    monkeypatch.setattr(channel_sender, "utcnow", lambda: night)
    row = delivery(message_for(follower()), due=night - timedelta(minutes=1))
    db.session.execute(update(ChannelDelivery).where(ChannelDelivery.id == row.id)
                       .values(created_at=night - timedelta(minutes=1)))
    db.session.commit()
    send_channels()
    held = fresh(row)
    assert zns.requests == []
    assert held.status is DeliveryStatus.QUEUED and held.attempts == 0
    assert held.next_attempt_at == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # 07:00 local


def test_a_later_rung_is_skipped_once_the_follower_was_reached(app, zns):
    message = message_for(follower())
    message.reached_at, message.reached_channel = utcnow(), "push"
    db.session.commit()
    row = delivery(message, step=1)
    send_channels()
    assert zns.requests == [] and fresh(row).status is DeliveryStatus.SKIPPED


def test_withheld_without_consent_for_that_number(app, zns, sms):
    user = follower(())
    consent(user, channel=Channel.ZALO, phone="+84987654321")  # another number
    withdrawn = consent(user, channel=Channel.SMS)
    withdrawn.withdrawn_at = utcnow()
    db.session.commit()
    message = message_for(user)
    rows = [delivery(message), delivery(message, Channel.SMS, step=2)]
    send_channels()
    assert zns.requests == [] and sms.requests == []
    assert [fresh(r).status for r in rows] == [DeliveryStatus.WITHHELD, DeliveryStatus.WITHHELD]


def test_a_follower_without_an_account_is_reached_on_their_desk_consent(app, sms):
    person = Person(full_name="Cụ Lê Văn Tư", personal_id=None)
    db.session.add(person)
    db.session.commit()
    consent(person=person, channel=Channel.SMS)
    row = delivery(message_for(person=person), Channel.SMS, step=0)
    send_channels()
    assert fresh(row).status is DeliveryStatus.SENT
    assert "Tư" not in sms.requests[0]["raw"].decode()


def test_too_old_is_given_up(app, zns):
    row = delivery(message_for(follower()))
    db.session.execute(update(ChannelDelivery).where(ChannelDelivery.id == row.id)
                       .values(created_at=utcnow() - timedelta(hours=73)))
    db.session.commit()
    send_channels()
    assert zns.requests == [] and fresh(row).status is DeliveryStatus.FAILED
    assert fresh(row).last_error.startswith("gave up after 72 h")


# The delivery callbacks --------------------------------------------------------------------------------------------


def _sent_zns(zns) -> tuple[ChannelDelivery, InboxMessage]:
    message = message_for(follower())
    row = delivery(message)
    send_channels()
    return fresh(row), message


def test_zns_callback_marks_shown_and_reached_and_replays_are_idempotent(app, client, zns):
    row, message = _sent_zns(zns)
    raw, headers = zns.delivered_event(row.provider_message_id)
    response = client.post("/hooks/zns", data=raw, headers=headers)
    assert response.status_code == 200 and response.get_json() == {"status": "recorded"}
    shown = fresh(row)
    assert shown.status is DeliveryStatus.SHOWN and shown.shown_at is not None
    reached = db.session.get(InboxMessage, message.id)
    assert reached.reached_channel == "zalo" and reached.reached_at == shown.shown_at
    again = client.post("/hooks/zns", data=raw, headers=headers)
    assert again.status_code == 200
    assert fresh(row).shown_at == shown.shown_at


def test_zns_callback_refuses_a_bad_or_stale_signature(app, client, zns):
    row, _ = _sent_zns(zns)
    raw, headers = zns.delivered_event(row.provider_message_id, secret="not-the-secret")
    response = client.post("/hooks/zns", data=raw, headers=headers)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:motcua:problem:bad-signature"
    stale_ms = int((utcnow() - timedelta(hours=1)).timestamp() * 1000)
    raw, headers = zns.delivered_event(row.provider_message_id, timestamp_ms=stale_ms)
    assert client.post("/hooks/zns", data=raw, headers=headers).status_code == 401
    tampered, headers = zns.delivered_event("another-id")
    assert client.post("/hooks/zns", data=tampered.replace(b"another-id", row.provider_message_id.encode()),
                       headers=headers).status_code == 401
    assert fresh(row).status is DeliveryStatus.SENT


def test_zns_callback_bad_input_and_unknown_ids(app, client, zns):
    assert client.post("/hooks/zns", data=b"not json", headers={"X-ZEvent-Signature": "mac=00"}).status_code == 400
    response = client.post("/hooks/zns", json={"event_name": "user_received_message"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    raw, headers = zns.delivered_event("nobody-knows-this-id")
    assert client.post("/hooks/zns", data=raw, headers=headers).get_json() == {"status": "ignored"}
    huge = client.post("/hooks/zns", data=b"{" + b" " * 70_000 + b"}", headers=headers)
    assert huge.status_code == 413 and huge.mimetype == "application/problem+json"
    app.config["ZNS_OA_SECRET_KEY"] = None
    assert client.post("/hooks/zns", data=raw, headers=headers).status_code == 404


def test_hostile_callbacks_are_problems_not_errors(app, client, zns, sms):
    """A signature with characters outside ASCII, an id with a NUL byte (PostgreSQL refuses it in a query): 4xx
    problem documents, never a 500 the provider would retry forever."""
    row, _ = _sent_zns(zns)
    raw, headers = zns.delivered_event(row.provider_message_id)
    response = client.post("/hooks/zns", data=raw, headers={**headers, "X-ZEvent-Signature": "mac=\u00e9" * 8})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    raw, headers = zns.delivered_event("bad\x00id")
    response = client.post("/hooks/zns", data=raw, headers=headers)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    response = client.get(f"/hooks/sms/{SMS_TOKEN}?SMSID=%00&SendStatus=5")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert fresh(row).status is DeliveryStatus.SENT


def test_a_row_the_provider_reported_delivered_is_never_sent_again(app, zns):
    """Our request timed out (a retry) while the provider had accepted it and its callback said delivered: the row
    is back in the queue with shown_at set. It reached the phone: the worker records it shown, and sends nothing."""
    row = delivery(message_for(follower()))
    db.session.execute(update(ChannelDelivery).where(ChannelDelivery.id == row.id)
                       .values(shown_at=utcnow(), last_error="network: ReadTimeout"))
    db.session.commit()
    one_batch()
    assert zns.requests == []
    assert fresh(row).status is DeliveryStatus.SHOWN and fresh(row).last_error is None


def test_zns_callback_never_downgrades_opened(app, client, zns):
    row, _ = _sent_zns(zns)
    db.session.execute(update(ChannelDelivery).where(ChannelDelivery.id == row.id)
                       .values(status=DeliveryStatus.OPENED))
    db.session.commit()
    raw, headers = zns.delivered_event(row.provider_message_id)
    assert client.post("/hooks/zns", data=raw, headers=headers).status_code == 200
    assert fresh(row).status is DeliveryStatus.OPENED and fresh(row).shown_at is not None


def test_a_callback_before_the_worker_recorded_the_send(app, client, zns):
    row = delivery(message_for(follower()))
    sender = ProviderSender()
    ids = sender.claim()
    outgoing, outcomes = sender._prepare(ids)
    for item in outgoing:
        outcomes[item.delivery_id] = channel_sender._outcome_of(sender._deliver(item))
    # The phone reports before the worker writes SENT: found by our tracking id.
    raw, headers = zns.delivered_event("not-recorded-yet", tracking_id=row.tracking_id)
    assert client.post("/hooks/zns", data=raw, headers=headers).get_json() == {"status": "recorded"}
    sender._record(outgoing, outcomes)
    sender.close()
    assert fresh(row).status is DeliveryStatus.SHOWN and fresh(row).sent_at is not None


def test_sms_report_marks_shown_or_escalates(app, client, sms):
    user = follower((Channel.SMS,))
    message = message_for(user)
    row = delivery(message, Channel.SMS, step=0)
    other = delivery(message_for(user, dossier=make_dossier(State.RESOLVED, code="D-4")), Channel.SMS, step=0)
    send_channels()
    row, other = fresh(row), fresh(other)
    response = client.get(f"/hooks/sms/{SMS_TOKEN}", query_string=sms.report(row.provider_message_id))
    assert response.status_code == 200 and response.get_json() == {"status": "recorded"}
    assert fresh(row).status is DeliveryStatus.SHOWN
    assert db.session.get(InboxMessage, message.id).reached_channel == "sms"
    failed = client.get(f"/hooks/sms/{SMS_TOKEN}", query_string=sms.report(other.provider_message_id, False))
    assert failed.status_code == 200 and fresh(other).status is DeliveryStatus.FAILED
    # A POST form with the same fields is taken too; a replay changes nothing.
    assert client.post(f"/hooks/sms/{SMS_TOKEN}", data=sms.report(row.provider_message_id)).status_code == 200
    assert fresh(row).status is DeliveryStatus.SHOWN


def test_sms_report_refuses_a_wrong_token_and_bad_input(app, client, sms):
    assert client.get("/hooks/sms/" + "x" * 43, query_string={"SMSID": "1", "SendStatus": "5"}).status_code == 404
    response = client.get(f"/hooks/sms/{SMS_TOKEN}", query_string={"SendStatus": "five"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert client.get(f"/hooks/sms/{SMS_TOKEN}", query_string={"SMSID": "x", "SendStatus": "5",
                                                                  "SendSuccess": "many"}).status_code == 400
    assert client.get(f"/hooks/sms/{SMS_TOKEN}", query_string={"SMSID": "unknown", "SendStatus": "5",
                                                                  "SendSuccess": "1"}).get_json() == \
        {"status": "ignored"}
    app.config["SMS_CALLBACK_TOKEN"] = None
    assert client.get(f"/hooks/sms/{SMS_TOKEN}", query_string={"SMSID": "1", "SendStatus": "5"}).status_code == 404


# The commands and the worker loop ----------------------------------------------------------------------------------


def test_cli_send_pending_and_the_worker_step(app, runner, zns):
    first = delivery(message_for(follower()))
    result = runner.invoke(args=["channels", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "Channel deliveries handled: 1 (configured: zalo)" in result.output
    assert fresh(first).status is DeliveryStatus.SENT
    from server.push.sender import _channels_step

    second = delivery(message_for(follower(phone="+84900000001"), dossier=make_dossier(State.RESOLVED,
                                                                                        code="D-5")),
                      phone="+84900000001")
    assert _channels_step() is False
    assert fresh(second).status is DeliveryStatus.SENT
    assert json.loads(zns.requests[-1]["raw"])["phone"] == "84900000001"


def test_zns_timeout_retries_with_the_same_tracking_id(app, zns):
    """Zalo documents no dedupe of tracking_id: a request that timed out after Zalo took it goes again (the
    second copy is visible here); what we keep is the same tracking id, so the two can be told apart."""
    row = delivery(message_for(follower()))
    zns.next(TIMEOUT)
    send_channels()
    assert zns.held.is_set()
    assert fresh(row).status is DeliveryStatus.QUEUED and fresh(row).last_error == "network: ReadTimeout"
    make_due(row)
    send_channels()
    assert fresh(row).status is DeliveryStatus.SENT
    assert [r["body"]["tracking_id"] for r in zns.requests] == [row.tracking_id, row.tracking_id]


def test_the_hooks_are_rate_limited(app, client, zns):
    app.config["HOOKS_RATE_LIMIT"] = "2 per minute"
    raw, headers = zns.delivered_event("nobody-knows-this-id")
    statuses = [client.post("/hooks/zns", data=raw, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# Deadlines and waits the worker cannot be held by ---------------------------------------------------------------


def test_a_provider_that_drips_its_answer_cannot_hold_the_worker(app, zns, sms):
    """requests' timeout bounds each read, not the request: a provider dripping its answer a byte at a time held
    the batch, and the push worker's loop, forever. Now the batch has a deadline: that row is retried with the same
    tracking id, the other is sent, and the request left behind is ended (its socket shut down)."""
    dossier = make_dossier(State.RESOLVED, code="000.20.26.H26-261207-0001")
    zalo_row = delivery(message_for(follower(), dossier=dossier))
    sms_row = delivery(message_for(follower(channels=(Channel.SMS,), phone=OTHER), dossier=dossier),
                       channel=Channel.SMS, phone=OTHER)
    tracking_id = fresh(zalo_row).tracking_id
    with DripServer() as drip:
        app.config.update(ZNS_API_URL=f"{drip.url}/send", PROVIDER_TIMEOUT_SECONDS=1)
        sender = ProviderSender()
        started = time.monotonic()
        assert sender.drain() == 2
        assert time.monotonic() - started < 8  # the deadline is 2 s (2 requests, 8 at a time); on main, forever
        assert drip.answering.is_set() and drip.hung_up.wait(5)  # the abandoned request was ended, not left
        sender.close()  # returns: no thread of the old pool is still waiting
    zalo_row, sms_row = fresh(zalo_row), fresh(sms_row)
    assert zalo_row.status is DeliveryStatus.QUEUED and zalo_row.last_error == "no complete answer within 2 s"
    assert zalo_row.tracking_id == tracking_id and zalo_row.lease_until is None
    assert zalo_row.next_attempt_at > utcnow() and zalo_row.attempts == 1
    assert sms_row.status is DeliveryStatus.SENT and len(sms.requests) == 1


class ScriptedZns:
    """A provider that answers 429 with ``retry_after`` for PHONE and accepts every other number."""

    name = "zns"
    channel = Channel.ZALO

    def __init__(self, retry_after):
        self.retry_after = retry_after
        self.sent = []

    def prepare(self, outbound):
        return {"phone": outbound.phone_e164}

    def deliver(self, body):
        self.sent.append(body["phone"])
        if body["phone"] == PHONE:
            return ProviderResult(Result.RETRY, reason="zns answered 429", retry_after=self.retry_after)
        return ProviderResult(Result.ACCEPTED, "m1", cost_vnd=150)

    def close(self):
        pass


def _two_rows_one_busy(retry_after):
    dossier = make_dossier(State.RESOLVED, code="000.20.26.H26-261207-0001")
    busy = delivery(message_for(follower(), dossier=dossier))
    accepted = delivery(message_for(follower(phone=OTHER), dossier=dossier), phone=OTHER)
    provider = ScriptedZns(retry_after)
    sender = ProviderSender(providers={Channel.ZALO: provider})
    try:
        assert sender.drain() == 2
    finally:
        sender.close()
    assert sorted(provider.sent) == sorted([PHONE, OTHER])
    return fresh(busy), fresh(accepted)


class Answering:
    """A session that answers every POST with ``response`` (what a provider said, without a server)."""

    def __init__(self, response):
        self.response = response

    def post(self, url, **kwargs):
        return self.response

    def close(self):
        pass


@pytest.mark.parametrize(("header", "seconds"), [("120", 120.0), ("1e12", 1e12), ("inf", None), ("nan", None),
                                                 ("-5", None), ("Wed, 21 Oct 2026 07:28:00 GMT", None)])
def test_a_provider_retry_after_is_read_only_when_finite(app, zns, header, seconds):
    busy = requests.Response()
    busy.status_code = 429
    busy.headers["Retry-After"] = header
    provider = provider_for(Channel.ZALO, session=Answering(busy))
    _, result = provider.post_json(zns.send_url, {})
    assert result.outcome is Result.RETRY and result.retry_after == seconds


@pytest.mark.parametrize("retry_after", [1e12, float("inf")])
def test_a_huge_retry_after_is_a_retry_not_a_lost_batch(app, zns, retry_after):
    """An unbounded Retry-After overflowed the next attempt's time inside the record: every outcome of the batch
    was lost, its rows stayed SENDING and were claimed, sent and paid for again after the lease."""
    busy, accepted = _two_rows_one_busy(retry_after)
    assert accepted.status is DeliveryStatus.SENT and accepted.cost_vnd == 150
    assert busy.status is DeliveryStatus.QUEUED and busy.lease_until is None
    wait = busy.next_attempt_at - utcnow()
    if retry_after == float("inf"):  # not a wait we can honour: the back-off
        assert wait <= timedelta(seconds=BACKOFF_BASE_SECONDS)
    else:  # a day at most
        assert timedelta(hours=23, minutes=59) < wait <= timedelta(seconds=RETRY_AFTER_CAP_SECONDS)


def test_one_row_that_cannot_be_recorded_never_loses_the_others(app, zns, monkeypatch):
    def overflowing(attempts, retry_after=None):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(channel_sender, "backoff", overflowing)
    busy, accepted = _two_rows_one_busy(120)
    assert accepted.status is DeliveryStatus.SENT and accepted.cost_vnd == 150
    assert busy.status is DeliveryStatus.FAILED and busy.lease_until is None
    assert busy.last_error == "cannot record: OverflowError: date value out of range"
