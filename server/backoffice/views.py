"""The desk's first pages: a dashboard with what push notifications saved, and a dossier's notifications with the
state of every delivery. Ward-scoped: a dossier of another ward is answered 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import datetime
from datetime import time

from flask import abort
from flask import current_app
from flask import render_template
from flask_login import current_user
from sqlalchemy import distinct
from sqlalchemy import func
from sqlalchemy import select

from server.auth.access import roles_required
from server.auth.models import User
from server.calendar.workdays import VN_TZ
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.extensions import db
from server.push.models import DeliveryStatus
from server.push.models import InboxMessage
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.texts import of as text_of
from server.types import utcnow
from server.web.officer_messages import officer_messages
from server.web.pages import pages_blueprint

bp = pages_blueprint("backoffice", __name__, url_prefix="/staff")

DESK = ("staff", "leader")


def month_start(now: datetime) -> datetime:
    """00:00 on the first day of this month in Viet Nam, as an aware datetime."""
    local = to_local(now)
    return datetime.combine(local.date().replace(day=1), time(0), tzinfo=VN_TZ)


def notification_figures(agency_id: int, since: datetime) -> dict:
    """Notifications about the ward's dossiers since ``since``: delivered by push, and what SMS would have cost.

    One SMS would have gone per message that reached at least one phone; a message only in the inbox (no
    subscription, or every delivery failed) saved nothing, and for the important ones the desk may still have to
    call (DOMAIN.md §11 case 22).
    """
    ward_messages = (select(InboxMessage.id).join(Dossier, Dossier.id == InboxMessage.dossier_id)
                     .where(Dossier.agency_id == agency_id, InboxMessage.created_at >= since))
    total = db.session.scalar(select(func.count()).select_from(ward_messages.subquery()))
    delivered = db.session.scalar(select(func.count(distinct(PushDelivery.message_id))).where(
        PushDelivery.message_id.in_(ward_messages), PushDelivery.status == DeliveryStatus.SENT))
    by_status = dict(db.session.execute(
        select(PushDelivery.status, func.count()).where(PushDelivery.message_id.in_(ward_messages))
        .group_by(PushDelivery.status)).all())
    price = current_app.config["SMS_PRICE_VND"]
    return {"messages": total, "delivered": delivered, "not_delivered": total - delivered,
            "price": price, "sms_cost_avoided": delivered * price,
            "by_status": {status.value: by_status.get(status, 0) for status in DeliveryStatus}}


@bp.get("")
@roles_required(*DESK)
def dashboard():
    now = utcnow()
    since = month_start(now)
    recent = list(db.session.scalars(select(Dossier).where(Dossier.agency_id == current_user.agency_id)
                                     .order_by(Dossier.updated_at.desc(), Dossier.id.desc()).limit(20)))
    return render_template("backoffice/dashboard.html", figures=notification_figures(current_user.agency_id, since),
                           since=to_local(since), recent=recent, labels=officer_messages(), to_local=to_local)


@bp.get("/dossiers/<int:dossier_id>")
@roles_required(*DESK)
def dossier(dossier_id: int):
    found = db.session.get(Dossier, dossier_id)
    if found is None or found.agency_id != current_user.agency_id:
        abort(404)
    messages = list(db.session.scalars(select(InboxMessage).where(InboxMessage.dossier_id == found.id)
                                       .order_by(InboxMessage.id)))
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({m.user_id for m in messages})))}
    subscriptions = {s.id: s for s in db.session.scalars(select(PushSubscription).where(PushSubscription.id.in_(
        {d.subscription_id for m in messages for d in m.deliveries if d.subscription_id})))}
    rows = [{"message": m, "title": text_of(m.kind, m.data or {})[0], "user": users.get(m.user_id),
             "deliveries": [(d, subscriptions.get(d.subscription_id)) for d in m.deliveries]} for m in messages]
    return render_template("backoffice/dossier.html", dossier=found, rows=rows, to_local=to_local,
                           state_label=officer_messages().get(f"state_{found.state.value}", found.state.value))
