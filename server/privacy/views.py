"""The pages of data subjects' requests: the desk's list (``/staff/data-requests``: take a request for a citizen,
acknowledge, extend once, answer) and the citizen's own (``/my/data``: ask, follow, download the export).

The forms post, then redirect (PRG). They are checked by the same code as the JSON API (server/privacy/api.py):
a refused form is shown again with one message per field (422), a step the request's state no longer allows with
a clear message (409).
"""

from __future__ import annotations

from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from server.api.openapi import validate
from server.auth.access import roles_required
from server.backoffice.identity import method_labels
from server.errors import ApiProblem
from server.errors import locale_code
from server.extensions import db
from server.privacy import api
from server.privacy import requests as service
from server.privacy.models import DataSubjectRequest
from server.privacy.models import RequestKind
from server.types import utcnow
from server.web.forms import collapsed_text
from server.web.pages import pages_blueprint

bp = pages_blueprint("privacy", __name__)
DESK = ("staff", "leader")
STEPS = ("acknowledge", "extend", "answer")


def request_kind_labels() -> dict[str, str]:
    return {"access": _("Xem dữ liệu cá nhân"), "export": _("Trích xuất dữ liệu (JSON và PDF)"),
            "rectify": _("Đính chính dữ liệu"), "restrict": _("Hạn chế xử lý dữ liệu"),
            "erase": _("Xóa dữ liệu cá nhân")}


def request_state_labels() -> dict[str, str]:
    return {"received": _("Chờ xác nhận"), "acknowledged": _("Đã xác nhận, chờ trả lời"),
            "answered": _("Đã trả lời")}


@bp.app_context_processor
def _labels():
    # The desk's queue (templates/privacy/_due_requests.html) names the kinds too.
    return {"request_kind_labels": request_kind_labels, "request_state_labels": request_state_labels}


def _form_data(with_subject: bool) -> dict:
    """The posted form as the API's JSON body (empty fields left out)."""
    form = request.form
    data: dict = {"kind": form.get("kind") or ""}
    if with_subject:
        data["personal_id"] = "".join((form.get("personal_id") or "").split())
        data["identity_method"] = form.get("identity_method") or ""
    if (form.get("details") or "").strip():
        data["details"] = form["details"].strip()
    corrections = {name: collapsed_text(form, f"correct_{name}") for name in service.CORRECTABLE}
    corrections = {name: value for name, value in corrections.items() if value}
    if corrections:
        data["corrections"] = corrections
    return data


def _errors_of(problem: ApiProblem) -> dict[str, str]:
    """One message per form field from a problem's ``errors`` (the whole problem's detail when it has none)."""
    lang = locale_code()
    errors: dict[str, str] = {}
    for error in problem.extra.get("errors", []):
        name = error["field"].replace("corrections.", "correct_") or "kind"
        errors.setdefault(name, error.get(lang) or error["message"])
    if not errors and problem.detail:
        errors["kind"] = problem.detail[1 if lang == "en" else 0]
    return errors


def _checked(data: dict, schema: dict) -> None:
    """The same schema as the API's body: a value the form never offered is refused as a field error."""
    errors = validate(data, schema)
    if errors:
        raise ApiProblem(422, "invalid-data-request", ("", ""), None, errors=errors)


# ---------------------------------------------------------------------------------------------------- the desk


def _desk_page(form: dict | None = None, errors: dict | None = None, problem: str | None = None, status: int = 200):
    found = list(db.session.scalars(select(DataSubjectRequest).where(
        DataSubjectRequest.agency_id == current_user.agency_id).order_by(DataSubjectRequest.id.desc()).limit(200)))
    found.sort(key=lambda r: (r.next_due_at is None, r.next_due_at or r.received_at))
    return render_template("privacy/desk_requests.html", requests=found, form=form or {}, errors=errors or {},
                           problem=problem, methods=method_labels(), now=utcnow(),
                           rule=service.deadline_rule(utcnow())), status


@bp.get("/staff/data-requests")
@roles_required(*DESK)
def desk_requests():
    """The ward's data requests, the most urgent first, with the form to take a new one."""
    return _desk_page()


@bp.post("/staff/data-requests")
@roles_required(*DESK)
def desk_take():
    data = _form_data(with_subject=True)
    try:
        _checked(data, api.DESK_REQUEST)
        created = api.create_on_behalf(data)
    except ApiProblem as refused:
        db.session.rollback()
        return _desk_page(request.form, _errors_of(refused), status=422)
    return redirect(url_for("privacy.desk_requests") + f"#request-{created.id}", 303)


@bp.post("/staff/data-requests/<int:request_id>/<step>")
@roles_required(*DESK)
def desk_step(request_id: int, step: str):
    if step not in STEPS:
        return _desk_page(problem=_("Không có bước này."), status=404)
    try:
        found = api.readable(request_id)
    except ApiProblem:
        return _desk_page(problem=_("Không có yêu cầu này."), status=404)
    db.session.refresh(found, with_for_update=True)
    now = utcnow()
    text = (request.form.get("text") or "").strip()
    if len(text) > api.MAX_TEXT:
        return _desk_page(problem=_("Nội dung dài tối đa %(n)s ký tự.", n=api.MAX_TEXT), status=422)
    try:
        if step == "acknowledge":
            service.acknowledge(found, current_user, now)
        elif step == "extend":
            if not text:
                return _desk_page(problem=_("Vui lòng ghi lý do gia hạn."), status=422)
            service.extend(found, current_user, text, now)
        else:
            service.answer(found, current_user, text or None, now)
    except service.RequestStepRefused as refused:
        db.session.rollback()
        return _desk_page(problem=refused.en if locale_code() == "en" else refused.vi, status=409)
    db.session.commit()
    return redirect(url_for("privacy.desk_requests") + f"#request-{found.id}", 303)


# ------------------------------------------------------------------------------------------------ the citizen


def _citizen_page(form: dict | None = None, errors: dict | None = None, status: int = 200):
    found = db.session.scalars(select(DataSubjectRequest).where(DataSubjectRequest.requester_id == current_user.id)
                               .order_by(DataSubjectRequest.id.desc()))
    return render_template("privacy/my_data.html", requests=list(found), form=form or {}, errors=errors or {},
                           exportable={RequestKind.ACCESS, RequestKind.EXPORT},
                           rule=service.deadline_rule(utcnow())), status


@bp.get("/my/data")
@roles_required("citizen")
def my_data():
    """The citizen's requests about their personal data, and the form to make one."""
    return _citizen_page()


@bp.post("/my/data")
@roles_required("citizen")
def my_data_ask():
    data = _form_data(with_subject=False)
    try:
        _checked(data, api.CITIZEN_REQUEST)
        created = api.create_for_citizen(data)
    except ApiProblem as refused:
        db.session.rollback()
        return _citizen_page(request.form, _errors_of(refused), status=422)
    return redirect(url_for("privacy.my_data") + f"#request-{created.id}", 303)

