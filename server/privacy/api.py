"""JSON API of data subjects' requests: the citizen's own (``/api/v1/me/data-requests``) and the desk's
(``/api/v1/staff/data-requests``: take one on a citizen's behalf, acknowledge, extend once, answer), and the
export of the subject's data as JSON or PDF.

Every refusal is a problem document (RFC 9457) in Vietnamese and English: 422 with one error per field for what
the body says, 409 for a step the request's state no longer allows, 404 for a request of another account or ward.
"""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint
from flask import Response
from flask import request as http_request
from flask_login import current_user
from sqlalchemy import select

from server.access_log.record import record_view
from server.api.openapi import body
from server.api.openapi import operation
from server.api.openapi import schema
from server.auth.access import roles_required
from server.auth.audit import audit
from server.backoffice.identity import METHODS
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.errors import ApiProblem
from server.errors import field_error
from server.extensions import db
from server.people.identity import check_date_of_birth
from server.people.identity import check_full_name
from server.people.identity import check_personal_id
from server.people.identity import check_phone
from server.people.models import Person
from server.privacy import export
from server.privacy import requests as service
from server.privacy.models import DataSubjectRequest
from server.privacy.models import RequestKind
from server.privacy.models import RequestState
from server.reference.models import Agency
from server.types import utcnow

bp = Blueprint("privacy_api", __name__, url_prefix="/api/v1")
TAGS = ["Personal data"]
DESK = ("staff", "leader")
MAX_TEXT = 2000
MAX_ADDRESS = 500

CORRECTIONS = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "description": "The corrected values (only for kind 'rectify').",
    "properties": {"full_name": {"type": "string", "maxLength": 200}, "phone": {"type": "string", "maxLength": 32},
                   "address": {"type": "string", "maxLength": MAX_ADDRESS},
                   "date_of_birth": {"type": "string", "maxLength": 10}},
}
KIND = {"enum": [k.value for k in RequestKind],
        "description": "access (see), export (JSON and PDF), rectify (correct), restrict, erase (delete)"}
CITIZEN_REQUEST = schema("DataRequestIn", {
    "type": "object", "required": ["kind"], "additionalProperties": False,
    "properties": {"kind": KIND, "details": {"type": "string", "maxLength": MAX_TEXT}, "corrections": CORRECTIONS},
})
DESK_REQUEST = schema("DeskDataRequestIn", {
    "type": "object", "required": ["kind", "personal_id", "identity_method"], "additionalProperties": False,
    "properties": {"kind": KIND, "personal_id": {"type": "string", "maxLength": 20,
                                                 "description": "from the ID card the desk checked"},
                   "identity_method": {"enum": list(METHODS)},
                   "details": {"type": "string", "maxLength": MAX_TEXT}, "corrections": CORRECTIONS},
})
EXTENSION = schema("DataRequestExtension", {
    "type": "object", "required": ["reason"], "additionalProperties": False,
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}}})
ANSWER = schema("DataRequestAnswer", {
    "type": "object", "additionalProperties": False,
    "properties": {"text": {"type": "string", "maxLength": MAX_TEXT}}})
EMPTY_BODY = schema("DataRequestStep", {"type": "object", "additionalProperties": False, "properties": {}})
_MOMENT = {"type": ["string", "null"]}
REQUEST_OUT = schema("DataRequest", {"type": "object", "required": ["id", "kind", "state"], "properties": {
    "id": {"type": "integer"}, "kind": KIND, "state": {"enum": [s.value for s in RequestState]},
    "on_behalf": {"type": "boolean"}, "received_at": _MOMENT, "acknowledge_due_at": _MOMENT,
    "answer_due_at": _MOMENT, "original_answer_due_at": _MOMENT, "next_due_at": _MOMENT,
    "acknowledged_at": _MOMENT, "extended_at": _MOMENT, "answered_at": _MOMENT, "deadline_source": _MOMENT,
    "answer_text": _MOMENT}})
REQUEST_LIST = schema("DataRequestList", {"type": "object", "required": ["requests"], "properties": {
    "requests": {"type": "array", "items": REQUEST_OUT}}})


