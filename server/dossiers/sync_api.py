"""The offline client's sync API: upload photos by hash, put dossiers by UUID, reserve dossier codes."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import date
from datetime import datetime

from flask import Blueprint
from flask import current_app
from flask import request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.exc import IntegrityError

from server.api.openapi import body
from server.api.openapi import operation
from server.api.openapi import schema
from server.api.openapi import validate
from server.auth.access import roles_required
from server.auth.api import EMPTY
from server.auth.models import Device
from server.auth.sessions import current_device
from server.breach.services import record_visits_sent
from server.calendar import service as calendar
from server.calendar.workdays import to_local
from server.dossiers import codes
from server.dossiers.api import DOSSIER
from server.dossiers.api import dossier_json
from server.dossiers.attachments import AttachmentError
from server.dossiers.attachments import store
from server.dossiers.models import CodeReservation
from server.dossiers.models import Dossier
from server.dossiers.models import HomeVisit
from server.dossiers.models import VisitStatus
from server.dossiers.sync import SyncRefused
from server.dossiers.sync import find_replay
from server.dossiers.sync import payload_digest
from server.dossiers.sync import receive_from_device
from server.errors import ApiProblem
from server.errors import bad_request
from server.errors import field_error
from server.extensions import db
from server.forms.catalogue import spec_for
from server.forms.issue import issued_forms
from server.interagency.units import wards_json
from server.sealing import keys as sealing_keys
from server.sealing.envelope import SEALED_MEDIA_TYPE
from server.sealing.envelope import SealRefused
from server.sealing.envelope import open_envelope
from server.storage import PROBLEMS as STORAGE_PROBLEMS
from server.storage import StorageError
from server.types import utcnow

bp = Blueprint("sync_api", __name__, url_prefix="/api/v1")

TAGS = ["Sync"]
WARD_ROLES = ("officer", "staff", "leader")

ATTACHMENT = schema("Attachment", {
    "type": "object", "required": ["sha256", "media_type", "size_bytes"],
    "properties": {"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "media_type": {"type": "string"},
                   "size_bytes": {"type": "integer"}, "width": {"type": ["integer", "null"]},
                   "height": {"type": ["integer", "null"]}},
})
PERSON = schema("PersonCapture", {
    "type": "object", "required": ["full_name"], "additionalProperties": False,
    "properties": {
        "full_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "personal_id": {"type": ["string", "null"], "maxLength": 20},
        "date_of_birth": {"type": ["string", "null"], "format": "date"},
        "gender": {"enum": ["male", "female", None]},
        "phone": {"type": ["string", "null"], "maxLength": 30},
        "address": {"type": ["string", "null"], "maxLength": 500},
    },
})
CAPTURED_DOSSIER = schema("CapturedDossier", {
    "type": "object", "additionalProperties": False,
    "required": ["procedure_key", "received_at", "owner", "documents"],
    "description": "A dossier as the officer captured it at the door. Photos are referred to by hash and must be "
                   "uploaded first. `code` is the final code the phone issued from its reserved block (absent when "
                   "none was left: then `provisional_code`); `due_at` is the date printed on the receipt.",
    "properties": {
        "procedure_key": {"type": "string", "maxLength": 80},
        "received_at": {"type": "string", "format": "date-time"},
        "device_now": {"type": "string", "format": "date-time", "description": "the phone's clock when sending"},
        "code": {"type": ["string", "null"], "maxLength": 64},
        "provisional_code": {"type": ["string", "null"], "maxLength": 64},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "reception_mode": {"enum": ["home_visit", "counter"]},
        "home_visit_id": {"type": ["integer", "null"]},
        "owner": PERSON,
        "submitter": {"anyOf": [PERSON, {"type": "null"}]},
        "documents": {"type": "array", "maxItems": 60, "items": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "required_document_code": {"type": ["string", "null"], "maxLength": 32},
                "name": {"type": ["string", "null"], "maxLength": 300},
                "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
                "sighted_original": {"type": "boolean"},
            },
        }},
        "citizen_requested_receipt": {"type": "boolean"},
        "summary": {"type": ["string", "null"], "maxLength": 2000},
        "competent_agency_code": {
            "type": ["string", "null"], "maxLength": 32,
            "description": "the agency code of the ward the dossier is for, when it is not the receiving ward "
                           "(Decree 118/2025: receipt regardless of boundary; one of the day download's `wards`); "
                           "absent or null: the receiving ward; ignored when the procedure version names its "
                           "competent agency (a department)"},
        "claim_token_sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$",
                               "description": "SHA-256 (hex) of the claim token the phone printed in the receipt's "
                                              "QR code; the token itself never leaves the phone but on paper"},
    },
})
SEALED_DOSSIER = schema("SealedDossier", {
    "type": "object", "additionalProperties": False, "required": ["sealed"],
    "description": "A CapturedDossier sealed on the phone to the server's key (server/sealing/envelope.py, context "
                   "`dossier:<client_uuid>`): only the server can read it. `device_now` stays outside: it changes "
                   "with every try and is not personal.",
    "properties": {
        "sealed": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 300000,
                   "description": "the envelope, base64url without padding"},
        "device_now": {"type": "string", "format": "date-time", "description": "the phone's clock when sending"},
    },
})
SYNCED_DOSSIER = schema("SyncedDossier", {
    "allOf": [DOSSIER, {"type": "object", "required": ["documents", "flags"], "properties": {
        "documents": {"type": "array", "items": {"type": "object"}},
        "flags": {"type": "array", "items": {"type": "object"}},
        "receipt_number": {"type": ["string", "null"], "description": "the number of the issued receipt (Mẫu 01), "
                                                                       "e.g. 12/TNHS"}}}],
})
CODE_BLOCK_REQUEST = schema("CodeBlockRequest", {
    "type": "object", "additionalProperties": False,
    "properties": {"days": {"type": "array", "items": {"type": "string", "format": "date"}, "maxItems": 14},
                   "size": {"type": "integer", "minimum": 1, "maximum": 500}},
})
CODE_BLOCKS = schema("CodeBlocks", {"type": "object", "required": ["blocks"], "properties": {"blocks": {
    "type": "array", "items": {"type": "object", "required": ["day", "first_code", "last_code", "first", "last"]}}}})


def _problem(error: AttachmentError | StorageError) -> ApiProblem:
    """A refused upload (the file itself) or a store that cannot take it (503/507), with the file's field error."""
    slugs = {413: "too-large", 415: "unsupported-media-type", 422: "invalid-attachment"}
    titles = {413: ("Tệp quá lớn", "Payload too large"), 415: ("Định dạng không được hỗ trợ", "Unsupported type"),
              422: ("Tệp không hợp lệ", "Invalid file")}
    for status, (slug, title) in STORAGE_PROBLEMS.items():
        slugs[status], titles[status] = slug, title
    return ApiProblem(error.status, slugs[error.status], titles[error.status], (error.vi, error.en),
                      errors=[field_error("file", error.code, error.vi, error.en)])


