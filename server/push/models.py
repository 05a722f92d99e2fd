"""Push subscriptions, the inbox, and the delivery outbox (one row per message and subscription).

A transition that matters to the citizen writes, in its own transaction, one inbox message per person following
the dossier and one delivery per subscription of theirs. The worker (server/push/sender.py) then sends the
deliveries. Nothing is sent from inside a web request, and nothing is lost when the process dies between the
commit and the send: the delivery row is still there, queued or with an expired lease.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.enums import enum_type
from server.extensions import db
from server.types import UtcDateTime
from server.types import utcnow


class DeliveryStatus(enum.Enum):
    QUEUED = "queued"  #: waiting for a worker (or for its next attempt)
    SENDING = "sending"  #: claimed by a worker until ``lease_until``; a dead worker's claim expires
    SENT = "sent"  #: the push service (or the ZNS or SMS provider) accepted it
    SHOWN = "shown"  #: the phone showed it: the service worker's receipt, or the provider's delivery callback
    OPENED = "opened"  #: the follower tapped it (the service worker's receipt)
    FAILED = "failed"  #: given up (too old, refused by the push service, or our own set-up is wrong)
    EXPIRED = "expired"  #: the subscription is gone (404/410): deleted, nothing more to try
    WITHHELD = "withheld"  #: not sent: the recipient has no consent in force for its purpose on the channel
    SKIPPED = "skipped"  #: a later rung of the ladder, not needed: the follower was reached before its time


#: Statuses after which nothing more happens to a delivery, except a receipt turning sent into shown or opened.
FINAL_FAILURES = (DeliveryStatus.FAILED, DeliveryStatus.EXPIRED, DeliveryStatus.WITHHELD, DeliveryStatus.SKIPPED)
#: Statuses that mean the follower has seen the message on that channel.
REACHED = (DeliveryStatus.SHOWN, DeliveryStatus.OPENED)
#: Why a delivery expired when its subscription moved to another account (server/push/health.py ``hand_over``, and
#: the worker's check, server/push/sender.py): the message was for the one before.
HANDED_OVER_REASON = "the subscription changed hands"


class PushSubscription(db.Model):
    """A browser's push subscription, upserted by endpoint (one user may have several phones)."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    #: The language of the app that subscribed: the notification's text is chosen by it on the phone.
    lang: Mapped[str] = mapped_column(String(5), default="vi")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The last time the app re-checked this subscription (it does at every launch) or a push to it was shown.
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The last time a push to it was shown (the service worker's receipt): a subscription that takes pushes but
    #: never shows them (iOS revokes those; a phone off for months) is not a working channel.
    last_shown_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Retired: no longer pushed to (not seen for too long, or pushes never shown), kept so the desk sees why.
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    retired_reason: Mapped[str | None] = mapped_column(String(200))

    def info(self) -> dict:
        """What pywebpush needs."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class InboxMessage(db.Model):
    """One notification to one follower: what the app's inbox shows, and the head of its channel ladder.

    A follower with an account (``user_id``) finds it in the inbox whatever else happens. A follower without one
    (``person_id`` only: the elderly owner with a basic phone, reached by ZNS or SMS alone, with a consent recorded
    at the desk) has no inbox: the message is only the head of the deliveries. ``reached_at`` is the first time any
    channel reported it shown or opened; later rungs of the ladder that are not due yet are then skipped.
    """

    __tablename__ = "inbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    #: What the text needs besides the kind: the dossier code, a new due date. Never a name or an ID number.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Indexed: the cost and reach figures (server/channels/costs.py) read a month of messages at a time.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The first receipt that it was shown or opened, on which channel ("push", "zalo", "sms").
    reached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reached_channel: Mapped[str | None] = mapped_column(String(8))

    deliveries: Mapped[list[PushDelivery]] = relationship(back_populates="message")


class PushDelivery(db.Model):
    """One message to one subscription: the transactional outbox the worker drains."""

    __tablename__ = "push_delivery"
    __table_args__ = (Index("ix_push_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbox_message.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscription.id", ondelete="SET NULL"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "delivery_status"),
                                                   default=DeliveryStatus.QUEUED)
    #: The rung of the message's ladder (server/channels/ladder.py) this delivery belongs to: 0 is tried at once.
    step: Mapped[int] = mapped_column(default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When the service worker reported the notification shown, and tapped (POST /api/v1/push/receipts).
    shown_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    message: Mapped[InboxMessage] = relationship(back_populates="deliveries")
    subscription: Mapped[PushSubscription | None] = relationship()


class WorkerHeartbeat(db.Model):
    """A background worker's last sign of life (the push worker beats once per loop); /healthz reads it."""

    __tablename__ = "worker_heartbeat"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
