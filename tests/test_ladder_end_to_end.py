"""A result, end to end through the whole ladder: the fan-out (server/push/notify.py), the push worker and the ZNS and
SMS worker, against the loopback push service and the fake providers, with time moved by hand.

Four followers of one dossier: two accounts with push (which never shows), ZNS and SMS; the owner without an
account, reached by ZNS alone (a consent recorded at the desk); the submitter, by SMS alone. The ladder of a result
is push, ZNS 2 hours later without a receipt, SMS 22 hours after that."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.auth.models import ConsentRecord
from server.auth.models import Role
from server.calendar.workdays import to_local
from server.channels import hooks as hooks_module
from server.channels import sender as channel_sender_module
from server.channels.models import ChannelDelivery
from server.channels.sender import ProviderSender
from server.consent import services as consent
from server.consent.purposes import PURPOSES
from server.consent.purposes import Channel
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push import notify as notify_module
from server.push import sender as push_sender_module
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushSubscription
from server.push.notify import notify_dossier
from server.push.sender import PushSender
from server.types import utcnow
from tests.fake_sms import FakeSms
from tests.fake_zns import FakeZns
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import verify_phone

PURPOSE = "dossier_updates"
VERSION = PURPOSES[PURPOSE].text_version
TOKEN = "t" * 43
UNSEEN = "+84911000001"  #: the first account's checked number, for Zalo and SMS: nothing is ever shown
SHOWN = "+84922000001"  #: the second account's: its ZNS is delivered
OWNER_ZALO = "+84933000001"
SUBMITTER_SMS = "+84944000002"


@pytest.fixture
def providers(app, push):
    zns, sms = FakeZns().start(), FakeSms().start()
    app.config.update(ZNS_API_URL=zns.send_url, ZNS_ACCESS_TOKEN=zns.token,
                      ZNS_TEMPLATES={"result_ready": "tpl-result"}, ZNS_APP_ID=zns.app_id,
                      ZNS_OA_SECRET_KEY=zns.secret, SMS_API_URL=sms.send_url,
                      SMS_API_KEY=sms.api_key, SMS_SECRET_KEY=sms.secret_key, SMS_BRANDNAME="MOTCUA",
                      SMS_CALLBACK_BASE_URL="https://motcua.example.vn", SMS_CALLBACK_TOKEN=TOKEN,
                      PROVIDERS_ALLOW_PRIVATE_URLS=True, PROVIDER_TIMEOUT_SECONDS=2)
    yield zns, sms
    zns.stop()
    sms.stop()


@pytest.fixture
def clock(monkeypatch):
    """Set the time the fan-out, both workers and the hooks see."""

    def set_to(moment: datetime) -> datetime:
        for module in (notify_module, push_sender_module, channel_sender_module, hooks_module):
            monkeypatch.setattr(module, "utcnow", lambda: moment)
        return moment

    return set_to


def account(dossier, name: str, push, phone: str):
    user = make_user(Role.CITIZEN, None, name)
    verify_phone(user, phone)  # the only number its own Zalo and SMS consents may name
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=user.id, role=FollowRole.FOLLOWER))
    consent.give(user, PURPOSE, Channel.PUSH, VERSION)
    info = push.subscribe()
    db.session.add(PushSubscription(user_id=user.id, endpoint=info["endpoint"], p256dh=info["keys"]["p256dh"],
                                    auth=info["keys"]["auth"]))
    consent.give(user, PURPOSE, Channel.ZALO, VERSION, address=phone)
    consent.give(user, PURPOSE, Channel.SMS, VERSION, address=phone)
    db.session.commit()
    return user


def desk_consent(person: Person, channel: Channel, phone: str) -> None:
    db.session.add(ConsentRecord(user_id=None, person_id=person.id, purpose=PURPOSE, channel=channel,
                                 text_version=VERSION, method="desk", address=phone, granted=True,
                                 recorded_at=utcnow()))
    db.session.commit()


def run_workers() -> tuple[int, int]:
    """One turn of everything a worker does between two looks at the outbox: push, then ZNS and SMS."""
    pusher = PushSender()
    try:
        pushed = pusher.drain()
    finally:
        pusher.close()
    sender = ProviderSender()
    try:
        return pushed, sender.drain()
    finally:
        sender.close()


def delivery(phone: str, channel: Channel) -> ChannelDelivery:
    db.session.expire_all()
    return db.session.scalar(select(ChannelDelivery).where(ChannelDelivery.phone_e164 == phone,
                                                           ChannelDelivery.channel == channel))


def zns_phones(zns) -> list[str]:
    return ["+" + m["phone"] for m in zns.sent]


def sms_phones(sms) -> list[str]:
    return ["+84" + m["Phone"][1:] for m in sms.sent]


def test_a_result_climbs_the_ladder_and_stops_where_it_was_shown(app, client, push, providers, clock):
    zns, sms = providers
    start = clock(to_local(utcnow()).replace(hour=9, minute=0, second=0, microsecond=0))  # 09:00 in Viet Nam
    dossier = make_dossier(State.RESOLVED, code="000.20.26.H26-261207-0099")
    dossier.submitter = Person(full_name="Phạm Văn Gửi")
    db.session.commit()
    desk_consent(dossier.owner, Channel.ZALO, OWNER_ZALO)
    desk_consent(dossier.submitter, Channel.SMS, SUBMITTER_SMS)
    unseen = account(dossier, "Nguyễn Văn Một", push, UNSEEN)
    account(dossier, "Lê Thị Hai", push, SHOWN)
    notify_dossier(dossier, "result_ready")
    db.session.commit()

    # At once: push to both accounts, ZNS to the owner, SMS to the submitter.
    run_workers()
    assert len(push.payloads()) == 2
    assert zns_phones(zns) == [OWNER_ZALO] and sms_phones(sms) == [SUBMITTER_SMS]
    sent = [*push.payloads(), *(m["template_data"] for m in zns.sent), *(m["Content"] for m in sms.sent)]
    for words in map(str, sent):  # only the code and the kind: no follower's name
        assert "Bình" not in words and "Gửi" not in words and "Một" not in words

    # An hour later: the pushes were never shown, but ZNS waits for its time.
    clock(start + timedelta(hours=1))
    assert run_workers() == (0, 0)

    # Two hours: ZNS to both accounts.
    clock(start + timedelta(hours=2))
    run_workers()
    assert sorted(zns_phones(zns)) == sorted([OWNER_ZALO, UNSEEN, SHOWN])
    # The second account's ZNS reaches the phone: Zalo's signed webhook says so.
    delivered = clock(start + timedelta(hours=2, minutes=5))
    shown = delivery(SHOWN, Channel.ZALO)
    millis = int(delivered.timestamp() * 1000)
    raw, headers = zns.delivered_event(shown.provider_message_id, delivery_time_ms=millis, timestamp_ms=millis)
    assert client.post("/hooks/zns", data=raw, headers=headers).get_json() == {"status": "recorded"}
    assert delivery(SHOWN, Channel.ZALO).status is DeliveryStatus.SHOWN

    # Twenty-four hours: SMS for the account whose ZNS was never delivered; a worker dies mid-send.
    clock(start + timedelta(hours=24))
    dying = ProviderSender()
    outgoing, outcomes = dying._prepare(dying.claim())
    for item in outgoing:
        if item.delivery_id not in outcomes:
            dying._deliver(item)  # the gateway takes it, nothing is recorded
    dying.close()
    assert sms_phones(sms) == [SUBMITTER_SMS, UNSEEN]
    clock(start + timedelta(hours=24, minutes=10))  # the dead worker's lease has run out
    run_workers()
    assert sms_phones(sms) == [SUBMITTER_SMS, UNSEEN] and sms.duplicates == 1  # sent once, RequestId deduped
    assert delivery(UNSEEN, Channel.SMS).status is DeliveryStatus.SENT and delivery(UNSEEN, Channel.SMS).attempts == 2
    assert delivery(SHOWN, Channel.SMS).status is DeliveryStatus.SKIPPED  # reached by ZNS: no SMS
    reached = db.session.scalar(select(InboxMessage).where(InboxMessage.user_id == unseen.id))
    assert reached.reached_at is None

    # Nothing further, ever: every rung is over.
    clock(start + timedelta(hours=72))
    assert run_workers() == (0, 0)
    assert len(push.payloads()) == 2 and len(zns.sent) == 3 and len(sms.sent) == 2
    assert len(zns.requests) == 3 and zns.duplicates == 0
