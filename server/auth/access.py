"""Deny-by-default access control.

Every view must declare who may call it, with :func:`public` or :func:`roles_required`; a request that reaches a
view without a declaration is refused with 403, so a forgotten rule fails closed. Ward-scoped roles are further
limited to their own ward by the services (see :func:`require_same_ward`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from server.errors import ApiProblem
from server.extensions import db
from server.extensions import login_manager

log = logging.getLogger(__name__)

_ACCESS_ATTR = "_access_rule"
_SESSIONLESS_ATTR = "_sessionless"
#: Flask's own static route serves public files only (the app turns it off: server/pwa_routes.py serves /static).
_BUILTIN_PUBLIC = frozenset({"static"})


def public(view: Callable) -> Callable:
    """Mark a view as open to anonymous visitors."""
    setattr(view, _ACCESS_ATTR, "public")
    return view


def public_file(view: Callable) -> Callable:
    """Mark a view as public and the same for everyone: the session is not even read for it.

    For the app's own scripts, styles and icons. Reading the session makes the answer say ``Vary: Cookie``, and
    a cache that honours it keeps one copy per cookie, which defeats the year-long caching of versioned files;
    and a file fetched by the service worker in the background is no sign that the officer is still there (it
    must not extend an idle session).
    """
    setattr(view, _SESSIONLESS_ATTR, True)
    return public(view)


_TOKEN_SCHEME_ATTR = "_token_scheme"


def token_authenticated(scheme: str) -> Callable[[Callable], Callable]:
    """Mark a write that proves its caller with a token of its own in the body (``scheme``, described in the
    OpenAPI document), not with the session: no session is read (as for :func:`public_file`) and so no CSRF token
    is asked, since CSRF forges a request that rides on a cookie's authority, and this one has none to ride on.
    The view checks its token itself."""

    def decorate(view: Callable) -> Callable:
        from server.extensions import csrf

        setattr(view, _TOKEN_SCHEME_ATTR, scheme)
        csrf.exempt(view)
        return public_file(view)

    return decorate


def token_scheme(view: Callable) -> str | None:
    """The token scheme a view authenticates with (see :func:`token_authenticated`), or None."""
    return getattr(view, _TOKEN_SCHEME_ATTR, None)


def _is_public_file(app: Flask) -> bool:
    view = app.view_functions.get(request.endpoint) if request.endpoint else None
    return view is not None and getattr(view, _SESSIONLESS_ATTR, False)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie sessions, except that a public file's answer does not say ``Vary: Cookie`` (see
    :func:`public_file`): Flask-Login peeks at the session after every request, which alone would add it."""

    def save_session(self, app, session, response):
        super().save_session(app, session, response)
        if _is_public_file(app) and not session.modified:
            # Rebuilt rather than HeaderSet.discard(), which leaves a capitalised "Cookie" in place (werkzeug 3.1).
            kept = [name for name in response.vary if name.lower() != "cookie"]
            if kept:
                response.headers["Vary"] = ", ".join(kept)
            else:
                response.headers.pop("Vary", None)


def roles_required(*roles: str) -> Callable[[Callable], Callable]:
    """Mark a view as open to signed-in users holding one of ``roles`` ("authenticated" for any role)."""

    def decorate(view: Callable) -> Callable:
        setattr(view, _ACCESS_ATTR, frozenset(roles))
        return view

    return decorate


#: Where each role lands after enrolment or sign-in, and when a signed-in user opens ``/``: where its work is.
_HOMES = {
    "officer": "/app",  # the doorstep app (it works offline)
    "staff": "/staff/queue",  # the desk's queue
    "leader": "/leader",  # what is late, due soon, waiting for approval
    "citizen": "/my/dossiers",  # their own dossiers
    "admin": "/admin/people",  # accounts, invitations, recovery links
}


def home_for(user) -> str:
    """The page a signed-in ``user`` starts from (the one rule: the sign-in and enrolment answers and ``/`` use it)."""
    return _HOMES[user.role.value]


def access_rule(view: Callable) -> str | frozenset[str] | None:
    """The declared rule of a view function, or None when it has none (then it is refused)."""
    while view is not None:
        rule = getattr(view, _ACCESS_ATTR, None)
        if rule is not None:
            return rule
        view = getattr(view, "__wrapped__", None)
    return None


def _from_revoked_device() -> bool:
    """The request comes from a phone whose device registration was revoked (its long-lived device cookie).

    Checked at every 401, not only when the revoked session itself is dropped: the phone's worker and its page
    may both be talking to the server, and whichever comes second no longer has a session to lose. Each must still
    hear "wipe"; wiping twice is harmless.
    """
    from server.auth.models import Device
    from server.auth.sessions import DEVICE_COOKIE

    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return False
    try:
        device = db.session.get(Device, uuid.UUID(value))
    except ValueError:
        return False
    return device is not None and device.revoked_at is not None


def unauthorized() -> ApiProblem:
    """401; tells a revoked device to wipe its local data, and says when a session simply expired."""
    extra = {}
    if g.get("wipe_local_data") or _from_revoked_device():
        extra["wipe_local_data"] = True
    if g.get("session_expired"):
        extra["session_expired"] = True
    return ApiProblem(401, "unauthenticated", ("Cần đăng nhập", "Sign-in required"), **extra)


def forbidden(vi: str = "Bạn không có quyền thực hiện việc này.", en: str = "You may not do this.") -> ApiProblem:
    return ApiProblem(403, "forbidden", ("Không có quyền", "Forbidden"), (vi, en))


def _check_request() -> None:
    from server.auth.sessions import enforce_session

    if _is_public_file(current_app):
        return
    enforce_session()
    endpoint = request.endpoint
    if endpoint is None or endpoint in _BUILTIN_PUBLIC:
        return  # 404 and 405 are answered by Flask itself
    rule = access_rule(current_app.view_functions[endpoint])
    if rule == "public":
        return
    if rule is None:
        log.warning("refused: endpoint %s declares no access rule", endpoint)
        raise forbidden()
    if not current_user.is_authenticated:
        raise unauthorized()
    if "authenticated" not in rule and current_user.role.value not in rule:
        raise forbidden()


def require_same_ward(agency_id: int | None) -> None:
    """Refuse ward-scoped users acting on another ward's data."""
    user = current_user
    if user.role.ward_scoped and user.agency_id != agency_id:
        raise forbidden("Hồ sơ thuộc phường khác.", "This belongs to another ward.")


def configure_access(app: Flask) -> None:
    """Install the user loader and the deny-by-default check."""
    from server.auth.sessions import load_user

    login_manager.user_loader(load_user)
    # Flask-Login's "session protection" rewrites the session of every anonymous visitor that holds anything (a
    # CSRF token, a pending passkey challenge). With cookie sessions, a concurrent request (the service worker
    # precaching the app) then writes back an older cookie and the pending challenge is lost. We use no "fresh
    # login" logic, and our own checks (session version, device, lifetime) cover what protection would.
    login_manager.session_protection = None
    app.session_interface = _SessionInterface()

    @login_manager.unauthorized_handler
    def _unauthorized():
        raise unauthorized()

    app.before_request(_check_request)

