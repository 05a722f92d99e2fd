"""Following a dossier without an account: the page the QR code on the officer's receipt opens.

Anyone may open ``/follow/<code>``, but dossier codes are sequential and easy to guess, so the page shows nothing
until the visitor gives the last four digits of the owner's personal ID (of the owner's phone number when no ID was
recorded), and the look-up is rate-limited per address and, in the database, per code: after a few wrong answers
the code is locked for a while, doubling at each further wrong answer, whatever the address. What it shows
carries no personal data: the procedure, the status, the dates and the steps taken. A wrong code and wrong
digits get the same answer, so the page does not reveal which codes exist.

With the claim token of the receipt's QR code (``?t=``), the page shows the status at once (holding the paper is
the proof) and offers to follow the dossier on this phone: create an account with a passkey, or sign in, and the
token links the dossier to the account (server/citizen/claims.py). A signed-in follower is sent to the dossier's
own page in the app.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from datetime import timedelta

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.auth.access import public
from server.auth.access import roles_required
from server.auth.api import _lookup_limit
from server.auth.models import Role
from server.calendar.workdays import to_local
from server.citizen import claims
from server.citizen.access import relation
from server.dossiers.models import Dossier
from server.dossiers.models import FollowLookupGuard
from server.extensions import db
from server.extensions import limiter
from server.types import utcnow
from server.web.formats import moment_text
from server.web.officer_messages import officer_messages
from server.web.officer_messages import read_aloud_text

bp = Blueprint("follow", __name__)

DIGITS = 4


def _secret_digits(dossier: Dossier) -> str | None:
    owner = dossier.owner
    source = owner.personal_id or owner.phone_e164 or ""
    digits = "".join(c for c in source if c.isdigit())
    return digits[-DIGITS:] if len(digits) >= DIGITS else None


def _matches(dossier: Dossier | None, given: str) -> bool:
    expected = _secret_digits(dossier) if dossier is not None else None
    # Compared in constant time, and compared even when there is no dossier, so timing tells nothing either.
    return hmac.compare_digest((expected or "\0" * DIGITS).encode(), given.encode()) and expected is not None


def _status_of(dossier: Dossier) -> dict:
    labels = officer_messages()
    return {
        "code": dossier.code or dossier.provisional_code,
        "procedure": dossier.procedure_version.procedure.name_vi,
        "state": labels.get(f"state_{dossier.state.value}", dossier.state.value),
        "received_at": to_local(dossier.device_received_at) if dossier.device_received_at else None,
        "due_at": to_local(dossier.due_at) if dossier.due_at else None,
        "steps": [(to_local(event.occurred_at), labels.get(f"state_{event.to_state}", event.to_state))
                  for event in dossier.events],
        "speech": read_aloud_text(dossier.code or dossier.provisional_code, dossier.state.value, dossier.due_at),
    }


def _followed_page(code: str):
    """The dossier's page in the app, when the signed-in citizen already follows the dossier with this code."""
    if not (current_user.is_authenticated and current_user.role is Role.CITIZEN):
        return None
    dossier = db.session.scalar(select(Dossier).where(or_(Dossier.code == code, Dossier.provisional_code == code)))
    if dossier is not None and relation(current_user, dossier) is not None:
        return redirect(url_for("citizen.dossier", dossier_id=dossier.id))
    return None


def _claim_page(code: str, token: str, error: claims.ClaimError | None = None, status: int = 200):
    """The receipt's QR code: the status, and how to follow the dossier on this phone."""
    claim = None
    if error is None:
        try:
            claim = claims.find(token)
        except claims.ClaimError as found_error:
            error, status = found_error, 404 if found_error is claims.UNKNOWN else 410
    found = _status_of(claim.dossier) if claim else None
    next_url = url_for("follow.follow", code=code, t=token)
    return render_template("follow.html", code=code, found=found, error=None, claim=claim, token=token,
                           claim_error=error, next_url=next_url, to_local=to_local), status


@bp.get("/follow/<code>")
@public
@limiter.limit(_lookup_limit, exempt_when=lambda: "t" not in request.args)
def follow(code: str):
    followed = _followed_page(code)
    if followed is not None:
        return followed
    token = request.args.get("t")
    if token:
        return _claim_page(code, token)
    return render_template("follow.html", code=code, found=None, error=None)


@bp.post("/follow/<code>/claim")
@roles_required("citizen")
@limiter.limit(_lookup_limit)
def claim(code: str):
    """Follow the dossier with the token: the signed-in citizen's own choice, by a button (and CSRF)."""
    token = request.form.get("t", "")
    try:
        follower = claims.redeem(token, current_user)
    except claims.ClaimError as error:
        db.session.rollback()
        return _claim_page(code, token, error, 409)
    db.session.commit()
    return redirect(url_for("citizen.dossier", dossier_id=follower.dossier_id, claimed=1))


#: The longest lock-out, however many wrong answers.
MAX_LOCK_SECONDS = 24 * 3600


def _locked_until(code: str) -> datetime | None:
    guard = db.session.get(FollowLookupGuard, code[:64])
    if guard is not None and guard.locked_until is not None and guard.locked_until > utcnow():
        return guard.locked_until
    return None


def _count_failure(code: str) -> None:
    """One more wrong answer for ``code`` (atomic: concurrent requests of several processes each count), and the
    lock-out once there are too many. Commits."""
    key, now = code[:64], utcnow()
    table = FollowLookupGuard.__table__
    bump = table.update().where(table.c.code == key).values(failures=table.c.failures + 1, last_failure_at=now)
    if db.session.execute(bump).rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.execute(table.insert().values(code=key, failures=1, last_failure_at=now))
        except IntegrityError:  # another request inserted it first
            db.session.execute(bump)
    failures = db.session.scalar(select(FollowLookupGuard.failures).where(FollowLookupGuard.code == key))
    limit = current_app.config["FOLLOW_MAX_FAILURES"]
    if failures >= limit:
        seconds = min(current_app.config["FOLLOW_LOCK_SECONDS"] * 2 ** min(failures - limit, 20), MAX_LOCK_SECONDS)
        db.session.execute(table.update().where(table.c.code == key)
                           .values(locked_until=now + timedelta(seconds=seconds)))
    db.session.commit()


def _locked_page(code: str, until: datetime):
    answer = render_template("follow.html", code=code, found=None, error="locked",
                             locked_until=moment_text(until))
    return answer, 429, {"Retry-After": str(max(1, int((until - utcnow()).total_seconds())))}


@bp.post("/follow/<code>")
@public
@limiter.limit(_lookup_limit)
def follow_lookup(code: str):
    until = _locked_until(code)
    if until is not None:  # not even checked: a locked code gives no more guesses, from any address
        return _locked_page(code, until)
    given = "".join(c for c in request.form.get("digits", "") if "0" <= c <= "9")
    if len(given) != DIGITS:
        return render_template("follow.html", code=code, found=None, error="digits"), 422
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == code))
    if not _matches(dossier, given):
        _count_failure(code)
        until = _locked_until(code)
        if until is not None:
            return _locked_page(code, until)
        return render_template("follow.html", code=code, found=None, error="not_found"), 404
    db.session.execute(FollowLookupGuard.__table__.delete().where(FollowLookupGuard.code == code[:64]))
    db.session.commit()
    return render_template("follow.html", code=code, found=_status_of(dossier), error=None)
