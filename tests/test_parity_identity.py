"""pwa/lib/identity.js under Node against server/people/identity.py: the same verdicts, codes and messages in both
languages (the fast tier's copy of tests/browser/pwa/test_identity_parity.py, with the same cases).

identity.js is given the place-code table and the phone rules as the server publishes them under /pwa-data/, through
the fetch function that loadIdentityData takes (the browser's own fetch on the phone).
"""

from __future__ import annotations

import pytest

from tests import parity_cases
from tests.js_bridge import evaluate
from tests.js_bridge import requires_node

pytestmark = requires_node

DATA_URLS = ("/pwa-data/id_place_codes.json", "/pwa-data/phone_vn.json")

# loadIdentityData with a fetch that answers each URL from the JSON the test server answered.
LOAD_JS = """
    const identity = await import(pwa("lib/identity.js"));
    const { checkPersonalId, checkPhone, checkFullName, checkDateOfBirth, message, placeName } = identity;
    const data = await identity.loadIdentityData(async (url) => ({ ok: url in served, json: async () => served[url] }));
"""


@pytest.fixture
def served(client) -> dict:
    """What GET /pwa-data/... answers, by URL."""
    answers = {url: client.get(url) for url in DATA_URLS}
    assert all(response.status_code == 200 for response in answers.values())
    return {url: response.get_json() for url, response in answers.items()}


def test_identity_js_gives_the_same_results_as_python(served):
    id_cases = parity_cases.personal_id_cases()
    phones = parity_cases.phone_cases()
    got = evaluate(f"async ({{served, ids, phones}}) => {{ {LOAD_JS} {parity_cases.IDENTITY_BATCH_JS} }}",
                   {"served": served, "ids": [(raw, parity_cases.js_options(o)) for raw, o in id_cases],
                    "phones": phones})
    mismatches = parity_cases.identity_mismatches(id_cases, phones, got)
    assert mismatches == [], "\n".join(map(repr, mismatches))


def test_full_name_and_date_of_birth_rules_are_the_same_in_javascript(served):
    names = parity_cases.full_name_cases()
    dates = parity_cases.date_of_birth_cases()
    got = evaluate(f"async ({{served, names, dates}}) => {{ {LOAD_JS} {parity_cases.NAMES_BATCH_JS} }}",
                   {"served": served, "names": names, "dates": parity_cases.js_dates(dates)})
    mismatches = parity_cases.name_and_date_mismatches(names, dates, got)
    assert mismatches == [], "\n".join(map(repr, mismatches))


def test_messages_and_place_names_in_both_languages(served):
    got = evaluate(f"async ({{served}}) => {{ {LOAD_JS} {parity_cases.MESSAGES_AND_PLACES_JS} }}", {"served": served})
    assert got == parity_cases.MESSAGES_AND_PLACES
