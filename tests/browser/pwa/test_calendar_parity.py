"""pwa/lib/calendar.js against the server: the due date printed offline must be the one the server computes.

Every start date is evaluated in Chromium with the published calendar the phone downloads, and compared with
``GET /api/v1/calendar/due`` for each unit and several amounts. The cases are tests/parity_cases.py's, which the
fast tier runs under Node too (tests/test_parity_calendar.py).
"""

from __future__ import annotations

import pytest

from tests import parity_cases

pytestmark = pytest.mark.browser

IMPORT_JS = 'const { WorkCalendar, computeDue } = await import("/pwa/lib/calendar.js");'

COMPUTE_JS = f"""async ({{ranges, starts, cases}}) => {{
    {IMPORT_JS}
    const published = await Promise.all(ranges.map(([from, to]) =>
        fetch(`/api/v1/calendar?from=${{from}}&to=${{to}}`).then((response) => response.json())));
    {parity_cases.DUE_BATCH_JS}
}}"""


def test_javascript_deadlines_equal_the_servers(shell_page, client):
    starts = parity_cases.calendar_start_dates()
    cases = parity_cases.DUE_CASES
    assert len(starts) >= 200
    phone = shell_page.evaluate(COMPUTE_JS, {"ranges": parity_cases.CALENDAR_RANGES, "starts": starts, "cases": cases})
    expected = []
    for start in starts:
        for amount, unit in cases:
            response = client.get("/api/v1/calendar/due", query_string={"start": start, "amount": amount, "unit": unit})
            assert response.status_code == 200, response.get_json()
            expected.append(response.get_json()["due_at"])
    disagreements = parity_cases.due_disagreements(starts, phone, expected)
    print(f"\ncalendar.js agrees with /api/v1/calendar/due on {len(expected) - len(disagreements)}/{len(expected)} "
          f"({len(starts)} start dates × {len(cases)} cases)")
    assert disagreements == []
    # The sample is not trivial: weekends and holidays moved many deadlines.
    assert sum(1 for start, due in zip(starts, expected[:: len(cases)], strict=True) if due[:10] != start[:10]) > 50


def test_same_day_with_a_procedures_own_cutoff(shell_page, client):
    starts = [start for start, _ in parity_cases.SAME_DAY_CUTOFF_CASES]
    phone = shell_page.evaluate(f"""async ({{starts, cutoff}}) => {{
        {IMPORT_JS}
        const published = await fetch("/api/v1/calendar?from=2026-01-01&to=2026-12-31").then((r) => r.json());
        const calendar = new WorkCalendar(published);
        return starts.map((start) => computeDue(start, 0, "same_day", calendar, {{cutoff}}));
    }}""", {"starts": starts, "cutoff": parity_cases.SAME_DAY_CUTOFF})
    server = [client.get("/api/v1/calendar/due", query_string={"start": s, "amount": 0, "unit": "same_day",
                                                                "cutoff": parity_cases.SAME_DAY_CUTOFF}
                         ).get_json()["due_at"]
              for s in starts]
    assert phone == server == [due for _, due in parity_cases.SAME_DAY_CUTOFF_CASES]


def test_phone_refuses_what_the_server_refuses_and_days_it_does_not_know(shell_page):
    errors = shell_page.evaluate(f"""async ([first, last]) => {{
        {IMPORT_JS}
        const published = await fetch(`/api/v1/calendar?from=${{first}}&to=${{last}}`).then((r) => r.json());
        {parity_cases.REFUSALS_JS}
    }}""", list(parity_cases.REFUSALS_RANGE))
    parity_cases.check_refusals(errors)
