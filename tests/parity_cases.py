"""The cases of the JavaScript/Python parity tests, in one place for both tiers.

Each rule the phone copies from the server is checked twice: under Node in the fast tier (tests/test_parity_*.py,
seconds) and in Chromium in the browser tier (tests/browser/pwa/, the code as the phone loads it). Both import their
cases from here, so a case added for one is checked by the other too.
"""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from datetime import date
from datetime import timedelta

from server import ROOT
from server.people.identity import check_date_of_birth
from server.people.identity import check_full_name
from server.people.identity import check_personal_id
from server.people.identity import check_phone
from tests import test_identity

# --- working-day deadlines: pwa/lib/calendar.js against server/calendar/ ---

#: The calendar the phone downloads, in two pieces that the library merges.
CALENDAR_RANGES = [("2025-01-01", "2025-12-31"), ("2026-01-01", "2027-03-31")]

#: Weeks with holidays, swaps and compensatory days (DOMAIN.md §2.3), plus ordinary weeks around them.
CALENDAR_WINDOWS = [
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
CALENDAR_TIMES = ["06:59:59", "07:00:00", "09:15:30", "11:29:59", "11:30:00", "12:45:00", "13:30:00",
                  "14:59:59.999999", "15:00:00", "16:59:59", "17:00:00", "21:10:00", "00:00:00"]

#: Receipts sent with another offset (a phone set to UTC, a traveller's phone): converted to Vietnamese time.
CALENDAR_OTHER_OFFSETS = [
    "2026-02-13T01:00:00Z", "2026-02-13T09:30:00Z", "2026-01-09T17:30:00Z", "2026-08-21T23:59:00-05:00",
    "2026-04-24T10:00:00+09:00", "2025-04-25T20:00:00+00:00", "2026-12-31T16:59:00Z", "2026-05-04T00:30:00+07:00",
    "2026-01-01T23:30:00+00:00", "2026-02-22T17:00:00.250000Z",
]

#: (amount, unit) of a processing time.
DUE_CASES = [(amount, "working_days") for amount in (0, 1, 2, 5, 10, 15, 30)]
DUE_CASES += [(amount, "calendar_days") for amount in (0, 1, 7, 30)]
DUE_CASES += [(0, "same_day")]

#: A procedure's own same-day cut-off (12:00): (start, the due time both must give).
SAME_DAY_CUTOFF = "12:00"
SAME_DAY_CUTOFF_CASES = [
    ("2026-03-10T11:59:00+07:00", "2026-03-10T17:00:00+07:00"),
    ("2026-03-10T12:00:00+07:00", "2026-03-11T17:00:00+07:00"),
    ("2026-03-13T16:00:00+07:00", "2026-03-16T17:00:00+07:00"),
]


def calendar_start_dates() -> list[str]:
    """Three receipt times a day through every window (rotating through the clock times), then the other offsets."""
    starts = []
    index = 0
    for first, last in CALENDAR_WINDOWS:
        day, end = date.fromisoformat(first), date.fromisoformat(last)
        while day <= end:
            for _ in range(3):
                starts.append(f"{day.isoformat()}T{CALENDAR_TIMES[index % len(CALENDAR_TIMES)]}+07:00")
                index += 1
            day += timedelta(days=1)
    return starts + CALENDAR_OTHER_OFFSETS


#: computeDue's batch as both tiers run it: each start with each case; an error comes back as "Name: message".
#: `published` is the list of calendars GET /api/v1/calendar answered for CALENDAR_RANGES.
DUE_BATCH_JS = """
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
"""


def due_disagreements(starts: list[str], phone: list[str], server: list[str]) -> list[str]:
    """Where the phone's due times (in the order of DUE_BATCH_JS) differ from the server's."""
    pairs = ((start, case) for start in starts for case in DUE_CASES)
    return [f"{start} + {amount} {unit}: phone {got}, server {want}"
            for (start, (amount, unit)), got, want in zip(pairs, phone, server, strict=True) if got != want]


#: What the phone refuses, on a calendar downloaded for 2026 only: the server's refusals, and a day it does not know.
REFUSALS_RANGE = ("2026-01-01", "2026-12-31")
REFUSALS_JS = """
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
"""


def check_refusals(errors: dict) -> None:
    """The answers of REFUSALS_JS."""
    assert errors["naive"] == "RangeError: a time zone is required (for example +07:00)"
    assert errors["negative"] == "RangeError: amount must not be negative"
    assert errors["unit"].startswith("RangeError: unknown unit")
    # A phone whose calendar ends on 31 December says so instead of guessing January's holidays.
    assert errors["beyond"] == "RangeError: the downloaded calendar does not cover 2027-01-01; download it again"
    assert errors["inside"] == "2026-12-28T10:00:00+07:00"


# --- personal ID, phone, full name and date of birth: pwa/lib/identity.js against server/people/identity.py ---

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

#: Names beyond tests/test_identity.py's: decomposed, joiners, odd spaces, bidi embeddings, Mongolian vowel separator.
EXTRA_NAMES = ["Nguye\u0301n", "A\u200dB", "Trần\u00a0Văn", "\u3000Lý\u3000", "\u202aAn\u202c", "Ông\u061cAn",
               "An\u180eB"]


def _raw_vectors() -> list[str | None]:
    """Every ``raw`` value in the parametrize marks of tests/test_identity.py (a vector added there is checked here)."""
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


def personal_id_cases() -> list[tuple[str | None, dict]]:
    """(raw, options of check_personal_id): every vector of tests/test_identity.py, all checked on TODAY."""
    raws = _raw_vectors()
    assert len(raws) >= 50  # the parametrize marks were found
    cases = [(raw, {}) for raw in raws] + _gender_cases() + ID_CASES_WITH_OPTIONS
    return [(raw, {"today": TODAY, **options}) for raw, options in cases]


def phone_cases() -> list[str | None]:
    """Every vector of tests/test_identity.py read as a phone number, and EXTRA_PHONES."""
    return _raw_vectors() + EXTRA_PHONES


def full_name_cases() -> list[str | None]:
    return [name for name, _ in test_identity.NAMES_ACCEPTED + test_identity.NAMES_REFUSED] + EXTRA_NAMES


def date_of_birth_cases() -> list[tuple[date | None, date]]:
    """(date of birth, today)."""
    return [(born, today) for born, today, _ in test_identity.DATES_OF_BIRTH]


def js_options(options: dict) -> dict:
    """check_personal_id's keyword arguments as identity.js's options."""
    mapping = {"date_of_birth": "dateOfBirth", "allow_legacy": "allowLegacy", "today": "today", "gender": "gender"}
    return {mapping[k]: (v.isoformat() if isinstance(v, date) else v) for k, v in options.items()}


def _as_js_result(result) -> dict:
    """A Python check's result in the shape identity.js returns: its fields, findings, ok and codes."""
    data = dataclasses.asdict(result)
    data["findings"] = [dataclasses.asdict(finding) for finding in result.findings]
    data["ok"] = result.ok
    data["codes"] = list(result.codes())
    return data


def identity_mismatches(id_cases: list, phones: list, got: dict) -> list[tuple]:
    """Where identity.js's ``{ids, phones}`` (checkPersonalId of each case, checkPhone of each number) differ from
    identity.py's; prints how many agree."""
    mismatches = []
    for (raw, options), js in zip(id_cases, got["ids"], strict=True):
        want = _as_js_result(check_personal_id(raw, **options))
        if js != want:
            mismatches.append(("id", raw, options, js, want))
    for raw, js in zip(phones, got["phones"], strict=True):
        want = _as_js_result(check_phone(raw))
        if "phone.not_vietnamese" in want["codes"]:
            # The one documented difference: without every country's numbering plan the phone cannot tell a valid
            # foreign number, so it gives no international form for a number it refuses anyway.
            assert js["e164"] is None, raw
            want = {**want, "e164": None}
        if js != want:
            mismatches.append(("phone", raw, js, want))
    total = len(id_cases) + len(phones)
    print(f"\nidentity.js agrees with identity.py on {total - len(mismatches)}/{total} checks "
          f"({len(id_cases)} personal IDs, {len(phones)} phone numbers)")
    return mismatches


def name_and_date_mismatches(names: list, dates: list, got: dict) -> list[tuple]:
    """Where identity.js's ``{names, dates}`` (checkFullName, checkDateOfBirth) differ from identity.py's."""
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
    return mismatches


def js_dates(dates: list[tuple[date | None, date]]) -> list[tuple[str | None, str]]:
    """date_of_birth_cases() as identity.js takes them (ISO strings)."""
    return [(born.isoformat() if born else None, today.isoformat()) for born, today in dates]


#: The batches as both tiers run them, given `data` (loadIdentityData's), `ids` ([raw, options of identity.js]) and
#: `phones`; or `names` and `dates` (js_dates).
IDENTITY_BATCH_JS = """
    return {
        ids: ids.map(([raw, options]) => checkPersonalId(raw, data, options)),
        phones: phones.map((raw) => checkPhone(raw, data)),
    };
"""
NAMES_BATCH_JS = """
    return {
        names: names.map((raw) => checkFullName(raw)),
        dates: dates.map(([born, today]) => checkDateOfBirth(born, {today})),
    };
"""

#: What the place names and the messages in each language are, from a `data` as IDENTITY_BATCH_JS's.
MESSAGES_AND_PLACES = {
    "vi": "Chỉ nhận số điện thoại Việt Nam.", "en": "Only Vietnamese phone numbers are accepted.",
    "fr": "Chỉ nhận số điện thoại Việt Nam.", "us": "Hoa Kỳ", "usEn": "United States", "hanoi": "Hà Nội",
    "none": None,
}
MESSAGES_AND_PLACES_JS = """
    const finding = checkPhone("+1 650 253 0000", data).findings[0];
    return {vi: message(finding, "vi"), en: message(finding, "en-GB"), fr: message(finding, "fr"),
            us: placeName("175", data, "vi"), usEn: placeName("175", data, "en_US"),
            hanoi: placeName("001", data, "en"), none: placeName("003", data)};
"""


# --- diacritic folding: pwa/lib/search.js fold against server/dossiers/search_text.py fold ---

#: Vowels and tones of Vietnamese: every precomposed letter is one of these with one of these marks (or none).
_VOWELS = "aăâeêioôơuưy"
_TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # ngang, huyền, sắc, hỏi, ngã, nặng

#: Texts as officers and citizens type them: both cases, decomposed input (some keyboards send NFD), odd spaces.
FOLD_TEXTS = [
    "Trợ cấp xã hội hàng tháng", "  Trần  Thị Đào ", "ĐẶNG THỊ NGỌC ÁNH", "đường Lê Lợi", "Đ", "đ", "dđĐD",
    "Nguye\u0302\u0303n Thi\u0323 Ho\u0302\u0300ng", "Lê\tVăn\nAn\r\n", "Trần\u00a0Văn\u3000An\u2003Bình",
    "H'Hen Niê", "Ksor Y Phương", "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
    "000.20.26.H26-260309-0007", "+84 912 345 678", "0912.345.678", "", "   ", "İstanbul", "ΟΔΟΣ Σ", "Straße ẞ",
    "ﬁ ﬂ", "Ⅻ ①", "👍🏽 ✔", "Ǆ ǅ ǆ", "Åsa Ørsted", "Łódź", "ħ ı ȷ", "ǲ", "A\u0328\u0301", "e\u0301\u0301",
]


def fold_texts() -> list[str | None]:
    """FOLD_TEXTS, every Vietnamese letter (composed and decomposed, both cases), the catalogue's procedure names,
    tests/test_identity.py's names, the Latin letters and marks a keyboard can produce, and None."""
    letters = [unicodedata.normalize(form, (vowel + tone).upper() if upper else vowel + tone)
               for vowel in _VOWELS for tone in _TONES for upper in (False, True) for form in ("NFC", "NFD")]
    catalogue = json.loads((ROOT / "server/reference/data/catalogue.json").read_text(encoding="utf-8"))
    names = [procedure["name_vi"] for procedure in catalogue["procedures"]]
    people = [name for name, _ in test_identity.NAMES_ACCEPTED]
    # Basic Latin to Latin Extended-B, the combining diacritics, Latin Extended Additional (all the precomposed
    # Vietnamese letters) and the spaces of General Punctuation. Not the C1 controls (U+0080-U+009F: Python counts
    # U+0085 as a space, JavaScript does not) nor the invisible U+034F, the one mark of the block without a
    # combining class (the phone drops it, the server keeps it): see tests/test_parity_search.py.
    code_points = [*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x34F), *range(0x350, 0x370),
                   *range(0x1E00, 0x1F00), *range(0x2000, 0x200B)]
    singles = [f"A{chr(point)}b" for point in code_points]
    return FOLD_TEXTS + letters + names + people + singles + [None]


