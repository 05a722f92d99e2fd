"""Delivery receipts: the service worker says a push was shown, then opened (POST /api/v1/push/receipts).

Each push payload carries a token for its own delivery, ``<delivery id>.<mac>``: an HMAC-SHA256 of the delivery id
under a key derived from SECRET_KEY with a fixed label (so that the key is used for nothing else), truncated to
16 bytes and base64url-encoded. The worker reports with it alone: the citizen's session may have expired, or the
phone been signed out, since the push arrived, and a receipt must still count. The token proves only "whoever
holds it received this push"; it names nothing personal and authorises nothing but the receipt of one delivery.

A receipt moves a delivery forward only: queued/sending/sent -> shown -> opened, "opened" implying "shown". A
replay (the worker retries from its IndexedDB queue until it hears an answer) changes nothing. It also tells the
channel ladder that the follower was reached (server/channels/ladder.mark_reached), so the later rungs (ZNS, SMS)
are skipped, and the subscription that showed it is a working channel (``last_shown_at``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC
from datetime import datetime

from flask import current_app
from sqlalchemy import case
from sqlalchemy import literal
from sqlalchemy import update

from server.consent.purposes import Channel
from server.extensions import db
from server.push.models import DeliveryStatus
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.types import utcnow

#: The label the receipt key is derived with: another label, another key (SECRET_KEY also signs the sessions).
KEY_LABEL = b"motcua/push-receipt/v1"
MAC_BYTES = 16
#: What a token looks like (the API's schema checks it before any MAC is computed).
TOKEN_PATTERN = r"^[1-9][0-9]{0,17}\.[A-Za-z0-9_-]{22}$"
EVENTS = ("shown", "opened")


class ForgedReceipt(ValueError):
    """The token's MAC is not ours: not a receipt of any delivery we sent."""


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, KEY_LABEL, hashlib.sha256).digest()


def _mac(delivery_id: int) -> str:
    digest = hmac.new(_key(), str(delivery_id).encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_for(delivery_id: int) -> str:
    """The receipt token that travels in the push payload of this delivery."""
    return f"{delivery_id}.{_mac(delivery_id)}"


def delivery_of(token: str) -> int:
    """The delivery id a token authenticates (compared in constant time). Raises ForgedReceipt."""
    delivery, _, mac = token.partition(".")
    if not (delivery.isascii() and delivery.isdigit()):  # "²" is a digit to isdigit, not to int
        raise ForgedReceipt(token)
    if not hmac.compare_digest(mac.encode(), _mac(int(delivery)).encode()):
        raise ForgedReceipt(token)
    return int(delivery)


def bounded(at_ms: float | None, since: datetime, now: datetime) -> datetime:
    """When the phone says it happened (milliseconds since the epoch), kept between the delivery's creation and
    now: a receipt retried hours later from the phone's queue keeps the moment the notification was shown, but a
    wrong phone clock can neither date it before the message existed nor in the future."""
    if at_ms is None:
        return now
    try:
        claimed = datetime.fromtimestamp(at_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return now
    return min(max(claimed, since), now)


def status_literal(status: DeliveryStatus):
    """A status as an SQL literal of the column's own type (inside a CASE, SQLAlchemy cannot infer it)."""
    return literal(status, PushDelivery.__table__.c.status.type)


def record(delivery: PushDelivery, event: str, at: datetime) -> bool:
    """Record a receipt for ``delivery`` (its id proven by the token); returns whether anything changed.

    Conditional UPDATEs, so that two receipts racing (the "shown" of a retry and the "opened" of the tap) end in
    the same state in whichever order they commit: each timestamp is set once, the status only moves forward. The
    caller commits."""
    from server.channels.ladder import mark_reached

    opened = event == "opened"
    values = {"shown_at": case((PushDelivery.shown_at.is_(None), at), else_=PushDelivery.shown_at)}
    if opened:
        values["opened_at"] = case((PushDelivery.opened_at.is_(None), at), else_=PushDelivery.opened_at)
        values["status"] = DeliveryStatus.OPENED
        fresh = PushDelivery.opened_at.is_(None)
    else:
        # Never a downgrade: an opened delivery stays opened when a late "shown" arrives.
        values["status"] = case((PushDelivery.status == DeliveryStatus.OPENED, status_literal(DeliveryStatus.OPENED)),
                                else_=status_literal(DeliveryStatus.SHOWN))
        fresh = PushDelivery.shown_at.is_(None)
    changed = db.session.execute(
        update(PushDelivery).where(PushDelivery.id == delivery.id, fresh).values(**values)
        .execution_options(synchronize_session=False)).rowcount == 1
    if changed:
        now = utcnow()
        if delivery.subscription_id is not None:
            db.session.execute(update(PushSubscription).where(PushSubscription.id == delivery.subscription_id)
                               .values(last_shown_at=now, last_seen_at=now)
                               .execution_options(synchronize_session=False))
        mark_reached(delivery.message_id, Channel.PUSH, at)
    return changed
