"""The desk's check of a citizen's ID card: the one proof besides the receipt's claim token and the owner's
invitation that links a citizen's account to a dossier as its owner (server/citizen/access.py).

The clerk sees the card, reads its personal ID (from the chip, or by eye) and types it: it must be the ID the
officer captured as the dossier's owner and the ID the account declared. The check is recorded on the account
(who, when, how) and in the audit log; the dossier's own people are not changed.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from server.auth.audit import audit
from server.auth.models import Role
from server.auth.models import User
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.extensions import db
from server.types import utcnow

#: How the card was checked: its chip read with the VNeID/reader app, or the card looked at.
METHODS = ("chip_read", "card_sighted")


def method_labels() -> dict[str, str]:
    return {"chip_read": _("Đọc chip căn cước"), "card_sighted": _("Xem trực tiếp thẻ căn cước")}


def link_owner_after_id_check(dossier: Dossier, form, clerk: User) -> tuple[User | None, dict[str, str]]:
    """Link the account named in ``form`` as the owner of ``dossier``; (account, {}) or (None, field messages).
    Adds to the session; the caller commits."""
    errors: dict[str, str] = {}
    account_text = (form.get("account_id") or "").strip()
    card_id = "".join((form.get("card_personal_id") or "").split())
    method = form.get("method") or ""
    account = db.session.get(User, int(account_text)) if account_text.isdigit() and len(account_text) < 10 else None
    if account is None or account.role is not Role.CITIZEN or not account.active:
        errors["account_id"] = _("Không có tài khoản người dân với mã này.")
    if method not in METHODS:
        errors["method"] = _("Chọn cách đã kiểm tra thẻ căn cước.")
    if not dossier.owner.personal_id or card_id != dossier.owner.personal_id:
        errors["card_personal_id"] = _("Số trên thẻ căn cước không phải số định danh của chủ hồ sơ.")
    elif account is not None and "account_id" not in errors and (
            account.person is None or account.person.personal_id != card_id):
        errors["account_id"] = _("Tài khoản này khai một số định danh khác với thẻ căn cước.")
    if form.get("confirmed") != "yes":
        errors["confirmed"] = _("Xác nhận đã đối chiếu ảnh và thông tin trên thẻ với người đang có mặt.")
    if errors:
        return None, errors
    now = utcnow()
    account.identity_verified_at, account.identity_verified_by_id = now, clerk.id
    account.identity_verified_method = method
    follower = db.session.scalar(select(DossierFollower).where(DossierFollower.dossier_id == dossier.id,
                                                               DossierFollower.user_id == account.id))
    if follower is None:
        db.session.add(DossierFollower(dossier_id=dossier.id, user_id=account.id, role=FollowRole.OWNER,
                                       granted_by_id=clerk.id))
    else:
        follower.role = FollowRole.OWNER
    audit("identity_checked", clerk, account, dossier_id=dossier.id, method=method)
    return account, {}
