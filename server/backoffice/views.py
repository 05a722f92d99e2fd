"""The desk's first pages: a dashboard with what push notifications saved, and a dossier's notifications with the
state of every delivery. Ward-scoped: a dossier of another ward is answered 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import datetime
from datetime import time

from flask import abort
from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from server.auth.access import roles_required
from server.auth.models import User
from server.calendar.workdays import VN_TZ
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.extensions import db
from server.push.models import InboxMessage
from server.push.models import PushSubscription
from server.push.texts import of as text_of
from server.stats.service import notification_figures
from server.types import utcnow
from server.web.officer_messages import officer_messages
from server.web.pages import pages_blueprint

bp = pages_blueprint("backoffice", __name__, url_prefix="/staff")

DESK = ("staff", "leader")


def month_start(now: datetime) -> datetime:
    """00:00 on the first day of this month in Viet Nam, as an aware datetime."""
    local = to_local(now)
    return datetime.combine(local.date().replace(day=1), time(0), tzinfo=VN_TZ)


@bp.get("")
@roles_required(*DESK)
def dashboard():
    now = utcnow()
    since = month_start(now)
    recent = list(db.session.scalars(select(Dossier).where(Dossier.agency_id == current_user.agency_id)
                                     .order_by(Dossier.updated_at.desc(), Dossier.id.desc()).limit(20)))
    return render_template("backoffice/dashboard.html", figures=notification_figures([current_user.agency_id], since),
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
