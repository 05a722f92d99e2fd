"""Reading the administration forms: submitted strings in, checked values or one Vietnamese message per field out.

Plain HTML forms (CSRF is checked for every POST by Flask-WTF's ``CSRFProtect``). What was typed is handed back to
the template so that a refused form keeps it; the view answers such a form with 422.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from datetime import time

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from server.calendar.models import OverrideKind
from server.reference.models import CopyType
from server.reference.models import HomeReception
from server.reference.models import SupplementClock
from server.reference.models import TimeUnit
from server.web.formats import day_text
from server.web.forms import Submitted
from server.web.forms import collapsed_text

#: A procedure's key: lower-case ASCII words joined by hyphens (it appears in URLs and in the catalogue file).
PROCEDURE_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Rows of required documents offered by the new-version form beyond the previous version's documents.
EMPTY_DOCUMENT_ROWS = 3
MAX_DOCUMENT_ROWS = 60
#: The longest processing time accepted, in its unit: a typo guard (the longest published time is 60 days).
MAX_TIME_VALUE = 365




def _check_length(errors: dict, name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors[name] = _("Dài quá %(n)s ký tự.", n=limit)


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _parse_time(value: str) -> time | None:
    """"HH:MM" (what a time input sends) or None."""
    if not re.fullmatch(r"\d{1,2}:\d{2}", value):
        return None
    hours, minutes = (int(part) for part in value.split(":"))
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


# --- procedures -----------------------------------------------------------------------------------------------------

@dataclass
class NewProcedure:
    key: str
    national_code: str | None
    name_vi: str
    name_en: str
    field: str
    ministry: str | None
    competent_level: str | None


def read_procedure(form: MultiDict, *, fields: dict[str, str], taken_keys: set[str]) -> tuple[NewProcedure | None,
                                                                                              Submitted]:
    """Check the new-procedure form; ``fields`` are the offered fields (value → label)."""
    names = ("key", "national_code", "name_vi", "name_en", "field", "ministry", "competent_level")
    values = {name: collapsed_text(form, name) for name in names}
    values["key"] = values["key"].lower()
    submitted = Submitted(values)
    errors = submitted.errors
    if not values["key"]:
        errors["key"] = _("Vui lòng nhập mã định danh của thủ tục.")
    elif len(values["key"]) > 80 or not PROCEDURE_KEY.match(values["key"]):
        errors["key"] = _("Mã định danh chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang (tối đa 80 ký tự), "
                          "ví dụ: tro-cap-xa-hoi-hang-thang.")
    elif values["key"] in taken_keys:
        errors["key"] = _("Đã có thủ tục với mã định danh này.")
    _check_length(errors, "national_code", values["national_code"], 32)
    if not values["name_vi"]:
        errors["name_vi"] = _("Vui lòng nhập tên thủ tục.")
    else:
        _check_length(errors, "name_vi", values["name_vi"], 1000)
    _check_length(errors, "name_en", values["name_en"], 1000)
    if values["field"] not in fields:
        errors["field"] = _("Vui lòng chọn lĩnh vực.")
    _check_length(errors, "ministry", values["ministry"], 16)
    _check_length(errors, "competent_level", values["competent_level"], 32)
    if errors:
        return None, submitted
    return NewProcedure(
        key=values["key"],
        national_code=values["national_code"] or None,
        name_vi=values["name_vi"],
        # English is filled in later by a translator; until then the Vietnamese name stands in for it.
        name_en=values["name_en"] or values["name_vi"],
        field=values["field"],
        ministry=values["ministry"] or None,
        competent_level=values["competent_level"] or None,
    ), submitted


@dataclass
class NewDocument:
    code: str
    name_vi: str
    name_en: str
    copy_type: CopyType
    quantity: int
    mandatory: bool
    form_ref: str | None


@dataclass
class NewVersion:
    effective_from: date
    publication_decision: str | None
    time_value: int
    time_unit: TimeUnit
    time_confirmed: bool
    time_note: str | None
    same_day_cutoff: time | None
    supplement_clock: SupplementClock
    home_reception: HomeReception
    fee_vnd: int | None
    documents: list[NewDocument]


DOCUMENT_FIELDS = ("code", "name_vi", "name_en", "copy_type", "quantity", "form_ref")


def read_version(form: MultiDict, *, earliest: date) -> tuple[NewVersion | None, Submitted]:
    """Check the new-version form. ``earliest`` is the first day the new version may take effect."""
    names = ("effective_from", "publication_decision", "time_value", "time_unit", "time_note", "same_day_cutoff",
             "supplement_clock", "home_reception", "fee_vnd")
    values = {name: collapsed_text(form, name) for name in names}
    values["time_confirmed"] = form.get("time_confirmed") == "1"
    rows = _document_rows(form)
    values["documents"] = rows
    submitted = Submitted(values)
    errors = submitted.errors

    effective_from = parse_date(values["effective_from"])
    if not values["effective_from"]:
        errors["effective_from"] = _("Vui lòng nhập ngày phiên bản mới bắt đầu có hiệu lực.")
    elif effective_from is None:
        errors["effective_from"] = _("Ngày không hợp lệ; hãy nhập theo dạng ngày/tháng/năm.")
    elif effective_from < earliest:
        errors["effective_from"] = _("Phiên bản mới chỉ có hiệu lực từ ngày %(day)s trở đi: không sửa quy định "
                                     "đã áp dụng cho hồ sơ đã tiếp nhận.", day=day_text(earliest))
    _check_length(errors, "publication_decision", values["publication_decision"], 120)

    time_value = None
    if not values["time_value"]:
        errors["time_value"] = _("Vui lòng nhập thời hạn giải quyết.")
    elif (not (values["time_value"].isascii() and values["time_value"].isdigit())
          or int(values["time_value"]) > MAX_TIME_VALUE):
        errors["time_value"] = _("Thời hạn là một số nguyên từ 0 đến %(n)s.", n=MAX_TIME_VALUE)
    else:
        time_value = int(values["time_value"])
    time_unit = _enum(TimeUnit, values["time_unit"])
    if time_unit is None:
        errors["time_unit"] = _("Vui lòng chọn đơn vị thời hạn.")
    elif time_unit is not TimeUnit.SAME_DAY and time_value == 0:
        errors["time_value"] = _("Thời hạn theo ngày phải lớn hơn 0; thủ tục giải quyết trong ngày hãy chọn "
                                 "đơn vị \"trong ngày\".")
    _check_length(errors, "time_note", values["time_note"], 1000)

    cutoff = None
    if values["same_day_cutoff"]:
        cutoff = _parse_time(values["same_day_cutoff"])
        if cutoff is None:
            errors["same_day_cutoff"] = _("Giờ không hợp lệ; hãy nhập theo dạng giờ:phút, ví dụ 15:00.")
        elif time_unit is not None and time_unit is not TimeUnit.SAME_DAY:
            errors["same_day_cutoff"] = _("Giờ chốt chỉ dùng cho thủ tục giải quyết trong ngày; hãy để trống.")
    supplement_clock = _enum(SupplementClock, values["supplement_clock"])
    if supplement_clock is None:
        errors["supplement_clock"] = _("Vui lòng chọn cách tính thời hạn khi yêu cầu bổ sung hồ sơ.")
    home_reception = _enum(HomeReception, values["home_reception"])
    if home_reception is None:
        errors["home_reception"] = _("Vui lòng chọn có tiếp nhận tại nhà hay không.")
    fee = None
    if values["fee_vnd"]:
        digits = values["fee_vnd"].replace(".", "").replace(" ", "")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
            errors["fee_vnd"] = _("Lệ phí là số đồng, ví dụ 50000; để trống nếu miễn phí.")
        else:
            fee = int(digits)

    documents = _check_documents(rows, errors)
    if errors:
        return None, submitted
    return NewVersion(
        effective_from=effective_from,
        publication_decision=values["publication_decision"] or None,
        time_value=time_value,
        time_unit=time_unit,
        time_confirmed=values["time_confirmed"],
        time_note=values["time_note"] or None,
        same_day_cutoff=cutoff,
        supplement_clock=supplement_clock,
        home_reception=home_reception,
        fee_vnd=fee,
        documents=documents,
    ), submitted


def _enum(kind, value: str):
    try:
        return kind(value)
    except ValueError:
        return None


def _document_rows(form: MultiDict) -> list[dict]:
    """The document rows as typed: fields ``doc-<n>-<name>`` for n = 0 .. ``doc_rows`` - 1."""
    try:
        count = min(int(form.get("doc_rows", "0")), MAX_DOCUMENT_ROWS)
    except ValueError:
        count = 0
    rows = []
    for index in range(max(count, 0)):
        row = {name: collapsed_text(form, f"doc-{index}-{name}") for name in DOCUMENT_FIELDS}
        row["mandatory"] = form.get(f"doc-{index}-mandatory") == "1"
        rows.append(row)
    return rows


def _check_documents(rows: list[dict], errors: dict) -> list[NewDocument]:
    """Rows left blank are ignored; each filled row needs a code and a name, codes are unique in the version."""
    documents = []
    seen_codes: set[str] = set()
    for index, row in enumerate(rows):
        if not (row["code"] or row["name_vi"] or row["name_en"] or row["form_ref"]):
            continue
        prefix = f"doc-{index}-"
        if not row["code"]:
            errors[prefix + "code"] = _("Giấy tờ số %(n)s: vui lòng nhập mã giấy tờ.", n=index + 1)
        elif len(row["code"]) > 32:
            errors[prefix + "code"] = _("Giấy tờ số %(n)s: mã dài quá 32 ký tự.", n=index + 1)
        elif row["code"] in seen_codes:
            errors[prefix + "code"] = _("Giấy tờ số %(n)s: mã này đã dùng cho giấy tờ khác.", n=index + 1)
        seen_codes.add(row["code"])
        if not row["name_vi"]:
            errors[prefix + "name_vi"] = _("Giấy tờ số %(n)s: vui lòng nhập tên giấy tờ.", n=index + 1)
        elif len(row["name_vi"]) > 1000:
            errors[prefix + "name_vi"] = _("Giấy tờ số %(n)s: tên dài quá 1000 ký tự.", n=index + 1)
        copy_type = _enum(CopyType, row["copy_type"])
        if copy_type is None:
            errors[prefix + "copy_type"] = _("Giấy tờ số %(n)s: vui lòng chọn loại bản.", n=index + 1)
        quantity = int(row["quantity"]) if row["quantity"].isascii() and row["quantity"].isdigit() else 0
        if not 1 <= quantity <= 20:
            errors[prefix + "quantity"] = _("Giấy tờ số %(n)s: số lượng từ 1 đến 20.", n=index + 1)
        _check_length(errors, prefix + "form_ref", row["form_ref"], 200)
        documents.append(NewDocument(code=row["code"], name_vi=row["name_vi"], name_en=row["name_en"] or row["name_vi"],
                                     copy_type=copy_type, quantity=quantity, mandatory=row["mandatory"],
                                     form_ref=row["form_ref"] or None))
    return documents


# --- calendar overrides ---------------------------------------------------------------------------------------------

@dataclass
class NewOverride:
    day: date
    kind: OverrideKind
    name: str
    source: str | None


def read_override(form: MultiDict) -> tuple[NewOverride | None, Submitted]:
    """Check the add-an-override form (the calendar rules about the day are checked by the service)."""
    values = {name: collapsed_text(form, name) for name in ("day", "kind", "name", "source")}
    submitted = Submitted(values)
    errors = submitted.errors
    day = parse_date(values["day"])
    if not values["day"]:
        errors["day"] = _("Vui lòng chọn ngày.")
    elif day is None:
        errors["day"] = _("Ngày không hợp lệ; hãy nhập theo dạng ngày/tháng/năm.")
    kind = _enum(OverrideKind, values["kind"])
    if kind is None:
        errors["kind"] = _("Vui lòng chọn ngày này là ngày nghỉ hay ngày làm việc.")
    if not values["name"]:
        errors["name"] = _("Vui lòng nhập lý do (ví dụ: Nghỉ bù Giỗ Tổ Hùng Vương).")
    else:
        _check_length(errors, "name", values["name"], 200)
    _check_length(errors, "source", values["source"], 500)
    if errors:
        return None, submitted
    return NewOverride(day=day, kind=kind, name=values["name"], source=values["source"] or None), submitted


def read_removal_reason(form: MultiDict) -> tuple[str | None, Submitted]:
    """The reason given for removing an override (required: it goes into the audit trail)."""
    values = {"reason": collapsed_text(form, "reason")}
    submitted = Submitted(values)
    if not values["reason"]:
        submitted.errors["reason"] = _("Vui lòng nhập lý do xóa điều chỉnh này.")
    else:
        _check_length(submitted.errors, "reason", values["reason"], 500)
    return (None if submitted.errors else values["reason"]), submitted


# --- wards ----------------------------------------------------------------------------------------------------------

@dataclass
class AgencyValues:
    agency_code: str
    name_vi: str
    name_en: str
    is_one_stop: bool
    am_open: time
    am_close: time
    pm_open: time
    pm_close: time


HOUR_FIELDS = ("am_open", "am_close", "pm_open", "pm_close")


def agency_code_pattern() -> re.Pattern:
    """The configured format of agency codes (``AGENCY_CODE_PATTERN``)."""
    return re.compile(current_app.config["AGENCY_CODE_PATTERN"])


def read_agency(form: MultiDict, *, code_taken, code_editable: bool = True) -> tuple[AgencyValues | None, Submitted]:
    """Check the ward form. ``code_taken(code)`` says whether another agency holds the code."""
    values = {name: collapsed_text(form, name) for name in ("agency_code", "name_vi", "name_en", *HOUR_FIELDS)}
    values["agency_code"] = values["agency_code"].upper()
    values["is_one_stop"] = form.get("is_one_stop") == "1"
    submitted = Submitted(values)
    errors = submitted.errors
    if code_editable:
        if not values["agency_code"]:
            errors["agency_code"] = _("Vui lòng nhập mã cơ quan.")
        elif len(values["agency_code"]) > 32 or not agency_code_pattern().fullmatch(values["agency_code"]):
            errors["agency_code"] = _("Mã cơ quan không đúng định dạng QCVN 102:2016, ví dụ: 000.20.26.H26.")
        elif code_taken(values["agency_code"]):
            errors["agency_code"] = _("Mã cơ quan này đã được dùng cho cơ quan khác.")
    if not values["name_vi"]:
        errors["name_vi"] = _("Vui lòng nhập tên phường.")
    else:
        _check_length(errors, "name_vi", values["name_vi"], 300)
    _check_length(errors, "name_en", values["name_en"], 300)
    hours = {}
    for name in HOUR_FIELDS:
        hours[name] = _parse_time(values[name])
        if hours[name] is None:
            errors[name] = _("Giờ không hợp lệ; hãy nhập theo dạng giờ:phút, ví dụ 07:30.")
    if all(hours.values()) and not (hours["am_open"] < hours["am_close"] <= hours["pm_open"] < hours["pm_close"]):
        errors["pm_close"] = _("Giờ làm việc phải theo thứ tự: mở cửa sáng, đóng cửa sáng, mở cửa chiều, "
                               "đóng cửa chiều.")
    if errors:
        return None, submitted
    return AgencyValues(agency_code=values["agency_code"], name_vi=values["name_vi"],
                        name_en=values["name_en"] or values["name_vi"], is_one_stop=values["is_one_stop"],
                        **hours), submitted
