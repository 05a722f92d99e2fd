"""Statistics of the one-stop desk: the periodic report of DOMAIN.md §3.1 and its rates (§3.2, §3.3).

Everything is counted by the database with conditional aggregates grouped by procedure field; Python only adds up
the handful of per-field rows. No dossier is loaded, so a province-year (a million dossiers) stays a single scan.

How a dossier is placed in a period [T1, T2] (Viet Nam local dates, inclusive):

* It was **received** when its state is one reached only through the ``receive`` action (refused, guided and
  draft dossiers never were: §11 cases 13 and 14); the moment is ``device_received_at``, the legal receipt time.
* It **ended** at ``processing_finished_at`` (result at the one-stop desk: result ready, or resolved on the spot;
  an approved result not yet at the desk is still in progress) or, for a withdrawn or
  stopped one, at ``closed_at``. Both are set once by :mod:`server.dossiers.services` and never change.
* The report counts every received dossier that was received before the end of T2 and had not ended before T1.
  Received before T1, it is **carried over**. Ended in the period, it is resolved (early, on time, late as stored in
  ``timeliness``, judged against the original due date: §2.5, §11 case 11), withdrawn or stopped. Still open at the
  end of T2, it is paused (supplement, payment) or in progress, within or past its original due date.
* The state at the end of T2 of a dossier still open then is its current state when the row has not changed since;
  otherwise it is read from the last history event before the end of T2 (only for those few dossiers).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from dataclasses import fields
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import aliased

from server.calendar.workdays import VN_TZ
from server.dossiers.models import Channel
from server.dossiers.models import Dossier
from server.dossiers.models import DossierEvent
from server.dossiers.models import DossierRating
from server.dossiers.models import RatingLevel
from server.dossiers.models import ReceptionMode
from server.dossiers.models import Timeliness
from server.dossiers.workflow import State
from server.extensions import db
from server.reference.models import Procedure
from server.reference.models import ProcedureVersion


class UnitBasis(enum.Enum):
    """Which of a dossier's units a figure is counted for (issue 15: the unit that received it need not decide it).

    Every figure of a report or a list is counted on one basis, so that each dossier counts once, for one unit:
    the receiving unit's report says what its desk took in and how it went wherever it was decided; the competent
    unit's says what it had to decide, wherever it was received."""

    RECEIVING = "receiving"  #: đơn vị tiếp nhận (Dossier.agency), as before issue 15
    COMPETENT = "competent"  #: cơ quan có thẩm quyền giải quyết (Dossier.competent_agency)

    def column(self):
        """The dossier's unit on this basis, as a SQL expression (a dossier from before issue 15 has its receiving
        unit as competent unit)."""
        if self is UnitBasis.COMPETENT:
            return func.coalesce(Dossier.competent_agency_id, Dossier.agency_id)
        return Dossier.agency_id


#: States a dossier can only be in after the ``receive`` action: the dossiers the one-stop has received.
RECEIVED_STATES = tuple(s for s in State if s not in (
    State.DRAFT, State.ONLINE_SUBMITTED, State.GUIDED_INCOMPLETE, State.REFUSED))


