"""The desk's view of a dossier's statutory forms: the list, each form as a page and as its stored PDF.

Staff and leaders of the dossier's ward only; another ward's dossier is answered 404, as if it did not exist. The
page is drawn from the content stored with the form, so it shows exactly what the PDF (and the citizen's paper) says.
The control sheet is built from the history each time it is asked for.
"""

from __future__ import annotations

import io

from flask import abort
from flask import make_response
from flask import render_template
from flask import request
from flask import send_file
from flask_babel import gettext as _
from flask_login import current_user

from server.access_log.record import record_dossier_view
from server.auth.access import roles_required
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.errors import ApiProblem
from server.extensions import db
from server.forms import issue
from server.forms import rendering
from server.forms.catalogue import FORM_KEYS
from server.forms.pdf import render
from server.interagency import units
from server.storage import NotStored
from server.storage import backend
from server.web.pages import pages_blueprint

bp = pages_blueprint("forms", __name__, url_prefix="/staff/dossiers/<int:dossier_id>/forms")

DESK = ("staff", "leader")
#: Only known form names reach the views (anything else is 404), and "receipt.pdf" cannot be read as a form name.
FORM_KEY = "any(" + ", ".join(FORM_KEYS) + "):form_key"


def _ward_dossier(dossier_id: int) -> Dossier:
    found = db.session.get(Dossier, dossier_id)
    if found is None or not units.may_view(current_user, found):  # received, decided or held by the unit
        abort(404)
    return found


def _issued(dossier: Dossier, form_key: str) -> DossierDocument:
    """The issued form asked for: ``?issued=<document id>``, or the latest of its kind."""
    issued_forms = issue.issued_forms(dossier, form_key)
    wanted = request.args.get("issued")
    if wanted is not None:
        if not wanted.isdigit():
            message = _("Số văn bản (issued) phải là một số nguyên dương.")
            abort(make_response(render_template("error.html", status=422, title=message), 422))
        issued_forms = [d for d in issued_forms if d.id == int(wanted)]
    if not issued_forms:
        abort(404)
    return issued_forms[-1]


def _content(dossier: Dossier, form_key: str) -> tuple[dict, DossierDocument | None]:
    if form_key == "control_sheet":
        content = issue.control_sheet(dossier)
        if content is None:
            abort(404)
        return content, None
    document = _issued(dossier, form_key)
    return document.form_content, document


def _being_prepared():
    """The answer for a form whose PDF the worker has not rendered yet (server/forms/rendering.py): 503 with
    ``Retry-After``, as a problem document. Temporary, and nothing for the client to change but to ask again; the
    form's page can be shown meanwhile, from its content."""
    problem = ApiProblem(503, "form-being-prepared", ("Đang chuẩn bị", "Being prepared"),
                         ("Bản PDF của biểu mẫu đang được chuẩn bị; vui lòng thử lại sau vài giây.",
                          "The form's PDF is being prepared; please try again in a few seconds."))
    response = problem.to_response()
    response.headers["Retry-After"] = str(rendering.RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _record_form_view(kind: str, dossier: Dossier, form_key: str, document: DossierDocument | None) -> None:
    """The access-log row of a form shown: the issued document, or the control sheet drawn from the history."""
    if document is None:
        record_dossier_view(kind, dossier, object_type="ControlSheet", object_id=dossier.id)
    else:
        record_dossier_view(kind, dossier, object_type="DossierDocument", object_id=document.id)


@bp.get("")
@roles_required(*DESK)
def index(dossier_id: int):
    """The forms issued for the dossier, and its control sheet."""
    dossier = _ward_dossier(dossier_id)
    record_dossier_view("form_list", dossier)
    return render_template("forms/index.html", dossier=dossier, issued=issue.issued_forms(dossier),
                           to_local=to_local)


@bp.get(f"/<{FORM_KEY}>")
@roles_required(*DESK)
def show(dossier_id: int, form_key: str):
    """A form as a page, from the content it was issued with."""
    dossier = _ward_dossier(dossier_id)
    content, document = _content(dossier, form_key)
    _record_form_view("form_page", dossier, form_key, document)
    return render_template("forms/form.html", dossier=dossier, content=content, document=document,
                           form_key=form_key)


@bp.get(f"/<{FORM_KEY}>.pdf")
@roles_required(*DESK)
def pdf(dossier_id: int, form_key: str):
    """The stored PDF of an issued form (the control sheet is rendered now, from the history); 503 "being
    prepared" until the worker has rendered it."""
    dossier = _ward_dossier(dossier_id)
    content, document = _content(dossier, form_key)
    if document is not None and document.pdf_pending:
        return _being_prepared()  # nothing shown: no access-log row
    _record_form_view("pdf", dossier, form_key, document)
    name = f"mau-{form_key}-{dossier.code or dossier.id}.pdf"
    if document is None:
        return send_file(io.BytesIO(render(content)), mimetype="application/pdf", download_name=name)
    # A form is tens of kilobytes: read at once from the store, so no file handle or connection outlives the
    # request, and always streamed (never a presigned URL): it is the app's own answer with its name and headers.
    try:
        data = backend().read(document.sha256)
    except NotStored:
        abort(404)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name, etag=document.sha256)