def fold_mismatches(texts: list[str | None], phone: list[str], server_fold) -> list[tuple]:
    """Where the phone's folding of `texts` differs from `server_fold`'s; prints how many agree."""
    mismatches = [(text, got, server_fold(text)) for text, got in zip(texts, phone, strict=True)
                  if got != server_fold(text)]
    print(f"\nsearch.js fold agrees with search_text.fold on {len(texts) - len(mismatches)}/{len(texts)} texts")
    return mismatches


# --- the dossier code: pwa/lib/codes.js formatCode against server/dossiers/codes.py format_code ---

#: Patterns the server supports, that is whose codes parse_code reads back (the test checks it): the default of
#: Circular 01/2018, the one tests/test_codes.py configures, a wide width, both year fields, another order,
#: literal text with Vietnamese and with characters special in regular expressions and in JavaScript's replace().
CODE_PATTERNS = [
    "{agency}-{yy}{mm}{dd}-{seq:04d}",
    "{agency}-{yyyy}{mm}{dd}-{seq:07d}",
    "HS.{yyyy}.{mm}.{dd}.{agency}.{seq:010d}",
    "{seq:06d}-{dd}{mm}{yy}-{agency}",
    "{yyyy}{yy}{mm}{dd}-{agency}-{seq}",
    "Số {seq:03d}/TNHS-{agency} ngày {dd}/{mm}/{yyyy}",
    "{agency}-{yy}{mm}{dd}-{seq:00004d}",
    "[{agency}]$1$&.*+?^(|)\\-{yy}{mm}{dd}{seq:0d}",
]

