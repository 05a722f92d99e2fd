"""What the desk's dossier page and the citizen's page show of a dossier's results, and when.

States (decided for issue 15, DOMAIN.md §1.4 F-G):
- the desk attaches a result once a decision exists and before it is returned: ``approved`` (signed by the
  competent agency, not yet at the one-stop) and ``resolved`` (at the one-stop, waiting to be returned; also a
  same-day "result at once"). Before approval there is nothing signed to attach; after the return the dossier is
  closed, and a corrected result is a new procedure, not an attachment.
- the citizen sees (and downloads) the results from ``resolved`` on (``resolved``, ``returned``): the result
  exists for the citizen when it is at the one-stop (DVCQG status 9), as the timeliness rules count it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from server.auth.models import User
from server.dossiers.models import Dossier
from server.dossiers.workflow import State
from server.extensions import db
from server.results.models import DossierResult
from server.results.validation import read_summary

ATTACH_STATES = frozenset({State.APPROVED, State.RESOLVED})
CITIZEN_STATES = frozenset({State.RESOLVED, State.RETURNED})

#: One clear sentence per verdict, the desk's headline for each result (server/results/validation.py).
VERDICT_LABELS = {
    "valid": _l("Chữ ký số hợp lệ: tệp còn nguyên vẹn, chứng thư số thuộc tổ chức chứng thực tin cậy"),
    "untrusted": _l("Chữ ký số còn nguyên vẹn nhưng chứng thư số không thuộc tổ chức chứng thực tin cậy đã "
                    "cấu hình (hoặc đã hết hạn)"),
    "modified": _l("Tệp đã bị thay đổi sau khi ký: nội dung hiện tại không phải nội dung đã ký"),
    "broken": _l("Chữ ký số không hợp lệ: tệp đã bị sửa sau khi ký hoặc chữ ký bị hỏng"),
    "unsigned": _l("Tệp không có chữ ký số"),
    "unreadable": _l("Không đọc được tệp PDF: tệp bị hỏng hoặc không trọn vẹn"),
    "not_pdf": _l("Tệp không phải PDF"),
    "too_large": _l("Tệp quá lớn"),
}
LATER_CHANGES = {
    "signature_upkeep": _l("Sau khi ký chỉ có thêm dấu thời gian hoặc dữ liệu kiểm tra chữ ký (không đổi nội dung)."),
    "form_filling": _l("Sau khi ký có người điền thêm vào biểu mẫu hoặc ký thêm: phần điền thêm không được chữ ký "
                       "này bảo đảm."),
    "other": _l("Sau khi ký, tệp đã được cập nhật thêm nội dung không được chữ ký bảo đảm."),
}
TIME_SOURCES = {
    "timestamp": _l("theo dấu thời gian của tổ chức cung cấp dịch vụ"),
    "signer": _l("theo đồng hồ máy của người ký, không có dấu thời gian"),
}
PROBLEMS = {
    "trust_roots_unreadable": _l("Không đọc được danh sách chứng thư gốc tin cậy (SIGNATURE_TRUST_ROOTS): báo "
                                 "quản trị hệ thống."),
    "timestamp_untrusted": _l("Dấu thời gian do một tổ chức không được tin cậy cấp: thời điểm ký là theo đồng hồ "
                              "máy của người ký."),
}


@dataclass
class ResultForm:
    """The attach form as typed, and one message per field ("form" for the whole form)."""

    values: dict
    errors: dict


@dataclass
class ResultRow:
    result: DossierResult
    verdict: str
    label: str
    facts: dict  #: the stored summary's pairs (read_summary)
    notes: list[str]  #: sentences about coverage, time source and configuration problems


def dossier_results(dossier: Dossier) -> list[DossierResult]:
    return list(db.session.scalars(select(DossierResult).where(DossierResult.dossier_id == dossier.id)
                                   .order_by(DossierResult.number)))


def row(result: DossierResult) -> ResultRow:
    facts = read_summary(result.validation_summary)
    verdict = facts.get("verdict") or ("valid" if result.signature_valid else "unsigned")
    notes = []
    if facts.get("later_changes") in LATER_CHANGES:
        notes.append(str(LATER_CHANGES[facts["later_changes"]]))
    for problem in (facts.get("problems") or "").split(","):
        if problem in PROBLEMS:
            notes.append(str(PROBLEMS[problem]))
    return ResultRow(result, verdict, str(VERDICT_LABELS.get(verdict, verdict)), facts, notes)


def panel(dossier: Dossier) -> SimpleNamespace:
    """The results section of the desk's dossier page (templates/backoffice/_results.html). A refused upload
    (server/results/views.py) leaves its form in ``g.result_form`` for the page shown again."""
    form = g.get("result_form") or ResultForm({}, {})
    results = dossier_results(dossier)
    attached_by = {r.attached_by_id for r in results} - {None}
    clerks = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(attached_by)))} if attached_by else {}
    return SimpleNamespace(rows=[row(r) for r in results], can_attach=dossier.state in ATTACH_STATES,
                           form=form, time_sources=TIME_SOURCES, clerks=clerks)


def citizen_rows(dossier: Dossier) -> list[ResultRow]:
    """The results the citizen is offered: none before the result is at the one-stop."""
    if dossier.state not in CITIZEN_STATES:
        return []
    return [row(r) for r in dossier_results(dossier)]


def download_name(dossier: Dossier, number: int) -> str:
    """``<dossier code>-KQ<n>.pdf`` (Decree 45/2020 Art. 14(3)); the provisional code until the official one."""
    return f"{dossier.code or dossier.provisional_code or dossier.id}-KQ{number}.pdf"
