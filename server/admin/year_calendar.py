"""The working calendar of a year as administrators see and change it: a month grid, and dated overrides.

Each day is classified once, here, from the same data the due dates use (``server.calendar.service``): the
``holidays`` package for Viet Nam plus the override table. An override changes the due dates of dossiers received
afterwards only: a received dossier keeps the due date printed on its receipt.
"""

from __future__ import annotations

import calendar
import enum
import logging
from dataclasses import dataclass
from datetime import date

import holidays
from flask_babel import gettext as _
from sqlalchemy import select

from server.admin.forms import NewOverride
from server.auth.audit import audit
from server.auth.models import User
from server.calendar import service
from server.calendar.models import CalendarOverride
from server.calendar.models import OverrideKind
from server.extensions import db

log = logging.getLogger(__name__)

#: Years an administrator may look at and change (the package knows no holidays far outside this).
FIRST_YEAR = 2020
LAST_YEAR = 2040


class DayKind(enum.Enum):
    """What a day of the grid is, for the office."""

    WORKING = "working"  #: Monday–Friday, no holiday
    WEEKEND = "weekend"  #: Saturday or Sunday
    HOLIDAY = "holiday"  #: a public holiday (or compensatory day) known to the ``holidays`` package
    OVERRIDE_OFF = "override_off"  #: made a day off by an override
    OVERRIDE_WORKING = "override_working"  #: made a working day by an override (a working Saturday)


def day_kind_labels() -> dict[DayKind, tuple[str, str]]:
    """Each kind's short mark (shown in the cell, so that colour is never the only cue) and its full label."""
    return {
        DayKind.WORKING: ("", _("Ngày làm việc")),
        DayKind.WEEKEND: ("CT", _("Cuối tuần")),
        DayKind.HOLIDAY: ("L", _("Ngày lễ, Tết (theo luật)")),
        DayKind.OVERRIDE_OFF: ("N", _("Ngày nghỉ do điều chỉnh (nghỉ bù, hoán đổi)")),
        DayKind.OVERRIDE_WORKING: ("LB", _("Ngày làm việc do điều chỉnh (làm bù)")),
    }


@dataclass(frozen=True)
class GridDay:
    day: date
    kind: DayKind
    note: str | None  #: the holiday's or the override's name


@dataclass(frozen=True)
class Month:
    number: int
    weeks: list[list[GridDay | None]]  #: Monday-first weeks; None pads the days of other months


def year_grid(year: int) -> list[Month]:
    """The twelve months of ``year``, each day classified."""
    overrides = {row.day: row for row in overrides_of_year(year)}
    named_holidays = holidays.country_holidays("VN", years=year, language="vi")
    months = []
    for number in range(1, 13):
        weeks = []
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, number):
            weeks.append([_grid_day(d, overrides, named_holidays) if d.month == number else None
                          for d in week])
        months.append(Month(number, weeks))
    return months


def _grid_day(day: date, overrides: dict, named_holidays) -> GridDay:
    override = overrides.get(day)
    if override is not None:
        kind = DayKind.OVERRIDE_OFF if override.kind is OverrideKind.DAY_OFF else DayKind.OVERRIDE_WORKING
        return GridDay(day, kind, override.name)
    # The same package days off as the due-date calendar (service.load_calendar); a holiday falling on a Sunday
    # is shown as the holiday it is, its compensatory day being a holiday of its own in the package.
    if day in named_holidays:
        return GridDay(day, DayKind.HOLIDAY, named_holidays.get(day))
    if day.weekday() >= 5:
        return GridDay(day, DayKind.WEEKEND, None)
    return GridDay(day, DayKind.WORKING, None)


def overrides_of_year(year: int) -> list[CalendarOverride]:
    return list(db.session.scalars(
        select(CalendarOverride)
        .where(CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
        .order_by(CalendarOverride.day)
    ))


def override_on(day: date) -> CalendarOverride | None:
    return db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == day))


class OverrideRefused(Exception):
    """The override would change nothing or clash with one already there; ``message`` says why (Vietnamese)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def add_override(new: NewOverride, actor: User) -> CalendarOverride:
    """Record a day off or a working day on ``new.day``.

    :raises OverrideRefused: the day already has an override, or is already what the override would make it.
    """
    if not FIRST_YEAR <= new.day.year <= LAST_YEAR:
        raise OverrideRefused("day", _("Chỉ điều chỉnh được các năm từ %(first)s đến %(last)s.",
                                       first=FIRST_YEAR, last=LAST_YEAR))
    existing = override_on(new.day)
    if existing is not None:
        raise OverrideRefused("day", _("Ngày này đã có điều chỉnh \"%(name)s\"; hãy xóa điều chỉnh đó trước.",
                                       name=existing.name))
    working = service.load_calendar(new.day.year, new.day.year)
    if new.kind is OverrideKind.DAY_OFF and not working.is_working_day(new.day):
        raise OverrideRefused("kind", _("Ngày này vốn đã là ngày nghỉ."))
    if new.kind is OverrideKind.WORKING_DAY and working.is_working_day(new.day):
        raise OverrideRefused("kind", _("Ngày này vốn đã là ngày làm việc."))
    row = service.add_override(new.day, new.kind, new.name, new.source)
    row.created_by_id = actor.id
    audit("calendar_override_added", actor, row, day=new.day.isoformat(), kind=new.kind.value, name=new.name,
          source=new.source)
    log.info("Calendar override %s %s added by %s", new.day, new.kind.value, actor.id)
    return row


def remove_override(row: CalendarOverride, reason: str, actor: User) -> None:
    """Delete an override; the audit row keeps what it was and why it went."""
    audit("calendar_override_removed", actor, row, day=row.day.isoformat(), kind=row.kind.value, name=row.name,
          reason=reason)
    service.remove_override(row.day)
    log.info("Calendar override %s removed by %s", row.day, actor.id)