def _iso(moment):
    return to_local(moment).isoformat() if moment else None


def request_json(found: DataSubjectRequest) -> dict:
    return {
        "id": found.id, "kind": found.kind.value, "state": found.state.value, "on_behalf": found.on_behalf,
        "received_at": _iso(found.received_at), "acknowledge_due_at": _iso(found.acknowledge_due_at),
        "answer_due_at": _iso(found.answer_due_at), "original_answer_due_at": _iso(found.original_answer_due_at),
        "next_due_at": _iso(found.next_due_at), "acknowledged_at": _iso(found.acknowledged_at),
        "extended_at": _iso(found.extended_at), "answered_at": _iso(found.answered_at),
        "deadline_source": found.deadline_source, "answer_text": found.answer_text,
    }


def _unprocessable(errors: list[dict]) -> ApiProblem:
    return ApiProblem(422, "invalid-data-request", ("Yêu cầu về dữ liệu cá nhân chưa đúng", "Invalid data request"),
                      ("Vui lòng sửa các trường được nêu.", "Please correct the fields listed."), errors=errors)


def _not_found() -> ApiProblem:
    return ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                      ("Không có yêu cầu này.", "No such request."))


def checked_corrections(data: dict) -> dict | None:
    """The corrections of a rectify request, normalised (phone in E.164, name in NFC); refuses them on another
    kind and a rectify request without them (422, one error per field)."""
    kind, given = data["kind"], data.get("corrections")
    if kind != RequestKind.RECTIFY.value:
        if given:
            raise _unprocessable([field_error("corrections", "not_allowed", "Chỉ yêu cầu đính chính mới kèm thông "
                                              "tin sửa.", "Only a correction request carries corrected values.")])
        return None
    if not given:
        raise _unprocessable([field_error("corrections", "required", "Vui lòng ghi thông tin cần đính chính.",
                                          "Say what is to be corrected.")])
    errors: list[dict] = []
    out: dict = {}
    if "full_name" in given:
        name = check_full_name(given["full_name"])
        errors += [field_error("corrections.full_name", f.code, f.vi, f.en) for f in name.errors]
        out["full_name"] = name.value
    if "phone" in given:
        phone = check_phone(given["phone"])
        errors += [field_error("corrections.phone", f.code, f.vi, f.en) for f in phone.errors]
        out["phone"] = phone.e164
    if "address" in given:
        address = " ".join(given["address"].split())
        if not address or not address.isprintable():
            errors.append(field_error("corrections.address", "invalid", "Địa chỉ không hợp lệ.",
                                      "The address is not valid."))
        out["address"] = address
    if "date_of_birth" in given:
        try:
            born = date.fromisoformat(given["date_of_birth"])
        except ValueError:
            errors.append(field_error("corrections.date_of_birth", "invalid", "Ngày sinh phải có dạng YYYY-MM-DD.",
                                      "The date of birth must be YYYY-MM-DD."))
        else:
            errors += [field_error("corrections.date_of_birth", f.code, f.vi, f.en)
                       for f in check_date_of_birth(born)]
            out["date_of_birth"] = born.isoformat()
    if errors:
        raise _unprocessable(errors)
    return out


def details_of(data: dict) -> str | None:
    text = (data.get("details") or "").strip()
    return text or None


# ---------------------------------------------------------------------------------------------- the citizen's


def citizen_ward(user) -> Agency | None:
    """The ward holding the citizen's data: that of the latest dossier the account follows."""
    return db.session.scalar(select(Agency).join(Dossier, Dossier.agency_id == Agency.id)
                             .join(DossierFollower, DossierFollower.dossier_id == Dossier.id)
                             .where(DossierFollower.user_id == user.id).order_by(Dossier.id.desc()).limit(1))


@bp.post("/me/data-requests")
@roles_required("citizen")
@operation("Ask to see, export, correct, restrict or delete my personal data", tags=TAGS,
           request_body=CITIZEN_REQUEST, responses={201: REQUEST_OUT})
def citizen_create():
    return request_json(create_for_citizen(body())), 201


