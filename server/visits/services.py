"""The rules of home-visit requests: what the forms offer, creating a request, scheduling and cancelling a visit.

Functions here add to the session and flush; the view commits once, so a visit, its audit record and the citizen's
notification are stored together or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy import select

from server.auth.audit import audit
from server.auth.models import Role
from server.auth.models import User
from server.calendar import service as calendar
from server.calendar.workdays import to_local
from server.dossiers.models import HomeServiceReason
from server.dossiers.models import HomeVisit
from server.dossiers.models import VisitStatus
from server.extensions import db
from server.people.models import Person
from server.push.notify import notify_visit
from server.reference.models import Agency
from server.reference.models import Procedure
from server.types import utcnow

log = logging.getLogger(__name__)

#: How many working days a citizen may choose among (from tomorrow).
DAYS_OFFERED = 10
#: Visits staff still act on; the others are history.
OPEN_STATUSES = (VisitStatus.REQUESTED, VisitStatus.SCHEDULED)
#: The step of the appointment times staff choose from.
SLOT_MINUTES = 30


class VisitClosed(Exception):
    """The visit is done or cancelled: it can no longer be scheduled or cancelled."""


def today() -> date:
    """Today in Viet Nam."""
    return to_local(utcnow()).date()


def offered_days(start: date | None = None) -> list[date]:
    """The next :data:`DAYS_OFFERED` working days after ``start`` (today), from the stored calendar."""
    start = start or today()
    work = calendar.load_calendar(start.year, start.year + 1)
    days = [work.next_working_day(start)]
    while len(days) < DAYS_OFFERED:
        days.append(work.next_working_day(days[-1]))
    return days


def is_working_day(day: date) -> bool:
    """True when ``day`` is a civil-service working day."""
    return calendar.load_calendar(day.year, day.year).is_working_day(day)


def wards() -> list[Agency]:
    """The one-stop desks a request can go to."""
    return list(db.session.scalars(select(Agency).where(Agency.is_one_stop.is_(True)).order_by(Agency.name_vi)))


def home_procedures(day: date | None = None) -> list[Procedure]:
    """Procedures in force on ``day`` (today) whose current version may be received at home."""
    day = day or today()
    result = []
    for procedure in db.session.scalars(select(Procedure).order_by(Procedure.name_vi)):
        version = procedure.version_at(day)
        if version is not None and version.home_reception_allowed:
            result.append(procedure)
    return result


def ward_officers(agency_id: int) -> list[User]:
    """The active officers of a ward: whom a visit can be given to."""
    return list(db.session.scalars(select(User).where(
        User.role == Role.OFFICER, User.active.is_(True), User.agency_id == agency_id).order_by(User.display_name)))


def time_slots(agency: Agency) -> list[time]:
    """Appointment times within the agency's office hours, every :data:`SLOT_MINUTES` minutes."""
    hours = calendar.office_hours(agency)
    slots = []
    for opens, closes in ((hours.am_open, hours.am_close), (hours.pm_open, hours.pm_close)):
        moment = datetime.combine(date.min, opens)
        end = datetime.combine(date.min, closes)
        while moment < end:
            slots.append(moment.time())
            moment += timedelta(minutes=SLOT_MINUTES)
    return slots


@dataclass
class VisitRequest:
    """What a citizen's request form says, checked."""

    agency: Agency
    procedure: Procedure | None
    reason: HomeServiceReason
    for_self: bool
    other_name: str | None
    phone_e164: str
    address: str
    days: list[date]
    note: str | None


