"""Personal ID and phone checks (server/people/identity.py; DOMAIN.md §6.1, §6.3, §11 cases 20 and 21).

Pure-Python tests: no Flask app, no database.
"""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import date
from enum import Enum
from importlib import resources

import pytest

from server.people.identity import ERROR
from server.people.identity import WARNING
from server.people.identity import Finding
from server.people.identity import check_date_of_birth
from server.people.identity import check_full_name
from server.people.identity import check_personal_id
from server.people.identity import check_phone
from server.people.identity import place_name

TODAY = date(2026, 11, 22)


def _table() -> dict:
    text = (
        resources.files("server.people").joinpath("data", "id_place_codes.json").read_text(encoding="utf-8")
    )
    return json.loads(text)


# --- place-code table ---


def test_table_has_the_63_legacy_provinces_and_the_country_range():
    table = _table()
    assert len(table["provinces"]) == 63
    assert all(len(code) == 3 and "001" <= code <= "096" for code in table["provinces"])
    assert list(table["countries"]) == [str(code) for code in range(101, 296)]
    assert set(table["countries_en"]) == set(table["countries"]) == set(table["country_iso"])
    assert table["source"]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("001", "Hà Nội"),
        ("002", "Hà Giang"),
        ("004", "Cao Bằng"),
        ("031", "Hải Phòng"),
        ("048", "Đà Nẵng"),
        ("079", "TP. Hồ Chí Minh"),
        ("092", "Cần Thơ"),
        ("096", "Cà Mau"),
    ],
)
def test_known_province_codes(code, name):
    assert _table()["provinces"][code] == name


@pytest.mark.parametrize(
    "code", ["000", "003", "005", "007", "009", "013", "097", "099", "100", "296", "999"]
)
def test_gaps_and_out_of_range_codes_are_not_places(code):
    table = _table()
    assert code not in table["provinces"]
    assert code not in table["countries"]
    assert place_name(code) is None


@pytest.mark.parametrize(
    ("code", "locale", "name"),
    [
        ("101", "vi", "Afghanistan"),
        ("175", "vi", "Hoa Kỳ"),
        ("175", "en", "United States"),
        ("232", "en_US", "Japan"),
        ("295", "vi", "Zimbabwe"),
        ("001", "en", "Hà Nội"),
    ],
)
def test_place_name(code, locale, name):
    assert place_name(code, locale) == name


# --- personal ID: DOMAIN §11 case 20 ---


def test_case20_hanoi_male_1985_is_valid():
    result = check_personal_id("001085012345", today=TODAY)
    assert result.ok
    assert result.findings == ()
    assert result.value == "001085012345"
    assert result.kind == "personal_id"
    assert (result.place_code, result.place_name, result.born_abroad) == ("001", "Hà Nội", False)
    assert (result.birth_year, result.gender) == (1985, "male")


def test_case20_female_2099_is_in_the_future():
    result = check_personal_id("001399012345", today=TODAY)
    assert not result.ok
    assert (result.birth_year, result.gender) == (2099, "female")
    assert result.codes() == ("personal_id.future_birth_year",)
    assert result.errors[0].severity == ERROR
    assert "2099" in result.errors[0].vi
    assert "2099" in result.errors[0].en


def test_case20_unknown_province_code():
    result = check_personal_id("003085012345", today=TODAY)
    assert not result.ok
    assert result.codes() == ("personal_id.place",)
    assert result.place_code == "003"
    assert result.place_name is None
    # The rest is still decoded so the form can show what it read.
    assert (result.birth_year, result.gender) == (1985, "male")


def test_case20_born_abroad_afghanistan():
    result = check_personal_id("101085012345", today=TODAY)
    assert result.ok
    assert (result.place_code, result.place_name, result.born_abroad) == ("101", "Afghanistan", True)
    assert (result.birth_year, result.gender) == (1985, "male")


def test_case20_dob_1950_with_century_digit_2_warns_century_mismatch():
    result = check_personal_id("001250012345", date_of_birth=date(1950, 3, 1), today=TODAY)
    assert result.ok  # warn, don't block (DOMAIN §6.1)
    assert result.birth_year == 2050
    assert result.codes() == ("personal_id.century_mismatch",)
    assert result.warnings[0].severity == WARNING
    assert "1950" in result.warnings[0].vi
    assert "2050" in result.warnings[0].en


def test_case20_nine_digit_cmnd_is_refused_by_default():
    result = check_personal_id("012345678", today=TODAY)
    assert not result.ok
    assert result.codes() == ("personal_id.legacy_number",)
    assert result.value is None
    assert result.kind is None


