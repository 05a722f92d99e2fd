"""What became of notifications, per follower: every message, and on each channel each delivery with its state and
times (push per device, and the ZNS and SMS rows of the channel ladder, shown alike whatever the channel).

Read by the desk's dossier page, the recent notifications of /staff and GET /api/v1/push/dossiers/<id>, so that the
three say the same thing. A handful of queries for any number of messages (no query per row).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy import select

from server.auth.models import User
from server.channels.models import ChannelDelivery
from server.extensions import db
from server.people.models import Person
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.texts import of as text_of


@dataclass
class DeliveryRow:
    """One delivery on one channel: push to one device, or one ZNS or SMS message."""

    channel: str  #: "push", "zalo", "sms"
    target: str  #: the device ("Android · #12") or the phone, masked ("•••• 567")
    status: str  #: a DeliveryStatus value
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    shown_at: datetime | None
    opened_at: datetime | None
    last_error: str | None
    cost_vnd: int = 0

    def to_json(self) -> dict:
        def moment(value):
            return value.isoformat() if value else None

        return {"channel": self.channel, "target": self.target, "status": self.status, "attempts": self.attempts,
                "last_error": self.last_error, "created_at": moment(self.created_at), "sent_at": moment(self.sent_at),
                "shown_at": moment(self.shown_at), "opened_at": moment(self.opened_at), "cost_vnd": self.cost_vnd}


@dataclass
class MessageRow:
    message: InboxMessage
    title: str
    deliveries: list[DeliveryRow] = field(default_factory=list)

    def channels(self) -> dict[str, list[DeliveryRow]]:
        grouped: dict[str, list[DeliveryRow]] = {}
        for row in self.deliveries:
            grouped.setdefault(row.channel, []).append(row)
        return grouped


@dataclass
class FollowerRow:
    """A follower (an account, or a person reached by ZNS or SMS alone) and the messages they were sent."""

    user_id: int | None
    person_id: int | None
    name: str
    messages: list[MessageRow] = field(default_factory=list)


_PLATFORMS = (("iphone", "iPhone"), ("ipad", "iPad"), ("android", "Android"), ("windows", "Windows"),
              ("macintosh", "Mac"), ("linux", "Linux"))


def device_label(subscription: PushSubscription | None) -> str:
    """Which phone: its platform from the user agent and the subscription's number (no more of the user agent)."""
    if subscription is None:
        return "—"
    agent = (subscription.user_agent or "").lower()
    platform = next((label for needle, label in _PLATFORMS if needle in agent), "?")
    return f"{platform} · #{subscription.id}"


def masked_phone(phone: str | None) -> str:
    """The last three digits: enough for the desk to tell two numbers apart on a shared screen."""
    return f"•••• {phone[-3:]}" if phone else "—"


def message_rows(messages: list[InboxMessage]) -> list[MessageRow]:
    """Each message with its deliveries on every channel, push first then by channel, in the order written."""
    ids = [m.id for m in messages]
    pushes = list(db.session.scalars(select(PushDelivery).where(PushDelivery.message_id.in_(ids))
                                     .order_by(PushDelivery.id))) if ids else []
    others = list(db.session.scalars(select(ChannelDelivery).where(ChannelDelivery.message_id.in_(ids))
                                     .order_by(ChannelDelivery.step, ChannelDelivery.id))) if ids else []
    subscription_ids = {d.subscription_id for d in pushes if d.subscription_id}
    subscriptions = {s.id: s for s in db.session.scalars(
        select(PushSubscription).where(PushSubscription.id.in_(subscription_ids)))} if subscription_ids else {}
    rows = {m.id: MessageRow(m, text_of(m.kind, m.data or {})[0]) for m in messages}
    for d in pushes:
        rows[d.message_id].deliveries.append(DeliveryRow(
            "push", device_label(subscriptions.get(d.subscription_id)), d.status.value, d.attempts, d.created_at,
            d.sent_at, d.shown_at, d.opened_at, d.last_error))
    for d in others:
        rows[d.message_id].deliveries.append(DeliveryRow(
            d.channel.value, masked_phone(d.phone_e164), d.status.value, d.attempts, d.created_at, d.sent_at,
            d.shown_at, d.opened_at, d.last_error, d.cost_vnd))
    return [rows[m.id] for m in messages]


def follower_rows(messages: list[InboxMessage]) -> list[FollowerRow]:
    """The messages grouped by follower, in the order each follower was first written to."""
    user_ids = {m.user_id for m in messages if m.user_id}
    person_ids = {m.person_id for m in messages if m.person_id and not m.user_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    people = ({p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(person_ids)))}
              if person_ids else {})
    followers: dict[tuple, FollowerRow] = {}
    for row in message_rows(messages):
        message = row.message
        key = ("user", message.user_id) if message.user_id else ("person", message.person_id)
        if key not in followers:
            if message.user_id:
                user = users.get(message.user_id)
                name = user.display_name if user else "—"
            else:
                person = people.get(message.person_id)
                name = person.full_name if person else "—"
            followers[key] = FollowerRow(message.user_id, None if message.user_id else message.person_id, name)
        followers[key].messages.append(row)
    return list(followers.values())


def dossier_followers(dossier_id: int) -> list[FollowerRow]:
    messages = list(db.session.scalars(select(InboxMessage).where(InboxMessage.dossier_id == dossier_id)
                                       .order_by(InboxMessage.id)))
    return follower_rows(messages)
