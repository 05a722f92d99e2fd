"""The working-day calendar and deadlines: DOMAIN.md §11 cases 1 to 11, the published calendar and the API."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

import pytest

from server.calendar import service
from server.calendar.models import OverrideKind
from server.calendar.workdays import VN_TZ
from server.calendar.workdays import DueUnit
from server.calendar.workdays import OfficeHours
from server.calendar.workdays import WorkCalendar
from server.calendar.workdays import classify_timeliness
from server.calendar.workdays import compute_due
from server.extensions import db


def vn(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def due(start, amount, unit=DueUnit.WORKING_DAYS):
    return service.due_for(start, amount, unit)


# --- DOMAIN.md §11, cases 1-8, on the seeded calendar (holidays package + verified overrides) -----------------

@pytest.mark.parametrize(
    ("case", "start", "amount", "unit", "expected"),
    [
        ("1 Tết 2026", vn(2026, 2, 12, 10), 5, DueUnit.WORKING_DAYS, vn(2026, 2, 26, 10)),
        ("2 New Year swap", vn(2025, 12, 31, 14), 2, DueUnit.WORKING_DAYS, vn(2026, 1, 6, 14)),
        ("3 working Saturday", vn(2026, 1, 9, 9), 1, DueUnit.WORKING_DAYS, vn(2026, 1, 10, 9)),
        ("4 National Day 2026", vn(2026, 8, 27, 8), 3, DueUnit.WORKING_DAYS, vn(2026, 9, 4, 8)),
        ("5 Hùng Kings compensatory day", vn(2026, 4, 24, 10), 2, DueUnit.WORKING_DAYS, vn(2026, 4, 29, 10)),
        ("6 Culture Day active", vn(2026, 11, 23, 9), 1, DueUnit.WORKING_DAYS, vn(2026, 11, 25, 9)),
        ("7 same day before cut-off", vn(2026, 3, 10, 14, 30), 0, DueUnit.SAME_DAY, vn(2026, 3, 10, 17)),
        ("7 same day after cut-off", vn(2026, 3, 10, 15, 30), 0, DueUnit.SAME_DAY, vn(2026, 3, 11, 17)),
        ("7 same day before Tết", vn(2026, 2, 13, 15, 30), 0, DueUnit.SAME_DAY, vn(2026, 2, 23, 17)),
        ("8 after-hours visit", vn(2026, 3, 17, 18, 10), 1, DueUnit.WORKING_DAYS, vn(2026, 3, 19, 7)),
    ],
)
def test_domain_deadline_cases(app, case, start, amount, unit, expected):
    assert due(start, amount, unit) == expected, case


def test_case_4_swapped_saturday_is_a_working_day(app):
    calendar = service.load_calendar(2026, 2026)
    assert calendar.is_working_day(date(2026, 8, 22))
    assert not calendar.is_working_day(date(2026, 8, 31))
    assert not calendar.is_working_day(date(2026, 8, 29))  # an ordinary Saturday


def test_case_5_calendar_is_data_driven(app):
    """Cancelling the 27 Apr compensatory day (a working-day override) moves the deadline to Tue 28 Apr."""
    assert due(vn(2026, 4, 24, 10), 2) == vn(2026, 4, 29, 10)
    service.add_override(date(2026, 4, 27), OverrideKind.WORKING_DAY, "Không nghỉ bù (thử)")
    db.session.commit()
    assert due(vn(2026, 4, 24, 10), 2) == vn(2026, 4, 28, 10)
    assert service.remove_override(date(2026, 4, 27))
    db.session.commit()
    # Back to the package, which also knows the compensatory day.
    assert due(vn(2026, 4, 24, 10), 2) == vn(2026, 4, 29, 10)


def test_case_6_culture_day_toggle(app):
    assert due(vn(2026, 11, 23, 9), 1) == vn(2026, 11, 25, 9)
    service.add_override(date(2026, 11, 24), OverrideKind.WORKING_DAY, "Ngày Văn hóa chưa là ngày nghỉ")
    db.session.commit()
    assert due(vn(2026, 11, 23, 9), 1) == vn(2026, 11, 24, 9)


def test_new_year_swap_needs_the_override(app):
    """The package lacks the 2026 New Year swap (PLATFORM.md): without the seeded overrides case 2 and 3 fail."""
    assert service.remove_override(date(2026, 1, 2)) and service.remove_override(date(2026, 1, 10))
    db.session.commit()
    assert due(vn(2025, 12, 31, 14), 2) == vn(2026, 1, 5, 14)
    assert due(vn(2026, 1, 9, 9), 1) == vn(2026, 1, 12, 9)


# --- Pure engine: clock start and units ----------------------------------------------------------------------

PLAIN = WorkCalendar(days_off=[], working_weekend_days=[])
HOURS = OfficeHours()


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (vn(2026, 3, 17, 6, 0), vn(2026, 3, 18, 7, 0)),  # before opening: the same day's opening, + 1 day
        (vn(2026, 3, 17, 12, 0), vn(2026, 3, 18, 13, 30)),  # lunch: afternoon opening
        (vn(2026, 3, 17, 11, 29), vn(2026, 3, 18, 11, 29)),
        (vn(2026, 3, 17, 17, 0), vn(2026, 3, 19, 7, 0)),  # at closing: next morning
        (vn(2026, 3, 21, 10, 0), vn(2026, 3, 24, 7, 0)),  # Saturday: Monday's opening, + 1 day
    ],
)
def test_working_day_clock_start(start, expected):
    assert compute_due(start, 1, DueUnit.WORKING_DAYS, PLAIN, HOURS) == expected


def test_start_in_another_offset_is_converted():
    utc_start = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)  # 09:00 in Viet Nam
    assert compute_due(utc_start, 1, DueUnit.WORKING_DAYS, PLAIN, HOURS) == vn(2026, 3, 18, 9)


def test_calendar_days_move_off_a_day_off():
    calendar = WorkCalendar(days_off=[date(2026, 3, 23)], working_weekend_days=[])
    # 3 days after Thu 19 Mar is Sun 22 Mar; Mon 23 is off too → Tue 24 at the same clock time.
    assert compute_due(vn(2026, 3, 19, 16, 45), 3, DueUnit.CALENDAR_DAYS, calendar, HOURS) == vn(2026, 3, 24, 16, 45)


def test_zero_working_days_is_the_clock_start():
    assert compute_due(vn(2026, 3, 17, 18), 0, DueUnit.WORKING_DAYS, PLAIN, HOURS) == vn(2026, 3, 18, 7)


def test_naive_and_negative_inputs_are_refused():
    with pytest.raises(ValueError):
        compute_due(datetime(2026, 3, 17, 9), 1, DueUnit.WORKING_DAYS, PLAIN, HOURS)
    with pytest.raises(ValueError):
        compute_due(vn(2026, 3, 17, 9), -1, DueUnit.WORKING_DAYS, PLAIN, HOURS)


def test_custom_cutoff():
    start = vn(2026, 3, 10, 15, 30)
    assert compute_due(start, 0, DueUnit.SAME_DAY, PLAIN, HOURS, same_day_cutoff=time(16)) == vn(2026, 3, 10, 17)


# --- Case 9: timeliness, both conventions --------------------------------------------------------------------

DUE_26_FEB = vn(2026, 2, 26, 10)


@pytest.mark.parametrize(
    ("finished", "granularity", "expected"),
    [
        (vn(2026, 2, 25, 15), "date", "early"),
        (vn(2026, 2, 26, 16, 30), "date", "on_time"),
        (vn(2026, 2, 27, 8), "date", "late"),
        (vn(2026, 2, 25, 15), "timestamp", "early"),
        (vn(2026, 2, 26, 9, 59), "timestamp", "on_time"),
        (vn(2026, 2, 26, 16, 30), "timestamp", "late"),
        (vn(2026, 2, 27, 8), "timestamp", "late"),
    ],
)
def test_case_9_timeliness(finished, granularity, expected):
    assert classify_timeliness(finished, DUE_26_FEB, granularity) == expected


def test_timeliness_compares_vietnamese_dates_not_utc_dates():
    # 26 Feb 06:00 in Viet Nam is still 25 Feb in UTC: the judgement must use the local date.
    finished = vn(2026, 2, 26, 6).astimezone(UTC)
    assert classify_timeliness(finished, DUE_26_FEB) == "on_time"


# --- The published calendar ----------------------------------------------------------------------------------

def test_published_calendar_shape(client):
    response = client.get("/api/v1/calendar?from=2026-01-01&to=2026-12-31")
    assert response.status_code == 200
    body = response.get_json()
    off = body["non_working_days"]
    assert "2026-01-01" in off and "2026-01-02" in off
    assert {"2026-02-16", "2026-02-20", "2026-04-27", "2026-04-30", "2026-05-01", "2026-08-31",
            "2026-09-01", "2026-09-02", "2026-11-24"} <= set(off)
    assert "2026-04-26" not in off  # a Sunday: weekends are implied
    assert all(date.fromisoformat(d).weekday() < 5 for d in off)
    assert body["working_weekend_days"] == ["2026-01-10", "2026-08-22"]
    assert len(body["version"]) == 16


def test_calendar_version_changes_with_an_override(client):
    before = client.get("/api/v1/calendar?from=2026-01-01&to=2026-01-31").get_json()["version"]
    service.add_override(date(2026, 12, 31), OverrideKind.DAY_OFF, "Nghỉ thêm (thử)")
    db.session.commit()
    after = client.get("/api/v1/calendar?from=2026-01-01&to=2026-01-31").get_json()["version"]
    assert before != after


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01&to=2026-12-31",
        "to=2026-12-31",
    ],
)
def test_published_calendar_bad_input_is_a_problem(client, query):
    response = client.get(f"/api/v1/calendar?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:motcua:problem:bad-request"


@pytest.mark.parametrize("query", ["from=2026-12-31&to=2026-01-01", "from=2020-01-01&to=2026-01-01"])
def test_published_calendar_range_it_does_not_serve_is_a_422_on_to(client, query):
    """Two well-formed dates the calendar does not serve together: not a malformed request (the fuzz's finding)."""
    response = client.get(f"/api/v1/calendar?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["to"]


@pytest.mark.parametrize("start", ["9999-12-31T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"])
@pytest.mark.parametrize("unit", ["working_days", "calendar_days", "same_day"])
def test_due_api_start_near_the_ends_of_time_is_a_422_not_a_500(client, start, unit):
    response = client.get("/api/v1/calendar/due", query_string={"start": start, "amount": 365, "unit": unit})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert [e["field"] for e in response.get_json()["errors"]] == ["start"]


def test_due_api_accepts_rfc3339_lower_case_t_and_z(client):
    lower = client.get("/api/v1/calendar/due?start=2026-02-12t03:00:00z&amount=5&unit=working_days")
    assert lower.status_code == 200
    assert lower.get_json() == {"due_at": "2026-02-26T10:00:00+07:00"}


@pytest.mark.parametrize("cutoff", ["15:30:00", "1530", "24:00", "9:00"])
def test_due_api_cutoff_is_exactly_hh_mm_as_documented(client, cutoff):
    response = client.get("/api/v1/calendar/due", query_string={
        "start": "2026-02-12T10:00:00+07:00", "amount": 0, "unit": "same_day", "cutoff": cutoff})
    assert response.status_code == 400
    assert [e["field"] for e in response.get_json()["errors"]] == ["cutoff"]


# --- The deadline API ----------------------------------------------------------------------------------------

def test_due_api_case_1(client):
    response = client.get("/api/v1/calendar/due", query_string={
        "start": "2026-02-12T10:00:00+07:00", "amount": 5, "unit": "working_days"})
    assert response.status_code == 200
    assert response.get_json() == {"due_at": "2026-02-26T10:00:00+07:00"}


def test_due_api_accepts_utc_and_an_unencoded_plus(client):
    utc = client.get("/api/v1/calendar/due?start=2026-02-12T03:00:00Z&amount=5&unit=working_days").get_json()
    plus = client.get("/api/v1/calendar/due?start=2026-02-12T10:00:00+07:00&amount=5&unit=working_days").get_json()
    assert utc == plus == {"due_at": "2026-02-26T10:00:00+07:00"}


def test_due_api_same_day(client):
    response = client.get("/api/v1/calendar/due", query_string={
        "start": "2026-02-13T15:30:00+07:00", "amount": 0, "unit": "same_day"})
    assert response.get_json() == {"due_at": "2026-02-23T17:00:00+07:00"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-02-12T10:00:00", "amount": 5, "unit": "working_days"}, "start"),
        ({"start": "yesterday", "amount": 5, "unit": "working_days"}, "start"),
        ({"start": "2026-02-12T10:00:00+07:00", "amount": -1, "unit": "working_days"}, "amount"),
        ({"start": "2026-02-12T10:00:00+07:00", "amount": "five", "unit": "working_days"}, "amount"),
        ({"start": "2026-02-12T10:00:00+07:00", "amount": 5, "unit": "hours"}, "unit"),
    ],
)
def test_due_api_bad_input(client, params, field):
    response = client.get("/api/v1/calendar/due", query_string=params)
    assert response.status_code == 400
    body = response.get_json()
    assert [e["field"] for e in body["errors"]] == [field]
    assert body["errors"][0]["vi"] and body["errors"][0]["en"]


def test_due_api_english_messages(client):
    response = client.get("/api/v1/calendar/due?start=x&amount=1&unit=working_days",
                          headers={"Accept-Language": "en"})
    assert response.get_json()["title"] == "Bad request"
    vi = client.get("/api/v1/calendar/due?start=x&amount=1&unit=working_days").get_json()
    assert vi["title"] == "Yêu cầu không hợp lệ"


def test_long_deadline_crosses_the_year(app):
    # 60 working days from 1 Dec 2025 must know 2026's Tết; the result is a working day.
    result = due(vn(2025, 12, 1, 9), 60)
    calendar = service.load_calendar(2025, 2026)
    assert calendar.is_working_day(result.date())
    assert result - vn(2025, 12, 1, 9) > timedelta(days=84)
