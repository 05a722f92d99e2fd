"""What each statutory form says, as data: a list of blocks that both the page and the PDF lay out.

The text is the legal Vietnamese of the circulars' templates (DOMAIN.md §1.3, §1.4 B, E, G, H), so it is not
passed through ``_()``: a form is the same paper whatever language the desk's screen is in. The fields follow the
Circular 01/2018 templates [M]; the Circular 03/2025 versions differ in the titles given in ``data/circulars.json``
and in the wording of the apology and the new stop notice, whose exact text is still [U] (DOMAIN.md §12).

A content is a JSON-ready dict (stored with the issued document, so the page shows what was printed)::

    {"form_key", "circular", "label", "number", "code", "blocks": [{"type": ...}, ...]}

Block types: ``header`` (the issuing body, the national motto, number and place/date), ``title``, ``field``
(label: value), ``paragraph``, ``table`` (headers, rows, relative widths), ``signatures`` (columns).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from server.auth.models import User
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierEvent
from server.dossiers.models import ReceptionMode
from server.forms.catalogue import FormSpec
from server.interagency.models import DossierHandover
from server.interagency.models import DossierStep
from server.interagency.models import HandoverKind
from server.reference.models import Agency
from server.reference.models import CopyType
from server.reference.models import RequiredDocument
from server.reference.models import TimeUnit
from server.web.formats import phone_text

NATIONAL_MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
BLANK = "………………"

COPY_TYPES = {
    CopyType.ORIGINAL: "Bản chính",
    CopyType.CERTIFIED_COPY: "Bản sao có chứng thực",
    CopyType.COPY_WITH_ORIGINAL: "Bản sao kèm bản chính để đối chiếu",
    CopyType.ELECTRONIC: "Bản điện tử",
}

#: How each step is named on the control sheet (Mẫu 05/2018, Mẫu 06/2025).
STEP_NAMES = {
    "receive": "Tiếp nhận hồ sơ",
    "refuse": "Từ chối tiếp nhận hồ sơ",
    "guide_supplement": "Hướng dẫn bổ sung, hoàn thiện hồ sơ",
    "transfer": "Chuyển hồ sơ đến bộ phận giải quyết",
    "resolve_on_spot": "Giải quyết và trả kết quả ngay",
    "request_supplement": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "record_supplement": "Nhận hồ sơ bổ sung",
    "expire_supplement": "Hết hạn bổ sung hồ sơ",
    "request_payment": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "record_payment": "Đã thực hiện nghĩa vụ tài chính",
    "submit_for_approval": "Trình ký kết quả",
    "reject": "Trả lại để xử lý lại",
    "approve": "Phê duyệt kết quả",
    "mark_result_ready": "Chuyển kết quả đến Bộ phận Một cửa",
    "extend": "Xin lỗi và hẹn lại ngày trả kết quả",
    "stop": "Dừng giải quyết hồ sơ",
    "withdraw": "Công dân rút hồ sơ",
    "return_result": "Trả kết quả cho công dân",
}

#: How a paper was handed over at the door (the "Hình thức" column of Mẫu 01): a photographed page is a copy
#: ("bản chụp"), whether or not the officer sighted the original; an original only sighted is named as such. A paper
#: neither photographed nor sighted is the paper the procedure asks for (COPY_TYPES). pwa/app/receipt.js writes the
#: same words on the phone (officer_messages.py "form_*"); tests/browser/pwa/test_receipt_agrees.py compares them.
PHOTOGRAPHED_SIGHTED = "Bản chụp, đã đối chiếu bản chính"
PHOTOGRAPHED = "Bản chụp"
SIGHTED_ONLY = "Bản chính (đã đối chiếu)"


def handed_over_form(document: RequiredDocument, photos: int | None, sighted_original: bool) -> tuple[str, str]:
    """(Hình thức, Số lượng) of one paper; ``photos`` None when how it was handed over is not known (the desk)."""
    if photos:
        return (PHOTOGRAPHED_SIGHTED if sighted_original else PHOTOGRAPHED), f"{photos} ảnh"
    if photos is not None and sighted_original:
        return SIGHTED_ONLY, str(document.quantity)
    return COPY_TYPES.get(document.copy_type, ""), str(document.quantity)


TIMELINESS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}


def nfc(text: str | None) -> str:
    """Text in composed form: one code point per accented letter, as the font and text extraction expect."""
    return unicodedata.normalize("NFC", text or "")


def long_date(moment: datetime) -> str:
    """ "ngày 09 tháng 3 năm 2026" (the legal way of writing a date), in Viet Nam's time."""
    local = to_local(moment)
    return f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"


