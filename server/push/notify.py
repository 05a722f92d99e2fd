"""Writing notifications, in the transaction of the event they announce (the transactional outbox).

Who is told: the citizens whose account is the dossier's owner or submitter, and the followers the owner
granted. Each gets an inbox message, and, when they consent to push for the kind's purpose, each of their push
subscriptions a delivery row for the worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
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
    return _queue(recipients(dossier), kind, {"code": dossier.code, **data}, dossier_id=dossier.id)


def notify_passkey_added(user: User, passkey_name: str) -> list[InboxMessage]:
    """Tell a citizen that a passkey was added to their account (a recovery link or a signed-in addition), so that
    a passkey nobody asked for is noticed. Adds to the session; the caller commits."""
    db.session.flush()
    return _queue([user], "passkey_added", {"passkey_name": passkey_name[:120], "link": "/account/passkeys"})


def _queue(users: list[User], kind: str, data: dict, dossier_id: int | None = None) -> list[InboxMessage]:
    """One inbox message per user, and one delivery per push subscription of those who consent to push for the
    kind's purpose (server/consent/purposes.py). The inbox is the account's own page: it needs no consent."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    purpose = purpose_of(kind)
    allowed = consent.consenting([user.id for user in users], Channel.PUSH)
    messages = []
    for user in users:
        message = InboxMessage(user_id=user.id, dossier_id=dossier_id, kind=kind, data=dict(data))
        db.session.add(message)
        if (user.id, purpose) in allowed:
            subscriptions = db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id))
            for subscription in subscriptions:
                message.deliveries.append(PushDelivery(subscription=subscription))
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
    return _queue(visit_recipients(visit), kind, data)
