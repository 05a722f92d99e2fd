"""Attaching a dossier's signed result at the desk, and reading it: the desk's copy and the citizen's download.

The desk posts the competent agency's PDF (CSRF-protected form of templates/backoffice/_results.html): it is
validated (server/results/validation.py) before anything is stored. A signed and trusted file is recorded as
signed; any other readable PDF only with the "unsigned" box ticked and a reason (422 with the message otherwise);
a file that is not a PDF, does not open or is too large never. The bytes go to the content-addressed store
(server/dossiers/attachments.py, as photos do), the DossierResult row records what the validation found.

Every read of a result's bytes is a read of a person's data: recorded in the access log ("result").
"""

from __future__ import annotations

from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import request
from flask import send_file
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy import select

from server.access_log.record import record_dossier_view
from server.auth.access import roles_required
from server.auth.audit import audit
from server.backoffice.views import DESK
from server.backoffice.views import _dossier_page
from server.backoffice.views import _ward_dossier
from server.citizen.access import relation
from server.dossiers.attachments import AttachmentError
from server.dossiers.attachments import store
from server.dossiers.models import Dossier
from server.errors import locale_code
from server.extensions import db
from server.results import desk
from server.results.models import DossierResult
from server.results.validation import READABLE
from server.results.validation import validate
from server.storage import NotStored
from server.storage import backend
from server.storage import sha256_hex
from server.web.pages import pages_blueprint

bp = pages_blueprint("results", __name__)

MAX_TITLE = 300
MAX_REASON = 4000


def _refused(found: Dossier, values: dict, errors: dict, status: int = 422):
    db.session.rollback()
    g.result_form = desk.ResultForm(values, errors)  # read by desk.panel for the page shown again
    return _dossier_page(found, status=status)


def _not_at_result_stage(found: Dossier):
    """409: the form is not on the page in this state, so the message is the page's own."""
    db.session.rollback()
    return _dossier_page(found, problem=_(
        "Chỉ đính kèm kết quả khi hồ sơ đã được phê duyệt hoặc đang chờ trả kết quả."), status=409)


def _file_message(verdict: str) -> str:
    if verdict == "too_large":
        limit = int(current_app.config["SIGNED_RESULT_MAX_BYTES"])
        return _("Tệp quá lớn (tối đa %(n)s MB).", n=limit // 1_000_000)
    return str(desk.VERDICT_LABELS[verdict]) + "."


@bp.post("/staff/dossiers/<int:dossier_id>/results")
@roles_required(*DESK)
def attach(dossier_id: int):
    """Attach the competent agency's result (a PDF) to a dossier of the ward as ``<code>-KQ<n>``."""
    found = _ward_dossier(dossier_id)  # another ward's dossier is 404 before its file is even read
    form = request.form
    values = {"title": (form.get("title") or "").strip(), "unsigned": form.get("unsigned") == "yes",
              "unsigned_reason": (form.get("unsigned_reason") or "").strip()}
    if found.state not in desk.ATTACH_STATES:
        return _not_at_result_stage(found)
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = _("Phải ghi tên kết quả (ví dụ: Quyết định trợ cấp xã hội hằng tháng).")
    elif len(values["title"]) > MAX_TITLE:
        errors["title"] = _("Tên kết quả dài quá %(n)s ký tự.", n=MAX_TITLE)
    if len(values["unsigned_reason"]) > MAX_REASON:
        errors["unsigned_reason"] = _("Nội dung dài quá %(n)s ký tự.", n=MAX_REASON)
    upload = request.files.get("file")
    limit = int(current_app.config["SIGNED_RESULT_MAX_BYTES"])
    data = upload.stream.read(limit + 1) if upload else b""
    check = None
    if not data:
        errors["file"] = _("Chọn tệp PDF kết quả đã ký số.")
    else:
        check = validate(data)
        if check.verdict not in READABLE:
            errors["file"] = _file_message(check.verdict)
        elif not check.valid and not (values["unsigned"] and values["unsigned_reason"]):
            errors["file"] = _("%(verdict)s. Chỉ nhận tệp này là kết quả chưa ký số: đánh dấu ô «Chưa ký số» và "
                               "ghi lý do.", verdict=desk.VERDICT_LABELS[check.verdict])
            if values["unsigned"]:
                errors["unsigned_reason"] = _("Phải ghi lý do nhận kết quả chưa ký số hợp lệ.")
    if errors:
        return _refused(found, values, errors)
    # Locked only now, pyHanko's work done: the row lock serialises two uploads' numbering and a step taken
    # meanwhile (the dossier returned while the file was validated).
    db.session.refresh(found, with_for_update=True)
    if found.state not in desk.ATTACH_STATES:
        return _not_at_result_stage(found)
    try:
        attachment, _created = store(sha256_hex(data), data, current_user.id)
    except AttachmentError as error:  # the store's own checks (active content in the PDF, ...)
        return _refused(found, values, {"file": error.en if locale_code() == "en" else error.vi})
    number = (db.session.scalar(select(func.max(DossierResult.number))
                                .where(DossierResult.dossier_id == found.id)) or 0) + 1
    result = DossierResult(
        dossier_id=found.id, number=number, sha256=attachment.sha256, title=values["title"],
        signature_valid=check.valid, signer_name=check.signer_name, signer_organisation=check.signer_organisation,
        certificate_serial=check.certificate_serial, certificate_issuer=check.certificate_issuer,
        signed_at=check.signed_at, validation_summary=check.summary(),
        unsigned_reason=None if check.valid else values["unsigned_reason"], attached_by_id=current_user.id)
    db.session.add(result)
    db.session.flush()
    audit("dossier_result_attached", current_user, result, dossier_id=found.id, number=number,
          verdict=check.verdict)
    db.session.commit()
    flash(_("Đã đính kèm kết quả %(name)s.", name=desk.download_name(found, number)))
    return redirect(url_for("backoffice.dossier", dossier_id=found.id, _anchor="results"))


def _send(dossier: Dossier, number: int):
    """The bytes of result ``number`` of ``dossier`` as ``<code>-KQ<n>.pdf``, after recording the read."""
    result = db.session.scalar(select(DossierResult).where(DossierResult.dossier_id == dossier.id,
                                                           DossierResult.number == number))
    if result is None:
        abort(404)
    try:
        content = backend().open(result.sha256)
    except NotStored:
        abort(404)
    record_dossier_view("result", dossier, object_type="DossierResult", object_id=result.id)
    response = send_file(content, mimetype="application/pdf", as_attachment=True,
                         download_name=desk.download_name(dossier, number), etag=False, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"  # a personal decision: no shared cache keeps it
    return response


@bp.get("/staff/dossiers/<int:dossier_id>/results/<int:number>")
@roles_required(*DESK)
def desk_copy(dossier_id: int, number: int):
    return _send(_ward_dossier(dossier_id), number)


@bp.get("/my/dossiers/<int:dossier_id>/results/<int:number>")
@roles_required("citizen")
def citizen_copy(dossier_id: int, number: int):
    """The result for the dossier's owner and followers once it is at the one-stop; 404 for anyone else, as if
    it did not exist."""
    dossier = db.session.get(Dossier, dossier_id)
    if dossier is None or relation(current_user, dossier) is None or dossier.state not in desk.CITIZEN_STATES:
        abort(404)
    return _send(dossier, number)