def time_and_date(moment: datetime | None) -> str:
    """ "9 giờ 30 phút, ngày 09 tháng 03 năm 2026", or blank dots."""
    if moment is None:
        return BLANK
    local = to_local(moment)
    return f"{local.hour} giờ {local.minute:02d} phút, {long_date(moment)}"


def short_date(moment: datetime | None) -> str:
    return to_local(moment).strftime("%d/%m/%Y") if moment else BLANK


def processing_time(dossier: Dossier) -> str:
    version = dossier.procedure_version
    if version.time_unit is TimeUnit.SAME_DAY:
        return "trong ngày"
    unit = "ngày làm việc" if version.time_unit is TimeUnit.WORKING_DAYS else "ngày"
    return f"{version.time_value} {unit}"


def _header(dossier: Dossier, number: str | None, issued_at: datetime) -> dict:
    return {
        "type": "header",
        "left": [dossier.agency.name_vi.upper()],
        "right": list(NATIONAL_MOTTO),
        "number": f"Số: {number}" if number else None,
        "place_date": f"{dossier.agency.place_name}, {long_date(issued_at)}",
    }


def _field(label: str, value: str | None) -> dict:
    return {"type": "field", "label": label, "value": nfc(value) or BLANK}


def _paragraph(text: str) -> dict:
    return {"type": "paragraph", "text": nfc(text)}


def _signatures(*columns: tuple[str, str | None]) -> dict:
    return {
        "type": "signatures",
        "columns": [{"title": title, "note": "(Ký và ghi rõ họ tên)", "name": nfc(name)} for title, name in columns],
    }


def _person_fields(dossier: Dossier) -> list[dict]:
    owner, submitter = dossier.owner, dossier.submitter
    fields = [_field("Ông/bà", submitter.full_name)]
    if owner.id != submitter.id:
        fields.append(_field("Chủ hồ sơ", owner.full_name))
    fields += [
        _field("Địa chỉ", submitter.address or owner.address),
        _field("Số điện thoại", phone_text(submitter.phone_e164 or owner.phone_e164)),
    ]
    return fields


def _request_field(dossier: Dossier) -> dict:
    return _field("Nội dung yêu cầu giải quyết", dossier.procedure_version.procedure.name_vi)


def _base(spec: FormSpec, dossier: Dossier, number: str | None, issued_at: datetime) -> dict:
    return {
        "form_key": spec.key,
        "circular": spec.circular_key,
        "label": nfc(spec.label),
        "number": number,
        "code": dossier.code,
        "issued_at": to_local(issued_at).isoformat(),
        "blocks": [
            _header(dossier, number, issued_at),
            {"type": "title", "text": nfc(spec.title.upper()),
             "subtitle": f"Mẫu số {spec.number} – {spec.circular_name}"},
        ],
    }


