"""A person's position (chức vụ), role and activation, changed by an administrator; every change audited.

Role and activation go through :func:`server.auth.services.change_user` (which audits them and ends the user's
sessions); the position is only a label on receipts and pages, so changing it keeps the sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from server.admin.forms import Submitted
from server.auth import services as account_services
from server.auth.audit import audit
from server.auth.models import Role
from server.auth.models import User

#: Roles an administrator may give (citizens register themselves and keep their role).
STAFF_ROLES = (Role.OFFICER, Role.STAFF, Role.LEADER, Role.ADMIN)
MAX_POSITION = 200


@dataclass
class UserChange:
    position: str | None
    role: Role
    active: bool


def read_user_form(form: MultiDict, user: User, actor: User) -> tuple[UserChange | None, Submitted]:
    """Check the user form; an administrator may not change their own role or lock themselves out."""
    values = {"position": " ".join((form.get("position") or "").split()), "role": form.get("role", ""),
              "active": form.get("active") == "1"}
    submitted = Submitted(values)
    errors = submitted.errors
    if len(values["position"]) > MAX_POSITION:
        errors["position"] = _("Chức vụ dài quá %(n)s ký tự.", n=MAX_POSITION)
    role = user.role
    if user.role is not Role.CITIZEN:
        try:
            role = Role(values["role"])
        except ValueError:
            role = None
        if role not in STAFF_ROLES:
            errors["role"] = _("Vui lòng chọn vai trò.")
        elif role is not user.role and role.ward_scoped and user.agency_id is None:
            errors["role"] = _("Vai trò này cần phường; người này chưa thuộc phường nào, hãy mời lại với mã phường.")
    if user.id == actor.id:
        if role is not None and role is not user.role:
            errors["role"] = _("Không tự đổi vai trò của mình.")
        if not values["active"]:
            errors["active"] = _("Không tự khóa tài khoản của mình.")
    if errors:
        return None, submitted
    return UserChange(position=values["position"] or None, role=role, active=values["active"]), submitted


def change_user(user: User, change: UserChange, actor: User) -> bool:
    """Apply the form; True when anything changed."""
    changed = False
    if change.position != user.position:
        audit("position_changed", actor, user, old=user.position, new=change.position)
        user.position = change.position
        changed = True
    if change.role is not user.role or change.active != user.active:
        account_services.change_user(user, actor, role=change.role, active=change.active)
        changed = True
    return changed
