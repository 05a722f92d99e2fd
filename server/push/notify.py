"""Writing notifications, in the transaction of the event they announce (the transactional outbox).

Who is told: the citizens whose account is the dossier's owner or submitter, and the followers the owner
granted; and the owner and submitter (the visited person, for a visit) who have no account but gave the desk a
consent on Zalo or SMS for the kind's purpose, with their number. Each gets one inbox message (for an account, its
inbox; for a person without one, only the head of the deliveries) and the rungs of the channel ladder they can use
(server/channels/ladder.py), each written now with the time it falls due: one push delivery per working
subscription, one ZNS or SMS row per phone channel. The workers send them when due; nothing waits in a process.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.channels import ladder
from server.channels.models import ChannelDelivery
from server.consent import services as consent
from server.consent.purposes import Channel
from server.consent.purposes import purpose_of
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.dossiers.models import HomeVisit
from server.dossiers.workflow import Action
from server.dossiers.workflow import State
from server.extensions import db
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.types import utcnow


@dataclass(frozen=True)
class Kind:
    """How one kind of notification travels: how long a push service keeps it for an offline phone, and how
    urgently it wakes the phone (RFC 8030 ``Urgency``)."""

    ttl_seconds: int
    urgency: str


DAY = 24 * 3600
KINDS: dict[str, Kind] = {
    "received": Kind(3 * DAY, "normal"),
    "supplement_requested": Kind(7 * DAY, "high"),
    "extended": Kind(7 * DAY, "high"),
    "result_ready": Kind(7 * DAY, "high"),
    "returned": Kind(1 * DAY, "low"),
    "refused": Kind(7 * DAY, "high"),
    "stopped": Kind(7 * DAY, "high"),
    "visit_scheduled": Kind(2 * DAY, "high"),
    "visit_cancelled": Kind(2 * DAY, "high"),
    "passkey_added": Kind(7 * DAY, "high"),
    # The citizen pressed "Gửi thử thông báo" and is looking at the phone: worthless an hour later.
    "channel_test": Kind(3600, "high"),
}

#: States whose arrival the citizen is told about.
_STATE_KINDS = {
    State.RECEIVED: "received",
    State.AWAITING_SUPPLEMENT: "supplement_requested",
    State.RESOLVED: "result_ready",
    State.RETURNED: "returned",
    State.REFUSED: "refused",
    State.STOPPED: "stopped",
}


def kind_of_transition(action: Action, from_state: State, to_state: State) -> str | None:
    """The notification a transition deserves, or None (internal steps: transfer, approval...)."""
    if action is Action.EXTEND:
        return "extended"
    if to_state is from_state:
        return None
    return _STATE_KINDS.get(to_state)


def recipients(dossier: Dossier) -> list[User]:
    """The accounts linked to the dossier by proof (server/citizen/access.py); never by a declared personal ID."""
    followers = select(DossierFollower.user_id).where(DossierFollower.dossier_id == dossier.id)
    query = select(User).where(User.role == Role.CITIZEN, User.active.is_(True),
                               User.id.in_(followers)).order_by(User.id)
    return list(db.session.scalars(query))


def notify_dossier(dossier: Dossier, kind: str, **data) -> list[InboxMessage]:
    """Queue ``kind`` about ``dossier`` for everyone following it. Adds to the session; the caller commits.

    Nothing when the owner restricted the processing of their data (server/privacy/requests.py): notifications
    are a secondary purpose (DOMAIN.md §8.2); the status stays on the citizen's pages."""
    if dossier.owner is not None and dossier.owner.processing_restricted_at is not None:
        return []
    db.session.flush()  # the dossier needs its id
    return _queue(recipients(dossier), kind, {"code": dossier.code, **data}, dossier_id=dossier.id,
                  persons=(dossier.owner_id, dossier.submitter_id))


def notify_passkey_added(user: User, passkey_name: str) -> list[InboxMessage]:
    """Tell a citizen that a passkey was added to their account (a recovery link or a signed-in addition), so that
    a passkey nobody asked for is noticed. Adds to the session; the caller commits."""
    db.session.flush()
    return _queue([user], "passkey_added", {"passkey_name": passkey_name[:120], "link": "/account/passkeys"})


