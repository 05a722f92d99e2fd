"""pwa/lib/codes.js formatCode under Node against server/dossiers/codes.py format_code: a code the phone gives at
the door from its reserved block is the code the server would have given (and will read back at sync).

Every pattern the server supports, on days across the turns of year and century, with numbers at and past the
widths, for agency codes that look like fields or like replacement strings (tests/parity_cases.py).
"""

from __future__ import annotations

from datetime import date

from server.config import DEFAULTS
from server.dossiers.codes import ParsedCode
from server.dossiers.codes import format_code
from server.dossiers.codes import parse_code
from tests import parity_cases
from tests.js_bridge import evaluate
from tests.js_bridge import requires_node

FORMAT_JS = """async (cases) => {
    const { formatCode } = await import(pwa("lib/codes.js"));
    return cases.map(([pattern, agency, day, number]) => formatCode(pattern, agency, day, number));
}"""

#: The one code each pattern must read back on the server for it to count as supported.
SAMPLE = ParsedCode("000.20.26.H26", date(2026, 3, 9), 7)


def _reads_back(pattern: str) -> bool:
    """Whether the server reads SAMPLE back from its own code of it: False when it cannot make the code, cannot
    read it, or reads another agency, day or number (a "{{" taken for a field's brace)."""
    try:
        return parse_code(format_code(SAMPLE.agency_code, SAMPLE.day, SAMPLE.number, pattern), pattern) == SAMPLE
    except (KeyError, IndexError, ValueError):
        return False


def test_the_patterns_are_ones_the_server_supports():
    assert DEFAULTS["DOSSIER_CODE_PATTERN"] in parity_cases.CODE_PATTERNS
    assert [pattern for pattern in parity_cases.CODE_PATTERNS if not _reads_back(pattern)] == []


@requires_node
def test_formatcode_is_format_code():
    cases = [(pattern, agency, day, number) for pattern in parity_cases.CODE_PATTERNS
             for agency in parity_cases.CODE_AGENCIES for day in parity_cases.CODE_DAYS
             for number in parity_cases.CODE_NUMBERS]
    phone = evaluate(FORMAT_JS, cases)
    mismatches = []
    for (pattern, agency, day, number), got in zip(cases, phone, strict=True):
        want = format_code(agency, date.fromisoformat(day), number, pattern)
        if got != want:
            mismatches.append((pattern, agency, day, number, got, want))
    print(f"\ncodes.js formatCode agrees with format_code on {len(cases) - len(mismatches)}/{len(cases)} codes "
          f"({len(parity_cases.CODE_PATTERNS)} patterns)")
    assert mismatches == [], "\n".join(map(repr, mismatches[:40]))


def test_the_hostile_patterns_are_unusable_on_the_server_too():
    """The phone owes no parity on these: the server cannot issue their codes or read them back. Should the server
    come to support one, it moves to CODE_PATTERNS and gets its parity checked."""
    assert [pattern for pattern in parity_cases.HOSTILE_CODE_PATTERNS if _reads_back(pattern)] == []
