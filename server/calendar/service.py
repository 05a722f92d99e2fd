"""The civil-service calendar: the ``holidays`` package for Viet Nam plus the database's dated overrides."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from functools import lru_cache

import holidays
from flask import current_app
from sqlalchemy import select

from server.calendar.models import CalendarOverride
from server.calendar.models import OverrideKind
from server.calendar.workdays import DueUnit
from server.calendar.workdays import OfficeHours
from server.calendar.workdays import WorkCalendar
from server.calendar.workdays import compute_due
from server.extensions import db
from server.reference.models import Agency

#: The verified 2025-2026 civil-service decisions (DOMAIN.md §2.3), seeded into the override table. Some are also
#: in recent releases of the ``holidays`` package; storing them keeps the calendar right whatever its version.
VERIFIED_OVERRIDES: tuple[tuple[str, OverrideKind, str, str], ...] = (
    ("2025-04-26", OverrideKind.WORKING_DAY, "Làm bù cho ngày nghỉ 2/5/2025", "baochinhphu.vn, 3/2025"),
    ("2025-05-02", OverrideKind.DAY_OFF, "Nghỉ hoán đổi (làm bù thứ Bảy 26/4/2025)", "baochinhphu.vn, 3/2025"),
    ("2026-01-02", OverrideKind.DAY_OFF, "Nghỉ hoán đổi dịp Tết Dương lịch", "Công văn 12729/VPCP-KGVX"),
    ("2026-01-10", OverrideKind.WORKING_DAY, "Làm bù cho ngày nghỉ 2/1/2026", "Công văn 12729/VPCP-KGVX"),
    ("2026-04-27", OverrideKind.DAY_OFF, "Nghỉ bù Giỗ Tổ Hùng Vương (26/4 là Chủ nhật)", "Bộ luật Lao động Đ.112(3)"),
    ("2026-08-22", OverrideKind.WORKING_DAY, "Làm bù cho ngày nghỉ 31/8/2026", "Phương án nghỉ Quốc khánh 2026"),
    ("2026-08-31", OverrideKind.DAY_OFF, "Nghỉ hoán đổi dịp Quốc khánh", "Phương án nghỉ Quốc khánh 2026"),
)


@lru_cache(maxsize=64)
def _package_days_off(year: int) -> frozenset[date]:
    """Holidays the ``holidays`` package knows for Viet Nam in ``year``."""
    return frozenset(holidays.country_holidays("VN", years=year).keys())


@dataclass(frozen=True)
class PublishedCalendar:
    """What the offline client downloads for a date range."""

    non_working_days: list[date]  #: weekdays off (weekends are implied)
    working_weekend_days: list[date]
    version: str


def _overrides() -> list[CalendarOverride]:
    return list(db.session.scalars(select(CalendarOverride).order_by(CalendarOverride.day)))


def calendar_version(overrides: list[CalendarOverride] | None = None) -> str:
    """A short fingerprint of the calendar data: changes when an override or the package's data changes."""
    rows = overrides if overrides is not None else _overrides()
    digest = hashlib.sha256()
    digest.update(f"holidays={holidays.__version__}".encode())
    for row in rows:
        digest.update(f"|{row.day.isoformat()}:{row.kind.value}".encode())
    return digest.hexdigest()[:16]


def load_calendar(first_year: int, last_year: int) -> WorkCalendar:
    """The working calendar for whole years ``first_year``..``last_year`` (inclusive)."""
    return _build(first_year, last_year, _overrides())


def _build(first_year: int, last_year: int, overrides: list[CalendarOverride]) -> WorkCalendar:
    days_off: set[date] = set()
    for year in range(first_year, last_year + 1):
        days_off |= _package_days_off(year)
    working_weekend: set[date] = set()
    for row in overrides:
        if row.kind is OverrideKind.DAY_OFF:
            days_off.add(row.day)
        else:
            # A working-day override both declares a working Saturday and cancels a package holiday.
            days_off.discard(row.day)
            working_weekend.add(row.day)
    return WorkCalendar(days_off, working_weekend)


def publish(first: date, last: date) -> PublishedCalendar:
    """The calendar between ``first`` and ``last`` inclusive, in the shape the offline client stores."""
    overrides = _overrides()
    calendar = _build(first.year, last.year, overrides)
    return PublishedCalendar(
        non_working_days=sorted(d for d in calendar.days_off if first <= d <= last),
        working_weekend_days=sorted(d for d in calendar.working_weekend_days if first <= d <= last),
        version=calendar_version(overrides),
    )


def office_hours(agency: Agency | None = None) -> OfficeHours:
    """The agency's office hours, or the configured default."""
    if agency is not None:
        return OfficeHours(agency.am_open, agency.am_close, agency.pm_open, agency.pm_close)
    return OfficeHours.parse(current_app.config["OFFICE_HOURS"])


def default_cutoff() -> time:
    """The configured same-day cut-off hour (15:00 by default)."""
    return time.fromisoformat(current_app.config["SAME_DAY_CUTOFF"])


def due_for(
    start: datetime,
    amount: int,
    unit: DueUnit,
    agency: Agency | None = None,
    cutoff: time | None = None,
) -> datetime:
    """The due time on the stored calendar; the one function used by the API and by dossier receipt."""
    # One extra year covers a long deadline that crosses New Year; calendar days are bounded by the amount.
    last_year = (start + timedelta(days=amount * 2 + 60)).year
    calendar = load_calendar(start.year, last_year)
    return compute_due(start, amount, unit, calendar, office_hours(agency), cutoff or default_cutoff())


def add_override(day: date, kind: OverrideKind, name: str, source: str | None = None) -> CalendarOverride:
    """Create or replace the override of ``day`` (flushes, does not commit)."""
    row = db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == day))
    if row is None:
        row = CalendarOverride(day=day, kind=kind, name=name, source=source)
        db.session.add(row)
    else:
        row.kind, row.name, row.source = kind, name, source
    db.session.flush()
    return row


def remove_override(day: date) -> bool:
    """Delete the override of ``day``; False when there was none."""
    row = db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == day))
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True


def seed_verified_overrides() -> int:
    """Insert the verified swaps that are missing; returns how many were added. Existing rows are left alone."""
    existing = {row.day for row in _overrides()}
    added = 0
    for iso, kind, name, source in VERIFIED_OVERRIDES:
        day = date.fromisoformat(iso)
        if day not in existing:
            db.session.add(CalendarOverride(day=day, kind=kind, name=name, source=source))
            added += 1
    db.session.flush()
    return added


def overrides_as_json() -> str:
    """All overrides as JSON lines (for the CLI listing)."""
    return "\n".join(
        json.dumps(
            {"day": r.day.isoformat(), "kind": r.kind.value, "name": r.name, "source": r.source}, ensure_ascii=False
        )
        for r in _overrides()
    )