def create_request(user: User, request: VisitRequest) -> HomeVisit:
    """Put a request in the ward's queue (status REQUESTED).

    The person visited is the account's own person (created from the account's name when it has none yet), or a new
    person record with the name a relative gave.
    """
    if request.for_self:
        person = user.person
        if person is None:
            person = Person(full_name=user.display_name, phone_e164=request.phone_e164, address=request.address)
            user.person = person
    else:
        person = Person(full_name=request.other_name, phone_e164=request.phone_e164, address=request.address)
    db.session.add(person)
    visit = HomeVisit(
        agency_id=request.agency.id, person=person, procedure=request.procedure, reason=request.reason,
        status=VisitStatus.REQUESTED, preferred_days=[d.isoformat() for d in request.days],
        requested_by_id=user.id, address=request.address, phone_e164=request.phone_e164, note=request.note,
    )
    db.session.add(visit)
    db.session.flush()
    log.info("home visit %s requested by user %s for ward %s", visit.id, user.id, request.agency.agency_code)
    return visit


def visits_of_account(user: User) -> list[HomeVisit]:
    """The requests an account made, and the visits to its own person (a relative may have asked), newest first."""
    condition = HomeVisit.requested_by_id == user.id
    if user.person_id is not None:
        condition = or_(condition, HomeVisit.person_id == user.person_id)
    return list(db.session.scalars(select(HomeVisit).where(condition).order_by(HomeVisit.created_at.desc(),
                                                                                HomeVisit.id.desc())))


def ward_queue(agency_id: int) -> list[HomeVisit]:
    """A ward's open visits: requests waiting for an officer first (oldest first), then scheduled ones by date."""
    visits = db.session.scalars(select(HomeVisit).where(
        HomeVisit.agency_id == agency_id, HomeVisit.status.in_(OPEN_STATUSES)))

    def order(visit: HomeVisit):
        if visit.status is VisitStatus.REQUESTED:
            first_day = min(visit.preferred_days or ["9999-12-31"])
            return (0, first_day, visit.created_at, visit.id)
        return (1, visit.planned_for.isoformat() if visit.planned_for else "9999-12-31",
                visit.planned_time or time.max, visit.id)

    return sorted(visits, key=order)


def open_visit_of_ward(visit_id: int, agency_id: int | None, lock: bool = False) -> HomeVisit | None:
    """The visit if it belongs to ``agency_id`` (None otherwise: another ward's visits do not exist for you)."""
    query = select(HomeVisit).where(HomeVisit.id == visit_id, HomeVisit.agency_id == agency_id)
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def schedule_visit(visit: HomeVisit, officer: User, day: date, at: time, actor: User) -> HomeVisit:
    """Give the visit to ``officer`` on ``day`` at ``at`` (again, when re-scheduling), record it and tell the
    citizen, all in the caller's transaction.

    :raises VisitClosed: the visit is done or cancelled.
    """
    if visit.status not in OPEN_STATUSES:
        raise VisitClosed(visit.status.value)
    previous = (visit.officer_id, visit.planned_for, visit.planned_time)
    visit.officer = officer
    visit.officer_id = officer.id
    visit.planned_for = day
    visit.planned_time = at
    visit.status = VisitStatus.SCHEDULED
    db.session.flush()
    audit("visit_scheduled", actor=actor, target=visit, officer_id=officer.id, planned_for=day.isoformat(),
          planned_time=at.strftime("%H:%M"),
          previous={"officer_id": previous[0], "planned_for": previous[1] and previous[1].isoformat(),
                    "planned_time": previous[2] and previous[2].strftime("%H:%M")} if previous[0] else None)
    notify_visit(visit)
    log.info("home visit %s scheduled for %s %s with officer %s by user %s", visit.id, day, at, officer.id, actor.id)
    return visit


def cancel_visit(visit: HomeVisit, actor: User, reason: str) -> HomeVisit:
    """Cancel an open visit (the officer's phone sees the change at its next sync).

    :raises VisitClosed: the visit is already done or cancelled.
    """
    if visit.status not in OPEN_STATUSES:
        raise VisitClosed(visit.status.value)
    visit.status = VisitStatus.CANCELLED
    db.session.flush()
    audit("visit_cancelled", actor=actor, target=visit, reason=reason, officer_id=visit.officer_id)
    notify_visit(visit, "visit_cancelled", reason=reason)  # in the same transaction, like the scheduling
    log.info("home visit %s cancelled by user %s", visit.id, actor.id)
    return visit
