"""Following a dossier without an account: the page the QR code on the officer's receipt opens.

Anyone may open ``/follow/<code>``, but dossier codes are sequential and easy to guess, so the page shows nothing
until the visitor gives the last four digits of the owner's personal ID (of the owner's phone number when no ID was
recorded), and the look-up is rate-limited. What it shows carries no personal data: the procedure, the status, the
dates and the steps taken. A wrong code and wrong digits get the same answer, so the page does not reveal which
codes exist.
"""

from __future__ import annotations

import hmac

from flask import Blueprint
from flask import render_template
from flask import request
from sqlalchemy import select

from server.auth.access import public
from server.auth.api import _lookup_limit
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.extensions import db
from server.extensions import limiter
from server.web.officer_messages import officer_messages

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


@bp.get("/follow/<code>")
@public
def follow(code: str):
    return render_template("follow.html", code=code, found=None, error=None)


@bp.post("/follow/<code>")
@public
@limiter.limit(_lookup_limit)
def follow_lookup(code: str):
    given = "".join(c for c in request.form.get("digits", "") if c.isdigit())
    if len(given) != DIGITS:
        return render_template("follow.html", code=code, found=None, error="digits"), 422
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == code))
    if not _matches(dossier, given):
        return render_template("follow.html", code=code, found=None, error="not_found"), 404
    labels = officer_messages()
    found = {
        "code": dossier.code,
        "procedure": dossier.procedure_version.procedure.name_vi,
        "state": labels.get(f"state_{dossier.state.value}", dossier.state.value),
        "received_at": to_local(dossier.device_received_at) if dossier.device_received_at else None,
        "due_at": to_local(dossier.due_at) if dossier.due_at else None,
        "steps": [(to_local(event.occurred_at), labels.get(f"state_{event.to_state}", event.to_state))
                  for event in dossier.events],
    }
    return render_template("follow.html", code=code, found=found, error=None)