def receipt(spec: FormSpec, dossier: Dossier, number: str | None, issued_at: datetime, actor: User | None,
            documents: list[RequiredDocument], handed_over: dict[int, tuple[int, bool]] | None = None) -> dict:
    """Mẫu 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả (DOMAIN.md §1.4 B).

    :param handed_over: required document id → (photos taken, original sighted), as captured on the phone.
    """
    handed_over = handed_over or {}
    content = _base(spec, dossier, number, issued_at)
    if dossier.reception_mode is ReceptionMode.HOME_VISIT:
        returned_at = f"Tại nhà: {dossier.owner.address or dossier.submitter.address or BLANK}"
    else:
        returned_at = f"Bộ phận Một cửa – {dossier.agency.name_vi}"
    rows = [[str(i), nfc(d.name_vi), *handed_over_form(d, *handed_over.get(d.id, (None, False)))]
            for i, d in enumerate(documents, start=1)]
    content["blocks"] += [
        _field("Mã hồ sơ", dossier.code),
        _paragraph(f"{dossier.agency.name_vi} tiếp nhận hồ sơ của:"),
        *_person_fields(dossier),
        _request_field(dossier),
        _paragraph("1. Thành phần hồ sơ nộp gồm:"),
        {"type": "table", "headers": ["TT", "Tên loại giấy tờ", "Hình thức (bản chính, bản sao, bản chụp)", "Số lượng"],
         "widths": [1, 6, 4, 2], "rows": rows or [["", "(không có giấy tờ)", "", ""]]},
        _field("2. Số lượng hồ sơ", "01 (bộ)"),
        _field("3. Thời gian giải quyết hồ sơ theo quy định là", processing_time(dossier)),
        _field("4. Thời gian nhận hồ sơ", time_and_date(dossier.device_received_at)),
        _field("5. Thời gian trả kết quả giải quyết hồ sơ", time_and_date(dossier.due_at)),
        _field("6. Đăng ký nhận kết quả tại", returned_at),
        _signatures(("NGƯỜI NỘP HỒ SƠ", dossier.submitter.full_name),
                    ("NGƯỜI TIẾP NHẬN HỒ SƠ", actor.display_name if actor else None)),
    ]
    return content


def supplement_request(spec: FormSpec, dossier: Dossier, number: str | None, issued_at: datetime,
                       actor: User | None, event: DossierEvent) -> dict:
    """Mẫu 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ: every item at once, with the reason (§1.4 A, D)."""
    content = _base(spec, dossier, number, issued_at)
    items = (event.data or {}).get("items") or []
    contact = actor.display_name if actor else BLANK
    content["blocks"] += [
        _field("Mã hồ sơ", dossier.code),
        _paragraph("Hồ sơ của:"),
        *_person_fields(dossier),
        _request_field(dossier),
        _paragraph("Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau:"),
        *[_paragraph(f"{i}. {item}") for i, item in enumerate(items, start=1)],
        _field("Lý do", event.reason),
        _paragraph(f"Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ với {contact}, "
                   f"{dossier.agency.name_vi} để được hướng dẫn."),
        _signatures(("NGƯỜI HƯỚNG DẪN", actor.display_name if actor else None)),
    ]
    return content


def refusal(spec: FormSpec, dossier: Dossier, number: str | None, issued_at: datetime, actor: User | None,
            event: DossierEvent) -> dict:
    """Mẫu 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ, with the reasons (§1.4 A)."""
    content = _base(spec, dossier, number, issued_at)
    content["blocks"] += [
        _paragraph(f"{dossier.agency.name_vi} tiếp nhận hồ sơ của:"),
        *_person_fields(dossier),
        _request_field(dossier),
        _paragraph("Sau khi nghiên cứu, đối chiếu các quy định hiện hành, cơ quan từ chối tiếp nhận, giải quyết "
                   "hồ sơ này với lý do cụ thể như sau:"),
        _paragraph(event.reason or BLANK),
        _paragraph("Xin thông báo để ông/bà được biết và thực hiện./."),
        _signatures(("NGƯỜI TIẾP NHẬN HỒ SƠ", actor.display_name if actor else None)),
    ]
    return content


def _received_on(dossier: Dossier) -> str:
    return long_date(dossier.device_received_at) if dossier.device_received_at else BLANK


