"""Public pages: home, language switch, health check."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy import text

from server.auth.access import home_for
from server.auth.access import public
from server.extensions import db
from server.security import safe_next
from server.types import utcnow

bp = Blueprint("web", __name__)

_ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
@public
def index():
    """The landing page for visitors; a signed-in user is sent where their work is (the brand link leads here)."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return render_template("index.html")


@bp.get("/language/<code>")
@public
def choose_language(code: str):
    """Remember the visitor's language and go back where they were. An unknown code is a 404: the service worker
    remembers the code of every switch it sees answered (pwa/sw/strategies.js), so only real ones may succeed."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    response = redirect(safe_next(request.args.get("next")) or "/")
    response.set_cookie(
        current_app.config["LANGUAGE_COOKIE"], code, max_age=_ONE_YEAR, samesite="Lax", httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@bp.get("/healthz")
@public
def healthz():
    """Each dependency, for load balancers and the embedded launcher: the database, the attachment store
    (writable), the push worker (its heartbeat). 503 when one that is required is down; reasons go to the log."""
    checks = {"database": _check_database(), "attachments": _check_attachments(), "push_worker": _check_push()}
    required = current_app.config["HEALTH_REQUIRES_PUSH_WORKER"]
    if required is None:
        required = current_app.config["APP_ENV"] == "production" or current_app.config["PUSH_EMBEDDED_WORKER"]
    failing = [name for name, state in checks.items() if state != "ok" and (name != "push_worker" or required)]
    response = jsonify(status="error" if failing else "ok", **checks)
    return response, 503 if failing else 200


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not healthy"; the reason goes to the log, not to the caller
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        return "unreachable"
    return "ok"


def _check_attachments() -> str:
    """The configured store answers and takes files: the folder is writable, or the bucket is there."""
    from server.storage import backend

    return backend().check()


def _check_push() -> str:
    from server.push.models import WorkerHeartbeat
    from server.push.sender import HEARTBEAT_NAME

    try:
        beat_at = db.session.scalar(select(WorkerHeartbeat.beat_at).where(WorkerHeartbeat.name == HEARTBEAT_NAME))
    except Exception:
        db.session.rollback()
        return "unknown"
    if beat_at is None:
        return "never_seen"
    if utcnow() - beat_at > timedelta(seconds=current_app.config["PUSH_HEARTBEAT_MAX_AGE_SECONDS"]):
        return "stale"
    return "ok"
