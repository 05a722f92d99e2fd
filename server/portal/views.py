"""The operators' page of the portal messages (/staff/portal): the ward's failed and long-waiting messages across
dossiers, and the retry of a failed one (also offered on the dossier page). Ward-scoped like the desk: a message of
another ward's dossier is answered 404."""

from __future__ import annotations

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.auth.access import roles_required
from server.auth.audit import audit
from server.extensions import db
from server.portal import desk
from server.portal.sender import requeue
from server.web.pages import pages_blueprint

bp = pages_blueprint("portal", __name__, url_prefix="/staff/portal")

DESK = ("staff", "leader")


def _list_page(problem: str | None = None, status: int = 200):
    return render_template("portal/list.html", rows=desk.ward_problems(current_user.agency_id), problem=problem,
                           configured=bool(current_app.config.get("PORTAL_URL")), waiting_since=desk.waiting_since(),
                           minutes=current_app.config["PORTAL_WAITING_ALERT_MINUTES"],
                           status_labels=desk.STATUS_LABELS, action_labels=desk.ACTION_LABELS), status


@bp.get("")
@roles_required(*DESK)
def problems():
    """The ward's messages the national portal refused or has not taken for a while."""
    return _list_page()


@bp.post("/messages/<int:message_id>/retry")
@roles_required(*DESK)
def retry(message_id: int):
    """Send a refused message again (after the cause was fixed: a procedure code, the portal's set-up); the later
    messages of its dossier follow it in order."""
    message = desk.ward_message(current_user.agency_id, message_id)
    if message is None:
        abort(404)
    if not requeue(message):
        db.session.rollback()
        return _list_page(problem=_("Tin nhắn số %(id)s không ở trạng thái bị từ chối nên không cần gửi lại.",
                                    id=message_id), status=409)
    audit("portal_message_requeued", current_user, message, dossier_id=message.dossier_id, seq=message.seq)
    db.session.commit()
    flash(_("Đã đưa tin nhắn số %(id)s vào hàng chờ gửi lại.", id=message_id))
    if request.form.get("back") == "dossier":
        return redirect(url_for("backoffice.dossier", dossier_id=message.dossier_id, _anchor="portal"), 303)
    return redirect(url_for("portal.problems"), 303)
