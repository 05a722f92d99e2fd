"""The published calendar and the deadline calculator (public: holidays and deadlines are public information)."""

from __future__ import annotations

import re
from dataclasses import astuple
from datetime import date
from datetime import datetime
from datetime import time

from flask import Blueprint
from flask import current_app
from flask import request

from server.api.openapi import operation
from server.api.openapi import schema
from server.auth.access import public
from server.calendar import service
from server.calendar.workdays import DueUnit
from server.errors import ApiProblem
from server.errors import bad_request
from server.errors import field_error

bp = Blueprint("calendar_api", __name__, url_prefix="/api/v1/calendar")

#: Longest deadline the calculator accepts; real procedures stay far below (the longest seen is 60 working days).
MAX_AMOUNT = 365
#: Receipt times the calculator serves (the stored calendar and its holidays make no sense far outside).
START_YEARS = range(1900, 2201)
CUTOFF_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"


def unprocessable(vi: str, en: str, errors: list[dict]) -> ApiProblem:
    """A 422: each parameter is well formed, but the calendar does not serve what they ask for together."""
    return ApiProblem(422, "out-of-range", ("Ngoài phạm vi của lịch", "Outside the calendar's range"), (vi, en),
                      errors=errors)


def _date_arg(name: str) -> date:
    raw = request.args.get(name, "")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise bad_request(
            f"Tham số '{name}' phải là ngày dạng YYYY-MM-DD.",
            f"Parameter '{name}' must be a date, YYYY-MM-DD.",
            [field_error(name, "format", "Ngày không hợp lệ.", "Invalid date.")],
        ) from None


CALENDAR = schema("PublishedCalendar", {
    "type": "object", "required": ["non_working_days", "working_weekend_days", "version"],
    "properties": {
        "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
        "non_working_days": {"type": "array", "items": {"type": "string", "format": "date"},
                             "description": "Weekdays off; weekends are implied"},
        "working_weekend_days": {"type": "array", "items": {"type": "string", "format": "date"}},
        "version": {"type": "string"},
        "office_hours": {"type": "array", "items": {"type": "string"}, "minItems": 4, "maxItems": 4},
        "same_day_cutoff": {"type": "string"},
    },
})
DUE = schema("DueDate", {"type": "object", "required": ["due_at"],
                         "properties": {"due_at": {"type": "string", "format": "date-time"}}})


def _query(name: str, definition: dict, description: str, required: bool = True) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": definition, "description": description}


@bp.get("")
@public
@operation("The civil-service calendar for the offline client", tags=["Calendar"], responses={200: CALENDAR},
           parameters=[_query("from", {"type": "string", "format": "date"}, "First day (inclusive)"),
                       _query("to", {"type": "string", "format": "date"}, "Last day (inclusive)")])
def published_calendar():
    """Non-working weekdays and working weekend days between ``from`` and ``to`` (inclusive)."""
    first, last = _date_arg("from"), _date_arg("to")
    # Each date is well formed; a combination the calendar does not serve is a 422 (not a malformed request).
    if last < first:
        before = field_error("to", "range", "Ngày cuối trước ngày đầu.", "The last day is before the first.")
        raise unprocessable("'to' phải sau hoặc bằng 'from'.", "'to' must not be before 'from'.", [before])
    if (last - first).days > current_app.config["CALENDAR_MAX_SPAN_DAYS"]:
        span = current_app.config["CALENDAR_MAX_SPAN_DAYS"]
        raise unprocessable(f"Khoảng ngày tối đa {span} ngày.", f"The range may span at most {span} days.",
                            [field_error("to", "range", f"Tối đa {span} ngày.", f"At most {span} days.")])
    published = service.publish(first, last)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "non_working_days": [d.isoformat() for d in published.non_working_days],
        "working_weekend_days": [d.isoformat() for d in published.working_weekend_days],
        "version": published.version,
        "office_hours": [t.strftime("%H:%M") for t in astuple(service.office_hours())],
        "same_day_cutoff": current_app.config["SAME_DAY_CUTOFF"],
    }


@bp.get("/due")
@public
@operation("The due time of a processing period starting at a given moment", tags=["Calendar"],
           responses={200: DUE},
           parameters=[_query("start", {"type": "string", "format": "date-time"}, "Receipt time with its offset"),
                       _query("amount", {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT}, "Processing time"),
                       _query("unit", {"enum": [u.value for u in DueUnit]}, "Unit of the processing time"),
                       _query("cutoff", {"type": "string", "pattern": CUTOFF_PATTERN}, "Same-day cut-off hour (HH:MM)",
                              required=False)])
def due():
    """The due time of something received at ``start`` with a processing time of ``amount`` ``unit``."""
    errors = []
    raw_start = request.args.get("start", "")
    # An unencoded "+07:00" arrives as " 07:00" (a "+" in a query string means a space): accept it.
    raw_start = re.sub(r" (\d{2}:?\d{2})$", r"+\1", raw_start)
    start = out_of_range = None
    try:
        start = datetime.fromisoformat(raw_start.upper())  # RFC 3339 allows a lower-case "t" and "z"
        if start.tzinfo is None:
            errors.append(field_error("start", "timezone", "Thời điểm phải kèm múi giờ, ví dụ +07:00.",
                                      "The start must carry a UTC offset, for example +07:00."))
        elif start.year not in START_YEARS:
            out_of_range = field_error(
                "start", "range", f"Năm phải từ {START_YEARS[0]} đến {START_YEARS[-1]}.",
                f"The year must be from {START_YEARS[0]} to {START_YEARS[-1]}.")
    except ValueError:
        errors.append(field_error("start", "format", "Thời điểm phải theo ISO 8601, ví dụ 2026-02-12T10:00:00+07:00.",
                                  "The start must be ISO 8601, for example 2026-02-12T10:00:00+07:00."))
    try:
        amount = int(request.args.get("amount", ""))
        if not 0 <= amount <= MAX_AMOUNT:
            raise ValueError
    except ValueError:
        amount = None
        errors.append(field_error("amount", "range", f"Số ngày phải là số nguyên từ 0 đến {MAX_AMOUNT}.",
                                  f"amount must be an integer from 0 to {MAX_AMOUNT}."))
    try:
        unit = DueUnit(request.args.get("unit", ""))
    except ValueError:
        unit = None
        errors.append(field_error("unit", "choice", "Đơn vị phải là working_days, calendar_days hoặc same_day.",
                                  "unit must be working_days, calendar_days or same_day."))
    cutoff = None
    if request.args.get("cutoff"):
        if re.fullmatch(CUTOFF_PATTERN, request.args["cutoff"]):
            cutoff = time.fromisoformat(request.args["cutoff"])
        else:
            errors.append(field_error("cutoff", "format", "Giờ chốt phải có dạng HH:MM.", "cutoff must be HH:MM."))
    if errors:
        raise bad_request("Tham số chưa đúng.", "Invalid parameters.", errors)
    if out_of_range:
        raise unprocessable("Thời điểm nằm ngoài lịch.", "The start is outside the calendar.", [out_of_range])
    due_at = service.due_for(start, amount, unit, cutoff=cutoff)
    return {"due_at": due_at.isoformat()}
