"""pwa/lib/calendar.js against the server: the due date printed offline must be the one the server computes.

Every start date is evaluated in Chromium with the published calendar the phone downloads, and compared with
``GET /api/v1/calendar/due`` for each unit and several amounts.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest

pytestmark = pytest.mark.browser

#: The calendar the phone downloads, in two pieces that the library merges.
RANGES = [("2025-01-01", "2025-12-31"), ("2026-01-01", "2027-03-31")]

#: Weeks with holidays, swaps and compensatory days (DOMAIN.md §2.3), plus ordinary weeks around them.
WINDOWS = [
    ("2025-01-24", "2025-02-04"),  # Tết Ất Tỵ, 9 days off
    ("2025-04-24", "2025-05-05"),  # Saturday 26 April 2025 worked, 30/4-4/5 off
    ("2025-12-29", "2026-01-12"),  # New Year 2026: Friday 2 January swapped off, Saturday 10 January worked
    ("2026-02-11", "2026-02-25"),  # Tết Bính Ngọ, 14-22 February off
    ("2026-04-23", "2026-05-04"),  # Giỗ Tổ on Sunday 26 April, Monday 27 April off; 30/4 and 1/5
    ("2026-08-20", "2026-09-03"),  # Saturday 22 August worked, Monday 31 August swapped off, 1-2 September
    ("2026-11-20", "2026-11-26"),  # Culture day 24 November (not a day off unless configured)
    ("2026-12-28", "2027-01-04"),  # a deadline crossing the year
]

#: Clock times around each boundary of the office day: before opening, lunch, the same-day cut-off, closing.
TIMES = ["06:59:59", "07:00:00", "09:15:30", "11:29:59", "11:30:00", "12:45:00", "13:30:00",
         "14:59:59.999999", "15:00:00", "16:59:59", "17:00:00", "21:10:00", "00:00:00"]

#: Receipts sent with another offset (a phone set to UTC, a traveller's phone): converted to Vietnamese time.
OTHER_OFFSETS = [
    "2026-02-13T01:00:00Z", "2026-02-13T09:30:00Z", "2026-01-09T17:30:00Z", "2026-08-21T23:59:00-05:00",
    "2026-04-24T10:00:00+09:00", "2025-04-25T20:00:00+00:00", "2026-12-31T16:59:00Z", "2026-05-04T00:30:00+07:00",
    "2026-01-01T23:30:00+00:00", "2026-02-22T17:00:00.250000Z",
]

CASES = [(amount, "working_days") for amount in (0, 1, 2, 5, 10, 15, 30)]
CASES += [(amount, "calendar_days") for amount in (0, 1, 7, 30)]
CASES += [(0, "same_day")]


def _start_dates() -> list[str]:
    starts = []
    index = 0
    for first, last in WINDOWS:
        day, end = date.fromisoformat(first), date.fromisoformat(last)
        while day <= end:
            for _ in range(3):  # three different times a day, rotating through the list
                starts.append(f"{day.isoformat()}T{TIMES[index % len(TIMES)]}+07:00")
                index += 1
            day += timedelta(days=1)
    return starts + OTHER_OFFSETS


COMPUTE_JS = """async ({ranges, starts, cases}) => {
    const { WorkCalendar, computeDue } = await import("/pwa/lib/calendar.js");
    const published = await Promise.all(ranges.map(([from, to]) =>
        fetch(`/api/v1/calendar?from=${from}&to=${to}`).then((response) => response.json())));
    const calendar = new WorkCalendar(published);
    const results = [];
    for (const start of starts) {
        for (const [amount, unit] of cases) {
            try {
                results.push(computeDue(start, amount, unit, calendar));
            } catch (error) {
                results.push(`${error.name}: ${error.message}`);
            }
        }
    }
    return results;
}"""


def test_javascript_deadlines_equal_the_servers(shell_page, client):
    starts = _start_dates()
    assert len(starts) >= 200
    phone = shell_page.evaluate(COMPUTE_JS, {"ranges": RANGES, "starts": starts, "cases": CASES})
    expected, disagreements = [], []
    for start in starts:
        for amount, unit in CASES:
            response = client.get("/api/v1/calendar/due", query_string={"start": start, "amount": amount, "unit": unit})
            assert response.status_code == 200, response.get_json()
            expected.append(response.get_json()["due_at"])
    for (start, (amount, unit)), got, want in zip(
        ((s, c) for s in starts for c in CASES), phone, expected, strict=True
    ):
        if got != want:
            disagreements.append(f"{start} + {amount} {unit}: phone {got}, server {want}")
    print(f"\ncalendar.js agrees with /api/v1/calendar/due on {len(expected) - len(disagreements)}/{len(expected)} "
          f"({len(starts)} start dates × {len(CASES)} cases)")
    assert disagreements == []
    # The sample is not trivial: weekends and holidays moved many deadlines.
    assert sum(1 for start, due in zip(starts, expected[:: len(CASES)], strict=True) if due[:10] != start[:10]) > 50


def test_same_day_with_a_procedures_own_cutoff(shell_page, client):
    starts = ["2026-03-10T11:59:00+07:00", "2026-03-10T12:00:00+07:00", "2026-03-13T16:00:00+07:00"]
    phone = shell_page.evaluate("""async ({starts}) => {
        const { WorkCalendar, computeDue } = await import("/pwa/lib/calendar.js");
        const published = await fetch("/api/v1/calendar?from=2026-01-01&to=2026-12-31").then((r) => r.json());
        const calendar = new WorkCalendar(published);
        return starts.map((start) => computeDue(start, 0, "same_day", calendar, {cutoff: "12:00"}));
    }""", {"starts": starts})
    server = [client.get("/api/v1/calendar/due", query_string={"start": s, "amount": 0, "unit": "same_day",
                                                                "cutoff": "12:00"}).get_json()["due_at"]
              for s in starts]
    assert phone == server == ["2026-03-10T17:00:00+07:00", "2026-03-11T17:00:00+07:00", "2026-03-16T17:00:00+07:00"]


def test_phone_refuses_what_the_server_refuses_and_days_it_does_not_know(shell_page):
    errors = shell_page.evaluate("""async () => {
        const { WorkCalendar, computeDue } = await import("/pwa/lib/calendar.js");
        const published = await fetch("/api/v1/calendar?from=2026-01-01&to=2026-12-31").then((r) => r.json());
        const calendar = new WorkCalendar(published);
        const attempt = (...args) => {
            try { return computeDue(...args, calendar); } catch (error) { return error.name + ": " + error.message; }
        };
        return {
            naive: attempt("2026-03-10T10:00:00", 1, "working_days"),
            negative: attempt("2026-03-10T10:00:00+07:00", -1, "working_days"),
            unit: attempt("2026-03-10T10:00:00+07:00", 1, "hours"),
            beyond: attempt("2026-12-30T10:00:00+07:00", 5, "working_days"),
            inside: attempt("2026-12-21T10:00:00+07:00", 5, "working_days"),
        };
    }""")
    assert errors["naive"] == "RangeError: a time zone is required (for example +07:00)"
    assert errors["negative"] == "RangeError: amount must not be negative"
    assert errors["unit"].startswith("RangeError: unknown unit")
    # A phone whose calendar ends on 31 December says so instead of guessing January's holidays.
    assert errors["beyond"] == "RangeError: the downloaded calendar does not cover 2027-01-01; download it again"
    assert errors["inside"] == "2026-12-28T10:00:00+07:00"
