"""A data subject's data as the ward holds it: JSON (machine-readable) and an A5 PDF laid out like the statutory
forms (server/forms/pdf.py, the same embedded font), for the access and export requests.

What is included: every record of the person (server/privacy/records.py: name, personal ID, birth date, gender,
phone, address, restriction), each dossier they are the owner or submitter of (code, procedure, state, dates,
documents with whether a photo is held, and its history's steps), their home visits, and the consents of the
account. Photos themselves are not embedded (the citizen sees them at the desk), only listed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from server.auth.models import ConsentRecord
from server.auth.models import User
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import HomeVisit
from server.extensions import db
from server.forms import pdf
from server.forms.content import NATIONAL_MOTTO
from server.forms.content import long_date
from server.forms.content import nfc
from server.forms.content import short_date
from server.people.models import Person
from server.privacy import records
from server.privacy.models import DataSubjectRequest
from server.privacy.requests import subject_records
from server.web.formats import phone_text

KIND_NAMES = {"access": "Xem dữ liệu cá nhân", "export": "Trích xuất dữ liệu cá nhân",
              "rectify": "Đính chính dữ liệu cá nhân", "restrict": "Hạn chế xử lý dữ liệu cá nhân",
              "erase": "Xóa dữ liệu cá nhân"}


def _iso(moment: datetime | None) -> str | None:
    return to_local(moment).isoformat() if moment else None


def _person(person: Person) -> dict:
    return {
        "full_name": person.full_name, "personal_id": person.personal_id, "date_of_birth":
        person.date_of_birth.isoformat() if person.date_of_birth else None,
        "gender": person.gender.value if person.gender else None, "phone": person.phone_e164,
        "address": person.address, "recorded_at": _iso(person.created_at),
        "processing_restricted_at": _iso(person.processing_restricted_at),
    }


def _dossier(dossier: Dossier, ids: set[int]) -> dict:
    roles = [role for role, pid in (("owner", dossier.owner_id), ("submitter", dossier.submitter_id)) if pid in ids]
    return {
        "code": dossier.code or dossier.provisional_code, "procedure": dossier.procedure_version.procedure.name_vi,
        "as": roles, "state": dossier.state.value, "received_at": _iso(dossier.device_received_at),
        "due_at": _iso(dossier.due_at), "closed_at": _iso(dossier.closed_at),
        "photos_kept_until": _iso(records.photos_kept_until(dossier)),
        "personal_data_kept_until": _iso(records.personal_data_kept_until(dossier)),
        "documents": [{"name": d.name, "photo_held": d.sha256 is not None and d.form_key is None,
                       "issued_form": d.form_key} for d in dossier.documents],
        "history": [{"step": e.action, "at": _iso(e.occurred_at)} for e in dossier.events],
    }


def personal_data(request: DataSubjectRequest, generated_at: datetime) -> dict:
    """Everything the ward holds about the request's subject at ``generated_at``, as JSON-ready data."""
    people = subject_records(request)
    ids = {p.id for p in people}
    visits = db.session.scalars(select(HomeVisit).where(HomeVisit.person_id.in_(ids)).order_by(HomeVisit.id))
    accounts = list(db.session.scalars(select(User.id).where(User.person_id.in_(ids))))
    consents = db.session.scalars(select(ConsentRecord).where(
        (ConsentRecord.person_id.in_(ids)) | (ConsentRecord.user_id.in_(accounts))).order_by(ConsentRecord.id))
    return {
        "controller": request.agency.name_vi,
        "request": {"id": request.id, "kind": request.kind.value, "received_at": _iso(request.received_at)},
        "generated_at": _iso(generated_at),
        "records": [_person(p) for p in people],
        "dossiers": [_dossier(d, ids) for d in records.dossiers_of(people)],
        "home_visits": [{"status": v.status.value, "planned_for": v.planned_for.isoformat() if v.planned_for else None,
                         "address": v.address, "phone": v.phone_e164} for v in visits],
        "consents": [{"purpose": c.purpose, "text_version": c.text_version, "granted": c.granted,
                      "recorded_at": _iso(c.recorded_at), "withdrawn_at": _iso(c.withdrawn_at)} for c in consents],
    }


def _field(label: str, value) -> dict:
    return {"type": "field", "label": label, "value": nfc(str(value)) if value not in (None, "") else "—"}


def pdf_content(request: DataSubjectRequest, data: dict, issued_at: datetime) -> dict:
    """The blocks of the readable copy (server/forms/pdf.py lays them out)."""
    blocks = [
        {"type": "header", "left": [request.agency.name_vi.upper()], "right": list(NATIONAL_MOTTO), "number": None,
         "place_date": long_date(issued_at).capitalize()},
        {"type": "title", "text": "DỮ LIỆU CÁ NHÂN PHƯỜNG ĐANG LƯU GIỮ",
         "subtitle": f"Theo yêu cầu số {request.id} ({KIND_NAMES[request.kind.value].lower()}) ngày "
                     f"{short_date(request.received_at)}; Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15, "
                     "Nghị định 356/2025/NĐ-CP"},
    ]
    for number, person in enumerate(data["records"], start=1):
        blocks.append({"type": "paragraph", "text": f"Bản ghi {number}"})
        blocks += [_field("Họ và tên", person["full_name"]), _field("Số định danh cá nhân", person["personal_id"]),
                   _field("Ngày sinh", person["date_of_birth"]), _field("Số điện thoại", phone_text(person["phone"])),
                   _field("Địa chỉ", person["address"])]
        if person["processing_restricted_at"]:
            blocks.append(_field("Hạn chế xử lý từ", person["processing_restricted_at"][:10]))
    if data["dossiers"]:
        blocks.append({"type": "table", "headers": ["Số hồ sơ", "Thủ tục", "Trạng thái", "Lưu dữ liệu đến"],
                       "widths": [3, 5, 2, 2], "rows": [
                           [d["code"] or "", nfc(d["procedure"]), d["state"],
                            (d["personal_data_kept_until"] or "")[:10] or "theo quy định"] for d in data["dossiers"]]})
    for dossier in data["dossiers"]:
        held = [d["name"] for d in dossier["documents"] if d["photo_held"]]
        if held:
            blocks.append(_field(f"Ảnh giấy tờ đang lưu ({dossier['code']})", "; ".join(held)))
    for consent in data["consents"]:
        state = "đã rút" if consent["withdrawn_at"] else ("đồng ý" if consent["granted"] else "không đồng ý")
        blocks.append(_field(f"Đồng ý ({consent['purpose']}, bản {consent['text_version']})", state))
    return {"label": "Dữ liệu cá nhân", "issued_at": issued_at.isoformat(), "blocks": blocks}


def pdf_bytes(request: DataSubjectRequest, issued_at: datetime) -> bytes:
    """The readable PDF of the subject's data."""
    return pdf.render(pdf_content(request, personal_data(request, issued_at), issued_at))
