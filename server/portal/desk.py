"""What the desk shows of the portal messages: a dossier's own (its page), and the ward's failed and long-waiting
ones (the operators' list, /staff/portal). Reads only."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from server.dossiers.models import Dossier
from server.extensions import db
from server.portal.models import PortalAction
from server.portal.models import PortalMessage
from server.portal.models import PortalStatus
from server.types import utcnow

STATUS_LABELS = {
    PortalStatus.QUEUED: _l("Đang chờ gửi"),
    PortalStatus.SENDING: _l("Đang gửi"),
    PortalStatus.SENT: _l("Đã gửi"),
    PortalStatus.FAILED: _l("Bị từ chối, cần xử lý"),
}
ACTION_LABELS = {
    PortalAction.SYNC_DOSSIER: _l("Đồng bộ hồ sơ"),
    PortalAction.UPDATE_PROGRESS: _l("Cập nhật tiến độ"),
}
#: The operators' list shows at most this many rows (the oldest first: those are what holds dossiers back).
LIST_LIMIT = 200


def dossier_messages(dossier_id: int) -> dict:
    """The dossier page's section: its messages in order, and whether a portal is configured at all."""
    rows = list(db.session.scalars(select(PortalMessage).where(PortalMessage.dossier_id == dossier_id)
                                   .order_by(PortalMessage.seq)))
    return {"messages": rows, "configured": bool(current_app.config.get("PORTAL_URL")),
            "status_labels": STATUS_LABELS, "action_labels": ACTION_LABELS}


def waiting_since():
    return utcnow() - timedelta(minutes=current_app.config["PORTAL_WAITING_ALERT_MINUTES"])


def ward_problems(agency_id: int) -> list[tuple[PortalMessage, str | None]]:
    """The ward's failed messages and those still unsent after PORTAL_WAITING_ALERT_MINUTES, with their dossier's
    code, oldest first."""
    unsent = PortalMessage.status.in_((PortalStatus.QUEUED, PortalStatus.SENDING))
    rows = db.session.execute(
        select(PortalMessage, Dossier.code).join(Dossier, Dossier.id == PortalMessage.dossier_id)
        .where(Dossier.agency_id == agency_id,
               or_(PortalMessage.status == PortalStatus.FAILED,
                   and_(unsent, PortalMessage.created_at < waiting_since())))
        .order_by(PortalMessage.created_at, PortalMessage.id).limit(LIST_LIMIT)).all()
    return [(row[0], row[1]) for row in rows]


def ward_message(agency_id: int, message_id: int) -> PortalMessage | None:
    """A message of a dossier the ward received, or None (another ward's is not revealed)."""
    return db.session.scalar(select(PortalMessage).join(Dossier, Dossier.id == PortalMessage.dossier_id)
                             .where(PortalMessage.id == message_id, Dossier.agency_id == agency_id))
