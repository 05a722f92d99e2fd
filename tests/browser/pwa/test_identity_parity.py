"""pwa/lib/identity.js against server/people/identity.py: same verdicts, codes and messages in both languages.

The vectors are those of tests/test_identity.py (read from its parametrize marks, so a vector added there is
checked here too), each run through both checks, plus the option-dependent cases of that file and a few more: the
cases of tests/parity_cases.py, which the fast tier runs under Node too (tests/test_parity_identity.py).
"""

from __future__ import annotations

import pytest

from tests import parity_cases

pytestmark = pytest.mark.browser

IMPORT_JS = """
    const identity = await import("/pwa/lib/identity.js");
    const { checkPersonalId, checkPhone, checkFullName, checkDateOfBirth, message, placeName } = identity;
    const data = await identity.loadIdentityData();
"""


def test_identity_js_gives_the_same_results_as_python(shell_page):
    id_cases = parity_cases.personal_id_cases()
    phones = parity_cases.phone_cases()
    got = shell_page.evaluate(f"async ({{ids, phones}}) => {{ {IMPORT_JS} {parity_cases.IDENTITY_BATCH_JS} }}",
                              {"ids": [(raw, parity_cases.js_options(o)) for raw, o in id_cases], "phones": phones})
    mismatches = parity_cases.identity_mismatches(id_cases, phones, got)
    assert mismatches == [], "\n".join(map(repr, mismatches))


def test_full_name_and_date_of_birth_rules_are_the_same_in_javascript(shell_page):
    names = parity_cases.full_name_cases()
    dates = parity_cases.date_of_birth_cases()
    got = shell_page.evaluate(f"async ({{names, dates}}) => {{ {IMPORT_JS} {parity_cases.NAMES_BATCH_JS} }}",
                              {"names": names, "dates": parity_cases.js_dates(dates)})
    mismatches = parity_cases.name_and_date_mismatches(names, dates, got)
    assert mismatches == [], "\n".join(map(repr, mismatches))


def test_messages_and_place_names_in_both_languages(shell_page):
    got = shell_page.evaluate(f"async () => {{ {IMPORT_JS} {parity_cases.MESSAGES_AND_PLACES_JS} }}")
    assert got == parity_cases.MESSAGES_AND_PLACES


def test_checks_work_offline_from_the_cached_data(shell_page):
    shell_page.context.set_offline(True)
    result = shell_page.evaluate("""async () => {
        const { checkPersonalId, checkPhone, loadIdentityData } = await import("/pwa/lib/identity.js");
        const data = await loadIdentityData();
        return [checkPersonalId("001085012345", data, {today: "2026-11-22"}).place_name,
                checkPhone("0912 345 678", data).e164];
    }""")
    assert result == ["Hà Nội", "+84912345678"]
