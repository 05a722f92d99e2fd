"""What reaches whom: the channels that would carry a message to an account or to a person without one, and the
test a citizen asks for from their channels page ("Gửi thử thông báo").

A channel *works* when something would actually be sent on it: for push, a subscription that is not retired
(server/push/health.py) and a consent in force on push; for Zalo and SMS, a consent in force on the channel with
the phone number it was given for (ConsentRecord.address), and the provider configured on this server
(server/channels/ladder.py ``enabled_channels``). The inbox always works for an account, and is nothing for a
person without one. The citizen's page (server/citizen/channels.py) and the desk's list of followers to call
(server/backoffice/reach.py) both read it from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from server.auth.models import ConsentRecord
from server.auth.models import User
from server.channels.ladder import enabled_channels
from server.channels.models import ChannelDelivery
from server.consent.purposes import CHANNEL_TEST_PURPOSE
from server.consent.purposes import Channel
from server.extensions import db
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription

TEST_KIND = "channel_test"
TEST_LINK = "/account/channels"
PHONE_CHANNELS = (Channel.ZALO, Channel.SMS)


@dataclass
class PhoneChannel:
    """A Zalo or SMS consent in force, the number it is for, and whether this server sends on that channel."""

    channel: Channel
    address: str
    consent: ConsentRecord
    enabled: bool  #: the provider is configured: the channel works


@dataclass
class Reach:
    """The channels of one account or of one person without an account (``has_inbox`` False: no inbox, no
    devices)."""

    has_inbox: bool
    devices: list[PushSubscription] = field(default_factory=list)
    push_consent: bool = False
    phones: list[PhoneChannel] = field(default_factory=list)

    @property
    def working_devices(self) -> list[PushSubscription]:
        return [d for d in self.devices if d.retired_at is None] if self.push_consent else []

    @property
    def working(self) -> list[Channel]:
        """The channels beyond the inbox that would carry a message now."""
        found = [Channel.PUSH] if self.working_devices else []
        return found + [p.channel for p in self.phones if p.enabled]

    @property
    def testable(self) -> list[Channel]:
        """The working channels a test can go on: ZNS sends only approved templates, so Zalo needs one for
        "channel_test" in ZNS_TEMPLATES."""
        enabled = enabled_channels(TEST_KIND)
        return [channel for channel in self.working if channel is Channel.PUSH or channel in enabled]


def _purpose_filter(purpose: str | None):
    """Any purpose (None), or one purpose."""
    return True if purpose is None else ConsentRecord.purpose == purpose


def _phones(records: list[ConsentRecord]) -> list[PhoneChannel]:
    enabled = enabled_channels()
    seen, phones = set(), []
    for record in records:  # newest first: one line per channel
        if record.channel in PHONE_CHANNELS and record.address and record.channel not in seen:
            seen.add(record.channel)
            phones.append(PhoneChannel(record.channel, record.address, record, record.channel in enabled))
    return sorted(phones, key=lambda p: PHONE_CHANNELS.index(p.channel))


def _in_force(*conditions) -> list[ConsentRecord]:
    return list(db.session.scalars(select(ConsentRecord).where(
        *conditions, ConsentRecord.channel.is_not(None), ConsentRecord.granted.is_(True),
        ConsentRecord.withdrawn_at.is_(None)).order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())))


def of_user(user: User, purpose: str | None = None) -> Reach:
    """An account's channels, for ``purpose`` (None: a consent to any purpose counts, as for the test)."""
    records = _in_force(ConsentRecord.user_id == user.id, _purpose_filter(purpose))
    devices = list(db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id)
                                      .order_by(PushSubscription.last_seen_at.desc(), PushSubscription.id)))
    return Reach(has_inbox=True, devices=devices, push_consent=any(r.channel is Channel.PUSH for r in records),
                 phones=_phones(records))


def of_person(person_id: int, purpose: str | None = None) -> Reach:
    """A person's channels without an account: only the consents recorded for them at the desk."""
    records = _in_force(ConsentRecord.user_id.is_(None), ConsentRecord.person_id == person_id,
                        _purpose_filter(purpose))
    return Reach(has_inbox=False, phones=_phones(records))


# --- what a device is, in a few words ---------------------------------------------------------------------------

