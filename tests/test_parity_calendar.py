"""pwa/lib/calendar.js under Node against server/calendar/: the due date printed offline is the one the server
computes (the fast tier's copy of tests/browser/pwa/test_calendar_parity.py, with the same cases).

The phone gets the calendar as GET /api/v1/calendar publishes it. The server's answer is its own rule called
directly: workdays.compute_due on the stored calendar, loaded once (service.due_for loads it again for every call, a
millisecond each), and service.due_for itself, the function behind GET /api/v1/calendar/due and the dossier
receipt, on a sample.
"""

from __future__ import annotations

from datetime import datetime
from datetime import time

from server.calendar import service
from server.calendar.workdays import DueUnit
from server.calendar.workdays import compute_due
from tests import parity_cases
from tests.js_bridge import evaluate
from tests.js_bridge import requires_node

pytestmark = requires_node

IMPORT_JS = 'const { WorkCalendar, computeDue } = await import(pwa("lib/calendar.js"));'


def _published(client) -> list[dict]:
    calendars = [client.get("/api/v1/calendar", query_string={"from": first, "to": last}).get_json()
                 for first, last in parity_cases.CALENDAR_RANGES]
    assert all("non_working_days" in calendar for calendar in calendars)
    return calendars


def _server_due(starts: list[str]) -> list[str]:
    """The server's due time of each start with each case, in the order of DUE_BATCH_JS."""
    years = [datetime.fromisoformat(start).year for start in starts]
    calendar = service.load_calendar(min(years), max(years) + 1)  # a year more: deadlines that cross New Year
    hours, cutoff = service.office_hours(), service.default_cutoff()
    due = [compute_due(datetime.fromisoformat(start), amount, DueUnit(unit), calendar, hours, cutoff).isoformat()
           for start in starts for amount, unit in parity_cases.DUE_CASES]
    pairs = [(start, case) for start in starts for case in parity_cases.DUE_CASES]
    for index in range(0, len(pairs), 11):  # 11 is prime to the 12 cases: the sample goes through every case
        (start, (amount, unit)) = pairs[index]
        assert service.due_for(datetime.fromisoformat(start), amount, DueUnit(unit)).isoformat() == due[index]
    return due


def test_javascript_deadlines_equal_the_servers(client):
    starts = parity_cases.calendar_start_dates()
    cases = parity_cases.DUE_CASES
    assert len(starts) >= 200
    phone = evaluate(f"async ({{published, starts, cases}}) => {{ {IMPORT_JS} {parity_cases.DUE_BATCH_JS} }}",
                     {"published": _published(client), "starts": starts, "cases": cases})
    server = _server_due(starts)
    disagreements = parity_cases.due_disagreements(starts, phone, server)
    print(f"\ncalendar.js agrees with service.due_for on {len(server) - len(disagreements)}/{len(server)} "
          f"({len(starts)} start dates × {len(cases)} cases)")
    assert disagreements == []
    # The sample is not trivial: weekends and holidays moved many deadlines.
    assert sum(1 for start, due in zip(starts, server[:: len(cases)], strict=True) if due[:10] != start[:10]) > 50


def test_same_day_with_a_procedures_own_cutoff(client):
    starts = [start for start, _ in parity_cases.SAME_DAY_CUTOFF_CASES]
    phone = evaluate(f"""async ({{published, starts, cutoff}}) => {{ {IMPORT_JS}
        const calendar = new WorkCalendar(published);
        return starts.map((start) => computeDue(start, 0, "same_day", calendar, {{cutoff}}));
    }}""", {"published": _published(client), "starts": starts, "cutoff": parity_cases.SAME_DAY_CUTOFF})
    cutoff = time.fromisoformat(parity_cases.SAME_DAY_CUTOFF)
    server = [service.due_for(datetime.fromisoformat(start), 0, DueUnit.SAME_DAY, cutoff=cutoff).isoformat()
              for start in starts]
    assert phone == server == [due for _, due in parity_cases.SAME_DAY_CUTOFF_CASES]


def test_phone_refuses_what_the_server_refuses_and_days_it_does_not_know(client):
    first, last = parity_cases.REFUSALS_RANGE
    published = client.get("/api/v1/calendar", query_string={"from": first, "to": last}).get_json()
    errors = evaluate(f"async (published) => {{ {IMPORT_JS} {parity_cases.REFUSALS_JS} }}", published)
    parity_cases.check_refusals(errors)