@dataclass(frozen=True)
class Rate:
    """A ratio kept as its two counts, so that pages and exports show both; ``value`` is None when 0/0."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def percent(self, digits: int = 2) -> str:
        """"93,33%" (Vietnamese decimal comma), or "—" when there is nothing to divide."""
        if self.value is None:
            return "—"
        return f"{self.value * 100:.{digits}f}".replace(".", ",") + "%"


@dataclass
class Counts:
    """One line of the periodic report (DOMAIN.md §3.1): a ward, a field, or the total."""

    carried_over: int = 0  #: Kỳ trước chuyển sang
    received_online: int = 0  #: Trong kỳ – trực tuyến
    received_direct: int = 0  #: Trong kỳ – trực tiếp (at the desk and at home)
    received_home: int = 0  #: of the direct ones, received at home (reception mode home_visit)
    received_postal: int = 0  #: Trong kỳ – bưu chính công ích
    resolved_early: int = 0  #: Đã giải quyết – trước hạn
    resolved_on_time: int = 0  #: Đã giải quyết – đúng hạn
    resolved_late: int = 0  #: Đã giải quyết – quá hạn
    in_progress_on_time: int = 0  #: Đang giải quyết – trong hạn (at the end of the period)
    in_progress_overdue: int = 0  #: Đang giải quyết – quá hạn
    paused_supplement: int = 0  #: Tạm dừng – chờ bổ sung
    paused_payment: int = 0  #: Tạm dừng – chờ thực hiện nghĩa vụ tài chính
    stopped: int = 0  #: Dừng xử lý (ended in the period)
    withdrawn: int = 0  #: Rút hồ sơ (ended in the period)
    refused: int = 0  #: Từ chối tiếp nhận in the period: never received, outside every other column (§11 case 14)
    digitised: int = 0  #: received in the period with at least one photographed document
    rated_not_satisfied: int = 0  #: of the total, rated "not satisfied" by the citizen (Decision 766)
    rated: int = 0  #: of the total, rated at all: what the satisfaction rate rests on

    @property
    def received(self) -> int:
        """Tiếp nhận trong kỳ."""
        return self.received_online + self.received_direct + self.received_postal

    @property
    def total(self) -> int:
        """Tổng số hồ sơ cần giải quyết = carried over + received in the period (§3.2)."""
        return self.carried_over + self.received

    @property
    def resolved(self) -> int:
        """Results issued in the period (DVCQG statuses 9 and 10)."""
        return self.resolved_early + self.resolved_on_time + self.resolved_late

    @property
    def resolved_766(self) -> int:
        """"Đã xử lý" of the Decision 766 progress table: results plus withdrawals (status 7; §11 case 15)."""
        return self.resolved + self.withdrawn

    @property
    def in_progress(self) -> int:
        return self.in_progress_on_time + self.in_progress_overdue

    @property
    def paused(self) -> int:
        """Tạm dừng: supplement, payment and stopped (statuses 5, 6, 8)."""
        return self.paused_supplement + self.paused_payment + self.stopped

    @property
    def on_time_rate(self) -> Rate:
        """(early + on time) / resolved (§3.2). A withdrawal counts as resolved and not late, as in the 766 table."""
        return Rate(self.resolved_early + self.resolved_on_time + self.withdrawn, self.resolved_766)

    @property
    def online_rate(self) -> Rate:
        """Received online / received in the period."""
        return Rate(self.received_online, self.received)

    @property
    def digitisation_rate(self) -> Rate:
        """Received with at least one photographed document / received in the period."""
        return Rate(self.digitised, self.received)

    @property
    def satisfaction_rate(self) -> Rate:
        """Decision 766 (§3.3): (total − dossiers rated not satisfied) / total; nothing (0/0, shown "—") before
        anyone rated, rather than 100 % resting on no rating at all (issue 11 point 8). ``rated`` says how many
        ratings it rests on."""
        if not self.rated:
            return Rate(0, 0)
        return Rate(self.total - self.rated_not_satisfied, self.total)

    def add(self, other: Counts) -> None:
        """Add ``other``'s counts to these (to build the total from the fields)."""
        for column in fields(self):
            setattr(self, column.name, getattr(self, column.name) + getattr(other, column.name))


@dataclass
class Report:
    """The periodic report for [start, end] over some wards and, optionally, one procedure field."""

    start: date
    end: date
    agency_ids: list[int] | None
    field: str | None
    totals: Counts
    by_field: dict[str, Counts] = dataclass_field(default_factory=dict)
    basis: UnitBasis = UnitBasis.RECEIVING