def _queue(users: list[User], kind: str, data: dict, dossier_id: int | None = None,
           persons: Iterable[int | None] = ()) -> list[InboxMessage]:
    """One inbox message per recipient and the rungs of their ladder: the accounts ``users``, and the ``persons``
    without an account here who consented at the desk on Zalo or SMS (a person whose account is among ``users``
    is that account: its own consents govern). The inbox is the account's own page: it needs no consent.

    A channel is usable when this server sends on it for ``kind``, the recipient consents to it for the kind's
    purpose (server/consent/purposes.py), and it has somewhere to go: a subscription not retired for push, the
    consent's number for Zalo and SMS. One number is written to once per event on a channel (two followers sharing
    a phone get one SMS: the first one's). A non-urgent event in the quiet hours starts its ladder in the morning.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    purpose = purpose_of(kind)
    now = utcnow()
    enabled = ladder.enabled_channels(kind)
    covered = {user.person_id for user in users if user.person_id is not None}
    others = list(dict.fromkeys(p for p in persons if p is not None and p not in covered))
    reachable = consent.reachable([user.id for user in users], others, purpose, enabled)
    pushable = [user_id for user_id, channels in reachable.accounts.items() if Channel.PUSH in channels]
    subscriptions: dict[int, list[PushSubscription]] = {}
    if pushable:
        for subscription in db.session.scalars(select(PushSubscription).where(
                PushSubscription.user_id.in_(pushable), PushSubscription.retired_at.is_(None))
                .order_by(PushSubscription.id)):
            subscriptions.setdefault(subscription.user_id, []).append(subscription)
    start = ladder.quiet_until(now, kind) or now
    written: set[tuple[Channel, str]] = set()

    def usable_for(consents: dict[Channel, str | None], devices: list[PushSubscription]
                   ) -> tuple[set[Channel], dict[Channel, str]]:
        usable, phones = set(), {}
        if Channel.PUSH in enabled and Channel.PUSH in consents and devices:
            usable.add(Channel.PUSH)
        for channel in (Channel.ZALO, Channel.SMS):
            phone = consents.get(channel)
            if channel in enabled and phone and (channel, phone) not in written:
                usable.add(channel)
                phones[channel] = phone
        return usable, phones

    def climb(message: InboxMessage, usable: set[Channel], phones: dict[Channel, str],
              devices: list[PushSubscription]) -> None:
        for rung in ladder.plan(kind, usable, start):
            # A rung falling due in the quiet hours waits for the morning: nothing is even claimed at night.
            due = ladder.quiet_until(rung.due_at, kind) or rung.due_at
            if rung.channel is Channel.PUSH:
                for subscription in devices:
                    message.deliveries.append(PushDelivery(subscription=subscription, step=rung.step,
                                                           next_attempt_at=due))
            else:
                written.add((rung.channel, phones[rung.channel]))
                db.session.add(ChannelDelivery(message=message, channel=rung.channel,
                                               phone_e164=phones[rung.channel], step=rung.step,
                                               next_attempt_at=due))

    messages = []
    for user in users:
        message = InboxMessage(user_id=user.id, dossier_id=dossier_id, kind=kind, data=dict(data))
        db.session.add(message)
        devices = subscriptions.get(user.id, [])
        climb(message, *usable_for(reachable.accounts.get(user.id, {}), devices), devices)
        messages.append(message)
    for person_id in others:
        usable, phones = usable_for(dict(reachable.persons.get(person_id, {})), [])
        if not usable:
            continue  # no account, and no channel to reach them on: the desk and the paper receipt remain
        message = InboxMessage(person_id=person_id, dossier_id=dossier_id, kind=kind, data=dict(data))
        db.session.add(message)
        climb(message, usable, phones, [])
        messages.append(message)
    return messages


def visit_recipients(visit: HomeVisit) -> list[User]:
    """Who hears about a home visit: the account that asked for it, and the citizens whose own person is visited."""
    asked = User.id == visit.requested_by_id if visit.requested_by_id is not None else None
    visited = and_(User.role == Role.CITIZEN, User.person_id == visit.person_id)
    who = or_(asked, visited) if asked is not None else visited
    return list(db.session.scalars(select(User).where(User.active.is_(True), who).order_by(User.id)))


def notify_visit(visit: HomeVisit, kind: str = "visit_scheduled", reason: str | None = None) -> list[InboxMessage]:
    """Tell the citizen who will come and when ("visit_scheduled"), or that the visit is off ("visit_cancelled",
    with the desk's reason). Adds to the session; the caller commits.

    The inbox message keeps the officer's name and position for its text; the push payload built from it carries
    only the kind and a link (server/push/sender.py), never a name.
    """
    db.session.flush()
    officer = visit.officer
    data = {"visit_id": visit.id,
            "planned_for": visit.planned_for.isoformat() if visit.planned_for else None,
            "planned_time": visit.planned_time.strftime("%H:%M") if visit.planned_time else None,
            "officer_name": officer.display_name if officer else None,
            "officer_position": officer.position if officer else None}
    if reason:
        data["reason"] = reason
    return _queue(visit_recipients(visit), kind, data, persons=(visit.person_id,))