@bp.put("/attachments/<sha256>")
@roles_required(*WARD_ROLES)
@operation("Upload a photo or PDF under its SHA-256 (201 first time, 200 when already stored)", tags=TAGS,
           responses={200: ATTACHMENT, 201: ATTACHMENT},
           parameters=[{"name": "sha256", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}])
def put_attachment(sha256: str):
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ApiProblem(404, "not-found", ("Không tìm thấy", "Not found"),
                         ("Địa chỉ phải là mã SHA-256 (64 ký tự hex).", "The path must be a SHA-256 (64 hex digits)."))
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise _problem(AttachmentError(413, "too_large", f"Tệp quá lớn (tối đa {limit // 1_000_000} MB).",
                                       f"The file is too large (at most {limit // 1_000_000} MB)."))
    data = request.stream.read(limit + 1)
    if request.mimetype == SEALED_MEDIA_TYPE:
        # A photo sealed on the phone: opened here, then checked like any upload (its SHA-256 first).
        data = _opened(data, f"photo:{sha256}")
    device = current_device()
    try:
        attachment, created = store(sha256, data, current_user.id, device.id if device else None)
        db.session.commit()
    except (AttachmentError, StorageError) as error:
        db.session.rollback()
        raise _problem(error) from None
    except IntegrityError:
        # Two uploads of one new photo raced: the other stored the same bytes under the same hash.
        db.session.rollback()
        attachment, created = store(sha256, data, current_user.id, device.id if device else None)
        db.session.commit()
    return {"sha256": attachment.sha256, "media_type": attachment.media_type, "size_bytes": attachment.size_bytes,
            "width": attachment.width, "height": attachment.height}, 201 if created else 200


