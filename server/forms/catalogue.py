"""Which statutory forms exist, under which circular, from when (DOMAIN.md §0, §1.3).

Circular 01/2018/TT-VPCP had six forms; Circular 03/2025/TT-VPCP has seven, renames the apology (Mẫu 04) and adds the
stop notice (Mẫu 05). A dossier keeps the forms of the circular in force on the day it was received (DOMAIN.md §11
case 19: an apology in July 2025 for a dossier received in June 2025 still uses the old Mẫu 04). The dates, numbers
and number series are reference data in ``data/circulars.json`` (several are [U]), not constants here; a deployment
may point ``FORMS_CIRCULARS_FILE`` at its own copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from flask import current_app

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "circulars.json"

#: The forms the app knows how to fill in, in the order of the circulars.
FORM_KEYS = ("receipt", "supplement_request", "refusal", "apology", "stop_notice", "control_sheet")


@dataclass(frozen=True)
class FormSpec:
    """One form of one circular: "Mẫu 01 – Giấy tiếp nhận hồ sơ và hẹn trả kết quả", numbered in series "TNHS"."""

    key: str
    circular_key: str
    circular_name: str
    number: str  #: "01"
    title: str
    series: str | None  #: None for forms that are not numbered (the control sheet)

    @property
    def label(self) -> str:
        """ "Mẫu 01 – Giấy tiếp nhận hồ sơ và hẹn trả kết quả" """
        return f"Mẫu {self.number} – {self.title}"


@dataclass(frozen=True)
class Circular:
    key: str
    name: str
    effective_from: date
    forms: dict[str, FormSpec]


@cache
def _load(path: str) -> tuple[Circular, ...]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    circulars = []
    for entry in raw["circulars"]:
        forms = {
            key: FormSpec(key, entry["key"], entry["name"], spec["number"], spec["title"], spec.get("series"))
            for key, spec in entry["forms"].items()
            if key in FORM_KEYS
        }
        circulars.append(Circular(entry["key"], entry["name"], date.fromisoformat(entry["effective_from"]), forms))
    return tuple(sorted(circulars, key=lambda c: c.effective_from))


def circulars() -> tuple[Circular, ...]:
    """Every circular of the reference file, oldest first."""
    return _load(str(current_app.config.get("FORMS_CIRCULARS_FILE") or DEFAULT_FILE))


def circular_on(day: date) -> Circular | None:
    """The circular in force on ``day``, or None before the first one."""
    in_force = [c for c in circulars() if c.effective_from <= day]
    return in_force[-1] if in_force else None


def spec_for(form_key: str, received_day: date, issue_day: date) -> FormSpec | None:
    """The form to issue for ``form_key`` on a dossier received on ``received_day``, or None when none exists.

    The circular of the receipt day decides. When it has no such form (a stop notice for a dossier received under
    Circular 01/2018, which had none), the form of the circular in force on ``issue_day`` is used if it has one.
    """
    for day in (received_day, issue_day):
        circular = circular_on(day)
        if circular is not None and form_key in circular.forms:
            return circular.forms[form_key]
    return None


def spec_by_circular(circular_key: str, form_key: str) -> FormSpec | None:
    """The form ``form_key`` of the circular named ``circular_key`` (for forms already issued)."""
    for circular in circulars():
        if circular.key == circular_key:
            return circular.forms.get(form_key)
    return None