#: Days across the turns of year, month and century, a leap day, the years 2000 and 2100 (yy "00").
CODE_DAYS = ["2026-03-09", "2025-12-31", "2026-01-01", "2024-02-29", "1999-12-31", "2000-01-01", "2009-12-31",
             "2010-01-01", "2099-12-31", "2100-01-01", "0999-09-09", "9999-12-31"]

#: Numbers around the widths of the patterns (4, 7, 10 digits) and a block's limit (9999 a day).
CODE_NUMBERS = [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999, 999999, 1000000, 9999999, 10000000,
                999999999, 1234567890, 12345678901, 2**53 - 1]

#: Agency codes: the demo's, and hostile ones whose text looks like a field or a replacement string.
CODE_AGENCIES = ["000.20.26.H26", "G09.20", "H26", "{seq}", "{agency}", "$&$1$$", "a-b_c", "Đông Hà"]

#: Patterns the server cannot use: format_code fails, or parse_code cannot read back what format_code wrote (a
#: field it does not know, a format spec outside its grammar, a pattern without the day). The phone owes them no
#: parity; the test checks that they are unusable on the server too. "{seq:4d}" is one: Python pads with spaces
#: ("   7"), which parse_code refuses, where the phone pads with zeros ("0007").
HOSTILE_CODE_PATTERNS = [
    "{agency}-{yy}{mm}{dd}-{seq:4d}", "{agency}-{yy}{mm}{dd}-{seq:4}", "{agency}-{yy}{mm}{dd}-{seq:,d}",
    "{agency}-{yy}{mm}{dd}-{seq:x}", "{agency}-{yy}{mm}{dd}-{seq!r}", "{agency}-{yy}{mm}{dd}-{seq:-5d}",
    "{agency:>20}-{yy}{mm}{dd}-{seq:04d}", "{agency}-{mm:02d}{yy}{dd}-{seq}", "{agency}-{unknown}{yy}{mm}{dd}-{seq}",
    "{{agency}}-{yy}{mm}{dd}-{seq}", "{agency}-{yy}{mm}{dd}-{seq:04d", "{0}-{yy}{mm}{dd}", "{}", "{agency}/{seq}",
]