def synced_json(dossier) -> dict:
    data = dossier_json(dossier)
    data["documents"] = [{"required_document_code": d.required_document.code if d.required_document else None,
                          "name": d.name, "sha256": d.sha256, "sighted_original": d.sighted_original}
                         for d in dossier.documents]
    data["flags"] = [{"kind": f.kind.value, "detail": f.detail} for f in dossier.flags]
    receipts = issued_forms(dossier, "receipt")
    data["receipt_number"] = receipts[0].form_number if receipts else None  # "12/TNHS", printed on the phone's receipt
    return data


@bp.put("/dossiers/<uuid:client_uuid>")
@roles_required(*WARD_ROLES)
@operation("Store a dossier captured offline, idempotently by the phone's UUID: 201 stored, 200 identical "
           "replay, 409 different content under this UUID, 422 invalid or a sealed body that cannot be opened",
           tags=TAGS, request_body={"oneOf": [CAPTURED_DOSSIER, SEALED_DOSSIER]},
           responses={200: SYNCED_DOSSIER, 201: SYNCED_DOSSIER})
def put_dossier(client_uuid: uuid.UUID):
    payload = _dossier_body(client_uuid)
    if current_user.agency is None:
        raise ApiProblem(403, "forbidden", ("Không có quyền", "Forbidden"),
                         ("Tài khoản chưa gắn với phường.", "The account has no ward."))
    try:
        try:
            dossier, created = receive_from_device(client_uuid, payload, current_user, current_device())
            db.session.commit()
        except (ValueError, OverflowError, DataError):
            # Whatever the schema let through but cannot be stored (a value out of the database's range, a date
            # that does not exist...): a refusal the phone quarantines, never a 500 it would retry forever.
            db.session.rollback()
            raise SyncRefused(422, [field_error("$", "invalid_value", "Hồ sơ chứa giá trị không lưu được.",
                                                "The dossier holds a value that cannot be stored.")]) from None
    except (IntegrityError, SyncRefused) as error:
        # Identical requests may race: the one that lost sees a unique violation, or finds "its" code already used
        # by the winner. Look again: if the winner stored this very body, answer as for a replay.
        db.session.rollback()
        try:
            dossier, created = find_replay(client_uuid, payload_digest(payload)), False
        except SyncRefused as refused:
            raise _sync_problem(refused) from None
        if dossier is None:
            if isinstance(error, SyncRefused):
                raise _sync_problem(error) from None
            raise
    return synced_json(dossier), 201 if created else 200


def _opened(envelope: bytes, context: str) -> bytes:
    """The plaintext of a sealed envelope, or the 422 the phone quarantines the dossier with."""
    try:
        plaintext, _kid = open_envelope(envelope, context)
    except SealRefused as refused:
        raise ApiProblem(422, refused.slug, ("Không mở được dữ liệu niêm phong", "Sealed data cannot be opened"),
                         (refused.vi, refused.en)) from None
    return plaintext


def _dossier_body(client_uuid: uuid.UUID) -> dict:
    """The dossier as captured: the body itself, or what its sealed envelope holds (checked against the same
    schema once opened, so a sealed dossier gets exactly the refusals a clear one gets). Clear bodies stay accepted:
    a phone updated while dossiers waited still holds some, sealed by no one."""
    data = body({"type": "object"})
    if "sealed" not in data:
        return body(CAPTURED_DOSSIER)
    data = body(SEALED_DOSSIER)
    try:
        envelope = base64.urlsafe_b64decode(data["sealed"] + "=" * (-len(data["sealed"]) % 4))
    except ValueError:
        envelope = b""
    try:
        payload = json.loads(_opened(envelope, f"dossier:{client_uuid}"))
    except ValueError:  # opened, yet not JSON: only a faulty phone seals that
        payload = None
    errors = validate(payload, CAPTURED_DOSSIER)
    if errors:
        raise bad_request("Dữ liệu gửi lên chưa đúng.", "The submitted data is invalid.", errors)
    if "device_now" in data:
        payload["device_now"] = data["device_now"]
    return payload


