"""The desk's hand-over forms: a unit in the system acknowledges a dossier sent to it; the sending desk records
what a unit outside the system did (it acknowledged receipt, its result came back).

A dossier none of whose units is the user's is answered 404, as if it did not exist. A hand-over that cannot be
recorded now (twice, out of order) is answered 409, a wrong field 422, with the dossier page and the message for
the receiving desk (an error page for another unit's staff); success redirects (PRG).
"""

from __future__ import annotations

from datetime import datetime

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from server.auth.access import roles_required
from server.calendar.workdays import VN_TZ
from server.dossiers.models import Dossier
from server.errors import locale_code
from server.extensions import db
from server.interagency import services
from server.interagency.models import HandoverKind
from server.interagency.units import may_view
from server.web.pages import pages_blueprint

bp = pages_blueprint("interagency", __name__, url_prefix="/staff/dossiers/<int:dossier_id>/handovers")

DESK = ("staff", "leader")


def _related_dossier(dossier_id: int) -> Dossier:
    """The dossier, locked, if the user's unit received it, holds it or is on its chain; else 404."""
    found = db.session.scalar(select(Dossier).where(Dossier.id == dossier_id).with_for_update())
    if found is None:
        abort(404)
    units = {found.agency_id, found.holder_agency_id}
    units |= {s.agency_id for s in services.steps_of(found)}
    for handover in services.handovers_of(found):
        units |= {handover.from_agency_id, handover.to_agency_id}
    if current_user.agency_id is None or current_user.agency_id not in units or not may_view(current_user, found):
        abort(404)
    return found


def _refused(found: Dossier, error: services.HandoverRefused):
    db.session.rollback()
    message = error.message(locale_code())
    if current_user.agency_id == found.agency_id:
        from server.backoffice.views import _dossier_page

        db.session.refresh(found)
        return _dossier_page(found, problem=message, status=error.status)
    return render_template("error.html", status=error.status, title=message), error.status


def _done(found: Dossier, message: str):
    db.session.commit()
    flash(message)
    return redirect(url_for("backoffice.dossier", dossier_id=found.id, _anchor="handovers"))


@bp.post("/acknowledge")
@roles_required(*DESK)
def acknowledge(dossier_id: int):
    """The unit the dossier was sent to (in the system) confirms it has it."""
    found = _related_dossier(dossier_id)
    try:
        services.acknowledge(found, current_user)
    except services.HandoverRefused as error:
        return _refused(found, error)
    return _done(found, _("Đã xác nhận đã nhận hồ sơ."))


def _moment(text: str | None) -> datetime | None:
    """A ``datetime-local`` value, in Viet Nam's time; None when left empty (now)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise services.HandoverRefused(422, "time_invalid", "Thời điểm không hợp lệ.", "The time is not valid.",
                                       "occurred_at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


@bp.post("/record")
@roles_required(*DESK)
def record(dossier_id: int):
    """The sending desk records what a unit outside the system did: acknowledged receipt, or sent the result."""
    found = _related_dossier(dossier_id)
    try:
        try:
            kind = HandoverKind(request.form.get("kind", ""))
        except ValueError:
            raise services.HandoverRefused(422, "kind_invalid", "Chọn: đã nhận hồ sơ hoặc đã có kết quả.",
                                           "Choose: acknowledged or result received.", "kind") from None
        if kind is HandoverKind.SENT:
            raise services.HandoverRefused(422, "kind_invalid", "Chọn: đã nhận hồ sơ hoặc đã có kết quả.",
                                           "Choose: acknowledged or result received.", "kind")
        services.record_outside(found, kind, current_user, _moment(request.form.get("occurred_at")),
                                request.form.get("reference"), request.form.get("note"))
    except services.HandoverRefused as error:
        return _refused(found, error)
    if kind is HandoverKind.ACKNOWLEDGED:
        return _done(found, _("Đã ghi nhận cơ quan nhận đã nhận hồ sơ."))
    return _done(found, _("Đã ghi nhận kết quả giải quyết của cơ quan nhận."))