def apology(spec: FormSpec, dossier: Dossier, number: str | None, issued_at: datetime, actor: User | None,
            event: DossierEvent) -> dict:
    """Mẫu 04: the apology with the new date (2018: "hẹn lại ngày trả kết quả"; 2025: "đề nghị gia hạn")."""
    content = _base(spec, dossier, number, issued_at)
    previous_due = dossier.original_due_at
    new_due = dossier.extended_due_at or dossier.due_at
    name = dossier.submitter.full_name
    if spec.circular_key.startswith("01/2018"):
        promise = (f"Sự chậm trễ này đã gây phiền hà cho ông/bà. {dossier.agency.name_vi} xin lỗi ông/bà và sẽ trả "
                   f"kết quả giải quyết hồ sơ cho ông/bà vào {time_and_date(new_due)}.")
    else:
        promise = (f"{dossier.agency.name_vi} trân trọng xin lỗi ông/bà và đề nghị gia hạn thời gian giải quyết hồ "
                   f"sơ đến {time_and_date(new_due)}.")
    content["blocks"] += [
        _field("Kính gửi", name),
        _paragraph(f"Ngày {short_date(dossier.device_received_at)}, {dossier.agency.name_vi} tiếp nhận giải quyết "
                   f"hồ sơ của ông/bà {name} đề nghị giải quyết thủ tục "
                   f"{dossier.procedure_version.procedure.name_vi}."),
        _field("Mã hồ sơ", dossier.code),
        _field("Thời gian hẹn trả kết quả giải quyết hồ sơ", time_and_date(previous_due)),
        _paragraph("Tuy nhiên đến nay, cơ quan chưa trả kết quả giải quyết hồ sơ của ông/bà đúng hạn ghi trên Giấy "
                   "tiếp nhận hồ sơ và hẹn trả kết quả."),
        _field("Lý do", event.reason),
        _paragraph(promise),
        _paragraph("Xin trân trọng cảm ơn sự hợp tác của ông/bà./."),
        _signatures(("THỦ TRƯỞNG CƠ QUAN", actor.display_name if actor else None)),
    ]
    return content


def stop_notice(spec: FormSpec, dossier: Dossier, number: str | None, issued_at: datetime, actor: User | None,
                event: DossierEvent) -> dict:
    """Mẫu 05 (Circular 03/2025): Thông báo dừng giải quyết hồ sơ, with the reason (§1.4 G)."""
    content = _base(spec, dossier, number, issued_at)
    name = dossier.submitter.full_name
    content["blocks"] += [
        _field("Kính gửi", name),
        _paragraph(f"{dossier.agency.name_vi} đã tiếp nhận hồ sơ của ông/bà {name} đề nghị giải quyết thủ tục "
                   f"{dossier.procedure_version.procedure.name_vi}, {_received_on(dossier)}."),
        _field("Mã hồ sơ", dossier.code),
        _paragraph("Cơ quan thông báo dừng giải quyết hồ sơ nêu trên."),
        _field("Lý do", event.reason),
        _paragraph("Xin thông báo để ông/bà được biết./."),
        _signatures(("THỦ TRƯỞNG CƠ QUAN", actor.display_name if actor else None)),
    ]
    return content


#: What each hand-over between units says on the control sheet (server/interagency/models.py HandoverKind).
HANDOVER_NAMES = {
    "sent": "Chuyển hồ sơ",
    "acknowledged": "Xác nhận đã nhận hồ sơ",
    "result_received": "Nhận kết quả giải quyết",
}


@dataclass(frozen=True)
class ChainOnSheet:
    """A dossier's inter-agency chain for its control sheet: its steps and its hand-overs, oldest first."""

    steps: list[DossierStep]
    handovers: list[DossierHandover]
    lead: Agency  #: the unit that decides (Cơ quan chủ trì)


def _event_row(dossier: Dossier, event: DossierEvent, actors: dict[int, User], agency_name: str,
               number: str) -> list[str]:
    actor = actors.get(event.actor_id)
    note = STEP_NAMES.get(event.action, event.action)
    if actor is not None:
        note += f" – {actor.display_name}"
    if event.reason:
        note += f". {event.reason}"
    if event.action == "return_result" and (event.data or {}).get("acknowledged"):
        note += f". Người nhận đã ký nhận: {(event.data or {}).get('recipient_name') or BLANK}"
    result = TIMELINESS.get((event.data or {}).get("timeliness"), "")
    return [number, nfc(agency_name), time_and_date(event.occurred_at), result, nfc(note)]


