"""Subscription health: retire the push subscriptions that no longer reach anyone.

A push service answers 201 to a subscription that reaches nothing: push services drop endpoints unused for months,
iOS revokes a subscription after three pushes that showed no notification, a phone lies in a drawer. Counting those
as a working channel would keep a follower off the next rung of the ladder and off the desk's list of people to
call. So the push worker (server/push/sender.py ``_health_step``), at most every ``PUSH_HEALTH_INTERVAL_MINUTES``,
retires:

* ``not_seen``: subscriptions the app has not re-checked for ``PUSH_SUBSCRIPTION_STALE_DAYS`` (it re-checks at every
  launch, pwa/app/push.js ``recheckPush``);
* ``not_shown``: subscriptions whose last ``PUSH_UNSHOWN_LIMIT`` pushes accepted by the push service, each sent more
  than ``PUSH_UNSHOWN_GRACE_HOURS`` ago, have no "shown" receipt, with nothing shown since. Only pushes sent after
  the app last re-checked the subscription count: a launch gives it a fresh start (the phone is alive and still
  subscribed, and its late receipts leave its outbox then), instead of being undone at the next run.

A retired subscription is kept with its reason (the citizen's channels page and the desk say why) and gets no new
deliveries (server/push/notify.py fans out to ``retired_at IS NULL`` only); its deliveries still waiting expire at
once, so that the next rung of their ladder is due now. The app's next re-check of the same endpoint brings it back
(PUT /api/v1/push/subscriptions).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from server.channels.ladder import escalate_if_exhausted
from server.extensions import db
from server.push.models import HANDED_OVER_REASON
from server.push.models import DeliveryStatus
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.turns import claim_turn
from server.types import utcnow

#: The marker row (in worker_heartbeat, like the retention purge's) saying when the health check last ran.
HEALTH_MARKER = "push-health"
NOT_SEEN = "not_seen"
NOT_SHOWN = "not_shown"


def check_if_due(now: datetime) -> dict[str, int] | None:
    """The worker's step: retire stale subscriptions when the last check is older than
    ``PUSH_HEALTH_INTERVAL_MINUTES`` (claimed with a conditional update, so that of several workers one runs it);
    commits. None when not due."""
    minutes = current_app.config["PUSH_HEALTH_INTERVAL_MINUTES"]
    if not minutes or not claim_turn(HEALTH_MARKER, timedelta(minutes=minutes), now):
        return None
    retired = retire_stale(now)
    db.session.commit()
    return retired


def retire_stale(now: datetime) -> dict[str, int]:
    """Retire what is stale now, whichever worker asks; returns how many per reason. The caller commits."""
    config = current_app.config
    not_seen = set(db.session.scalars(select(PushSubscription.id).where(
        PushSubscription.retired_at.is_(None),
        PushSubscription.last_seen_at < now - timedelta(days=config["PUSH_SUBSCRIPTION_STALE_DAYS"]))))
    not_shown = _never_shown(now, config["PUSH_UNSHOWN_LIMIT"],
                             timedelta(hours=config["PUSH_UNSHOWN_GRACE_HOURS"])) - not_seen
    _retire(not_seen, NOT_SEEN, now)
    _retire(not_shown, NOT_SHOWN, now)
    return {NOT_SEEN: len(not_seen), NOT_SHOWN: len(not_shown)}


def _never_shown(now: datetime, limit: int, grace: timedelta) -> set[int]:
    """Live subscriptions whose last ``limit`` pushes sent before ``now - grace`` (and after the app's last
    re-check) show no receipt, with no receipt from any later push either."""
    if limit < 1:
        return set()
    cutoff = now - grace
    ranked = (select(PushDelivery.subscription_id.label("subscription_id"), PushDelivery.sent_at,
                     PushDelivery.shown_at, PushDelivery.opened_at,
                     func.row_number().over(partition_by=PushDelivery.subscription_id,
                                            order_by=(PushDelivery.sent_at.desc(), PushDelivery.id.desc()))
                     .label("rank"))
              .join(PushSubscription, PushSubscription.id == PushDelivery.subscription_id)
              .where(PushSubscription.retired_at.is_(None), PushDelivery.sent_at.is_not(None),
                     PushDelivery.sent_at <= cutoff, PushDelivery.sent_at > PushSubscription.last_seen_at)
              .subquery())
    candidates = db.session.execute(
        select(ranked.c.subscription_id, func.min(ranked.c.sent_at).label("since"))
        .where(ranked.c.rank <= limit)
        .group_by(ranked.c.subscription_id)
        .having(func.count() == limit, func.count(ranked.c.shown_at) == 0, func.count(ranked.c.opened_at) == 0)
    ).all()
    if not candidates:
        return set()
    since = {row.subscription_id: row.since for row in candidates}
    # "Nothing shown since": a receipt of a push sent later (still within the grace period) keeps it alive.
    shown_later = db.session.execute(
        select(PushDelivery.subscription_id, func.max(func.coalesce(PushDelivery.shown_at, PushDelivery.opened_at)))
        .where(PushDelivery.subscription_id.in_(since),
               (PushDelivery.shown_at.is_not(None)) | (PushDelivery.opened_at.is_not(None)))
        .group_by(PushDelivery.subscription_id)).all()
    alive = {row[0] for row in shown_later if row[1] is not None and row[1] >= since[row[0]]}
    last_shown = dict(db.session.execute(select(PushSubscription.id, PushSubscription.last_shown_at)
                                         .where(PushSubscription.id.in_(since))).all())
    alive |= {sid for sid, at in last_shown.items() if at is not None and at >= since[sid]}
    return set(since) - alive


def _retire(ids: set[int], reason: str, now: datetime) -> None:
    if not ids:
        return
    db.session.execute(update(PushSubscription).where(PushSubscription.id.in_(ids),
                                                      PushSubscription.retired_at.is_(None))
                       .values(retired_at=now, retired_reason=reason).execution_options(synchronize_session=False))
    # What still waits for them would go nowhere: it expires now, and the next rung of its ladder is due now.
    waiting = list(db.session.scalars(select(PushDelivery.message_id).where(
        PushDelivery.subscription_id.in_(ids), PushDelivery.status == DeliveryStatus.QUEUED)))
    if waiting:
        db.session.execute(update(PushDelivery).where(PushDelivery.subscription_id.in_(ids),
                                                      PushDelivery.status == DeliveryStatus.QUEUED)
                           .values(status=DeliveryStatus.EXPIRED, last_error=f"subscription retired: {reason}")
                           .execution_options(synchronize_session=False))
        escalate_if_exhausted(waiting, now)


def hand_over(subscription: PushSubscription, user_id: int) -> None:
    """Give ``subscription`` to the account ``user_id`` (a phone that changed hands, or accounts). What still waits
    on it for the account before is not for the new one: it expires now, and the next rung of its ladder is due
    now (the earlier follower was not reached). Flushes; the caller commits."""
    if subscription.id is None or subscription.user_id == user_id:
        subscription.user_id = user_id
        return
    pending = (PushDelivery.subscription_id == subscription.id,
               PushDelivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]))
    waiting = list(db.session.scalars(select(PushDelivery.message_id).where(*pending)))
    # SENDING too: a worker that claimed the row checks the owner again in _prepare; one that already posted it
    # writes what happened over this.
    db.session.execute(update(PushDelivery).where(*pending)
                       .values(status=DeliveryStatus.EXPIRED, lease_until=None, last_error=HANDED_OVER_REASON)
                       .execution_options(synchronize_session=False))
    subscription.user_id = user_id
    db.session.flush()
    escalate_if_exhausted(waiting, utcnow())
