"""Reading the home-visit forms: submitted strings in, checked values or one Vietnamese message per field out.

The forms are plain HTML forms (they work without JavaScript); CSRF is checked for every POST by Flask-WTF's
``CSRFProtect``. What was typed is handed back to the template so that a refused form keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import time

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from server.auth.models import User
from server.dossiers.models import HomeServiceReason
from server.errors import locale_code
from server.people.identity import check_full_name
from server.people.identity import check_phone
from server.reference.models import Agency
from server.reference.models import Procedure
from server.visits.services import VisitRequest
from server.web.formats import day_text
from server.web.forms import Submitted
from server.web.forms import collapsed_text

MAX_NAME = 200
MAX_ADDRESS = 500
MAX_NOTE = 1000
MAX_CANCEL_REASON = 500




def read_request(form: MultiDict, *, wards: list[Agency], procedures: list[Procedure],
                 days: list[date]) -> tuple[VisitRequest | None, Submitted]:
    """Check a citizen's request form against what the page offered."""
    names = ("ward", "procedure", "reason", "for_whom", "other_name", "phone", "address", "note")
    values = {name: collapsed_text(form, name) for name in names}
    values["note"] = (form.get("note") or "").strip()
    values["days"] = form.getlist("days")
    submitted = Submitted(values)
    errors = submitted.errors

    agency = next((a for a in wards if a.agency_code == values["ward"]), None)
    if agency is None:
        errors["ward"] = _("Vui lòng chọn phường nơi cán bộ đến.")
    procedure = None
    if values["procedure"]:
        procedure = next((p for p in procedures if p.key == values["procedure"]), None)
        if procedure is None:
            errors["procedure"] = _("Thủ tục này không tiếp nhận tại nhà. Hãy chọn thủ tục khác hoặc để trống.")
    try:
        reason = HomeServiceReason(values["reason"])
    except ValueError:
        reason = None
        errors["reason"] = _("Vui lòng chọn lý do cần cán bộ đến nhà.")
    if values["for_whom"] not in ("self", "other"):
        errors["for_whom"] = _("Vui lòng chọn người cần cán bộ đến gặp.")
    elif values["for_whom"] == "other":
        if not values["other_name"]:
            errors["other_name"] = _("Vui lòng nhập họ và tên người cần cán bộ đến gặp.")
        elif len(values["other_name"]) > MAX_NAME:
            errors["other_name"] = _("Họ và tên dài quá %(n)s ký tự.", n=MAX_NAME)
        elif not (name := check_full_name(values["other_name"])).ok:
            errors["other_name"] = name.errors[0].message(locale_code())
        else:
            values["other_name"] = name.value
    phone = check_phone(values["phone"])
    if not phone.ok:
        errors["phone"] = phone.errors[0].message(locale_code())
    if not values["address"]:
        errors["address"] = _("Vui lòng nhập địa chỉ nơi cán bộ đến.")
    elif len(values["address"]) > MAX_ADDRESS:
        errors["address"] = _("Địa chỉ dài quá %(n)s ký tự.", n=MAX_ADDRESS)
    offered = {d.isoformat(): d for d in days}
    chosen = sorted({offered[v] for v in values["days"] if v in offered})
    if not values["days"]:
        errors["days"] = _("Vui lòng chọn ít nhất một ngày.")
    elif len(chosen) != len(set(values["days"])):
        errors["days"] = _("Có ngày đã chọn không còn nhận lịch. Vui lòng chọn lại.")
    if len(values["note"]) > MAX_NOTE:
        errors["note"] = _("Ghi chú dài quá %(n)s ký tự.", n=MAX_NOTE)
    elif reason is HomeServiceReason.OTHER and not values["note"]:
        errors["note"] = _("Vui lòng ghi rõ lý do cần cán bộ đến nhà.")

    if errors:
        return None, submitted
    return VisitRequest(
        agency=agency, procedure=procedure, reason=reason, for_self=values["for_whom"] == "self",
        other_name=values["other_name"] if values["for_whom"] == "other" else None, phone_e164=phone.e164,
        address=values["address"], days=chosen, note=values["note"] or None,
    ), submitted


@dataclass
class Schedule:
    """A checked assignment: who goes, which day, at what time."""

    officer: User
    day: date
    at: time


def read_schedule(form: MultiDict, *, officers: list[User], today: date,
                  is_working_day) -> tuple[Schedule | None, Submitted]:
    """Check the staff's assignment form: an officer of the ward, a working day from today on, a time."""
    values = {name: collapsed_text(form, name) for name in ("officer", "day", "time")}
    submitted = Submitted(values)
    errors = submitted.errors
    officer = next((o for o in officers if str(o.id) == values["officer"]), None)
    if officer is None:
        errors["officer"] = _("Vui lòng chọn cán bộ đến nhà.")
    day = None
    try:
        day = date.fromisoformat(values["day"])
    except ValueError:
        errors["day"] = _("Vui lòng nhập ngày hẹn hợp lệ.")
    if day is not None:
        if day < today:
            errors["day"] = _("Ngày hẹn đã qua. Vui lòng chọn ngày từ hôm nay trở đi.")
        elif not is_working_day(day):
            errors["day"] = _("Ngày %(day)s không phải ngày làm việc.", day=day_text(day))
    at = None
    try:
        at = time.fromisoformat(values["time"])
    except ValueError:
        errors["time"] = _("Vui lòng chọn giờ hẹn.")
    if errors:
        return None, submitted
    return Schedule(officer=officer, day=day, at=at.replace(second=0, microsecond=0, tzinfo=None)), submitted


def read_cancel_reason(form: MultiDict) -> tuple[str | None, Submitted]:
    """The reason staff give for cancelling a visit (required: the desk must be able to say why)."""
    values = {"reason": collapsed_text(form, "reason")}
    submitted = Submitted(values)
    if not values["reason"]:
        submitted.errors["reason"] = _("Vui lòng ghi lý do hủy.")
    elif len(values["reason"]) > MAX_CANCEL_REASON:
        submitted.errors["reason"] = _("Lý do dài quá %(n)s ký tự.", n=MAX_CANCEL_REASON)
    return (None if submitted.errors else values["reason"]), submitted
