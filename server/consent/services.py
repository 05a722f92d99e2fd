"""Giving and withdrawing consent, and the one question every sender asks: may this reach that person here?

Withdrawal stops the channel at once: in the same transaction, every message of that purpose still waiting for
the channel is withheld (for push, the queued deliveries of server/push; for Zalo and SMS, the queued rows of
server/channels), and the workers ask again for each batch they claimed before they send (server/push/sender.py).
Only a request already on its way to the provider in the instant of the withdrawal can still arrive.

A Zalo or SMS consent names the phone number it was given for (E.164, checked by server/people/identity.py): the
number consented to is the number written to, never one found elsewhere in the records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server.auth.audit import audit
from server.auth.models import ConsentRecord
from server.auth.models import User
from server.consent.purposes import CHANNEL_TEST_PURPOSE
from server.consent.purposes import PURPOSES
from server.consent.purposes import Channel
from server.extensions import db
from server.people.identity import check_phone
from server.types import utcnow

#: The channels that write to a phone number, so whose consent names one.
PHONE_CHANNELS = frozenset({Channel.ZALO, Channel.SMS})


class BadAddress(ValueError):
    """The phone number given with a Zalo or SMS consent cannot be written to; ``vi`` and ``en`` say why."""

    def __init__(self, code: str, vi: str, en: str) -> None:
        super().__init__(en)
        self.code, self.vi, self.en = code, vi, en


def checked_address(channel: Channel, address: str | None) -> str | None:
    """The E.164 form of the number a consent on ``channel`` is for (None for push, which needs none). Zalo and
    SMS need a Vietnamese mobile number: a landline receives neither. Raises :class:`BadAddress`."""
    if channel not in PHONE_CHANNELS:
        return None
    checked = check_phone(address)
    if checked.errors:
        finding = checked.errors[0]
        raise BadAddress(finding.code, finding.vi, finding.en)
    if not checked.sms_capable:
        raise BadAddress("phone.not_mobile", "Cần số điện thoại di động: số này không nhận được tin Zalo hay SMS.",
                         "A mobile number is needed: this number receives neither Zalo nor SMS messages.")
    return checked.e164


def verified_phone(user: User) -> str | None:
    """The mobile number (E.164) the citizen's own Zalo or SMS consent may name: that of the account's person once
    a clerk checked who they are (server/backoffice/identity.py). Any other number could be someone else's, paid
    for by the ward and reading their dossier's news; until a number can be confirmed by a code sent to it, the
    desk records any other one (it sees the person and the paper)."""
    if user.person_id is None or user.identity_verified_at is None:
        return None
    return user.person.phone_e164 or None


def owned_address(user: User, channel: Channel, address: str | None) -> str | None:
    """:func:`checked_address`, and for Zalo or SMS only the user's :func:`verified_phone`. Raises
    :class:`BadAddress`."""
    address = checked_address(channel, address)
    if address is not None and address != verified_phone(user):
        raise BadAddress("phone.not_verified",
                         "Số điện thoại này chưa được xác minh là của bạn. Hãy nhờ Bộ phận Một cửa ghi nhận số "
                         "điện thoại.",
                         "This phone number has not been verified as yours. Ask the One-Stop desk to record "
                         "your phone number.")
    return address


def in_force(user_id: int, purpose: str, channel: Channel) -> ConsentRecord | None:
    """The user's consent to ``purpose`` on ``channel`` that is in force, if any."""
    return db.session.scalar(select(ConsentRecord).where(
        ConsentRecord.user_id == user_id, ConsentRecord.purpose == purpose, ConsentRecord.channel == channel,
        ConsentRecord.granted.is_(True), ConsentRecord.withdrawn_at.is_(None)))


def consenting(user_ids: Iterable[int], channel: Channel) -> set[tuple[int, str]]:
    """(user id, purpose) pairs with a consent in force on ``channel``, for a batch of users in one query.

    Any consent in force on the channel also covers the test the user asks for there ("Gửi thử thông báo",
    purpose ``CHANNEL_TEST_PURPOSE``): the one place of that rule."""
    ids = set(user_ids)
    if not ids:
        return set()
    rows = db.session.execute(select(ConsentRecord.user_id, ConsentRecord.purpose).where(
        ConsentRecord.user_id.in_(ids), ConsentRecord.channel == channel, ConsentRecord.granted.is_(True),
        ConsentRecord.withdrawn_at.is_(None)))
    pairs = {(row.user_id, row.purpose) for row in rows}
    return pairs | {(user_id, CHANNEL_TEST_PURPOSE) for user_id, _purpose in pairs}


@dataclass
class Reachable:
    """What a message of one purpose may use, per account and per person without one: the channels with a
    consent in force, each with the number it names (None for push)."""

    accounts: dict[int, dict[Channel, str | None]] = field(default_factory=dict)
    persons: dict[int, dict[Channel, str]] = field(default_factory=dict)