def test_case20_nine_digit_cmnd_is_accepted_only_as_legacy_reference():
    result = check_personal_id("012345678", today=TODAY, allow_legacy=True)
    assert result.ok
    assert result.value == "012345678"
    assert result.kind == "legacy_id"
    assert result.codes() == ("personal_id.legacy_reference",)
    assert result.warnings[0].severity == WARNING
    assert (result.place_code, result.birth_year, result.gender) == (None, None, None)


# --- personal ID: other rules and edge cases ---


@pytest.mark.parametrize(
    ("raw", "year", "gender"),
    [
        ("001085012345", 1985, "male"),
        ("001185012345", 1985, "female"),
        ("001200012345", 2000, "male"),
        ("001326012345", 2026, "female"),  # born this year: not in the future
        ("079100012345", 1900, "female"),
        ("096099012345", 1999, "male"),
    ],
)
def test_century_and_gender_digit(raw, year, gender):
    result = check_personal_id(raw, today=TODAY)
    assert result.ok
    assert (result.birth_year, result.gender) == (year, gender)


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("001227012345", 2027),  # next year
        ("001400012345", 2100),
        ("001599012345", 2199),
        ("001900012345", 2300),
    ],
)
def test_future_birth_year_is_an_error(raw, year):
    result = check_personal_id(raw, today=TODAY)
    assert result.codes() == ("personal_id.future_birth_year",)
    assert result.birth_year == year
    assert not result.ok


def test_future_rule_follows_the_today_argument():
    assert check_personal_id("001227012345", today=date(2027, 1, 1)).ok
    assert not check_personal_id("001227012345", today=date(2026, 12, 31)).ok


@pytest.mark.parametrize(
    "raw",
    ["001 085 012 345", "001.085.012.345", "001-085-012345", " 001085012345 ", "001\u00a0085\u00a0012345"],
)
def test_separators_are_ignored(raw):
    result = check_personal_id(raw, today=TODAY)
    assert result.ok
    assert result.value == "001085012345"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "personal_id.required"),
        ("   ", "personal_id.required"),
        (None, "personal_id.required"),
        ("00108501234", "personal_id.length"),  # 11 digits
        ("0010850123456", "personal_id.length"),  # 13 digits
        ("12345", "personal_id.length"),
        ("00108501234A", "personal_id.not_digits"),
        (
            "００１０８５０１２３４５",
            "personal_id.not_digits",
        ),  # full-width digits are not silently converted
    ],
)
def test_shape_errors(raw, code):
    result = check_personal_id(raw, today=TODAY)
    assert result.codes() == (code,)
    assert result.errors[0].severity == ERROR
    assert result.value is None
    assert result.kind is None


def test_length_message_in_both_languages():
    finding = check_personal_id("00108501234", today=TODAY).errors[0]
    assert finding.field == "personal_id"
    assert finding.message("vi") == "Số định danh cá nhân phải gồm đúng 12 chữ số."
    assert finding.message("en") == "The personal identification number must have exactly 12 digits."


def test_birth_year_mismatch_other_than_century_is_a_warning():
    result = check_personal_id("001085012345", date_of_birth=date(1986, 1, 1), today=TODAY)
    assert result.ok
    assert result.codes() == ("personal_id.birth_year_mismatch",)


def test_matching_date_of_birth_gives_no_finding():
    result = check_personal_id("001085012345", date_of_birth=date(1985, 12, 31), gender="male", today=TODAY)
    assert result.findings == ()


def test_century_mismatch_in_the_past_is_also_only_a_warning():
    # G=0 gives 1905, the stated date says 2005: only the century differs.
    result = check_personal_id("001005012345", date_of_birth=date(2005, 6, 1), today=TODAY)
    assert result.ok
    assert result.codes() == ("personal_id.century_mismatch",)


def test_future_year_with_a_different_stated_year_stays_an_error():
    result = check_personal_id("001399012345", date_of_birth=date(1998, 1, 1), today=TODAY)
    assert not result.ok
    assert result.codes() == ("personal_id.future_birth_year", "personal_id.birth_year_mismatch")


class _Gender(Enum):
    MALE = "male"
    FEMALE = "female"


@pytest.mark.parametrize(
    ("raw", "stated", "codes"),
    [
        ("001085012345", "female", ("personal_id.gender_mismatch",)),
        ("001185012345", "male", ("personal_id.gender_mismatch",)),
        ("001185012345", "FEMALE", ()),
        ("001085012345", _Gender.FEMALE, ("personal_id.gender_mismatch",)),
        ("001085012345", _Gender.MALE, ()),
        ("001085012345", "", ()),
        ("001085012345", None, ()),
    ],
)
def test_gender_mismatch_is_a_warning(raw, stated, codes):
    result = check_personal_id(raw, gender=stated, today=TODAY)
    assert result.ok
    assert result.codes() == codes


