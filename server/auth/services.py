"""Account operations: invitations, recovery links, passkeys and devices. Services flush; callers commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from server.auth.audit import audit
from server.auth.models import Device
from server.auth.models import Invitation
from server.auth.models import InvitationKind
from server.auth.models import PasskeyCredential
from server.auth.models import Role
from server.auth.models import User
from server.extensions import db
from server.people.identity import check_full_name
from server.reference.models import Agency
from server.types import utcnow


class AccountError(Exception):
    """A refused account operation, with its HTTP status and a message in both languages."""

    def __init__(self, status: int, code: str, vi: str, en: str):
        super().__init__(en)
        self.status, self.code, self.vi, self.en = status, code, vi, en


def token_hash(token: str) -> str:
    """Only hashes of link tokens are stored: a leaked database cannot be turned into sign-up links."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(role: Role, agency: Agency | None, display_name: str, created_by: User | None):
    """Invite someone to register a first passkey for ``role`` (in ``agency`` for ward roles).

    :returns: (invitation, raw token); the link is ``/invite/<token>``.
    """
    if role is Role.CITIZEN:
        raise AccountError(422, "citizen_invitation", "Công dân tự đăng ký, không cần lời mời.",
                           "Citizens register themselves; they are not invited.")
    if role.ward_scoped and agency is None:
        raise AccountError(422, "ward_required", "Vai trò này cần chọn phường.", "This role needs a ward.")
    if not display_name.strip():
        raise AccountError(422, "name_required", "Phải ghi họ tên người được mời.", "Give the invitee's name.")
    name = check_full_name(display_name)
    if not name.ok:
        raise AccountError(422, name.errors[0].code, name.errors[0].vi, name.errors[0].en)
    display_name = name.value
    token = secrets.token_urlsafe(32)
    hours = current_app.config["INVITATION_TTL_HOURS"]
    invitation = Invitation(
        kind=InvitationKind.INVITATION, token_hash=token_hash(token), role=role,
        agency=agency if role.ward_scoped else None, display_name=display_name.strip(),
        created_by_id=created_by.id if created_by else None, expires_at=utcnow() + timedelta(hours=hours),
    )
    db.session.add(invitation)
    db.session.flush()
    audit("invitation_created", created_by, invitation, role=role.value,
          agency=agency.agency_code if agency else None)
    return invitation, token


def _ward_has_dossiers_of(clerk: User, citizen: User) -> bool:
    """Whether ``citizen``'s account follows (as owner or invited relative) a dossier of ``clerk``'s ward."""
    from server.dossiers.models import Dossier
    from server.dossiers.models import DossierFollower

    return db.session.scalar(
        select(DossierFollower.id).join(Dossier, Dossier.id == DossierFollower.dossier_id)
        .where(DossierFollower.user_id == citizen.id, Dossier.agency_id == clerk.agency_id).limit(1)) is not None


def create_recovery_link(user: User, created_by: User | None):
    """A single-use link that lets ``user`` register a new passkey after the desk checked their identity.

    ``created_by`` is None for links the system makes itself (the CLI, the demo banner). A ward's desk may recover
    only a citizen whose account follows one of the ward's dossiers; the citizen is told when the new passkey is
    added (server/auth/api.py).
    """
    if created_by is not None and created_by.role is not Role.ADMIN and user.role is not Role.CITIZEN:
        raise AccountError(403, "recovery_forbidden", "Chỉ quản trị viên cấp lại cho cán bộ.",
                           "Only an administrator can recover a staff account.")
    if created_by is not None and created_by.role.ward_scoped and not _ward_has_dossiers_of(created_by, user):
        raise AccountError(403, "recovery_not_in_ward",
                           "Phường chỉ cấp lại cho người dân có hồ sơ tại phường.",
                           "A ward can recover only the accounts of citizens with a dossier at that ward.")
    token = secrets.token_urlsafe(32)
    hours = current_app.config["RECOVERY_TTL_HOURS"]
    invitation = Invitation(
        kind=InvitationKind.RECOVERY, token_hash=token_hash(token), role=user.role, display_name=user.display_name,
        user_id=user.id, created_by_id=created_by.id if created_by else None,
        expires_at=utcnow() + timedelta(hours=hours),
    )
    db.session.add(invitation)
    db.session.flush()
    audit("recovery_issued", created_by, user)
    return invitation, token


def find_link(token: str, kind: InvitationKind) -> Invitation:
    """The usable invitation or recovery link for ``token``.

    :raises AccountError: 404 unknown, 410 expired, used or revoked.
    """
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token),
                                                            Invitation.kind == kind))
    find_link_still_valid(invitation)
    return invitation


def find_link_still_valid(invitation: Invitation | None) -> None:
    """Refuse a link that does not exist, was used or revoked, or expired (checked again when redeeming)."""
    if invitation is None:
        raise AccountError(404, "link_unknown", "Liên kết không tồn tại.", "This link does not exist.")
    if invitation.redeemed_at is not None or invitation.revoked_at is not None:
        raise AccountError(410, "link_used", "Liên kết đã được sử dụng hoặc bị thu hồi.",
                           "This link was already used or revoked.")
    if invitation.expires_at <= utcnow():
        raise AccountError(410, "link_expired", "Liên kết đã hết hạn; xin cấp liên kết mới.",
                           "This link has expired; ask for a new one.")


