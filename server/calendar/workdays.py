"""Working days and deadlines, as pure functions (no Flask, no database).

The offline phone repeats this computation in JavaScript from the published calendar, so the rules are kept few
and explicit:

* A **working day** is Monday to Friday unless it is a day off, plus any Saturday or Sunday declared a working day.
* **Working days**: the due time is the same clock time N working days after the start, where a start outside
  office hours first moves to the next opening (before opening → opening; lunch → afternoon opening; after closing
  or on a day off → the next working day's opening). This equals adding N×8 working hours (DOMAIN.md §2.4).
* **Calendar days**: N days after the start at the same clock time, moved forward to a working day.
* **Same day**: closing time of the day of receipt, or of the next working day when received after the cut-off
  hour or on a day off.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import timezone

#: Viet Nam has kept UTC+7 without daylight saving since 1975: a fixed offset needs no tz database on the phone.
VN_TZ = timezone(timedelta(hours=7), "ICT")

#: A calendar never needs to look further than this for the next working day; more means corrupt data.
_MAX_SEARCH_DAYS = 60


class DueUnit(enum.Enum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    SAME_DAY = "same_day"


@dataclass(frozen=True)
class OfficeHours:
    """Morning and afternoon opening hours of an agency."""

    am_open: time = time(7, 0)
    am_close: time = time(11, 30)
    pm_open: time = time(13, 30)
    pm_close: time = time(17, 0)

    @classmethod
    def parse(cls, values: Iterable[str]) -> OfficeHours:
        """From four "HH:MM" strings: morning open, morning close, afternoon open, afternoon close."""
        return cls(*(time.fromisoformat(v) for v in values))


class WorkCalendar:
    """Which days are worked.

    :param days_off: weekdays that are not worked (holidays, compensatory and swapped days off).
    :param working_weekend_days: Saturdays or Sundays that are worked (swap days).
    """

    def __init__(self, days_off: Iterable[date], working_weekend_days: Iterable[date]):
        self.days_off = frozenset(d for d in days_off if d.weekday() < 5)
        self.working_weekend_days = frozenset(d for d in working_weekend_days if d.weekday() >= 5)

    def is_working_day(self, day: date) -> bool:
        """True when ``day`` is a civil-service working day."""
        if day.weekday() >= 5:
            return day in self.working_weekend_days
        return day not in self.days_off

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        for offset in range(1, _MAX_SEARCH_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days after {day}")

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        for offset in range(1, _MAX_SEARCH_DAYS + 1):
            candidate = day - timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days before {day}")

    def add_working_days(self, day: date, count: int) -> date:
        """The working day ``count`` working days after ``day`` (``day`` itself when count is 0)."""
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d satisfy start < d <= end (0 when end <= start)."""
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count


def to_local(moment: datetime) -> datetime:
    """``moment`` in Vietnamese time. A naive datetime is refused: its meaning would be a guess."""
    if moment.tzinfo is None:
        raise ValueError("a time zone is required (for example +07:00)")
    return moment.astimezone(VN_TZ)


def clock_start(moment: datetime, calendar: WorkCalendar, hours: OfficeHours) -> datetime:
    """When the working-day clock starts for something received at ``moment`` (moved into office hours)."""
    local = to_local(moment)
    day, clock = local.date(), local.time()
    if calendar.is_working_day(day):
        if clock < hours.am_open:
            return _at(day, hours.am_open)
        if hours.am_close <= clock < hours.pm_open:
            return _at(day, hours.pm_open)
        if clock < hours.pm_close:
            return local
    return _at(calendar.next_working_day(day), hours.am_open)


def compute_due(
    start: datetime,
    amount: int,
    unit: DueUnit,
    calendar: WorkCalendar,
    hours: OfficeHours,
    same_day_cutoff: time = time(15, 0),
) -> datetime:
    """The due time (ngày hẹn trả) of something received at ``start``; aware, in Vietnamese time.

    :raises ValueError: negative amount or a naive ``start``.
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    local = to_local(start)
    if unit is DueUnit.WORKING_DAYS:
        begin = clock_start(local, calendar, hours)
        return _at(calendar.add_working_days(begin.date(), amount), begin.time())
    if unit is DueUnit.CALENDAR_DAYS:
        day = local.date() + timedelta(days=amount)
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
        return _at(day, local.time())
    if unit is DueUnit.SAME_DAY:
        day = local.date()
        late = local.time() >= same_day_cutoff
        if late or not calendar.is_working_day(day):
            day = calendar.next_working_day(day)
        return _at(day, hours.pm_close)
    raise ValueError(f"unknown unit {unit!r}")


def classify_timeliness(finished: datetime, due: datetime, granularity: str = "date") -> str:
    """"early", "on_time" or "late" (DOMAIN.md §2.5).

    :param granularity: "date" compares calendar dates (practice of provincial dashboards); "timestamp" counts
        anything after the due instant as late.
    """
    finished_day, due_day = to_local(finished).date(), to_local(due).date()
    if granularity == "timestamp" and finished > due:
        return "late"
    if finished_day < due_day:
        return "early"
    if finished_day == due_day:
        return "on_time"
    return "late"


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=VN_TZ)