def local_midnight(day: date) -> datetime:
    """00:00 of ``day`` in Viet Nam, as an aware datetime (periods are Vietnamese calendar days)."""
    return datetime.combine(day, time(0), tzinfo=VN_TZ)


def _scope(query, agency_ids: list[int] | None, field: str | None, basis: UnitBasis = UnitBasis.RECEIVING):
    """Restrict a query that selects from Dossier (joined to its procedure) to the units (on ``basis``) and field
    asked for."""
    if agency_ids is not None:
        query = query.where(basis.column().in_(agency_ids))
    if field is not None:
        query = query.where(Procedure.field == field)
    return query


def _with_procedure(query):
    """Join a query that already selects from Dossier to its procedure (the field)."""
    return (query.join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .join(Procedure, Procedure.id == ProcedureVersion.procedure_id))


def _state_at(moment: datetime):
    """The state of a dossier at ``moment``: the current one unless the row changed since, else from its history."""
    last_event_state = (select(DossierEvent.to_state)
                        .where(DossierEvent.dossier_id == Dossier.id, DossierEvent.occurred_at < moment)
                        .order_by(DossierEvent.seq.desc()).limit(1).scalar_subquery())
    # Events store the state's value, as the state column does: the CASE is typed as the state column.
    return case((Dossier.updated_at < moment, Dossier.state),
                else_=func.coalesce(last_event_state, Dossier.state))