def redeem(invitation: Invitation, user: User) -> None:
    """Mark the link used, atomically: of two simultaneous redemptions only one succeeds."""
    done = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.redeemed_at.is_(None), Invitation.revoked_at.is_(None))
        .values(redeemed_at=utcnow(), redeemed_by_id=user.id)
    )
    if done.rowcount != 1:
        raise AccountError(410, "link_used", "Liên kết đã được sử dụng.", "This link was already used.")
    audit("invitation_redeemed" if invitation.kind is InvitationKind.INVITATION else "recovery_redeemed",
          user, invitation)


def revoke_invitation(invitation: Invitation, actor: User) -> None:
    invitation.revoked_at = utcnow()
    audit("invitation_revoked", actor, invitation)


def active_passkey_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(PasskeyCredential).where(
        PasskeyCredential.user_id == user.id, PasskeyCredential.revoked_at.is_(None)))


def revoke_passkey(passkey: PasskeyCredential, actor: User) -> None:
    """Revoke one passkey; the last one cannot be revoked by its owner (they would be locked out)."""
    if passkey.revoked_at is not None:
        return
    if actor.id == passkey.user_id and active_passkey_count(actor) <= 1:
        raise AccountError(409, "last_passkey", "Không thể thu hồi khóa truy cập cuối cùng; hãy thêm khóa khác trước.",
                           "You cannot revoke your last passkey; add another one first.")
    passkey.revoked_at = utcnow()
    audit("passkey_revoked", actor, passkey, owner=passkey.user_id)


def revoke_device(device: Device, actor: User) -> None:
    """End the device's sessions now and flag it to wipe its local data at its next contact.

    Passkeys created on the device are revoked too: a lost phone must not sign in again.
    """
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        device.revoked_by_id = actor.id
        db.session.execute(
            update(PasskeyCredential)
            .where(PasskeyCredential.device_id == device.id, PasskeyCredential.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        audit("device_revoked", actor, device, owner=device.user_id)


def register_device(user: User, name: str | None, user_agent: str | None) -> Device:
    """Record an officer's phone at its first sign-in."""
    label = (name or "").strip()[:120] or device_label(user_agent)
    device = Device(user_id=user.id, name=label, user_agent=(user_agent or "")[:500], last_seen_at=utcnow())
    db.session.add(device)
    db.session.flush()
    audit("device_registered", user, device)
    return device


def device_label(user_agent: str | None) -> str:
    """A readable name for a phone from its user agent, until its owner names it."""
    agent = user_agent or ""
    for marker, label in (("Android", "Điện thoại Android"), ("iPhone", "iPhone"), ("iPad", "iPad")):
        if marker in agent:
            return label
    return "Thiết bị"


#: Browsers by the marker of their user agent, most specific first (Edge, Opera, Samsung Internet and Cốc Cốc all
#: also say "Chrome"; Chrome on iOS says "CriOS" and "Safari").
_BROWSERS = (("EdgA/", "Edge"), ("EdgiOS/", "Edge"), ("Edg/", "Edge"), ("OPR/", "Opera"),
             ("coc_coc_browser", "Cốc Cốc"), ("SamsungBrowser/", "Samsung Internet"), ("Zalo", "Zalo"),
             ("FxiOS/", "Firefox"), ("Firefox/", "Firefox"),
             ("CriOS/", "Chrome"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
#: Systems likewise (an iPad in desktop mode says "Macintosh"; Android also says "Linux").
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Macintosh", "Mac"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def user_agent_words(user_agent: str | None) -> str:
    """A device's browser and system in words, as people name them: "Chrome trên Android" (issue 11 point 8),
    never the user-agent string itself. Unknown parts are left out; nothing known is "Trình duyệt không rõ"."""
    from flask_babel import gettext as _

    agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser and system:
        return _("%(browser)s trên %(system)s", browser=browser, system=system)
    return browser or system or _("Trình duyệt không rõ")


def change_user(user: User, actor: User, role: Role | None = None, active: bool | None = None) -> None:
    """Change a user's role or activation; both end the user's sessions and are audited."""
    if role is not None and role is not user.role:
        if role.ward_scoped and user.agency_id is None:
            raise AccountError(422, "ward_required", "Vai trò này cần chọn phường.", "This role needs a ward.")
        audit("role_changed", actor, user, old=user.role.value, new=role.value)
        user.role = role
        user.session_version += 1
    if active is not None and active != user.active:
        audit("user_activated" if active else "user_deactivated", actor, user)
        user.active = active
        user.session_version += 1


def sign_out_everywhere(user: User) -> None:
    user.session_version += 1
    audit("signed_out_everywhere", user, user)
