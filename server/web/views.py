"""Public pages: home, language switch, health check."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from sqlalchemy import text

from server.auth.access import public
from server.extensions import db
from server.security import safe_next

bp = Blueprint("web", __name__)

_ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
@public
def index():
    """The landing page."""
    return render_template("index.html")


@bp.get("/language/<code>")
@public
def choose_language(code: str):
    """Remember the visitor's language and go back where they were."""
    if code not in current_app.config["LANGUAGES"]:
        code = current_app.config["LANGUAGES"][0]
    response = redirect(safe_next(request.args.get("next")) or "/")
    response.set_cookie(
        current_app.config["LANGUAGE_COOKIE"], code, max_age=_ONE_YEAR, samesite="Lax", httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@bp.get("/healthz")
@public
def healthz():
    """Liveness and database reachability, for load balancers and the embedded launcher."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not healthy"; the reason goes to the log, not to the caller
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
