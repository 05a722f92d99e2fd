"""Sessions: Flask-Login in the signed session cookie, with per-role lifetimes, devices and revocation.

The cookie alone cannot be revoked, so every request re-checks it against the database: the user's
``session_version`` (sign-out everywhere, role change), the officer's device (revoked → wipe) and the lifetime of
the role (officers on a registered phone: sliding 14 days; staff, leaders, administrators: 12 hours from sign-in;
citizens: sliding 30 days).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app
from flask import g
from flask import session
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from server.auth.audit import audit
from server.auth.models import Device
from server.auth.models import Role
from server.auth.models import User
from server.extensions import db
from server.types import utcnow

DEVICE_COOKIE = "motcua_device"
_SEEN_GRANULARITY = 60  # seconds: do not rewrite the cookie on every request of a burst
_DEVICE_SEEN_GRANULARITY = timedelta(minutes=5)


def start_session(user: User, device: Device | None) -> None:
    """Sign ``user`` in on this browser (and on ``device`` for an officer's phone)."""
    session.clear()
    login_user(user)
    session.permanent = True
    now = int(utcnow().timestamp())
    session["auth_at"] = session["seen_at"] = now
    if device is not None:
        session["device_id"] = str(device.id)
    audit("signed_in", user, user, device=str(device.id) if device else None)


def end_session() -> None:
    """Forget the signed-in user in this browser."""
    logout_user()
    session.clear()


def current_device() -> Device | None:
    device_id = session.get("device_id")
    if not device_id:
        return None
    try:
        return db.session.get(Device, uuid.UUID(device_id))
    except ValueError:
        return None


def _lifetime(user: User, on_device: bool) -> tuple[timedelta, bool]:
    """(how long, sliding?) for this user's session."""
    config = current_app.config
    if user.role is Role.OFFICER and on_device:
        return timedelta(days=config["OFFICER_SESSION_DAYS"]), True
    if user.role is Role.CITIZEN:
        return timedelta(days=config["CITIZEN_SESSION_DAYS"]), True
    return timedelta(hours=config["STAFF_SESSION_HOURS"]), False


def enforce_session() -> None:
    """Drop a session that expired or whose device was revoked (before any access rule is checked)."""
    if not current_user.is_authenticated:
        return
    now = int(utcnow().timestamp())
    device = current_device()
    revoked = device is None or device.revoked_at is not None or device.user_id != current_user.id
    if session.get("device_id") and revoked:
        g.wipe_local_data = True
        end_session()
        return
    lifetime, sliding = _lifetime(current_user, device is not None)
    since = session.get("seen_at" if sliding else "auth_at", 0)
    if now - since > lifetime.total_seconds():
        g.session_expired = True
        end_session()
        return
    if sliding and now - session.get("seen_at", 0) > _SEEN_GRANULARITY:
        session["seen_at"] = now
    stale = device is not None and (
        device.last_seen_at is None or utcnow() - device.last_seen_at > _DEVICE_SEEN_GRANULARITY
    )
    if stale:
        device.last_seen_at = utcnow()
        db.session.commit()


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: "<id>.<session version>" must match the stored version."""
    user_id, _, version = session_id.partition(".")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