def reachable(user_ids: Iterable[int], person_ids: Iterable[int], purpose: str | None,
              channels: Iterable[Channel]) -> Reachable:
    """The consents in force for ``purpose`` on ``channels``, of these accounts and of these persons' own consents
    recorded without an account (``user_id`` NULL: at the desk), in one query. A Zalo or SMS consent without a
    number is left out: there is nowhere to write."""
    users, persons, wanted = set(user_ids), set(person_ids), set(channels)
    found = Reachable()
    if purpose is None or not wanted or not (users or persons):
        return found
    whose = or_(ConsentRecord.user_id.in_(users),
                and_(ConsentRecord.user_id.is_(None), ConsentRecord.person_id.in_(persons)))
    rows = db.session.execute(select(ConsentRecord.user_id, ConsentRecord.person_id, ConsentRecord.channel,
                                     ConsentRecord.address)
                              .where(whose, ConsentRecord.purpose == purpose, ConsentRecord.channel.in_(wanted),
                                     ConsentRecord.granted.is_(True), ConsentRecord.withdrawn_at.is_(None)))
    for row in rows:
        if row.channel in PHONE_CHANNELS and not row.address:
            continue
        if row.user_id is not None:
            found.accounts.setdefault(row.user_id, {})[row.channel] = row.address
        else:
            found.persons.setdefault(row.person_id, {})[row.channel] = row.address
    return found


def give(user: User, purpose: str, channel: Channel, text_version: str,
         method: str = "citizen_app", address: str | None = None) -> tuple[ConsentRecord, bool]:
    """Record ``user``'s consent to ``purpose`` on ``channel`` after they were shown the notice ``text_version``;
    Zalo and SMS need the phone number (``address``: the user's own checked number, :func:`owned_address`), push
    none.

    Returns the consent in force and whether it is new (giving it twice keeps the first). Giving it again with
    another number ends the consent for the old number (what still waits for it is withheld) and records the new
    one. Flushes; the caller commits.
    """
    address = owned_address(user, channel, address)
    current = in_force(user.id, purpose, channel)
    if current is not None and current.address == address:
        return current, False
    now = utcnow()
    if current is not None:  # a new number: the old one is not written to any more
        current.withdrawn_at = now
        db.session.flush()  # before the new row, or the partial unique index sees two in force
        _STOP_WAITING[channel](user.id, PURPOSES[purpose].kinds)
    record = ConsentRecord(user_id=user.id, person_id=user.person_id, purpose=purpose, channel=channel,
                           text_version=text_version, method=method, address=address, granted=True,
                           recorded_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:  # the same consent given at the same moment from another tab: that one stands
        return in_force(user.id, purpose, channel), False
    audit("consent_given", user, record, purpose=purpose, channel=channel.value, text_version=text_version)
    return record, True


def withdraw(user: User, purpose: str, channel: Channel) -> ConsentRecord | None:
    """End ``user``'s consent to ``purpose`` on ``channel`` now and stop what waits on that channel. Returns the
    ended consent, or None when none was in force (withdrawing twice changes nothing). Flushes; the caller
    commits."""
    record = in_force(user.id, purpose, channel)
    if record is None:
        return None
    record.withdrawn_at = utcnow()
    stopped = _STOP_WAITING[channel](user.id, PURPOSES[purpose].kinds) if channel in _STOP_WAITING else 0
    audit("consent_withdrawn", user, record, purpose=purpose, channel=channel.value, stopped=stopped)
    return record


def history(user: User) -> list[ConsentRecord]:
    """Every consent the user gave (the account's notice included), newest first."""
    return list(db.session.scalars(select(ConsentRecord).where(ConsentRecord.user_id == user.id)
                                   .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())))


def _withhold_queued_push(user_id: int, kinds: frozenset[str]) -> int:
    """Withhold the user's push deliveries of these kinds that have not gone out yet; returns how many."""
    from server.push.models import DeliveryStatus
    from server.push.models import InboxMessage
    from server.push.models import PushDelivery

    messages = select(InboxMessage.id).where(InboxMessage.user_id == user_id, InboxMessage.kind.in_(kinds))
    # SENDING too: a worker that claimed the row but has not prepared it yet checks consent again and withholds it;
    # one that already sent it writes what really happened over this.
    result = db.session.execute(
        update(PushDelivery)
        .where(PushDelivery.message_id.in_(messages),
               PushDelivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]))
        .values(status=DeliveryStatus.WITHHELD, lease_until=None, last_error=WITHDRAWN_REASON)
        .execution_options(synchronize_session=False))
    return result.rowcount


def _withhold_queued_on(channel: Channel):
    """What stops the user's Zalo or SMS messages of these kinds that have not gone out yet (server/channels)."""

    def withhold(user_id: int, kinds: frozenset[str]) -> int:
        from server.push.models import InboxMessage

        return _withhold_channel_rows(
            select(InboxMessage.id).where(InboxMessage.user_id == user_id, InboxMessage.kind.in_(kinds)), channel)

    return withhold