_BROWSERS = (("Zalo", "Zalo"), ("SamsungBrowser", "Samsung Internet"), ("EdgA", "Edge"), ("Edg/", "Edge"),
             ("CriOS", "Chrome"), ("FxiOS", "Firefox"), ("Firefox", "Firefox"), ("Chrome", "Chrome"),
             ("Safari", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def device_summary(user_agent: str | None) -> str:
    """"Chrome trên Android" from a user agent string: enough to tell one's phones apart, nothing more."""
    text = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in text), None)
    system = next((name for token, name in _SYSTEMS if re.search(re.escape(token), text)), None)
    if browser and system:
        return f"{browser} — {system}"
    return browser or system or "?"


# --- "Gửi thử thông báo" ------------------------------------------------------------------------------------------

class TestRefused(Exception):
    """The test cannot be sent: ``reason`` is "not_working" (no such working channel) or "rate_limited"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def tests_in_last_hour(user: User, now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.user_id == user.id, InboxMessage.kind == TEST_KIND,
        InboxMessage.created_at > now - timedelta(hours=1)))


def send_test(user: User, channel: Channel, now: datetime) -> InboxMessage:
    """Queue a test message to ``user`` on ``channel`` now: an inbox message and its deliveries (step 0, due now),
    for every working subscription (push) or to the number of the consent (Zalo, SMS). Its kind is urgent
    (NOTIFY_URGENT_KINDS): the user asked and is waiting, quiet hours do not hold it. At most
    ``CHANNEL_TEST_PER_HOUR`` per account, however many requests come at once (:func:`_lock_account`). Adds to the
    session; the caller commits."""
    _lock_account(user)
    if tests_in_last_hour(user, now) >= current_app.config["CHANNEL_TEST_PER_HOUR"]:
        raise TestRefused("rate_limited")
    reach = of_user(user, purpose=None)
    if channel not in reach.testable or not consent_covers_test(user.id, channel):
        raise TestRefused("not_working")
    message = InboxMessage(user_id=user.id, person_id=user.person_id, kind=TEST_KIND, created_at=now,
                           data={"link": TEST_LINK, "channel": channel.value})
    db.session.add(message)
    if channel is Channel.PUSH:
        for device in reach.working_devices:
            message.deliveries.append(PushDelivery(subscription=device, step=0, next_attempt_at=now, created_at=now))
    else:
        phone = next(p for p in reach.phones if p.channel is channel)
        db.session.add(ChannelDelivery(message=message, channel=channel, phone_e164=phone.address, step=0,
                                       next_attempt_at=now, created_at=now))
    return message


def _lock_account(user: User) -> None:
    """Serialise the tests of one account until the caller commits, so that the count of the last hour's tests and
    the new one are one step: without it, ten requests at once all count two and all send. PostgreSQL locks the
    account's row; SQLite has one writer at a time, so a no-op UPDATE of the row takes the write lock before the
    count (a SELECT alone would let the others count too)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.scalar(select(User.id).where(User.id == user.id).with_for_update())
    else:
        db.session.execute(update(User).where(User.id == user.id).values(id=User.id)
                           .execution_options(synchronize_session=False))


@dataclass
class TestState:
    """The last test on one channel: when it was asked, and each of its deliveries' status."""

    message: InboxMessage
    statuses: list[DeliveryStatus]


def last_tests(user: User) -> dict[str, TestState]:
    """Channel value → the account's latest test on it (for the page after a reload)."""
    messages = list(db.session.scalars(select(InboxMessage).where(
        InboxMessage.user_id == user.id, InboxMessage.kind == TEST_KIND)
        .order_by(InboxMessage.id.desc()).limit(20)))
    found: dict[str, TestState] = {}
    for message in messages:
        channel = (message.data or {}).get("channel")
        if not channel or channel in found:
            continue
        if channel == Channel.PUSH.value:
            statuses = [d.status for d in message.deliveries]
        else:
            statuses = list(db.session.scalars(select(ChannelDelivery.status).where(
                ChannelDelivery.message_id == message.id)))
        found[channel] = TestState(message, statuses)
    return found


def consent_covers_test(user_id: int, channel: Channel) -> bool:
    """Whether a test on ``channel`` is allowed for the account (the rule of server/consent/services.py)."""
    from server.consent.services import consenting

    return (user_id, CHANNEL_TEST_PURPOSE) in consenting([user_id], channel)