def _dossier_counts(start_at: datetime, end_at: datetime, agency_ids, field,
                    judged_at: datetime | None = None, basis: UnitBasis = UnitBasis.RECEIVING) -> dict[str, Counts]:
    """The report's columns per procedure field: one aggregate query over the dossiers, and a second, small one
    for those still open at the end whose state then must be read from their history.

    :param judged_at: the start of the day on which a dossier still open is judged within or past its due date:
        the period's last day, or today for a period still running (issue 11 point 8).
    """
    received_at = Dossier.device_received_at
    ended_at = func.coalesce(Dossier.processing_finished_at, Dossier.closed_at)
    received_in_period = received_at >= start_at
    ended_in_period = ended_at < end_at
    open_at_end = or_(ended_at.is_(None), ended_at >= end_at)
    # In progress at the end of the period is within its deadline when the ORIGINAL due date is on or after the
    # period's last day (§2.5, date granularity): an extension does not make an overdue dossier timely.
    original_due = func.coalesce(Dossier.original_due_at, Dossier.due_at)
    last_day_start = judged_at if judged_at is not None else end_at - timedelta(days=1)
    paused_states = (State.AWAITING_SUPPLEMENT, State.AWAITING_PAYMENT)
    in_report = and_(Dossier.state.in_(RECEIVED_STATES), received_at < end_at,
                     or_(ended_at.is_(None), ended_at >= start_at))
    # Refused at reception in the period: shown apart, never among the received (§11 case 14). The same scan
    # reads them; the WHERE below keeps only report rows and these, so "not refused" means "in the report".
    refused_at = func.coalesce(Dossier.closed_at, Dossier.created_at)
    refused = Dossier.state == State.REFUSED
    refused_in_period = and_(refused, refused_at >= start_at, refused_at < end_at)

    def count(condition, among=Dossier.state != State.REFUSED):
        # ``among`` last: the column's own condition is false for most rows, and AND stops there (on a million rows
        # the comparison of every row's state, once per column, costs a sixth of the query).
        return func.count(case((and_(condition, among), 1)))

    def open_columns(state_at_end, condition, among) -> dict:
        """How the dossiers still open at the end split, given their state then."""
        in_progress = and_(condition, state_at_end.not_in(paused_states))
        return {
            "paused_supplement": count(and_(condition, state_at_end == State.AWAITING_SUPPLEMENT), among),
            "paused_payment": count(and_(condition, state_at_end == State.AWAITING_PAYMENT), among),
            "in_progress_on_time": count(and_(in_progress, or_(original_due.is_(None),
                                                               original_due >= last_day_start)), among),
            "in_progress_overdue": count(and_(in_progress, original_due < last_day_start), among),
        }

    # Rated "not satisfied" (Decision 766): at most one rating per dossier (unique), so a plain outer join on the
    # few unhappy ones adds no row; PostgreSQL hashes them and keeps the scan parallel.
    unhappy = aliased(DossierRating)
    any_rating = aliased(DossierRating)
    # Most open dossiers have not changed since the end of the period: their current state was their state then.
    # The others (only in a past period) are read from their history in a second, small query, so that the big
    # scan carries no correlated subquery (which would also keep PostgreSQL from scanning in parallel).
    unchanged_since = Dossier.updated_at < end_at
    columns = {
        "carried_over": count(received_at < start_at),
        "received_online": count(and_(received_in_period, Dossier.channel == Channel.ONLINE)),
        "received_direct": count(and_(received_in_period, Dossier.channel == Channel.DIRECT)),
        "received_home": count(and_(received_in_period, Dossier.channel == Channel.DIRECT,
                                    Dossier.reception_mode == ReceptionMode.HOME_VISIT)),
        "received_postal": count(and_(received_in_period, Dossier.channel == Channel.POSTAL)),
        "resolved_early": count(and_(Dossier.processing_finished_at < end_at,
                                     Dossier.timeliness == Timeliness.EARLY)),
        # A result without a due date (none was computed) cannot have been late.
        "resolved_on_time": count(and_(Dossier.processing_finished_at < end_at,
                                       or_(Dossier.timeliness == Timeliness.ON_TIME, Dossier.timeliness.is_(None)))),
        "resolved_late": count(and_(Dossier.processing_finished_at < end_at, Dossier.timeliness == Timeliness.LATE)),
        "withdrawn": count(and_(ended_in_period, Dossier.state == State.WITHDRAWN)),
        "stopped": count(and_(ended_in_period, Dossier.state == State.STOPPED)),
        **open_columns(Dossier.state, and_(open_at_end, unchanged_since), Dossier.state != State.REFUSED),
        # Digitised: received in the period with at least one photographed paper (flag kept by the models).
        "digitised": count(and_(received_in_period, Dossier.photographed)),
        "rated_not_satisfied": count(unhappy.id.is_not(None)),
        "rated": count(any_rating.id.is_not(None)),
        "refused": count(refused, among=refused),
    }
    changed_count = count(and_(open_at_end, Dossier.updated_at >= end_at))
    query = _with_procedure(select(Procedure.field, changed_count.label("changed"),
                                   *(c.label(name) for name, c in columns.items()))
                            .select_from(Dossier)
                            .outerjoin(unhappy, and_(unhappy.dossier_id == Dossier.id,
                                                     unhappy.level == RatingLevel.NOT_SATISFIED))
                            .outerjoin(any_rating, any_rating.dossier_id == Dossier.id))
    query = query.where(or_(in_report, refused_in_period)).group_by(Procedure.field)
    by_field: dict[str, Counts] = {}
    changed_fields = []
    for row in db.session.execute(_scope(query, agency_ids, field, basis)).mappings():
        by_field[row["field"]] = Counts(**{name: row[name] for name in columns})
        if row["changed"]:
            changed_fields.append(row["field"])
    if not changed_fields:  # a period that ends today or later: nothing to read from history
        return by_field

    changed = open_columns(_state_at(end_at), Dossier.updated_at >= end_at, among=true())
    changed_query = _with_procedure(select(Procedure.field, *(c.label(name) for name, c in changed.items()))
                                    .select_from(Dossier))
    changed_query = changed_query.where(in_report, open_at_end, Dossier.updated_at >= end_at).group_by(Procedure.field)
    for row in db.session.execute(_scope(changed_query, agency_ids, field, basis)).mappings():
        counts = by_field.setdefault(row["field"], Counts())
        for name in changed:
            setattr(counts, name, getattr(counts, name) + row[name])
    return by_field


