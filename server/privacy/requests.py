"""Data subjects' requests: receipt with legal deadlines, acknowledgement, the one extension, and the answer,
which carries out what was asked (Decree 356/2025/NĐ-CP; DOMAIN.md §8).

Deadlines are counted in working days on the civil-service calendar with the agency's office hours, by the same
function as dossier deadlines (:func:`server.calendar.service.due_for`): a request received after closing time
starts at the next opening, holidays and swapped days count as they do for dossiers. The day counts are dated
configuration (``DATA_REQUEST_DEADLINES``): the entry in force on the day of receipt applies.

Every step writes an audit event without personal data (the request id, its kind, the counts of what was done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from server.auth.audit import audit
from server.auth.models import User
from server.calendar import service as calendar
from server.calendar.workdays import DueUnit
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.extensions import db
from server.forms.content import short_date
from server.people.models import Person
from server.privacy import records
from server.privacy.models import DataSubjectRequest
from server.privacy.models import RequestKind
from server.privacy.models import RequestState
from server.reference.models import Agency

#: Fields a correction may change, and the Person attribute each one sets.
CORRECTABLE = {"full_name": "full_name", "phone": "phone_e164", "address": "address",
               "date_of_birth": "date_of_birth"}


class RequestStepRefused(Exception):
    """The step is not possible in the request's state (answered already, extended twice...)."""

    def __init__(self, vi: str, en: str):
        super().__init__(en)
        self.vi, self.en = vi, en


@dataclass(frozen=True)
class DeadlineRule:
    """The day counts in force from ``effective_from``, and where they come from."""

    effective_from: date
    acknowledge: int
    answer: int
    extension: int
    source: str


def deadline_rule(received_at: datetime) -> DeadlineRule:
    """The configured rule in force on the (Viet Nam) day of ``received_at``: the latest that started by then."""
    day = to_local(received_at).date()
    rules = sorted((DeadlineRule(date.fromisoformat(r["from"]), int(r["acknowledge_working_days"]),
                                 int(r["answer_working_days"]), int(r["extension_working_days"]), r.get("source", ""))
                    for r in current_app.config["DATA_REQUEST_DEADLINES"]), key=lambda r: r.effective_from)
    in_force = [r for r in rules if r.effective_from <= day]
    if not in_force:  # received before the first configured rule: the earliest one is the best that is known
        return rules[0]
    return in_force[-1]


def _working_days_after(start: datetime, days: int, agency: Agency) -> datetime:
    return calendar.due_for(start, days, DueUnit.WORKING_DAYS, agency)


def receive(kind: RequestKind, subject: Person, requester: User, agency: Agency, now: datetime, *,
            on_behalf: bool = False, identity_method: str | None = None, details: str | None = None,
            corrections: dict | None = None) -> DataSubjectRequest:
    """Record a request received at ``now`` with its acknowledgement and answer deadlines (flushes)."""
    rule = deadline_rule(now)
    request = DataSubjectRequest(
        agency=agency, kind=kind, subject=subject, requester=requester, on_behalf=on_behalf,
        identity_method=identity_method, details=details, corrections=corrections or None, received_at=now,
        acknowledge_due_at=_working_days_after(now, rule.acknowledge, agency),
        answer_due_at=_working_days_after(now, rule.answer, agency), deadline_source=rule.source,
    )
    db.session.add(request)
    db.session.flush()
    audit("data_request_received", requester, request, kind=kind.value, on_behalf=on_behalf)
    return request


def acknowledge(request: DataSubjectRequest, actor: User, now: datetime) -> None:
    if request.state is not RequestState.RECEIVED:
        raise RequestStepRefused("Yêu cầu đã được xác nhận.", "The request was already acknowledged.")
    request.state, request.acknowledged_at, request.handled_by_id = RequestState.ACKNOWLEDGED, now, actor.id
    audit("data_request_acknowledged", actor, request, late=now > request.acknowledge_due_at)


