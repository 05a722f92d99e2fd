"""Account pages (server-rendered; the passkey ceremonies run in ``pwa/app/passkeys.js`` against the JSON API).

The pages are thin shells: they carry no data and no CSRF token (a cached shell must never hold either); their
modules under ``pwa/app/`` fetch what they show from the JSON API. Pages for signed-in users keep the usual
deny-by-default declaration (:func:`roles_required`); when it refuses an anonymous visitor, this blueprint's error
handler sends them to the sign-in page instead of answering a JSON problem.
"""

from __future__ import annotations

from flask import current_app
from flask import render_template
from flask import request
from sqlalchemy import select

from server.auth.access import public
from server.auth.access import roles_required
from server.citizen.claims import looks_like_token
from server.errors import locale_code
from server.extensions import db
from server.reference.models import Agency
from server.security import safe_next
from server.web.pages import pages_blueprint

bp = pages_blueprint("auth_pages", __name__)

#: Roles an administrator may invite (citizens register themselves).
INVITABLE_ROLES = ("officer", "staff", "leader", "admin")


@bp.get("/sign-in")
@public
def sign_in():
    """Sign in with a passkey (no user name: the phone offers its own passkeys)."""
    return render_template("auth/sign_in.html", next_path=safe_next(request.args.get("next")))


@bp.get("/register")
@public
def register():
    """A citizen's self-registration: name, phone, optional personal ID, consent, then a new passkey."""
    claim = request.args.get("claim", "")
    return render_template("auth/register.html", consent_version=current_app.config["CONSENT_TEXT_VERSION"],
                           claim_token=claim if looks_like_token(claim) else None)


@bp.get("/invite/<token>")
@public
def invitation(token: str):
    """Redeem an invitation (officer, staff, leader, administrator): the page asks the API what it is for."""
    return render_template("auth/link.html", kind="invitation", token=token)


@bp.get("/recover/<token>")
@public
def recovery(token: str):
    """Register a new passkey with a recovery link issued at the desk."""
    return render_template("auth/link.html", kind="recovery", token=token)


@bp.get("/account/passkeys")
@roles_required("authenticated")
def my_passkeys():
    """My passkeys: list, rename, revoke, add one on this device."""
    return render_template("auth/passkeys.html")


@bp.get("/account/devices")
@roles_required("authenticated")
def my_devices():
    """My devices, and signing out everywhere."""
    return render_template("auth/devices.html")


@bp.get("/inbox")
@roles_required("authenticated")
def inbox():
    """My notifications (the inbox behind every push), and turning push on for this phone: the tap that does it
    is also the consent to dossier news by push, given to the notice shown next to the button."""
    from server.consent.purposes import PURPOSES

    return render_template("inbox.html", purpose=PURPOSES["dossier_updates"])


@bp.get("/admin/people")
@roles_required("admin")
def admin_people():
    """Accounts, invitations and recovery links."""
    agencies = db.session.scalars(
        select(Agency).where(Agency.is_one_stop.is_(True)).order_by(Agency.agency_code).limit(1000)
    ).all()
    wards = [(a.agency_code, a.name_en if locale_code() == "en" else a.name_vi) for a in agencies]
    return render_template("admin/people.html", roles=INVITABLE_ROLES, wards=wards)


@bp.get("/admin/devices")
@roles_required("admin")
def admin_devices():
    """Every officer's device, with revocation."""
    return render_template("admin/devices.html")