def create_for_citizen(data: dict) -> DataSubjectRequest:
    """The signed-in citizen's request about their own data (commits); ApiProblem 422 when it cannot be taken."""
    corrections = checked_corrections(data)
    if current_user.person is None:
        raise _unprocessable([field_error("kind", "no_record", "Tài khoản chưa khai thông tin cá nhân.",
                                          "The account has no personal record.")])
    agency = citizen_ward(current_user)
    if agency is None:
        raise _unprocessable([field_error("kind", "no_ward", "Tài khoản chưa theo dõi hồ sơ nào; vui lòng gửi yêu "
                                          "cầu tại Bộ phận Một cửa.", "The account follows no dossier: please ask "
                                          "at the one-stop desk.")])
    created = service.receive(RequestKind(data["kind"]), current_user.person, current_user, agency, utcnow(),
                              details=details_of(data), corrections=corrections)
    db.session.commit()
    return created


@bp.get("/me/data-requests")
@roles_required("citizen")
@operation("My data requests, newest first", tags=TAGS, responses={200: REQUEST_LIST})
def citizen_list():
    found = db.session.scalars(select(DataSubjectRequest).where(DataSubjectRequest.requester_id == current_user.id)
                               .order_by(DataSubjectRequest.id.desc()))
    return {"requests": [request_json(r) for r in found]}


def readable(request_id: int) -> DataSubjectRequest:
    """A request the signed-in user may read: their own (citizen) or one of their ward (desk); else 404."""
    found = db.session.get(DataSubjectRequest, request_id)
    if found is None:
        raise _not_found()
    if current_user.role.value == "citizen":
        if found.requester_id != current_user.id:
            raise _not_found()
    elif found.agency_id != current_user.agency_id:
        raise _not_found()
    return found


@bp.get("/me/data-requests/<int:request_id>")
@roles_required("citizen")
@operation("One of my data requests", tags=TAGS, responses={200: REQUEST_OUT})
def citizen_one(request_id: int):
    return request_json(readable(request_id))


def _exportable(request_id: int) -> DataSubjectRequest:
    found = readable(request_id)
    if found.kind not in (RequestKind.ACCESS, RequestKind.EXPORT):
        raise ApiProblem(409, "not-an-export", ("Không phải yêu cầu xem hoặc trích xuất", "Not an access request"),
                         ("Chỉ yêu cầu xem hoặc trích xuất dữ liệu mới có bản trích xuất.",
                          "Only an access or export request has an export."))
    if current_user.role.value == "citizen" and found.state is not RequestState.ANSWERED:
        raise ApiProblem(409, "not-answered", ("Yêu cầu chưa được trả lời", "Not answered yet"),
                         ("Bản trích xuất có sau khi Bộ phận Một cửa trả lời yêu cầu.",
                          "The export is available once the desk has answered."))
    audit("data_request_exported", current_user, found, format=http_request.path.rsplit(".", 1)[-1])
    db.session.commit()
    # Who looked at whom (issue 12 point 8): an export shows the subject's data like the desk's pages do.
    record_view("export", object_type="DataSubjectRequest", object_id=found.id, person_ids=(found.subject_id,),
                agency_id=found.agency_id)
    return found


@bp.get("/data-requests/<int:request_id>/export.json")
@roles_required("citizen", *DESK)
@operation("The subject's personal data as JSON (access and export requests)", tags=TAGS,
           responses={200: {"type": "object"}})