def extend(request: DataSubjectRequest, actor: User, reason: str, now: datetime) -> None:
    """Move the answer deadline once, by the extension of the rule the request was received under."""
    if request.state is RequestState.ANSWERED:
        raise RequestStepRefused("Yêu cầu đã được trả lời.", "The request was already answered.")
    if request.extension_count >= 1:
        raise RequestStepRefused("Yêu cầu chỉ được gia hạn một lần.", "A request can be extended only once.")
    rule = deadline_rule(request.received_at)
    request.original_answer_due_at = request.answer_due_at
    request.answer_due_at = _working_days_after(request.answer_due_at, rule.extension, request.agency)
    request.extension_count += 1
    request.extended_at, request.extension_reason = now, reason
    if request.state is RequestState.RECEIVED:  # telling the citizen of an extension acknowledges the request
        request.state, request.acknowledged_at = RequestState.ACKNOWLEDGED, now
    audit("data_request_extended", actor, request)


def answer(request: DataSubjectRequest, actor: User, text: str | None, now: datetime) -> str:
    """Carry out the request and close it with an answer: the desk's text followed by what was done (and, for a
    deletion, what the law obliges the ward to keep). Returns the answer."""
    if request.state is RequestState.ANSWERED:
        raise RequestStepRefused("Yêu cầu đã được trả lời.", "The request was already answered.")
    people = subject_records(request)
    done = _CARRY_OUT[request.kind](request, people, now)
    request.answer_text = "\n\n".join(part for part in ((text or "").strip(), done) if part)
    if request.acknowledged_at is None:
        request.acknowledged_at = now
    request.state, request.answered_at, request.handled_by_id = RequestState.ANSWERED, now, actor.id
    audit("data_request_answered", actor, request, kind=request.kind.value, records=len(people),
          late=now > request.answer_due_at)
    return request.answer_text


def subject_records(request: DataSubjectRequest) -> list[Person]:
    """The records the request covers. Found by personal ID only when someone checked who the subject is (the desk
    took the request after seeing the ID card, or the account's identity was verified at the desk): a personal ID
    a citizen typed at registration proves nothing. Otherwise: the account's own record and the people of the
    dossiers the account claimed as their owner (with the receipt's token, server/citizen/claims.py)."""
    if request.on_behalf or request.requester.identity_verified_at is not None:
        return records.records_of(request.subject, request.agency_id)
    owned = db.session.scalars(select(Dossier).join(DossierFollower, DossierFollower.dossier_id == Dossier.id).where(
        DossierFollower.user_id == request.requester_id, DossierFollower.role == FollowRole.OWNER,
        Dossier.agency_id == request.agency_id).order_by(Dossier.id))
    people = {request.subject.id: request.subject}
    for dossier in owned:
        people.setdefault(dossier.owner_id, dossier.owner)
    return list(people.values())


def _access(request: DataSubjectRequest, people: list[Person], now: datetime) -> str:
    dossiers = records.dossiers_of(people)
    return (f"Phường đang lưu {len(people)} bản ghi thông tin cá nhân của ông/bà, gắn với {len(dossiers)} hồ sơ "
            "thủ tục hành chính. Nội dung chi tiết có trong bản trích xuất (JSON và PDF) kèm theo yêu cầu này.")


def _rectify(request: DataSubjectRequest, people: list[Person], now: datetime) -> str:
    changes = request.corrections or {}
    for person in people:
        for name, attribute in CORRECTABLE.items():
            if name in changes:
                value = changes[name]
                setattr(person, attribute, date.fromisoformat(value) if name == "date_of_birth" and value else value)
    db.session.flush()
    return (f"Đã đính chính {len(changes)} thông tin trên {len(people)} bản ghi theo yêu cầu. Lịch sử xử lý hồ sơ "
            "và các văn bản đã cấp được giữ nguyên theo quy định.")