def _chain_rows(dossier: Dossier, actors: dict[int, User], chain: ChainOnSheet) -> list[list[str]]:
    """The events and the hand-overs in the order they happened; each event under the unit that held the dossier
    then, each hand-over with the giver's step judged against that step's own due date."""
    by_position = {step.position: step for step in chain.steps}
    moves = [h for h in chain.handovers if h.kind != HandoverKind.ACKNOWLEDGED]
    entries: list[tuple[datetime, int, int, object]] = [(e.occurred_at, 0, e.seq, e) for e in dossier.events]
    entries += [(h.occurred_at, 1, h.id, h) for h in chain.handovers]
    rows = []
    for number, (_at, _order, _id, entry) in enumerate(sorted(entries, key=lambda e: e[:3]), start=1):
        if isinstance(entry, DossierEvent):
            holder = dossier.agency
            for move in moves:
                if move.occurred_at < entry.occurred_at:
                    holder = move.to_agency
            if entry.action == "return_result" and chain.steps:
                # The return is the last step: judged against that step's own due date, like every step.
                row = _event_row(dossier, entry, actors, holder.name_vi, str(number))
                last = chain.steps[-1]
                row[3] = TIMELINESS.get(last.timeliness.value, "") if last.timeliness else row[3]
                rows.append(row)
                continue
            rows.append(_event_row(dossier, entry, actors, holder.name_vi, str(number)))
            continue
        handover = entry
        note = HANDOVER_NAMES[handover.kind.value]
        recorder = actors.get(handover.recorded_by_id)
        if recorder is not None:
            note += f" – {recorder.display_name}"
        if handover.reference:
            note += f". Số: {handover.reference}"
        if handover.note:
            note += f". {handover.note}"
        result = ""
        if handover.kind != HandoverKind.ACKNOWLEDGED and handover.step is not None:
            # The hand-over ends the giver's step: the step before the one it opened.
            ended = by_position.get(handover.step.position - 1)
            if handover.kind == HandoverKind.RESULT_RECEIVED:
                ended = next((s for s in reversed(chain.steps) if s.position < handover.step.position
                              and s.agency_id == handover.from_agency_id), ended)
            if ended is not None and ended.timeliness is not None:
                result = TIMELINESS.get(ended.timeliness.value, "")
        names = f"Giao: {handover.from_agency.name_vi}; nhận: {handover.to_agency.name_vi}"
        rows.append([str(number), nfc(names), time_and_date(handover.occurred_at), result, nfc(note)])
    return rows


def control_sheet(spec: FormSpec, dossier: Dossier, issued_at: datetime, receipt_number: str | None,
                  actors: dict[int, User], chain: ChainOnSheet | None = None) -> dict:
    """Phiếu kiểm soát quá trình giải quyết hồ sơ: one row per step of the (append-only) history (§1.4 H).

    A dossier that crossed units (``chain``) also has a row per hand-over between them, with its time and the
    giver's step judged against its own due date, each row under the unit that held the dossier, and the chain's
    other units as the coordinating ones."""
    content = _base(spec, dossier, None, issued_at)
    lead, partners = dossier.agency, None
    if chain is None:
        rows = [_event_row(dossier, event, actors, dossier.agency.name_vi, str(event.seq))
                for event in dossier.events]
    else:
        rows = _chain_rows(dossier, actors, chain)
        lead = chain.lead
        others = [s.agency for s in chain.steps] + [h.to_agency for h in chain.handovers]
        names = list(dict.fromkeys(a.name_vi for a in others if a.id != lead.id))
        partners = "; ".join(names) or None
    content["blocks"] += [
        _field("Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả số", receipt_number),
        _field("Mã hồ sơ", dossier.code),
        _field("Cơ quan (bộ phận) giải quyết hồ sơ", lead.name_vi),
        _field("Cơ quan phối hợp giải quyết hồ sơ", partners),
        {"type": "table",
         "headers": ["TT", "Tên cơ quan", "Thời gian giao, nhận hồ sơ",
                     "Kết quả giải quyết hồ sơ (trước hạn/đúng hạn/quá hạn)", "Ghi chú"],
         "widths": [1, 4, 4, 3, 5], "rows": rows},
        _field("Hạn trả kết quả", time_and_date(dossier.due_at)),
    ]
    return content