def _sync_problem(refused: SyncRefused) -> ApiProblem:
    if refused.status == 409:
        return ApiProblem(409, "dossier-conflict", ("Xung đột dữ liệu", "Conflict"),
                          ("Mã định danh hồ sơ này đã được dùng cho nội dung khác.",
                           "This dossier UUID already holds different content."))
    extra = {"photos_to_send": refused.photos_to_send} if refused.photos_to_send else {}
    return ApiProblem(422, "invalid-dossier", ("Hồ sơ chưa hợp lệ", "Invalid dossier"),
                      ("Vui lòng sửa các trường được đánh dấu.", "Please correct the marked fields."),
                      errors=refused.errors, **extra)


@bp.post("/devices/current/code-blocks")
@roles_required("officer")
@operation("Reserve blocks of official dossier codes for this phone (default: the next working days)", tags=TAGS,
           request_body=CODE_BLOCK_REQUEST, responses={200: CODE_BLOCKS})
def reserve_code_blocks():
    data = body()
    device = current_device()
    if device is None:
        raise ApiProblem(409, "no-device", ("Chưa đăng ký thiết bị", "No registered device"),
                         ("Hãy đăng nhập trên điện thoại công tác để nhận khối mã.",
                          "Sign in on your work phone to receive code blocks."))
    _lock(device)
    size = data.get("size", current_app.config["CODE_BLOCK_SIZE"])
    days = [date.fromisoformat(d) for d in data["days"]] if data.get("days") else _next_working_days()
    blocks = []
    for day in days:
        block = db.session.scalar(select(CodeReservation).where(
            CodeReservation.device_id == device.id, CodeReservation.day == day))
        if block is None:  # one block per phone and day; asking again returns the same block
            block = codes.reserve_block(current_user.agency, day, size, device.id, current_user.id)
        blocks.append(block)
    db.session.commit()
    return {"blocks": [_block_json(b) for b in blocks]}


def _lock(device) -> None:
    """Serialise code-block requests of one phone (row lock on PostgreSQL; SQLite serialises writers anyway), so
    that 20 concurrent requests reserve one block per day, not one each."""
    db.session.scalar(select(Device.id).where(Device.id == device.id).with_for_update())


def _next_working_days() -> list[date]:
    """Today, whatever day it is (an officer out on a Saturday still hands over final codes), then working days."""
    today = to_local(utcnow()).date()
    cal = calendar.load_calendar(today.year, today.year + 1)
    days = [today]
    while len(days) < current_app.config["CODE_BLOCK_DAYS"]:
        days.append(cal.next_working_day(days[-1]))
    return days


# --- the officer's day ---------------------------------------------------------------------------------------

DAY = schema("OfficerDay", {
    "type": "object", "required": ["server_time", "cursor", "visits", "catalogue", "calendar", "code_blocks"],
    "properties": {
        "server_time": {"type": "string", "format": "date-time"},
        "cursor": {"type": "string", "description": "pass to /sync/changes to get only what changed since"},
        "visits": {"type": "array", "items": {"type": "object"}},
        "catalogue": {"type": "object", "required": ["version", "procedures"]},
        "calendar": {"type": "object"},
        "code_blocks": {"type": "array", "items": {"type": "object"}},
        "receipt_series": {"type": ["string", "null"], "description": "the series of the receipt's number "
                                                                       "(the \"TNHS\" of \"Số: 12/TNHS\")"},
        "sealing_key": {"type": "object", "description": "the public key to seal finalised dossiers to "
                                                         "(as GET /api/v1/sealing-key)"},
        "wards": {"type": "array", "items": {"type": "object", "required": ["agency_code", "name_vi"]},
                  "description": "the province's one-stop wards, the officer's own first: the wards a dossier "
                                 "received may be for (`competent_agency_code` of a CapturedDossier)"},
    },
})
CHANGES = schema("SyncChanges", {
    "type": "object", "required": ["server_time", "cursor", "visits", "dossiers", "catalogue_version",
                                   "calendar_version"],
    "properties": {
        "server_time": {"type": "string", "format": "date-time"}, "cursor": {"type": "string"},
        "visits": {"type": "array", "items": {"type": "object"}},
        "open_visit_ids": {"type": "array", "items": {"type": "integer"},
                           "description": "every visit still the officer's to make; the phone drops the others "
                                          "(cancelled, done, or given to another officer)"},
        "dossiers": {"type": "array", "items": {"type": "object"}},
        "catalogue_version": {"type": "string"}, "calendar_version": {"type": "string"},
    },
})


