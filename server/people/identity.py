"""Checks on identity and contact data: personal ID numbers and phone numbers (DOMAIN.md §6.1, §6.3).

This is the single implementation used by the web forms and the JSON API. It is pure Python (no Flask, no
database) so the offline phone app can mirror it; that copy reads the same place-code table,
``data/id_place_codes.json``.

A check never raises on bad user input: it returns a result carrying :class:`Finding` objects. ``error``
findings block saving; ``warning`` findings are shown to the officer but accepted, because DOMAIN §6.1 asks to
warn, not block, on date-of-birth and gender mismatches (legacy data errors, people who changed gender).

The personal ID number has no checksum, so none is checked: a well-formed number can still be wrong, and only
the population database (VNeID) can confirm it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

ERROR = "error"
WARNING = "warning"

PERSONAL_ID_FIELD = "personal_id"
PHONE_FIELD = "phone"
FULL_NAME_FIELD = "full_name"
DATE_OF_BIRTH_FIELD = "date_of_birth"

MAX_NAME_LENGTH = 200

PERSONAL_ID_LENGTH = 12
LEGACY_ID_LENGTH = 9

MALE = "male"
FEMALE = "female"

_GENDER_VI = {MALE: "nam", FEMALE: "nữ"}

# Officers copy numbers from cards and paper, where they are often grouped with spaces, dots or dashes.
_ID_SEPARATORS = re.compile(r"[\s.\-]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")

# What a person may type for a phone number: ASCII digits, one leading "+" (possibly inside a bracket,
# "(+84)") and grouping characters. Anything else is refused before parsing because phonenumbers would
# otherwise turn letters into keypad digits and read "ext."/"x" as an extension.
PHONE_SHAPE = re.compile(r"[\s(]*\+?[0-9\s.\-()]*")

# The 11-digit mobile ranges that were moved to 10 digits in 2018 (0120-0129, 0162-0169, 0186, 0188, 0199),
# matched on the national significant number. Recognising them lets us tell the citizen why the number fails.
LEGACY_MOBILE_NSN = re.compile(r"(?:12[0-9]|16[2-9]|18[68]|199)[0-9]{7}")

PHONE_KINDS = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline_or_mobile",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.UAN: "service",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.VOICEMAIL: "voicemail",
}

# Hotlines (1800/1900 and short service numbers) reach an organisation, never the citizen at home, so they
# cannot be a person's contact number.
SERVICE_KINDS = frozenset({"toll_free", "premium_rate", "shared_cost", "service"})


@dataclass(frozen=True)
class Finding:
    """One problem found by a check, with its message in Vietnamese and English."""

    field: str
    code: str
    severity: str
    vi: str
    en: str

    def message(self, locale: str | None) -> str:
        """The message for ``locale`` ("vi", "en", "en_US", …); any other locale gets Vietnamese."""
        if locale and re.split(r"[-_]", locale.strip().lower())[0] == "en":
            return self.en
        return self.vi

    @property
    def is_error(self) -> bool:
        """True when this finding blocks saving."""
        return self.severity == ERROR


class _HasFindings:
    """Shared read-only views over a result's ``findings``."""

    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Findings that block saving."""
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Findings to show but accept."""
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def codes(self) -> tuple[str, ...]:
        """The machine codes of all findings, in the order found."""
        return tuple(f.code for f in self.findings)


@dataclass(frozen=True)
class PersonalIdCheck(_HasFindings):
    """Result of :func:`check_personal_id`.

    ``value`` is the number reduced to its digits when it has a usable shape (12 digits, or 9 digits when
    legacy numbers are allowed), else None; callers must still test :attr:`ok` before storing it. The decoded
    parts are filled whenever the shape allows decoding, even if another rule failed, so a form can explain
    the problem.
    """

    value: str | None
    kind: str | None
    place_code: str | None
    place_name: str | None
    born_abroad: bool
    birth_year: int | None
    gender: str | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class PhoneCheck(_HasFindings):
    """Result of :func:`check_phone`.

    ``e164`` ("+84912345678") and ``national`` ("0912345678") are set for valid Vietnamese numbers (``e164``
    also for a valid foreign number, which is refused). ``kind`` is "mobile", "landline", "voip", "toll_free",
    "premium_rate", "service", … (None when unknown). Only mobiles are ``sms_capable``. ``carrier_prefix`` is
    the 3-digit mobile prefix ("091"), kept as a prefix rather than a carrier name because carrier ranges
    change (DOMAIN §6.3).
    """

    e164: str | None
    national: str | None
    kind: str | None
    sms_capable: bool
    carrier_prefix: str | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class NameCheck(_HasFindings):
    """Result of :func:`check_full_name`: ``value`` is the name in NFC with spaces collapsed, or None."""

    value: str | None
    findings: tuple[Finding, ...]