def _restrict(request: DataSubjectRequest, people: list[Person], now: datetime) -> str:
    for person in people:
        person.processing_restricted_at = person.processing_restricted_at or now
    return ("Đã hạn chế xử lý dữ liệu cá nhân của ông/bà: dữ liệu chỉ được dùng để giải quyết thủ tục hành chính "
            "theo quy định của pháp luật, không dùng cho mục đích khác (kể cả gửi thông báo).")


def _erase(request: DataSubjectRequest, people: list[Person], now: datetime) -> str:
    lines = []
    kept = deleted = 0
    for dossier in records.dossiers_of(people):
        code = dossier.code or dossier.provisional_code or f"#{dossier.id}"
        if not records.is_closed(dossier):
            kept += 1
            lines.append(f"- Hồ sơ {code} đang được giải quyết: phường phải giữ toàn bộ hồ sơ cho đến khi giải "
                         "quyết xong (Nghị định 118/2025/NĐ-CP).")
            continue
        until = records.personal_data_kept_until(dossier)
        if until is None or now < until:
            kept += 1
            term = f"đến ngày {short_date(until)}" if until else "theo thời hạn lưu trữ hồ sơ của thủ tục"
            lines.append(f"- Hồ sơ {code} đã kết thúc: phường lưu hồ sơ {term} theo quy định về lưu trữ; "
                         "sau thời hạn này ảnh giấy tờ được xóa và thông tin cá nhân được ẩn danh.")
            continue
        if dossier.photos_purged_at is None:
            records.delete_photos(dossier, now)
        if dossier.personal_data_purged_at is None:
            records.anonymise_dossier_people(dossier, now)
        deleted += 1
        lines.append(f"- Hồ sơ {code}: đã hết thời hạn lưu trữ, ảnh giấy tờ đã được xóa và thông tin cá nhân đã "
                     "được ẩn danh.")
    accounts = set(db.session.scalars(select(User.person_id).where(User.person_id.in_([p.id for p in people]))))
    free = [p for p in people if p.anonymised_at is None and not _on_dossier_still_kept(p, now)
            and p.id not in accounts]
    for person in free:
        records.anonymise(person, now)
    if free:
        lines.append(f"- {len(free)} bản ghi khác không thuộc hồ sơ phải lưu giữ: đã được ẩn danh.")
    if accounts:
        lines.append("- Thông tin của tài khoản công dân được giữ cho đến khi ông/bà đề nghị đóng tài khoản.")
    lines.append("- Phường vẫn lưu trữ theo quy định: số hồ sơ, thủ tục, các mốc thời gian, kết quả giải quyết, "
                 "lịch sử xử lý và các văn bản, biểu mẫu đã cấp (Thông tư 01/2018/TT-VPCP, 03/2025/TT-VPCP).")
    summary = (f"Yêu cầu xóa dữ liệu cá nhân: {deleted} hồ sơ đã xóa ảnh và ẩn danh, {kept} hồ sơ phải tiếp tục "
               "lưu giữ theo quy định của pháp luật:")
    return "\n".join([summary, *lines])


def _on_dossier_still_kept(person: Person, now: datetime) -> bool:
    return any(records.must_keep_personal_data(d, now) for d in records.dossiers_of([person]))


_CARRY_OUT = {
    RequestKind.ACCESS: _access,
    RequestKind.EXPORT: _access,
    RequestKind.RECTIFY: _rectify,
    RequestKind.RESTRICT: _restrict,
    RequestKind.ERASE: _erase,
}


def due_requests(agency_id: int, before: datetime) -> list[DataSubjectRequest]:
    """The ward's open requests whose next deadline (acknowledgement, then answer) falls before ``before``, the most
    urgent first: what the desk's queue shows."""
    open_requests = db.session.scalars(select(DataSubjectRequest).where(
        DataSubjectRequest.agency_id == agency_id, DataSubjectRequest.state != RequestState.ANSWERED))
    due = [r for r in open_requests if r.next_due_at < before]
    return sorted(due, key=lambda r: (r.next_due_at, r.id))