def test_gender_mismatch_message_uses_vietnamese_words():
    finding = check_personal_id("001085012345", gender="female", today=TODAY).warnings[0]
    assert finding.vi == "Giới tính theo số định danh (nam) khác giới tính đã khai (nữ)."
    assert "(male)" in finding.en
    assert "(female)" in finding.en


def test_unknown_gender_value_is_a_programming_error():
    with pytest.raises(ValueError, match="gender"):
        check_personal_id("001085012345", gender="x", today=TODAY)


def test_several_findings_are_reported_together():
    result = check_personal_id("003185012345", date_of_birth=date(1984, 1, 1), gender="male", today=TODAY)
    assert result.codes() == (
        "personal_id.place",
        "personal_id.birth_year_mismatch",
        "personal_id.gender_mismatch",
    )
    assert [f.code for f in result.errors] == ["personal_id.place"]
    assert len(result.warnings) == 2


# --- phone: DOMAIN §11 case 21 ---


@pytest.mark.parametrize(
    "raw",
    [
        "+84 912 345 678",
        "0912345678",
        "84912345678",
        "0912.345.678",
        "0912-345-678",
        "(+84) 912 345 678",
        "+84 0912 345 678",  # redundant trunk zero after the country code, a common way of writing it
        "0084 912 345 678",
        "  0912 345 678  ",
    ],
)
def test_case21_mobile_normalisation(raw):
    result = check_phone(raw)
    assert result.ok
    assert result.findings == ()
    assert result.e164 == "+84912345678"
    assert result.national == "0912345678"
    assert result.kind == "mobile"
    assert result.sms_capable is True
    assert result.carrier_prefix == "091"


@pytest.mark.parametrize(
    "raw", ["01691234567", "0169 123 4567", "+84 169 123 4567", "01201234567", "01991234567"]
)
def test_case21_old_eleven_digit_mobiles_are_invalid(raw):
    result = check_phone(raw)
    assert not result.ok
    assert result.codes() == ("phone.legacy_mobile",)
    assert "2018" in result.errors[0].vi
    assert (result.e164, result.national, result.kind) == (None, None, None)


@pytest.mark.parametrize("raw", ["02439741234", "024 3974 1234", "+84 24 3974 1234"])
def test_case21_hanoi_landline_is_valid_without_sms(raw):
    result = check_phone(raw)
    assert result.ok
    assert result.e164 == "+842439741234"
    assert result.national == "02439741234"
    assert result.kind == "landline"
    assert result.sms_capable is False
    assert result.carrier_prefix is None
    assert result.codes() == ("phone.not_sms_capable",)
    assert result.warnings[0].severity == WARNING


# --- phone: other rules and edge cases ---


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ("0321234567", "032"),  # Viettel
        ("0861234567", "086"),
        ("0831234567", "083"),  # Vinaphone
        ("0701234567", "070"),  # MobiFone
        ("0561234567", "056"),  # Vietnamobile
        ("0591234567", "059"),  # Gmobile
        ("0871234567", "087"),  # Itel
    ],
)
def test_current_mobile_prefixes(raw, prefix):
    result = check_phone(raw)
    assert result.ok
    assert result.kind == "mobile"
    assert result.carrier_prefix == prefix
    assert result.e164 == "+84" + raw[1:]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "phone.required"),
        ("   ", "phone.required"),
        (None, "phone.required"),
        ("0912abc678", "phone.characters"),
        ("0912345678 ext. 12", "phone.characters"),
        ("+", "phone.characters"),
        ("091234567", "phone.invalid"),  # one digit short
        ("09123456789", "phone.invalid"),  # one digit too many
        ("0112345678", "phone.invalid"),  # unassigned prefix
        ("+84", "phone.invalid"),
    ],
)
def test_phone_errors(raw, code):
    result = check_phone(raw)
    assert not result.ok
    assert result.codes() == (code,)
    assert (result.e164, result.national, result.kind, result.sms_capable) == (None, None, None, False)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 650 253 0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
    ],
)
def test_foreign_numbers_are_refused(raw, e164):
    result = check_phone(raw)
    assert not result.ok
    assert result.codes() == ("phone.not_vietnamese",)
    assert result.e164 == e164
    assert result.national is None
    assert result.errors[0].message("vi") == "Chỉ nhận số điện thoại Việt Nam."
    assert result.errors[0].message("en") == "Only Vietnamese phone numbers are accepted."