def report(start: date, end: date, agency_ids: list[int] | None = None, field: str | None = None,
           today: date | None = None, basis: UnitBasis = UnitBasis.RECEIVING) -> Report:
    """The periodic report of DOMAIN.md §3.1 for the Vietnamese dates ``start``..``end`` (inclusive).

    A dossier still open is "overdue" when its original due date is before the period's last day; while the period
    is running (it ends today or later), before today: a dossier due on the 30th is not overdue on the 2nd.

    :param agency_ids: the units to count (on ``basis``); None counts every unit.
    :param field: a procedure field (``Procedure.field``) to restrict to; None counts every field.
    :param today: Viet Nam's date today (by default, from the clock).
    :param basis: whether a dossier counts for the unit that received it or the one that decides it.
    :raises ValueError: ``end`` before ``start``.
    """
    if end < start:
        raise ValueError("end is before start")
    today = today or datetime.now(VN_TZ).date()
    start_at, end_at = local_midnight(start), local_midnight(end + timedelta(days=1))
    by_field = _dossier_counts(start_at, end_at, agency_ids, field, local_midnight(min(end, today)), basis)
    totals = Counts()
    for counts in by_field.values():
        totals.add(counts)
    return Report(start=start, end=end, agency_ids=agency_ids, field=field, totals=totals,
                  by_field=dict(sorted(by_field.items())), basis=basis)


#: States in which the clock runs against the citizen's appointment. A dossier waiting for the citizen's
#: supplement is left out: its due date is computed again when the supplement arrives.
CLOCK_RUNNING_STATES = (State.RECEIVED, State.IN_PROCESS, State.PENDING_APPROVAL, State.APPROVED,
                        State.AWAITING_PAYMENT)


@dataclass
class Attention:
    """What the desk must act on today: overdue, due soon, waiting for approval (each list capped, with its count)."""

    overdue: list[Dossier]
    overdue_count: int
    due_soon: list[Dossier]
    due_soon_count: int
    pending_approval: list[Dossier]
    pending_approval_count: int
    due_soon_until: date  #: the last day counted as "due soon"


def attention(agency_id: int, today: date, soon_working_days: int = 2, limit: int = 50,
              basis: UnitBasis = UnitBasis.RECEIVING) -> Attention:
    """Open dossiers of a ward past their appointment (due date before ``today``), due within
    ``soon_working_days`` working days, and waiting for a leader's approval; most urgent first.

    The appointment is the current one (``due_at``, an extension included): it is the date the citizen holds.
    ``basis``: the dossiers the ward received, or those it decides.
    """
    from server.calendar import service as calendar

    soon_until = calendar.load_calendar(today.year, today.year + 1).add_working_days(today, soon_working_days)
    today_start, soon_end = local_midnight(today), local_midnight(soon_until + timedelta(days=1))
    unit = basis.column() == agency_id
    running = and_(unit, Dossier.state.in_(CLOCK_RUNNING_STATES))
    overdue = and_(running, Dossier.due_at < today_start)
    due_soon = and_(running, Dossier.due_at >= today_start, Dossier.due_at < soon_end)
    pending = and_(unit, Dossier.state == State.PENDING_APPROVAL)

    def listed(condition, order):
        return list(db.session.scalars(select(Dossier).where(condition).order_by(order, Dossier.id).limit(limit)))

    def counted(condition):
        return db.session.scalar(select(func.count()).select_from(Dossier).where(condition))

    return Attention(
        overdue=listed(overdue, Dossier.due_at), overdue_count=counted(overdue),
        due_soon=listed(due_soon, Dossier.due_at), due_soon_count=counted(due_soon),
        pending_approval=listed(pending, Dossier.updated_at), pending_approval_count=counted(pending),
        due_soon_until=soon_until,
    )
