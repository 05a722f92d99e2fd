"""Administration of people, invitations and devices; recovery links issued at the desk (JSON)."""

from __future__ import annotations

import uuid

from flask import Blueprint
from flask import current_app
from flask import request
from flask import url_for
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy import select

from server.access_log.record import record_view
from server.api.openapi import body
from server.api.openapi import operation
from server.api.openapi import schema
from server.auth import services
from server.auth.access import roles_required
from server.auth.api import DEVICE
from server.auth.api import DEVICE_LIST
from server.auth.api import ROLE
from server.auth.api import WARD
from server.auth.api import account_problem
from server.auth.api import device_json
from server.auth.api import iso
from server.auth.api import ward_json
from server.auth.models import Device
from server.auth.models import Invitation
from server.auth.models import InvitationKind
from server.auth.models import PasskeyCredential
from server.auth.models import Role
from server.auth.models import User
from server.breach.services import notification_deadline
from server.errors import ApiProblem
from server.errors import field_error
from server.extensions import db
from server.reference.models import Agency

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")

TAGS = ["Administration"]

ADMIN_USER = schema("AdminUser", {
    "type": "object", "required": ["id", "name", "role", "ward", "active", "passkey_count"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "role": ROLE, "ward": WARD,
                   "active": {"type": "boolean"}, "passkey_count": {"type": "integer"}},
})
ADMIN_USER_LIST = schema("AdminUserList", {"type": "object", "required": ["users"],
                                           "properties": {"users": {"type": "array", "items": ADMIN_USER}}})
USER_CHANGE = schema("UserChange", {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {"role": ROLE, "active": {"type": "boolean"}},
})
INVITATION = schema("Invitation", {
    "type": "object", "required": ["id", "role", "ward", "display_name", "created_at", "expires_at", "redeemed_at"],
    "properties": {"id": {"type": "integer"}, "role": ROLE, "ward": WARD, "display_name": {"type": "string"},
                   "created_at": {"type": "string"}, "expires_at": {"type": "string"},
                   "redeemed_at": {"type": ["string", "null"]}, "revoked_at": {"type": ["string", "null"]},
                   "link": {"type": "string", "description": "Only in the answer that creates it"}},
})
INVITATION_LIST = schema("InvitationList", {"type": "object", "required": ["invitations"],
                                            "properties": {"invitations": {"type": "array", "items": INVITATION}}})
INVITE = schema("InvitationRequest", {
    "type": "object", "required": ["role", "display_name"], "additionalProperties": False,
    "properties": {"role": {"enum": ["officer", "staff", "leader", "admin"]},
                   "agency_code": {"type": ["string", "null"], "maxLength": 32},
                   "display_name": {"type": "string", "minLength": 1, "maxLength": 200}},
})
RECOVERY_LINK = schema("RecoveryLink", {"type": "object", "required": ["link", "expires_at"],
                                        "properties": {"link": {"type": "string"}, "expires_at": {"type": "string"}}})


def link_url(path: str, token: str) -> str:
    """An absolute link on this site (the host the administrator is using)."""
    return f"{request.host_url.rstrip('/')}/{path}/{token}"


def user_json(user: User, passkey_count: int) -> dict:
    return {"id": user.id, "name": user.display_name, "role": user.role.value, "ward": ward_json(user.agency),
            "active": user.active, "passkey_count": passkey_count}


def invitation_json(invitation: Invitation, token: str | None = None) -> dict:
    data = {"id": invitation.id, "role": invitation.role.value, "ward": ward_json(invitation.agency),
            "display_name": invitation.display_name, "created_at": iso(invitation.created_at),
            "expires_at": iso(invitation.expires_at), "redeemed_at": iso(invitation.redeemed_at),
            "revoked_at": iso(invitation.revoked_at)}
    if token:
        data["link"] = link_url("invite", token)
    return data


def _not_found(vi: str, en: str) -> ApiProblem:
    return ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"), (vi, en))


@bp.get("/admin/users")
@roles_required("admin")
@operation("Every account with its role, ward and number of passkeys", tags=TAGS, responses={200: ADMIN_USER_LIST})
def list_users():
    counts = dict(db.session.execute(
        select(PasskeyCredential.user_id, func.count()).where(PasskeyCredential.revoked_at.is_(None))
        .group_by(PasskeyCredential.user_id)).all())
    record_view("account_list")  # every account's name and role: about nobody in particular, still recorded
    users = db.session.scalars(select(User).order_by(User.role, User.display_name))
    return {"users": [user_json(u, counts.get(u.id, 0)) for u in users]}


