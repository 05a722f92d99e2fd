"""The recent audit rows of the objects an administration page shows, with who did it and in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from server.auth.models import AuditEvent
from server.auth.models import User
from server.extensions import db

RECENT = 20


def action_labels() -> dict[str, str]:
    """What each administration action is called on the pages."""
    return {
        "procedure_created": _("Tạo thủ tục"),
        "procedure_version_added": _("Thêm phiên bản thủ tục"),
        "calendar_override_added": _("Thêm điều chỉnh lịch"),
        "calendar_override_removed": _("Xóa điều chỉnh lịch"),
        "agency_created": _("Tạo phường"),
        "agency_changed": _("Sửa thông tin phường"),
        "position_changed": _("Đổi chức vụ"),
        "role_changed": _("Đổi vai trò"),
        "user_activated": _("Mở khóa tài khoản"),
        "user_deactivated": _("Khóa tài khoản"),
    }


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    action: str
    label: str
    actor_name: str | None
    target_id: str | None
    data: dict


def recent(target_type: str, target_id: int | str | None = None, limit: int = RECENT) -> list[AuditLine]:
    """The newest audit rows about objects of ``target_type`` (one object when ``target_id`` is given)."""
    query = select(AuditEvent).where(AuditEvent.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == str(target_id))
    events = list(db.session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(actor_ids))).all()) \
        if actor_ids else {}
    labels = action_labels()
    return [AuditLine(e.at, e.action, labels.get(e.action, e.action), names.get(e.actor_id), e.target_id,
                      e.data or {}) for e in events]