def export_json(request_id: int):
    found = _exportable(request_id)
    response = Response(_json_text(export.personal_data(found, utcnow())), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="du-lieu-ca-nhan-{found.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_text(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


@bp.get("/data-requests/<int:request_id>/export.pdf")
@roles_required("citizen", *DESK)
@operation("The subject's personal data as a readable PDF", tags=TAGS, responses={200: None})
def export_pdf(request_id: int):
    found = _exportable(request_id)
    response = Response(export.pdf_bytes(found, utcnow()), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="du-lieu-ca-nhan-{found.id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------------- the desk's


def ward_subject(personal_id: str) -> Person:
    checked = check_personal_id(personal_id)
    if not checked.ok:
        raise _unprocessable([field_error("personal_id", f.code, f.vi, f.en) for f in checked.errors])
    people = (select(Dossier.owner_id).where(Dossier.agency_id == current_user.agency_id)
              .union(select(Dossier.submitter_id).where(Dossier.agency_id == current_user.agency_id)))
    subject = db.session.scalar(select(Person).where(Person.personal_id == checked.value, Person.id.in_(people))
                                .order_by(Person.id.desc()).limit(1))
    if subject is None:
        raise _unprocessable([field_error("personal_id", "unknown", "Phường không lưu hồ sơ nào của người có số "
                                          "định danh này.", "The ward holds no dossier of a person with this ID.")])
    return subject


@bp.post("/staff/data-requests")
@roles_required(*DESK)
@operation("Take a data request on a citizen's behalf (after checking their ID card)", tags=TAGS,
           request_body=DESK_REQUEST, responses={201: REQUEST_OUT})
def desk_create():
    return request_json(create_on_behalf(body())), 201


def create_on_behalf(data: dict) -> DataSubjectRequest:
    """A request the desk takes for a citizen whose ID card it checked (commits); ApiProblem 422 when refused."""
    corrections = checked_corrections(data)
    subject = ward_subject(data["personal_id"])
    created = service.receive(RequestKind(data["kind"]), subject, current_user, current_user.agency, utcnow(),
                              on_behalf=True, identity_method=data["identity_method"], details=details_of(data),
                              corrections=corrections)
    db.session.commit()
    return created


@bp.get("/staff/data-requests")
@roles_required(*DESK)
@operation("The ward's data requests: open ones by next deadline, then the answered", tags=TAGS,
           responses={200: REQUEST_LIST})
def desk_list():
    found = list(db.session.scalars(select(DataSubjectRequest).where(
        DataSubjectRequest.agency_id == current_user.agency_id).order_by(DataSubjectRequest.id.desc()).limit(500)))
    found.sort(key=lambda r: (r.next_due_at is None, r.next_due_at or r.received_at))
    return {"requests": [request_json(r) for r in found]}


@bp.get("/staff/data-requests/<int:request_id>")
@roles_required(*DESK)
@operation("One data request of the ward", tags=TAGS, responses={200: REQUEST_OUT})
def desk_one(request_id: int):
    return request_json(readable(request_id))


def _step(request_id: int, run) -> tuple[dict, int]:
    found = readable(request_id)
    db.session.refresh(found, with_for_update=True)  # two clerks at once: the second sees the first's step
    try:
        run(found)
    except service.RequestStepRefused as refused:
        db.session.rollback()
        raise ApiProblem(409, "data-request-step", ("Không thực hiện được bước này", "Step not possible"),
                         (refused.vi, refused.en), state=found.state.value) from None
    db.session.commit()
    return request_json(found), 200


@bp.post("/staff/data-requests/<int:request_id>/acknowledge")
@roles_required(*DESK)
@operation("Acknowledge a data request", tags=TAGS, request_body=EMPTY_BODY, responses={200: REQUEST_OUT})
def desk_acknowledge(request_id: int):
    body()
    return _step(request_id, lambda found: service.acknowledge(found, current_user, utcnow()))


@bp.post("/staff/data-requests/<int:request_id>/extend")
@roles_required(*DESK)
@operation("Extend the answer deadline, once, with the reason told to the citizen", tags=TAGS,
           request_body=EXTENSION, responses={200: REQUEST_OUT})
def desk_extend(request_id: int):
    reason = body()["reason"].strip()
    if not reason:
        raise _unprocessable([field_error("reason", "required", "Vui lòng ghi lý do gia hạn.",
                                          "Give the reason for the extension.")])
    return _step(request_id, lambda found: service.extend(found, current_user, reason, utcnow()))


@bp.post("/staff/data-requests/<int:request_id>/answer")
@roles_required(*DESK)
@operation("Answer a data request: carries out what it asks (within what the law obliges the ward to keep)",
           tags=TAGS, request_body=ANSWER, responses={200: REQUEST_OUT})
def desk_answer(request_id: int):
    text = body().get("text")
    return _step(request_id, lambda found: service.answer(found, current_user, text, utcnow()))