@bp.patch("/admin/users/<int:user_id>")
@roles_required("admin")
@operation("Change a user's role or deactivate them (ends their sessions)", tags=TAGS, request_body=USER_CHANGE,
           responses={200: ADMIN_USER})
def change_user(user_id: int):
    data = body()
    user = db.session.get(User, user_id)
    if user is None:
        raise _not_found("Không có người dùng này.", "No such user.")
    if user.id == current_user.id:
        raise ApiProblem(409, "self-change", ("Xung đột", "Conflict"),
                         ("Không tự đổi vai trò hoặc tự khóa tài khoản của mình.",
                          "You cannot change your own role or deactivate yourself."))
    try:
        services.change_user(user, current_user, role=Role(data["role"]) if "role" in data else None,
                             active=data.get("active"))
    except services.AccountError as error:
        raise account_problem(error) from None
    db.session.commit()
    return user_json(user, services.active_passkey_count(user))


@bp.get("/admin/invitations")
@roles_required("admin")
@operation("Invitations, newest first", tags=TAGS, responses={200: INVITATION_LIST})
def list_invitations():
    rows = db.session.scalars(select(Invitation).where(Invitation.kind == InvitationKind.INVITATION)
                              .order_by(Invitation.created_at.desc()).limit(500))
    return {"invitations": [invitation_json(i) for i in rows]}


@bp.post("/admin/invitations")
@roles_required("admin")
@operation("Invite an officer, staff member, leader or administrator; answers the single-use link", tags=TAGS,
           request_body=INVITE, responses={201: INVITATION})
def invite():
    data = body()
    role = Role(data["role"])
    agency = None
    if data.get("agency_code"):
        agency = Agency.by_code(data["agency_code"])
        if agency is None:
            raise ApiProblem(422, "unknown-ward", ("Không tìm thấy phường", "Unknown ward"),
                             ("Không có cơ quan với mã này.", "No agency has this code."),
                             errors=[field_error("agency_code", "unknown", "Không có cơ quan với mã này.",
                                                 "No agency has this code.")])
    try:
        invitation, token = services.create_invitation(role, agency, data["display_name"], current_user)
    except services.AccountError as error:
        raise account_problem(error) from None
    db.session.commit()
    return invitation_json(invitation, token), 201


@bp.delete("/admin/invitations/<int:invitation_id>")
@roles_required("admin")
@operation("Revoke an invitation that was not used yet", tags=TAGS, responses={204: None})
def revoke_invitation(invitation_id: int):
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.kind is not InvitationKind.INVITATION:
        raise _not_found("Không có lời mời này.", "No such invitation.")
    services.revoke_invitation(invitation, current_user)
    db.session.commit()
    return "", 204


@bp.post("/users/<int:user_id>/recovery-link")
@roles_required("staff", "leader", "admin")
@operation("Issue a recovery link after checking the person's identity at the desk", tags=TAGS,
           responses={201: RECOVERY_LINK})
def recovery_link(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        raise _not_found("Không có người dùng này.", "No such user.")
    try:
        invitation, token = services.create_recovery_link(user, current_user)
    except services.AccountError as error:
        raise account_problem(error) from None
    db.session.commit()
    return {"link": link_url("recover", token), "expires_at": iso(invitation.expires_at)}, 201


def admin_device_json(device: Device) -> dict:
    """A device as the administrator sees it: a revoked one with its breach report and notification deadline."""
    data = device_json(device)
    if device.revoked_at is not None:
        data["breach_report"] = {"notification_due_at": iso(notification_deadline(device.revoked_at)),
                                 "hours": current_app.config["BREACH_NOTIFICATION_HOURS"],
                                 "url": url_for("breach.report_page", device_id=device.id)}
    return data


@bp.get("/admin/devices")
@roles_required("admin")
@operation("Every officer's device (a revoked one with its breach report's link and notification deadline)",
           tags=TAGS, responses={200: DEVICE_LIST})
def list_devices():
    devices = db.session.scalars(select(Device).order_by(Device.registered_at.desc()))
    return {"devices": [admin_device_json(d) for d in devices]}


@bp.post("/admin/devices/<device_id>/revoke")
@roles_required("admin")
@operation("Revoke a device: its sessions end now and it wipes its local data at its next contact; the answer "
           "links its breach report", tags=TAGS,
           responses={200: DEVICE})
def revoke_device(device_id: str):
    try:
        device = db.session.get(Device, uuid.UUID(device_id))
    except ValueError:
        device = None
    if device is None:
        raise _not_found("Không có thiết bị này.", "No such device.")
    services.revoke_device(device, current_user)
    db.session.commit()
    return admin_device_json(device)
