"""A message to one follower on Zalo ZNS or SMS: the provider channels' outbox, drained by the same worker loop as
push (server/channels/sender.py).

One row per message and channel (a unique constraint: exactly once per channel and follower), written in the
transaction of the event with the time its rung of the ladder is due. ``tracking_id`` is ours and goes with the
request: the provider's delivery callback names it (or the provider's own ``provider_message_id``), and a resend
after a crash carries the same one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.consent.purposes import Channel
from server.enums import enum_type
from server.extensions import db
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.types import UtcDateTime
from server.types import utcnow


def new_tracking_id() -> str:
    return f"mc{uuid.uuid4().hex}"


class ChannelDelivery(db.Model):
    __tablename__ = "channel_delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "channel", name="uq_channel_delivery_message_channel"),
        Index("ix_channel_delivery_due", "status", "next_attempt_at"),
        Index("ix_channel_delivery_provider_message", "provider", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbox_message.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel_delivery_channel"))
    #: E.164 (+84…): the number of the consent in force when the message was queued.
    phone_e164: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(default=0)
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "channel_delivery_status"),
                                                   default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    shown_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The adapter that sent it ("zns", "sms"), and the provider's id for the message (its callbacks name it).
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    tracking_id: Mapped[str] = mapped_column(String(48), unique=True, default=new_tracking_id)
    #: What it cost at the configured price when the provider accepted it (0 until then, and for a failure).
    cost_vnd: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    message: Mapped[InboxMessage] = relationship()
