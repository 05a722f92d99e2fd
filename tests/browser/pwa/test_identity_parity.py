"""pwa/lib/identity.js against server/people/identity.py: same verdicts, codes and messages in both languages.

The vectors are those of tests/test_identity.py (read from its parametrize marks, so a vector added there is
checked here too), each run through both checks, plus the option-dependent cases of that file and a few more.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from server.people.identity import check_date_of_birth
from server.people.identity import check_full_name
from server.people.identity import check_personal_id
from server.people.identity import check_phone
from tests import test_identity

pytestmark = pytest.mark.browser

TODAY = test_identity.TODAY

#: The cases of tests/test_identity.py that need options (date of birth, gender, today, legacy numbers).
ID_CASES_WITH_OPTIONS = [
    ("001250012345", {"date_of_birth": date(1950, 3, 1)}),
    ("012345678", {"allow_legacy": True}),
    ("001227012345", {"today": date(2027, 1, 1)}),
    ("001227012345", {"today": date(2026, 12, 31)}),
    ("001085012345", {"date_of_birth": date(1986, 1, 1)}),
    ("001085012345", {"date_of_birth": date(1985, 12, 31), "gender": "male"}),
    ("001005012345", {"date_of_birth": date(2005, 6, 1)}),
    ("001399012345", {"date_of_birth": date(1998, 1, 1)}),
    ("003185012345", {"date_of_birth": date(1984, 1, 1), "gender": "male"}),
    ("001085012345", {"gender": "female"}),
    ("001185012345", {"gender": "FEMALE"}),
    ("175099012345", {"gender": "male", "date_of_birth": date(1999, 5, 5)}),
]

#: More phone numbers: other carriers and regions, formats people write, the international forms.
EXTRA_PHONES = [
    "0999 123 456", "0552 123 456", "0523 123 456", "0889 123 456", "02838 123 456", "(028) 3812 3456",
    "84 24 3974 1234", "+840912345678", "0084 0912 345 678", "0084 24 3974 1234", "+84 (0) 912 345 678",
    "0912 345 678)", "1800 1234", "1900 123 456", "0672 123 456", "0123 456 789", "09", "0", "+84 9",
    "8491234567", "849123456789", "+65 6123 4567", "+ 84 912 345 678", "0912  345  678", "84", "12345",
]


def _raw_vectors() -> list[str | None]:
    """Every ``raw`` value in the parametrize marks of tests/test_identity.py."""
    found: list[str | None] = []
    for name, function in vars(test_identity).items():
        if not name.startswith("test_"):
            continue
        for mark in getattr(function, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            names = [n.strip() for n in mark.args[0].split(",")] if isinstance(mark.args[0], str) else mark.args[0]
            if "raw" not in names:
                continue
            position = names.index("raw")
            for values in mark.args[1]:
                raw = values[position] if len(names) > 1 else values
                if raw not in found:
                    found.append(raw)
    return found


def _gender_cases() -> list[tuple[str, dict]]:
    """The gender cases; an Enum stated gender reaches the JavaScript copy as its value."""
    mark = next(m for m in test_identity.test_gender_mismatch_is_a_warning.pytestmark if m.name == "parametrize")
    return [(raw, {"gender": getattr(stated, "value", stated)}) for raw, stated, _codes in mark.args[1]]


def _python(result) -> dict:
    data = dataclasses.asdict(result)
    data["findings"] = [dataclasses.asdict(finding) for finding in result.findings]
    data["ok"] = result.ok
    data["codes"] = list(result.codes())
    return data


def _js_options(options: dict) -> dict:
    mapping = {"date_of_birth": "dateOfBirth", "allow_legacy": "allowLegacy", "today": "today", "gender": "gender"}
    return {mapping[k]: (v.isoformat() if isinstance(v, date) else v) for k, v in options.items()}


CHECK_JS = """async ({ids, phones}) => {
    const { checkPersonalId, checkPhone, loadIdentityData } = await import("/pwa/lib/identity.js");
    const data = await loadIdentityData();
    return {
        ids: ids.map(([raw, options]) => checkPersonalId(raw, data, options)),
        phones: phones.map((raw) => checkPhone(raw, data)),
    };
}"""


def test_identity_js_gives_the_same_results_as_python(shell_page):
    raws = _raw_vectors()
    assert len(raws) >= 50  # the parametrize marks were found
    id_cases = [(raw, {"today": TODAY}) for raw in raws] + _gender_cases() + ID_CASES_WITH_OPTIONS
    id_cases = [(raw, {"today": TODAY, **options}) for raw, options in id_cases]
    phones = raws + EXTRA_PHONES
    phone_js = shell_page.evaluate(CHECK_JS, {"ids": [(raw, _js_options(o)) for raw, o in id_cases], "phones": phones})

    mismatches = []
    for (raw, options), got in zip(id_cases, phone_js["ids"], strict=True):
        want = _python(check_personal_id(raw, **options))
        if got != want:
            mismatches.append(("id", raw, options, got, want))
    for raw, got in zip(phones, phone_js["phones"], strict=True):
        want = _python(check_phone(raw))
        if "phone.not_vietnamese" in want["codes"]:
            # The one documented difference: without every country's numbering plan the phone cannot tell a valid
            # foreign number, so it gives no international form for a number it refuses anyway.
            assert got["e164"] is None, raw
            want = {**want, "e164": None}
        if got != want:
            mismatches.append(("phone", raw, got, want))
    total = len(id_cases) + len(phones)
    print(f"\nidentity.js agrees with identity.py on {total - len(mismatches)}/{total} checks "
          f"({len(id_cases)} personal IDs, {len(phones)} phone numbers)")
    assert mismatches == [], "\n".join(map(repr, mismatches))


NAMES_JS = """({names, dates}) => import("/pwa/lib/identity.js").then(({ checkFullName, checkDateOfBirth }) => ({
    names: names.map((raw) => checkFullName(raw)),
    dates: dates.map(([born, today]) => checkDateOfBirth(born, {today})),
}))"""


def test_full_name_and_date_of_birth_rules_are_the_same_in_javascript(shell_page):
    names = [name for name, _ in test_identity.NAMES_ACCEPTED + test_identity.NAMES_REFUSED]
    names += ["Nguye\u0301n", "A\u200dB", "Trần\u00a0Văn", "\u3000Lý\u3000", "\u202aAn\u202c", "Ông\u061cAn",
              "An\u180eB"]
    dates = [(born, today) for born, today, _ in test_identity.DATES_OF_BIRTH]
    got = shell_page.evaluate(NAMES_JS, {
        "names": names, "dates": [(b.isoformat() if b else None, t.isoformat()) for b, t in dates]})
    mismatches = []
    for raw, js in zip(names, got["names"], strict=True):
        checked = check_full_name(raw)
        want = {"value": checked.value, "findings": [dataclasses.asdict(f) for f in checked.findings],
                "ok": checked.ok, "codes": list(checked.codes())}
        if js != want:
            mismatches.append(("name", raw, js, want))
    for (born, today), js in zip(dates, got["dates"], strict=True):
        want = [dataclasses.asdict(f) for f in check_date_of_birth(born, today=today)]
        if js != want:
            mismatches.append(("date_of_birth", born, js, want))
    print(f"\nidentity.js agrees with identity.py on {len(names) + len(dates) - len(mismatches)}/"
          f"{len(names) + len(dates)} names and dates of birth")
    assert mismatches == [], "\n".join(map(repr, mismatches))


def test_messages_and_place_names_in_both_languages(shell_page):
    result = shell_page.evaluate("""async () => {
        const { checkPhone, message, placeName, loadIdentityData } = await import("/pwa/lib/identity.js");
        const data = await loadIdentityData();
        const finding = checkPhone("+1 650 253 0000", data).findings[0];
        return {vi: message(finding, "vi"), en: message(finding, "en-GB"), fr: message(finding, "fr"),
                us: placeName("175", data, "vi"), usEn: placeName("175", data, "en_US"),
                hanoi: placeName("001", data, "en"), none: placeName("003", data)};
    }""")
    assert result == {"vi": "Chỉ nhận số điện thoại Việt Nam.", "en": "Only Vietnamese phone numbers are accepted.",
                      "fr": "Chỉ nhận số điện thoại Việt Nam.", "us": "Hoa Kỳ", "usEn": "United States",
                      "hanoi": "Hà Nội", "none": None}


def test_checks_work_offline_from_the_cached_data(shell_page):
    shell_page.context.set_offline(True)
    result = shell_page.evaluate("""async () => {
        const { checkPersonalId, checkPhone, loadIdentityData } = await import("/pwa/lib/identity.js");
        const data = await loadIdentityData();
        return [checkPersonalId("001085012345", data, {today: "2026-11-22"}).place_name,
                checkPhone("0912 345 678", data).e164];
    }""")
    assert result == ["Hà Nội", "+84912345678"]