def _receipt_series(day: date) -> str | None:
    spec = spec_for("receipt", day, day)
    return spec.series if spec else None


def visit_json(visit) -> dict:
    person = visit.person
    planned = visit.planned_for.isoformat() if visit.planned_for else None
    return {"id": visit.id, "status": visit.status.value, "planned_for": planned,
            "planned_time": visit.planned_time.strftime("%H:%M") if visit.planned_time else None,
            "reason": visit.reason.value, "address": visit.address, "phone": visit.phone_e164,
            "person": {"full_name": person.full_name, "personal_id": person.personal_id,
                       "date_of_birth": person.date_of_birth and person.date_of_birth.isoformat(),
                       "phone": person.phone_e164},
            "procedure_key": visit.procedure.key if visit.procedure else None, "note": visit.note,
            "updated_at": visit.updated_at.isoformat()}


def catalogue_json(day: date) -> dict:
    """Procedures in force on ``day`` with their required documents, and a version that changes with them."""
    from server.reference.models import Procedure

    procedures = []
    for procedure in db.session.scalars(select(Procedure).order_by(Procedure.name_vi)):
        version = procedure.version_at(day)
        if version is None:
            continue
        procedures.append({
            "key": procedure.key, "national_code": procedure.national_code, "name_vi": procedure.name_vi,
            "name_en": procedure.name_en, "field": procedure.field, "version_id": version.id,
            "time": {"value": version.time_value, "unit": version.time_unit.value,
                     "same_day_cutoff": version.same_day_cutoff and version.same_day_cutoff.strftime("%H:%M")},
            "home_reception": version.home_reception.value,
            # A department decides it: the phone offers no choice of ward (server/interagency/units.py).
            "competent_agency_code": version.competent_agency_code,
            "required_documents": [{"code": d.code, "name_vi": d.name_vi, "name_en": d.name_en,
                                    "mandatory": d.mandatory, "copy_type": d.copy_type.value, "note": d.note,
                                    "quantity": d.quantity}
                                   for d in version.required_documents],
        })
    digest = hashlib.sha256(json.dumps(procedures, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return {"version": digest, "procedures": procedures}


def _my_visits(since=None):
    query = select(HomeVisit).where(HomeVisit.officer_id == current_user.id)
    if since is not None:
        query = query.where(HomeVisit.updated_at > since)
    else:
        query = query.where(HomeVisit.status.in_([VisitStatus.REQUESTED, VisitStatus.SCHEDULED]))
    return db.session.scalars(query.order_by(HomeVisit.planned_for, HomeVisit.id))


def _cursor(moment) -> str:
    return moment.isoformat()


@bp.post("/sync/day")
@roles_required("officer")
@operation("Everything the phone needs for a day offline: visits, catalogue, 12 months of calendar, code blocks",
           tags=TAGS, request_body=EMPTY, responses={200: DAY})
def officer_day():
    body()
    now = utcnow()
    today = to_local(now).date()
    published = calendar.publish(today, today.replace(year=today.year + 1))
    blocks = []
    device = current_device()
    if device is not None:
        _lock(device)
        for day in _next_working_days():
            block = db.session.scalar(select(CodeReservation).where(
                CodeReservation.device_id == device.id, CodeReservation.day == day))
            block = block or codes.reserve_block(current_user.agency, day, current_app.config["CODE_BLOCK_SIZE"],
                                                 device.id, current_user.id)
            blocks.append(_block_json(block))
    hours = calendar.office_hours(current_user.agency)
    visits = list(_my_visits())
    # Which people went to which phone, for the breach report if it is lost (the day replaces the phone's list).
    record_visits_sent(device, visits, {v.id for v in visits}, now)
    result = {
        "server_time": now.isoformat(),
        "cursor": _cursor(now),
        "visits": [visit_json(v) for v in visits],
        "catalogue": catalogue_json(today),
        "calendar": {
            "from": today.isoformat(), "to": today.replace(year=today.year + 1).isoformat(),
            "non_working_days": [d.isoformat() for d in published.non_working_days],
            "working_weekend_days": [d.isoformat() for d in published.working_weekend_days],
            "version": published.version,
            "office_hours": [hours.am_open.strftime("%H:%M"), hours.am_close.strftime("%H:%M"),
                             hours.pm_open.strftime("%H:%M"), hours.pm_close.strftime("%H:%M")],
            "same_day_cutoff": current_app.config["SAME_DAY_CUTOFF"],
        },
        "code_blocks": blocks,
        # The receipt printed at the door says "Số: …/TNHS": its number is given when the server issues it.
        "receipt_series": _receipt_series(today),
        "sealing_key": sealing_keys.public_json(sealing_keys.current_key()),
        "wards": wards_json(current_user.agency),
    }
    db.session.commit()
    return result


@bp.get("/sync/changes")
@roles_required("officer")
@operation("What changed since a cursor: visits, the officer's dossiers, catalogue and calendar versions",
           tags=TAGS, responses={200: CHANGES},
           parameters=[{"name": "cursor", "in": "query", "required": True,
                        "schema": {"type": "string", "format": "date-time"},
                        "description": "The cursor of the previous answer (an RFC 3339 time)"}])
def changes():
    try:
        since = datetime.fromisoformat(request.args.get("cursor", "").upper())  # RFC 3339 allows "t" and "z"
        if since.tzinfo is None:
            raise ValueError
    except ValueError:
        raise ApiProblem(400, "bad-request", ("Yêu cầu không hợp lệ", "Bad request"),
                         ("Con trỏ đồng bộ không hợp lệ; hãy tải lại dữ liệu trong ngày.",
                          "Invalid sync cursor; download the day again.")) from None
    now = utcnow()
    today = to_local(now).date()
    dossiers = db.session.scalars(select(Dossier).where(Dossier.received_by_id == current_user.id,
                                                        Dossier.updated_at > since).order_by(Dossier.updated_at))
    visits = list(_my_visits(since))
    open_visit_ids = list(db.session.scalars(select(HomeVisit.id).where(
        HomeVisit.officer_id == current_user.id,
        HomeVisit.status.in_([VisitStatus.REQUESTED, VisitStatus.SCHEDULED])).order_by(HomeVisit.id)))
    result = {
        "server_time": now.isoformat(),
        "cursor": _cursor(now),
        "visits": [visit_json(v) for v in visits],
        "open_visit_ids": open_visit_ids,
        "dossiers": [{"client_uuid": str(d.client_uuid), "code": d.code, "state": d.state.value,
                      "national_status": d.national_status, "due_at": _iso_local(d.due_at)} for d in dossiers],
        "catalogue_version": catalogue_json(today)["version"],
        "calendar_version": calendar.calendar_version(),
    }
    # The phone keeps the open visits and drops the others: remember which people it now holds.
    record_visits_sent(current_device(), visits, set(open_visit_ids), now)
    db.session.commit()
    return result


def _iso_local(moment) -> str | None:
    return to_local(moment).isoformat() if moment else None


def _block_json(block) -> dict:
    agency = block.agency
    return {"day": block.day.isoformat(), "first": block.first_number, "last": block.last_number,
            "first_code": codes.format_code(agency.agency_code, block.day, block.first_number),
            "last_code": codes.format_code(agency.agency_code, block.day, block.last_number),
            "pattern": current_app.config["DOSSIER_CODE_PATTERN"], "agency_code": agency.agency_code}
