"""Receiving a dossier captured offline: idempotent by the phone's UUID, checked as a whole, flagged not rewritten.

The phone may send the same dossier many times (a lost response, a retry after a crash, a replay after sign-in).
The first complete request stores it; an identical one gets the same answer; a different body under the same
UUID is a conflict. What the citizen was handed at the door (code, due date) is never changed silently: a
difference with the server's own computation, or a phone clock far from the server's, becomes a flag for review.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date
from datetime import datetime

from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select

from server.api.openapi import parse_datetime
from server.auth.models import Device
from server.auth.models import User
from server.calendar.workdays import to_local
from server.citizen import claims
from server.dossiers import codes
from server.dossiers.attachments import may_cite
from server.dossiers.models import Attachment
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.models import DossierFlag
from server.dossiers.models import FlagKind
from server.dossiers.models import HomeVisit
from server.dossiers.models import ReceptionMode
from server.dossiers.services import NewDossier
from server.dossiers.services import receive
from server.dossiers.workflow import GuardFailed
from server.errors import field_error
from server.extensions import db
from server.interagency.units import UnitRefused
from server.interagency.units import competent_agency_from_code
from server.interagency.units import default_competent_agency
from server.people.forms import check_person_fields
from server.people.models import Gender
from server.people.models import Person
from server.reference.models import Agency
from server.reference.models import Procedure
from server.storage import backend
from server.types import utcnow


class SyncRefused(Exception):
    """The dossier cannot be stored as sent: 409 (another body under this UUID) or 422 (field errors)."""

    def __init__(self, status: int, errors: list[dict] | None = None, photos_to_send: list[str] | None = None):
        super().__init__(status)
        self.status, self.errors = status, errors or []
        #: Photos the dossier cites that the server cannot use yet (not uploaded by this phone or ward, or not in
        #: the store): the phone uploads them (again) and sends the dossier once more.
        self.photos_to_send = photos_to_send or []


def payload_digest(payload: dict) -> str:
    """Identity of a body for replay detection; the phone's clock at sending time is not part of it."""
    content = {k: v for k, v in payload.items() if k != "device_now"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8", "surrogatepass")).hexdigest()


def find_replay(client_uuid: uuid.UUID, digest: str) -> Dossier | None:
    """The stored dossier for an identical replay; :class:`SyncRefused` (409) for a different body."""
    existing = db.session.scalar(select(Dossier).where(Dossier.client_uuid == client_uuid))
    if existing is not None and existing.payload_sha256 != digest:
        raise SyncRefused(409)
    return existing


@dataclass
class _Checked:
    procedure_version: object
    owner: Person
    submitter: Person
    documents: list[tuple[object, Attachment | None, dict]]
    competent_agency: Agency | None = None  #: None: the receiving ward decides


def _moment_errors(payload: dict) -> list[dict]:
    """Date-times the schema accepts (RFC 3339) but no computation can use: too close to year 1 or 9999."""
    errors = []
    for name in ("received_at", "due_at", "device_now"):
        if payload.get(name):
            try:
                parse_datetime(payload[name])
            except ValueError:
                errors.append(field_error(name, "out_of_range", "Thời điểm không hợp lệ (năm quá xa).",
                                          "The date-time is out of range (the year is too far)."))
    return errors


def receive_from_device(
    client_uuid: uuid.UUID, payload: dict, user: User, device: Device | None
) -> tuple[Dossier, bool]:
    """Store the dossier or recognise a replay; returns (dossier, created). Flushes; the caller commits."""
    text_errors = _text_errors(payload) + _moment_errors(payload)
    if text_errors:
        raise SyncRefused(422, text_errors)
    digest = payload_digest(payload)
    existing = find_replay(client_uuid, digest)
    if existing is not None:
        return existing, False
    received_at = parse_datetime(payload["received_at"])
    checked = _check(payload, received_at, user, device)
    try:
        dossier = receive(NewDossier(
            procedure_version=checked.procedure_version, agency=user.agency, owner=checked.owner,
            submitter=checked.submitter, received_by=user, received_at=received_at,
            reception_mode=ReceptionMode(payload.get("reception_mode", "home_visit")), client_uuid=client_uuid,
            code=payload.get("code"), device_id=device.id if device else None,
            provided_document_ids=frozenset(doc.id for doc, _, _ in checked.documents if doc is not None),
            handed_over=_handed_over(checked.documents),
            citizen_requested_receipt=payload.get("citizen_requested_receipt", False),
            summary=payload.get("summary"), competent_agency=checked.competent_agency,
        ))
    except codes.CodeError as error:
        raise SyncRefused(422, [field_error("code", error.code, error.vi, error.en)]) from None
    except GuardFailed as error:
        raise SyncRefused(422, [field_error(f.field or "", f.code, f.vi, f.en) for f in error.failures]) from None
    dossier.payload_sha256 = digest
    dossier.provisional_code = payload.get("provisional_code")
    dossier.home_visit_id = payload.get("home_visit_id")
    for required, attachment, entry in checked.documents:
        db.session.add(DossierDocument(
            dossier=dossier, required_document_id=required.id if required else None,
            name=entry.get("name") or (required.name_vi if required else "Tài liệu"),
            sha256=attachment.sha256 if attachment else None, sighted_original=entry.get("sighted_original", False),
            captured_at=received_at, captured_by_id=user.id,
        ))
    _flag_differences(dossier, payload)
    if payload.get("claim_token_sha256"):
        try:
            claims.record_owner_token(dossier, payload["claim_token_sha256"], user)
        except claims.ClaimError as error:
            raise SyncRefused(422, [field_error("claim_token_sha256", error.code, error.vi, error.en)]) from None
    db.session.flush()
    return dossier, True


def _handed_over(documents: list[tuple[object, Attachment | None, dict]]) -> dict[int, tuple[int, bool]]:
    """Required document id → (photos sent, original sighted): how each paper was handed over, for Mẫu 01."""
    found: dict[int, tuple[int, bool]] = {}
    for required, attachment, entry in documents:
        if required is None:
            continue
        photos, sighted = found.get(required.id, (0, False))
        found[required.id] = (photos + (1 if attachment else 0), sighted or bool(entry.get("sighted_original")))
    return found


def _text_errors(value, path: str = "") -> list[dict]:
    """Strings no database can store the same way: a NUL (PostgreSQL refuses it) or a lone surrogate."""
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in _text_errors(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _text_errors(v, f"{path}.{i}")]
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [field_error(path, "invalid_text", "Văn bản chứa ký tự không hợp lệ.",
                                "The text contains an invalid character.")]
        if "\x00" in value:
            return [field_error(path, "invalid_text", "Văn bản chứa ký tự NUL không hợp lệ.",
                                "The text contains a NUL character.")]
    return []


def _check(payload: dict, received_at: datetime, user: User, device: Device | None) -> _Checked:
    errors: list[dict] = []
    visit_id = payload.get("home_visit_id")
    if visit_id is not None:
        visit = db.session.get(HomeVisit, visit_id) if 0 < visit_id < 2**31 else None
        if visit is None or visit.agency_id != user.agency_id:
            errors.append(field_error("home_visit_id", "unknown", "Không có lượt đến nhà này.",
                                      "No such home visit."))
    provisional = payload.get("provisional_code")
    if provisional and db.session.scalar(select(Dossier.id).where(Dossier.provisional_code == provisional)):
        errors.append(field_error("provisional_code", "taken", "Mã tạm này đã được dùng cho hồ sơ khác.",
                                  "This provisional code is already used by another dossier."))
    procedure = db.session.scalar(select(Procedure).where(Procedure.key == payload["procedure_key"]))
    version = procedure.version_at(to_local(received_at).date()) if procedure else None
    if procedure is None:
        errors.append(field_error("procedure_key", "unknown", "Không có thủ tục này.", "Unknown procedure."))
    elif version is None:
        errors.append(field_error("procedure_key", "not_in_force", "Thủ tục không có hiệu lực vào ngày tiếp nhận.",
                                  "The procedure is not in force on the day of receipt."))
    competent = None
    if version is not None:
        try:
            competent = competent_agency_from_code(version, user.agency, payload.get("competent_agency_code"))
        except UnitRefused as refused:
            if refused.code == "competent_agency_unknown":
                # The catalogue names an agency this system lacks: nothing the officer at the door can fix, and
                # the receipt is printed. Decided where it was received until the catalogue is fixed.
                competent = default_competent_agency(version, user.agency)
            else:
                errors.append(field_error("competent_agency_code", refused.code, refused.vi, refused.en))
    owner = _person(payload["owner"], "owner", errors)
    submitter = _person(payload["submitter"], "submitter", errors) if payload.get("submitter") else owner
    documents = []
    by_code = {d.code: d for d in version.required_documents} if version else {}
    cited: set[str] = set()
    photos_to_send: list[str] = []
    files = backend()
    for index, entry in enumerate(payload.get("documents", [])):
        required = None
        if entry.get("required_document_code"):
            required = by_code.get(entry["required_document_code"])
            if required is None and version is not None:
                errors.append(field_error(f"documents.{index}.required_document_code", "unknown",
                                          "Giấy tờ không thuộc thủ tục này.", "Not a document of this procedure."))
        attachment = None
        if entry.get("sha256"):
            attachment = db.session.get(Attachment, entry["sha256"])
            if entry["sha256"] in cited:
                errors.append(field_error(f"documents.{index}.sha256", "duplicate",
                                          "Ảnh này đã được dùng cho giấy tờ khác của hồ sơ.",
                                          "This photo is already used for another document of the dossier."))
            elif attachment is None or not may_cite(attachment.sha256, user, device):
                # The same answer whether the photo is unknown or someone else's: nothing about other wards leaks.
                errors.append(field_error(f"documents.{index}.sha256",
                                          "unknown_attachment" if attachment is None else "not_yours",
                                          "Ảnh chưa được tải lên máy chủ.", "This photo has not been uploaded."))
                photos_to_send.append(entry["sha256"])  # an upload by this phone makes it citable (may_cite)
                attachment = None
            elif not files.has(attachment.sha256):
                # The row says it was uploaded, but the bytes are not in the store (uploaded through a host whose
                # folder this one cannot see, or lost): refused, and the phone uploads the photo again
                # (pwa/lib/outbox-flush.classic.js, on the refusal's photos_to_send), which puts the bytes back.
                errors.append(field_error(f"documents.{index}.sha256", "missing_from_store",
                                          "Máy chủ không có tệp của ảnh này trong kho lưu; máy sẽ gửi lại ảnh.",
                                          "The server's file store does not hold this photo; the phone sends it "
                                          "again."))
                photos_to_send.append(entry["sha256"])
                attachment = None
            cited.add(entry["sha256"])
        documents.append((required, attachment, entry))
    if errors:
        raise SyncRefused(422, errors, photos_to_send)
    return _Checked(version, owner, submitter, documents, competent)


def _person(data: dict, prefix: str, errors: list[dict]) -> Person | None:
    """A new record of the person as the officer captured them; field errors are collected.

    Never the record of a known personal ID: the dossier keeps what was typed at the door, and another record
    (another dossier's, or what a citizen declared for an account) is neither reused nor overwritten. A difference
    with the ward's own records is flagged after the dossier is stored (:func:`_flag_person_mismatches`).
    """
    birth = date.fromisoformat(data["date_of_birth"]) if data.get("date_of_birth") else None
    checked = check_person_fields(data.get("personal_id"), data.get("phone"), birth, data.get("gender"),
                                  full_name=data.get("full_name"))
    for finding in checked.errors:
        errors.append(field_error(f"{prefix}.{finding.field}", finding.code, finding.vi, finding.en))
    if checked.errors:
        return None
    person = Person(full_name=checked.full_name, personal_id=checked.personal_id, date_of_birth=birth,
                    gender=Gender(data["gender"]) if data.get("gender") else None, phone_e164=checked.phone_e164,
                    address=data.get("address"))
    db.session.add(person)
    return person


def _flag_differences(dossier: Dossier, payload: dict) -> None:
    tolerance = current_app.config["CLOCK_SKEW_TOLERANCE_SECONDS"]
    if payload.get("device_now"):
        skew = (parse_datetime(payload["device_now"]) - utcnow()).total_seconds()
        if abs(skew) > tolerance:
            dossier.flags.append(DossierFlag(kind=FlagKind.CLOCK_SKEW, detail={"skew_seconds": round(skew)}))
    printed = payload.get("due_at")
    if printed:
        printed_at = parse_datetime(printed)
        if printed_at != dossier.due_at:
            # The receipt in the citizen's hands is the commitment; the server's figure goes to review.
            dossier.flags.append(DossierFlag(kind=FlagKind.DUE_MISMATCH, detail={
                "printed": to_local(printed_at).isoformat(), "server": to_local(dossier.due_at).isoformat()}))
            dossier.due_at = dossier.original_due_at = printed_at
    ahead = (parse_datetime(payload["received_at"]) - utcnow()).total_seconds()
    if ahead > tolerance:
        # A receipt dated in the future is reviewed, not refused: the phone's clock may be wrong.
        dossier.flags.append(DossierFlag(kind=FlagKind.CLOCK_SKEW, detail={"received_in_future_seconds": round(ahead)}))
    if not payload.get("code"):
        dossier.flags.append(DossierFlag(kind=FlagKind.PROVISIONAL_CODE, detail={
            "provisional": payload.get("provisional_code"), "official": dossier.code}))
    _flag_person_mismatches(dossier)


#: What identifies a person; a different phone or address is ordinary life, not a doubt about who they are.
_IDENTITY_FIELDS = ("full_name", "date_of_birth", "gender")


def _identity_value(person: Person, field: str):
    value = getattr(person, field)
    return " ".join(value.split()).casefold() if field == "full_name" and value else value


def _flag_person_mismatches(dossier: Dossier) -> None:
    """One PERSON_MISMATCH flag per person of ``dossier`` whose personal ID is on another dossier of the SAME ward
    with a different name, date of birth or gender. Records of other wards are never looked at (a ward learns
    nothing of what another stored), and neither record is changed: the desk resolves the flag."""
    db.session.flush()
    people = {"owner": dossier.owner}
    if dossier.submitter is not None and dossier.submitter is not dossier.owner:
        people["submitter"] = dossier.submitter
    for role, person in people.items():
        if not person.personal_id:
            continue
        on_ward = (select(Person, Dossier.id, Dossier.code)
                   .join(Dossier, or_(Dossier.owner_id == Person.id, Dossier.submitter_id == Person.id))
                   .where(Person.personal_id == person.personal_id, Dossier.agency_id == dossier.agency_id,
                          Dossier.id != dossier.id, Person.id != person.id)
                   .order_by(Dossier.id.desc()).limit(20))
        fields: set[str] = set()
        others = []
        for other, other_id, other_code in db.session.execute(on_ward):
            differing = {f for f in _IDENTITY_FIELDS if _identity_value(other, f) != _identity_value(person, f)}
            if differing:
                fields |= differing
                if other_id not in {o["dossier_id"] for o in others}:
                    others.append({"dossier_id": other_id, "code": other_code})
        if fields:
            dossier.flags.append(DossierFlag(kind=FlagKind.PERSON_MISMATCH, detail={
                "role": role, "fields": sorted(fields), "other_dossiers": others[:5]}))
    _flag_one_id_for_two_people(dossier, people)


def _flag_one_id_for_two_people(dossier: Dossier, people: dict) -> None:
    """Owner and submitter typed with one personal ID but as different people (most often the owner's ID typed
    again in the submitter's field): a PERSON_MISMATCH flag on the submitter, for the desk to check with them."""
    owner, submitter = people["owner"], people.get("submitter")
    if submitter is None or not owner.personal_id or submitter.personal_id != owner.personal_id:
        return
    differing = {f for f in _IDENTITY_FIELDS if _identity_value(owner, f) != _identity_value(submitter, f)}
    if differing:
        dossier.flags.append(DossierFlag(kind=FlagKind.PERSON_MISMATCH, detail={
            "role": "submitter", "fields": sorted(differing), "same_dossier": True}))