@pytest.mark.parametrize(
    ("raw", "kind", "national"),
    [
        ("1900 1234", "premium_rate", "19001234"),
        ("1800 123456", "toll_free", "1800123456"),
    ],
)
def test_hotlines_are_not_personal_numbers(raw, kind, national):
    result = check_phone(raw)
    assert not result.ok
    assert result.codes() == ("phone.service_number",)
    assert result.kind == kind
    assert result.national == national
    assert result.sms_capable is False


# --- findings ---


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("vi", "xin chào"),
        ("en", "hello"),
        ("en_US", "hello"),
        ("en-GB", "hello"),
        ("fr", "xin chào"),
        (None, "xin chào"),
    ],
)
def test_finding_message_locale(locale, expected):
    finding = Finding("phone", "phone.invalid", ERROR, "xin chào", "hello")
    assert finding.message(locale) == expected


def test_results_are_immutable():
    result = check_phone("0912345678")
    with pytest.raises(FrozenInstanceError):
        result.e164 = "+84000"  # type: ignore[misc]


# --- full name and date of birth (issue 10, point 8) ---

#: Names that pass, with the value kept (NFC, spaces collapsed); tests/browser/pwa/test_identity_parity.py reads these.
NAMES_ACCEPTED = [
    ("Nguyễn Văn An", "Nguyễn Văn An"),
    ("Nguye\u0302\u0303n Thi\u0323 Ho\u0302\u0300ng", "Nguyễn Thị Hồng"),  # decomposed (NFD), as some keyboards send
    ("  Lê   Thị\tHồng  ", "Lê Thị Hồng"),
    ("Đặng Thị Ngọc Ánh", "Đặng Thị Ngọc Ánh"),
    ("H'Hen Niê", "H'Hen Niê"),
    ("Ksor Y Phương", "Ksor Y Phương"),
    ("Ư" * 200, "Ư" * 200),
]

#: Names refused, with the code of the finding.
NAMES_REFUSED = [
    ("", "full_name.required"),
    ("   ", "full_name.required"),
    (None, "full_name.required"),
    ("\u200b\u200b", "full_name.invisible_characters"),  # zero-width spaces only
    ("\u200b \u2060\ufeff", "full_name.invisible_characters"),  # zero-width, word joiner, byte-order mark
    ("\u202enA năV nễyugN", "full_name.invisible_characters"),  # right-to-left override: shows reversed
    ("Nguyễn\u202dVăn An", "full_name.invisible_characters"),  # left-to-right override
    ("\u2067Nguyễn Văn An\u2069", "full_name.invisible_characters"),  # right-to-left isolate
    ("Nguyễn\u200fVăn An", "full_name.invisible_characters"),  # right-to-left mark
    ("Nguyễn\x00An", "full_name.invisible_characters"),
    ("Nguyễn\u2028An", "full_name.invisible_characters"),
    ("Nguyễn\ue000An", "full_name.invisible_characters"),  # private use
    ("123 - .", "full_name.no_letters"),
    ("Ư" * 201, "full_name.too_long"),
]


@pytest.mark.parametrize(("name", "value"), NAMES_ACCEPTED)
def test_full_names_with_vietnamese_diacritics_pass_in_nfc(name, value):
    checked = check_full_name(name)
    assert (checked.ok, checked.value, checked.findings) == (True, value, ())


@pytest.mark.parametrize(("name", "code"), NAMES_REFUSED + [("Nguyễn\ud800An", "full_name.invisible_characters")])
def test_blank_invisible_and_bidi_names_are_refused(name, code):
    checked = check_full_name(name)
    assert checked.value is None and checked.codes() == (code,)
    finding = checked.errors[0]
    assert finding.field == "full_name" and finding.vi != finding.en and "họ và tên" in finding.vi.lower()


#: (date of birth, today, codes); the parity test reads these too.
DATES_OF_BIRTH = [
    (date(1950, 3, 1), TODAY, ()),
    (TODAY, TODAY, ()),
    (date(2026, 11, 23), TODAY, ("date_of_birth.future",)),
    (date(2999, 1, 1), TODAY, ("date_of_birth.future",)),
    (None, TODAY, ()),
]


@pytest.mark.parametrize(("born", "today", "codes"), DATES_OF_BIRTH)
def test_a_date_of_birth_in_the_future_is_refused(born, today, codes):
    findings = check_date_of_birth(born, today=today)
    assert tuple(f.code for f in findings) == codes
    assert all(f.severity == ERROR and f.field == "date_of_birth" and "tương lai" in f.vi for f in findings)
