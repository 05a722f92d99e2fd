"""Giving and withdrawing consent, and the one question every sender asks: may this reach that person here?

Withdrawal stops the channel at once: in the same transaction, every message of that purpose still waiting for
the channel is withheld (for push, the queued deliveries of server/push), and the push worker asks again for
each batch it claimed before it sends (server/push/sender.py). Only a request already on its way to the push
service in the instant of the withdrawal can still arrive.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server.auth.audit import audit
from server.auth.models import ConsentRecord
from server.auth.models import User
from server.consent.purposes import PURPOSES
from server.consent.purposes import Channel
from server.extensions import db
from server.types import utcnow


def in_force(user_id: int, purpose: str, channel: Channel) -> ConsentRecord | None:
    """The user's consent to ``purpose`` on ``channel`` that is in force, if any."""
    return db.session.scalar(select(ConsentRecord).where(
        ConsentRecord.user_id == user_id, ConsentRecord.purpose == purpose, ConsentRecord.channel == channel,
        ConsentRecord.granted.is_(True), ConsentRecord.withdrawn_at.is_(None)))


def consenting(user_ids: Iterable[int], channel: Channel) -> set[tuple[int, str]]:
    """(user id, purpose) pairs with a consent in force on ``channel``, for a batch of users in one query."""
    ids = set(user_ids)
    if not ids:
        return set()
    rows = db.session.execute(select(ConsentRecord.user_id, ConsentRecord.purpose).where(
        ConsentRecord.user_id.in_(ids), ConsentRecord.channel == channel, ConsentRecord.granted.is_(True),
        ConsentRecord.withdrawn_at.is_(None)))
    return {(row.user_id, row.purpose) for row in rows}


def give(user: User, purpose: str, channel: Channel, text_version: str,
         method: str = "citizen_app") -> tuple[ConsentRecord, bool]:
    """Record ``user``'s consent to ``purpose`` on ``channel`` after they were shown the notice ``text_version``.

    Returns the consent in force and whether it is new (giving it twice keeps the first). Flushes; the caller
    commits.
    """
    current = in_force(user.id, purpose, channel)
    if current is not None:
        return current, False
    record = ConsentRecord(user_id=user.id, person_id=user.person_id, purpose=purpose, channel=channel,
                           text_version=text_version, method=method, granted=True, recorded_at=utcnow())
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


#: What the desk's notification list says about a withheld delivery (server/backoffice, the dossier page).
WITHDRAWN_REASON = "consent withdrawn for this purpose on push"

#: Per channel, what stops the messages already waiting for it. Zalo and SMS have no outbox yet.
_STOP_WAITING = {Channel.PUSH: _withhold_queued_push}