def _withhold_channel_rows(messages, channel: Channel) -> int:
    """Withhold the ZNS or SMS deliveries of ``messages`` (a SELECT of message ids) not gone out yet: SENDING too,
    as for push (the worker asks for consent again after its claim)."""
    from server.channels.models import ChannelDelivery
    from server.push.models import DeliveryStatus

    result = db.session.execute(
        update(ChannelDelivery)
        .where(ChannelDelivery.message_id.in_(messages), ChannelDelivery.channel == channel,
               ChannelDelivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]))
        .values(status=DeliveryStatus.WITHHELD, lease_until=None, last_error=withdrawn_reason(channel))
        .execution_options(synchronize_session=False))
    return result.rowcount


def withdrawn_reason(channel: Channel) -> str:
    """What the desk's notification list says about a delivery withheld by a withdrawal (server/backoffice)."""
    return f"consent withdrawn for this purpose on {channel.value}"


#: What the desk's notification list says about a withheld push delivery (server/backoffice, the dossier page).
WITHDRAWN_REASON = withdrawn_reason(Channel.PUSH)

#: Per channel, what stops the messages already waiting for it.
_STOP_WAITING = {Channel.PUSH: _withhold_queued_push, Channel.ZALO: _withhold_queued_on(Channel.ZALO),
                 Channel.SMS: _withhold_queued_on(Channel.SMS)}


# --- a person without an account: the consent the desk records on paper ---------------------------------------

#: The channels a person without an account can be reached on: their phone number (push needs the app).
PERSON_CHANNELS = (Channel.ZALO, Channel.SMS)


def person_in_force(person_id: int, purpose: str, channel: Channel) -> ConsentRecord | None:
    """The consent in force of a person without an account (recorded at the desk) to ``purpose`` on ``channel``."""
    return db.session.scalar(select(ConsentRecord).where(
        ConsentRecord.user_id.is_(None), ConsentRecord.person_id == person_id, ConsentRecord.purpose == purpose,
        ConsentRecord.channel == channel, ConsentRecord.granted.is_(True), ConsentRecord.withdrawn_at.is_(None)))


def give_for_person(person, purpose: str, channel: Channel, address: str, text_version: str, by_user: User,
                    method: str = "desk_paper") -> tuple[ConsentRecord, bool]:
    """Record the consent of ``person``, who has no account, to ``purpose`` on ``channel`` at the phone number
    ``address`` (E.164, already checked as a Vietnamese mobile), as ``by_user`` took it at the desk (``method``
    "desk_paper": the citizen signed the paper notice of ``text_version``).

    Returns the consent in force and whether it is new: the same consent twice keeps the first; a new number ends
    the consent to the old one (the number consented to is the number written to). Flushes; the caller commits.
    """
    if channel not in PERSON_CHANNELS or channel not in PURPOSES[purpose].channels:
        raise ValueError(f"a person without an account cannot consent to {purpose} on {channel.value}")
    current = person_in_force(person.id, purpose, channel)
    if current is not None and current.address == address:
        return current, False
    if current is not None:
        withdraw_for_person(person, purpose, channel, by_user)
        db.session.flush()  # the old one out of force before the new one: one in force at a time (partial index)
    record = ConsentRecord(user_id=None, person_id=person.id, purpose=purpose, channel=channel, address=address,
                           text_version=text_version, method=method, granted=True, recorded_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:  # two clerks recording the same paper at once: the first stands
        return person_in_force(person.id, purpose, channel), False
    # The phone number stays in the consent, not in the audit trail (ids only there).
    audit("consent_given", by_user, record, purpose=purpose, channel=channel.value, text_version=text_version,
          method=method, person_id=person.id)
    return record, True


def withdraw_for_person(person, purpose: str, channel: Channel, by_user: User) -> ConsentRecord | None:
    """End the consent of ``person`` (no account) to ``purpose`` on ``channel`` now, as ``by_user`` recorded at the
    desk, and withhold what still waits for that channel. None when none was in force. Flushes; the caller
    commits."""
    record = person_in_force(person.id, purpose, channel)
    if record is None:
        return None
    record.withdrawn_at = utcnow()
    stopped = _withhold_queued_for_person(person.id, PURPOSES[purpose].kinds, channel)
    audit("consent_withdrawn", by_user, record, purpose=purpose, channel=channel.value, stopped=stopped,
          person_id=person.id)
    return record


def _withhold_queued_for_person(person_id: int, kinds: frozenset[str], channel: Channel) -> int:
    """Withhold the ZNS or SMS messages of these kinds still waiting for a person without an account."""
    from server.push.models import InboxMessage

    return _withhold_channel_rows(select(InboxMessage.id).where(
        InboxMessage.user_id.is_(None), InboxMessage.person_id == person_id, InboxMessage.kind.in_(kinds)), channel)
