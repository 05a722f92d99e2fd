"""Claim tokens: how a dossier captured at the door reaches the citizen's own account.

The officer's phone makes the owner's token at the door, offline, prints it in the receipt's QR code
(``/follow/<code>?t=<token>``) and sends only its SHA-256 with the dossier. Whoever scans the receipt (the owner, or
a relative holding the owner's phone) becomes the dossier's owner account; that account can then invite other
relatives with tokens the server makes. A token is single-use and expires; the server keeps only hashes.

Tokens are 26 characters (owner, 130 bits) or 16 characters (invitation, 80 bits, easy to type) of the RFC 4648
base32 alphabet, so that they survive being read aloud or typed: dashes, spaces and case are ignored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from server.auth.audit import audit
from server.auth.models import Role
from server.auth.models import User
from server.dossiers.models import Dossier
from server.dossiers.models import DossierClaim
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.extensions import db
from server.types import utcnow

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
OWNER_TOKEN_LENGTH = 26
INVITE_TOKEN_LENGTH = 16
_TOKEN = re.compile(f"^[{ALPHABET}]{{{INVITE_TOKEN_LENGTH},{OWNER_TOKEN_LENGTH}}}$")


class ClaimError(Exception):
    """A token that cannot be used, with the reason in both languages."""

    def __init__(self, code: str, vi: str, en: str):
        super().__init__(en)
        self.code, self.vi, self.en = code, vi, en


UNKNOWN = ClaimError(
    "unknown",
    "Mã này chưa có trên hệ thống. Nếu cán bộ vừa tiếp nhận hồ sơ, điện thoại của cán bộ sẽ gửi hồ sơ khi có "
    "mạng; vui lòng thử lại sau. Nếu không, hãy kiểm tra lại mã.",
    "This code is not on record yet. If the officer has just received the dossier, their phone sends it when it has "
    "a network; please try again later. Otherwise check the code.")
USED = ClaimError("used", "Mã này đã được dùng. Nếu chính bạn đã dùng, hãy đăng nhập để xem hồ sơ.",
                  "This code has already been used. If it was you, sign in to see the dossier.")
EXPIRED = ClaimError("expired", "Mã này đã hết hạn. Hãy nhờ chủ hồ sơ gửi mã mới, hoặc liên hệ Bộ phận Một cửa.",
                     "This code has expired. Ask the dossier's owner for a new one, or contact the one-stop desk.")
NOT_CITIZEN = ClaimError("not_citizen", "Chỉ tài khoản công dân mới theo dõi được hồ sơ.",
                         "Only citizen accounts can follow a dossier.")


def normalise(token: str | None) -> str:
    """The token as issued, from what was typed or scanned: no dashes or spaces, upper case."""
    return re.sub(r"[\s-]", "", token or "").upper()


def token_sha256(token: str) -> str:
    return hashlib.sha256(normalise(token).encode()).hexdigest()


def looks_like_token(token: str | None) -> bool:
    return bool(_TOKEN.match(normalise(token)))


def new_token(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def group(token: str) -> str:
    """``ABCD-EFGH-…``: how an invitation code is shown for typing."""
    return "-".join(token[i:i + 4] for i in range(0, len(token), 4))


def record_owner_token(dossier: Dossier, digest: str, officer: User) -> DossierClaim:
    """Store the hash the officer's phone sent with the dossier. Flushes; the caller commits."""
    if db.session.scalar(select(DossierClaim.id).where(DossierClaim.token_sha256 == digest)) is not None:
        raise ClaimError("duplicate", "Mã theo dõi trùng với mã đã có.", "This claim token is already in use.")
    claim = DossierClaim(dossier=dossier, token_sha256=digest, role=FollowRole.OWNER, created_by_id=officer.id,
                         expires_at=utcnow() + timedelta(days=current_app.config["CLAIM_TOKEN_DAYS"]))
    db.session.add(claim)
    db.session.flush()
    return claim


def invite_follower(dossier: Dossier, owner: User) -> tuple[DossierClaim, str]:
    """A new invitation of a relative; returns it and the raw token (shown once, never stored)."""
    token = new_token(INVITE_TOKEN_LENGTH)
    claim = DossierClaim(dossier=dossier, token_sha256=token_sha256(token), role=FollowRole.FOLLOWER,
                         created_by_id=owner.id,
                         expires_at=utcnow() + timedelta(days=current_app.config["FOLLOWER_INVITE_DAYS"]))
    db.session.add(claim)
    db.session.flush()
    audit("follower_invited", owner, dossier)
    return claim, token


def find(token: str | None, now: datetime | None = None, lock: bool = False) -> DossierClaim:
    """The claim a token opens, or ClaimError (unknown, used, expired)."""
    if not looks_like_token(token):
        raise UNKNOWN
    query = select(DossierClaim).where(DossierClaim.token_sha256 == token_sha256(token))
    if lock:
        query = query.with_for_update()
    claim = db.session.scalar(query)
    if claim is None:
        raise UNKNOWN
    if claim.used_at is not None:
        raise USED
    if claim.expires_at <= (now or utcnow()):
        raise EXPIRED
    return claim


def redeem(token: str, user: User) -> DossierFollower:
    """Link the dossier to ``user`` and spend the token. Flushes; the caller commits.

    The claim row is locked (PostgreSQL), and the conditional update below makes a second, concurrent use of the
    same token fail on SQLite too.
    """
    if user.role is not Role.CITIZEN:
        raise NOT_CITIZEN
    claim = find(token, lock=True)
    now = utcnow()
    spent = db.session.execute(
        DossierClaim.__table__.update()
        .where(DossierClaim.id == claim.id, DossierClaim.used_at.is_(None))
        .values(used_at=now, used_by_id=user.id)
    ).rowcount
    if spent != 1:
        raise USED
    follower = db.session.scalar(select(DossierFollower).where(DossierFollower.dossier_id == claim.dossier_id,
                                                               DossierFollower.user_id == user.id))
    if follower is None:
        follower = DossierFollower(dossier_id=claim.dossier_id, user_id=user.id, role=claim.role,
                                   granted_by_id=claim.created_by_id)
        db.session.add(follower)
    elif claim.role is FollowRole.OWNER:
        follower.role = FollowRole.OWNER  # an invited relative who then scans the receipt becomes the owner account
    db.session.flush()
    audit("dossier_claimed", user, claim.dossier, role=claim.role.value)
    return follower
