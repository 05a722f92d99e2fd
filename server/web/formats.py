"""How the server writes dates, moments, phone numbers and amounts: the one place for each format (issue 11 point 8).

A clerk in Viet Nam writes a date as "02/12/2026", a moment as "12:29, 02/12/2026" (Viet Nam's time), a
mobile number as "0912 345 678" and an amount as "1.234.567 đ". Pages use these through the Jinja filters ``day``,
``moment``, ``phone``, ``number`` and ``vnd`` (registered by :func:`register`); the officer's app writes dates,
moments and phone numbers the same in pwa/app/i18n.js, and tests/browser/test_formats_parity.py checks that both
sides agree. The statutory forms keep the legal wording ("9 giờ 30 phút, ngày 09 tháng 03 năm 2026"), in
server/forms/content.py and pwa/app/receipt.js.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime

from server.calendar.workdays import to_local

NONE = "—"


def day_text(value: date | datetime | None, empty: str = NONE) -> str:
    """02/12/2026. A date-time is taken in Viet Nam's time first; an ISO 8601 string is read first."""
    if value is None or value == "":
        return empty
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.strftime("%d/%m/%Y")


def moment_text(value: datetime | None, empty: str = NONE) -> str:
    """12:29, 02/12/2026 in Viet Nam's time."""
    if value is None:
        return empty
    local = to_local(value)
    return f"{local.strftime('%H:%M')}, {local.strftime('%d/%m/%Y')}"


def phone_text(e164: str | None, empty: str = "") -> str:
    """+84912345678 → 0912 345 678; a landline +842437654321 → 024 3765 4321; anything else as stored."""
    if not e164:
        return empty
    digits = re.sub(r"\D", "", e164)
    if e164.startswith("+84") or (digits.startswith("84") and len(digits) in (11, 12)):
        digits = "0" + digits[2:]
    elif not digits.startswith("0"):
        return e164
    if len(digits) == 10:
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    if len(digits) == 11 and digits.startswith("02"):
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return digits


def number_text(value: int) -> str:
    """1234567 → 1.234.567 (thousands grouped by dots, as Vietnamese writes them); -1100 → -1.100."""
    return f"{value:,}".replace(",", ".")


def money_text(value: int) -> str:
    """1234567 → "1.234.567 đ" ("1.234.567 VND" in English)."""
    from flask_babel import gettext as _

    return f"{number_text(value)} {_('đ')}"


def field_name(key: str | None) -> str:
    """A procedure field by its name ("Người có công"), never its key (``nguoi_co_cong``)."""
    from server.reference.fields import field_labels

    return field_labels().get(key, key) if key else NONE


def register(app) -> None:
    """The Jinja filters ``day``, ``moment``, ``phone``, ``number``, ``vnd`` and ``field_name``."""
    app.add_template_filter(field_name, "field_name")
    app.add_template_filter(day_text, "day")
    app.add_template_filter(moment_text, "moment")
    app.add_template_filter(phone_text, "phone")
    app.add_template_filter(number_text, "number")
    app.add_template_filter(money_text, "vnd")