# --- place codes ---


@cache
def _place_codes() -> dict[str, Any]:
    # Read once: the table is static and shared with the JavaScript copy of this check.
    text = (
        resources.files("server.people").joinpath("data", "id_place_codes.json").read_text(encoding="utf-8")
    )
    return json.loads(text)


def place_name(code: str, locale: str | None = "vi") -> str | None:
    """Name of a birth-registration place code: a legacy province (001–096) or a country (101–295).

    Province names are Vietnamese in every locale; country names follow ``locale`` ("en…" gives English).
    Returns None for an unknown code.
    """
    table = _place_codes()
    if code in table["provinces"]:
        return table["provinces"][code]
    english = bool(locale) and locale.lower().startswith("en")
    return table["countries_en" if english else "countries"].get(code)


# --- personal ID ---


def check_personal_id(
    raw: str | None,
    *,
    date_of_birth: date | None = None,
    gender: Any = None,
    today: date | None = None,
    allow_legacy: bool = False,
) -> PersonalIdCheck:
    """Check a personal identification number (số định danh cá nhân) ``PPP G YY NNNNNN``.

    :param raw: what was typed; spaces, dots and dashes are ignored.
    :param date_of_birth: the stated date of birth; a different year gives a warning.
    :param gender: the stated gender, "male"/"female" (or an enum whose ``value`` is one of them); a different
        gender gives a warning.
    :param today: reference date for the "born in the future" rule (defaults to today's date).
    :param allow_legacy: accept a 9-digit CMND number as a legacy reference (with a warning) instead of
        refusing it.
    :raises ValueError: if ``gender`` is not a known value (a programming error, not a user error).
    """
    stated_gender = _normalise_gender(gender)
    today = today or date.today()
    findings: list[Finding] = []

    digits = _ID_SEPARATORS.sub("", raw or "")
    if not digits:
        return _id_result(
            findings=[
                _id_error(
                    "required",
                    "Vui lòng nhập số định danh cá nhân.",
                    "Please enter the personal identification number.",
                )
            ]
        )
    if not _ASCII_DIGITS.fullmatch(digits):
        return _id_result(
            findings=[
                _id_error(
                    "not_digits",
                    "Số định danh cá nhân chỉ được gồm chữ số.",
                    "The personal identification number may contain digits only.",
                )
            ]
        )

    if len(digits) == LEGACY_ID_LENGTH:
        if not allow_legacy:
            return _id_result(
                findings=[
                    _id_error(
                        "legacy_number",
                        "Đây là số CMND 9 chữ số cũ. Vui lòng nhập số định danh cá nhân 12 chữ số.",
                        "This is an old 9-digit ID card (CMND) number. "
                        "Please enter the 12-digit personal identification number.",
                    )
                ]
            )
        # The CMND stopped being a valid card on 31 Dec 2024 but still appears on old papers (DOMAIN §6.1).
        return _id_result(
            value=digits,
            kind="legacy_id",
            findings=[
                _id_warning(
                    "legacy_reference",
                    "Số CMND 9 chữ số chỉ được lưu để đối chiếu với giấy tờ cũ.",
                    "The 9-digit CMND number is kept only for cross-reference with old documents.",
                )
            ],
        )

    if len(digits) != PERSONAL_ID_LENGTH:
        return _id_result(
            findings=[
                _id_error(
                    "length",
                    "Số định danh cá nhân phải gồm đúng 12 chữ số.",
                    "The personal identification number must have exactly 12 digits.",
                )
            ]
        )

    place_code, century_gender, yy = digits[:3], int(digits[3]), int(digits[4:6])
    table = _place_codes()
    born_abroad = place_code in table["countries"]
    name = table["provinces"].get(place_code) or table["countries"].get(place_code)
    if name is None:
        findings.append(
            _id_error(
                "place",
                f"Ba chữ số đầu ({place_code}) không phải mã nơi đăng ký khai sinh hợp lệ.",
                f"The first three digits ({place_code}) are not a valid birth-registration place code.",
            )
        )

    # Even digits are male, odd are female; each pair of G values is one century starting with 1900 (G = 0/1).
    birth_year = (century_gender // 2 + 19) * 100 + yy
    id_gender = FEMALE if century_gender % 2 else MALE

    # When the stated date of birth has the same two-digit year, the century digit is the likely typo or
    # legacy data error; the stated date then explains the odd year, so this is only a warning, not a
    # "future" error.
    century_only = (
        date_of_birth is not None and date_of_birth.year != birth_year and date_of_birth.year % 100 == yy
    )
    if birth_year > today.year and not century_only:
        findings.append(
            _id_error(
                "future_birth_year",
                f"Năm sinh theo số định danh ({birth_year}) là năm trong tương lai.",
                f"The birth year encoded in the number ({birth_year}) is in the future.",
            )
        )
    if date_of_birth is not None and date_of_birth.year != birth_year:
        dob_year = date_of_birth.year
        if century_only:
            findings.append(
                _id_warning(
                    "century_mismatch",
                    f"Số định danh ghi năm sinh {birth_year} nhưng ngày sinh đã khai là năm {dob_year}: "
                    "chữ số thứ tư (thế kỷ, giới tính) có thể sai.",
                    f"The number gives birth year {birth_year} but the stated date of birth is in "
                    f"{dob_year}: the fourth digit (century and gender) may be wrong.",
                )
            )
        else:
            findings.append(
                _id_warning(
                    "birth_year_mismatch",
                    f"Năm sinh theo số định danh ({birth_year}) khác năm sinh đã khai ({dob_year}).",
                    f"The birth year in the number ({birth_year}) differs from the stated date of birth "
                    f"({dob_year}).",
                )
            )
    if stated_gender is not None and stated_gender != id_gender:
        findings.append(
            _id_warning(
                "gender_mismatch",
                f"Giới tính theo số định danh ({_GENDER_VI[id_gender]}) khác giới tính đã khai "
                f"({_GENDER_VI[stated_gender]}).",
                f"The gender in the number ({id_gender}) differs from the stated gender ({stated_gender}).",
            )
        )

    return PersonalIdCheck(
        value=digits,
        kind="personal_id",
        place_code=place_code,
        place_name=name,
        born_abroad=born_abroad,
        birth_year=birth_year,
        gender=id_gender,
        findings=tuple(findings),
    )


def _normalise_gender(gender: Any) -> str | None:
    # Accept the people.models.Gender enum without importing it (this module stays free of database code).
    value = getattr(gender, "value", gender)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() in (MALE, FEMALE):
        return value.strip().lower()
    raise ValueError(f"gender must be {MALE!r}, {FEMALE!r} or None, not {gender!r}")


def _id_result(
    *, findings: list[Finding], value: str | None = None, kind: str | None = None
) -> PersonalIdCheck:
    return PersonalIdCheck(
        value=value,
        kind=kind,
        place_code=None,
        place_name=None,
        born_abroad=False,
        birth_year=None,
        gender=None,
        findings=tuple(findings),
    )


def _id_error(code: str, vi: str, en: str) -> Finding:
    return Finding(PERSONAL_ID_FIELD, f"personal_id.{code}", ERROR, vi, en)


def _id_warning(code: str, vi: str, en: str) -> Finding:
    return Finding(PERSONAL_ID_FIELD, f"personal_id.{code}", WARNING, vi, en)


# --- phone ---


def check_phone(raw: str | None) -> PhoneCheck:
    """Check and normalise a Vietnamese phone number.

    Accepts the national form ("0912 345 678"), the international form ("+84 912 345 678", "84912345678",
    "0084…") with spaces, dots, dashes or brackets. Validity and the number type come from libphonenumber's
    metadata for Vietnam, which tracks the carriers' current ranges. Foreign numbers are refused: the product
    calls and texts Vietnamese phones only.
    """
    text = (raw or "").strip()
    if not text:
        return _phone_result(
            [_phone_error("required", "Vui lòng nhập số điện thoại.", "Please enter a phone number.")]
        )
    if not PHONE_SHAPE.fullmatch(text) or not any(ch.isdigit() for ch in text):
        return _phone_result(
            [
                _phone_error(
                    "characters",
                    "Số điện thoại chỉ được gồm chữ số, dấu +, dấu cách, dấu chấm hoặc gạch ngang.",
                    "A phone number may contain only digits, '+', spaces, dots or dashes.",
                )
            ]
        )

    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        return _phone_result([_invalid_phone()])

    if number.country_code != phonenumbers.country_code_for_region("VN"):
        e164 = (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(number)
            else None
        )
        return _phone_result(
            [
                _phone_error(
                    "not_vietnamese",
                    "Chỉ nhận số điện thoại Việt Nam.",
                    "Only Vietnamese phone numbers are accepted.",
                )
            ],
            e164=e164,
        )

    nsn = phonenumbers.national_significant_number(number)
    if not phonenumbers.is_valid_number(number):
        if LEGACY_MOBILE_NSN.fullmatch(nsn):
            return _phone_result(
                [
                    _phone_error(
                        "legacy_mobile",
                        "Số di động 11 số (đầu 01…) đã được chuyển sang 10 số từ năm 2018. "
                        "Vui lòng nhập số mới.",
                        "11-digit mobile numbers (starting 01…) were changed to 10 digits in 2018. "
                        "Please enter the new number.",
                    )
                ]
            )
        return _phone_result([_invalid_phone()])

    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # The national format carries the trunk "0" only where it is dialled (not for 1800/1900 numbers).
    national = re.sub(
        r"[^0-9]", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    )
    kind = PHONE_KINDS.get(phonenumbers.number_type(number))
    sms_capable = kind == "mobile"
    findings: list[Finding] = []
    if kind in SERVICE_KINDS:
        findings.append(
            _phone_error(
                "service_number",
                "Đây là số tổng đài dịch vụ, không phải số liên lạc của người dân.",
                "This is a service or hotline number, not a personal contact number.",
            )
        )
    elif not sms_capable:
        # Accepted, but notifications must go to someone else's mobile (DOMAIN §6.3: often a relative's).
        findings.append(
            Finding(
                PHONE_FIELD,
                "phone.not_sms_capable",
                WARNING,
                "Số này không nhận được tin nhắn SMS; nên thêm số di động của người thân.",
                "This number cannot receive SMS; consider adding a relative's mobile number.",
            )
        )
    return PhoneCheck(
        e164=e164,
        national=national,
        kind=kind,
        sms_capable=sms_capable,
        carrier_prefix=national[:3] if kind == "mobile" else None,
        findings=tuple(findings),
    )


def _phone_result(findings: list[Finding], *, e164: str | None = None) -> PhoneCheck:
    return PhoneCheck(
        e164=e164, national=None, kind=None, sms_capable=False, carrier_prefix=None, findings=tuple(findings)
    )


def _invalid_phone() -> Finding:
    return _phone_error("invalid", "Số điện thoại không hợp lệ.", "This phone number is not valid.")


def _phone_error(code: str, vi: str, en: str) -> Finding:
    return Finding(PHONE_FIELD, f"phone.{code}", ERROR, vi, en)


# --- full name and date of birth ---

# Characters that show nothing or reorder what is shown: controls (Cc), format characters (Cf: zero-width spaces and
# joiners, the bidi embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, marks U+200E/U+200F, the
# byte-order mark), line and paragraph separators, and unassigned or private-use code points. None belongs in a
# person's name, and a bidi override makes the name on a receipt read differently from what is stored.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})


def check_full_name(raw: str | None) -> NameCheck:
    """Check a person's full name: not blank, no invisible or direction-changing characters, at most 200 characters.

    The name is normalised to NFC (a decomposed "Nguyễn" typed on some keyboards becomes the composed one) and its
    runs of spaces are collapsed; diacritics of every kind are letters or combining marks and pass.
    """
    text = unicodedata.normalize("NFC", raw or "")
    if any(unicodedata.category(ch) in _HIDDEN_CATEGORIES for ch in text if ch not in "\t\n\r"):
        return NameCheck(None, (_name_error(
            "invisible_characters",
            "Họ và tên chứa ký tự ẩn hoặc ký tự đổi chiều văn bản; vui lòng nhập lại.",
            "The full name contains hidden or text-direction characters; please type it again.",
        ),))
    value = " ".join(text.split())
    if not value:
        return NameCheck(None, (_name_error("required", "Vui lòng nhập họ và tên.", "Please enter the full name."),))
    if not any(unicodedata.category(ch)[0] == "L" for ch in value):
        return NameCheck(None, (_name_error(
            "no_letters", "Họ và tên phải có chữ cái.", "The full name must contain letters."),))
    if len(value) > MAX_NAME_LENGTH:
        return NameCheck(None, (_name_error(
            "too_long",
            f"Họ và tên dài quá {MAX_NAME_LENGTH} ký tự.",
            f"The full name is longer than {MAX_NAME_LENGTH} characters.",
        ),))
    return NameCheck(value, ())


def _name_error(code: str, vi: str, en: str) -> Finding:
    return Finding(FULL_NAME_FIELD, f"full_name.{code}", ERROR, vi, en)


def check_date_of_birth(date_of_birth: date | None, *, today: date | None = None) -> tuple[Finding, ...]:
    """Errors for a stated date of birth: none when it is absent or not after ``today`` (defaults to today)."""
    if date_of_birth is None or date_of_birth <= (today or date.today()):
        return ()
    return (Finding(
        DATE_OF_BIRTH_FIELD, "date_of_birth.future", ERROR,
        "Ngày sinh không được ở trong tương lai.", "The date of birth cannot be in the future.",
    ),)
