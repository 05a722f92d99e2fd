"""A dossier's inter-agency chain (liên thông): its steps, who holds it, and the hand-overs between units.

How the chain follows the dossier's lifecycle (server/dossiers/workflow.py), which it never changes:

* **receive** (at a home, at the desk, or an online submission received): the procedure version's steps are copied
  into the dossier's steps, each holder resolved to an agency (``receiving``: the unit that received it;
  ``competent``: the unit that decides; ``agency``: the named one). Step 1 is active from the legal receipt time,
  due its working days later on the civil-service calendar (the same :func:`server.calendar.service.due_for` as the
  dossier's own due date). A later catalogue change never moves a received dossier's steps.
* **transfer** (received → in process) is the hand-over from step 1 to step 2: step 1 is closed and judged against
  its own due date, step 2 opens, a SENT hand-over is written and the dossier is held by step 2's unit
  (``Dossier.holder_agency_id``, which the queues filter on).
* The unit that got it acknowledges receipt (ACKNOWLEDGED): its own staff when it is in the system
  (:func:`acknowledge`); the sending desk records it for a unit outside the system (:func:`record_outside`).
* **The result coming back.** For a unit outside the system the sending desk records "result received"
  (RESULT_RECEIVED, with the other side's reference): the outside step is closed and judged, the next one (the
  ward for the return) opens and holds the dossier. The lifecycle is not moved by it (its state table is the
  law's, DOMAIN.md §10): the desk still takes the result to the one-stop (**mark_result_ready**, DVCQG 9).
* **mark_result_ready** *is* the result reaching the one-stop, whoever takes it (a unit in the system's own staff,
  or the desk for one outside that skipped "result received"): if the chain has not reached its last step (the
  return), the active step is closed and judged, a RESULT_RECEIVED hand-over is written and the last step opens.
  Whichever comes first moves the chain: after the desk recorded the result, mark_result_ready finds the chain at
  its last step and moves nothing, so a chain is never moved twice.
* **return_result** closes the last step (the return), judged against its due date. **resolve_on_spot** moves
  nothing: the one-stop resolved it itself, the steps after the first are never reached (they stay waiting).
* **stop**, **withdraw**, **expire_supplement** end the chain: the active step is closed without a judgement (the
  unit did not fail a deadline; DOMAIN.md §11 case 15).
* **record_supplement** moves the active step's due date as the dossier's own moves (restart or pause).

A version without steps behaves as before (no steps), except that when the competent unit differs from the
receiving one the transfer and the result are still recorded as hand-overs (receiving → competent → receiving).

A step's lateness is its holder's (:func:`step_timeliness_by_agency`): the dossier's own timeliness stays judged
on the whole, against its original due date.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from server.auth.models import User
from server.calendar import service as calendar
from server.calendar.workdays import VN_TZ
from server.calendar.workdays import DueUnit
from server.calendar.workdays import classify_timeliness
from server.calendar.workdays import to_local
from server.dossiers.models import Dossier
from server.dossiers.models import DossierEvent
from server.dossiers.models import Timeliness
from server.dossiers.workflow import OPEN_STATES
from server.dossiers.workflow import Action
from server.extensions import db
from server.interagency.models import DossierHandover
from server.interagency.models import DossierStep
from server.interagency.models import HandoverKind
from server.interagency.models import StepStatus
from server.reference.models import Agency
from server.reference.models import StepHolder
from server.reference.models import SupplementClock
from server.types import utcnow

log = logging.getLogger(__name__)

#: How far ahead of the server's clock a recorded hand-over may be (a desk computer a little fast), no more.
CLOCK_TOLERANCE = timedelta(minutes=5)
REFERENCE_MAX = 120
NOTE_MAX = 2000


class HandoverRefused(Exception):
    """A hand-over that cannot be recorded: ``status`` 403 (not this user's to record), 409 (not at this point of
    the chain) or 422 (a field is wrong); the message in both languages."""

    def __init__(self, status: int, code: str, vi: str, en: str, field: str | None = None):
        super().__init__(code)
        self.status, self.code, self.vi, self.en, self.field = status, code, vi, en, field

    def message(self, locale: str) -> str:
        return self.en if locale == "en" else self.vi


# --- reading the chain -------------------------------------------------------------------------------------------

def steps_of(dossier: Dossier) -> list[DossierStep]:
    """The dossier's steps in order (empty for a dossier without a chain)."""
    return list(db.session.scalars(select(DossierStep).where(DossierStep.dossier_id == dossier.id)
                                   .order_by(DossierStep.position)))


def handovers_of(dossier: Dossier) -> list[DossierHandover]:
    """The dossier's hand-overs in the order they were recorded."""
    return list(db.session.scalars(select(DossierHandover).where(DossierHandover.dossier_id == dossier.id)
                                   .order_by(DossierHandover.id)))


def competent_agency(dossier: Dossier) -> Agency:
    """The unit that decides, as receipt recorded it (server/interagency/units.py holds the rule)."""
    return dossier.deciding_agency


@dataclass(frozen=True)
class ChainPosition:
    """Where the dossier stands: the step active now (None without steps), the hand-over that brought it to its
    holder, and whether the holder has acknowledged it."""

    active: DossierStep | None
    last_move: DossierHandover | None  #: the last SENT or RESULT_RECEIVED
    acknowledged: bool

    @property
    def awaiting_acknowledgement(self) -> bool:
        move = self.last_move
        return (move is not None and move.kind is HandoverKind.SENT and not self.acknowledged
                and move.from_agency_id != move.to_agency_id)


def position_of(dossier: Dossier, steps: list[DossierStep] | None = None,
                handovers: list[DossierHandover] | None = None) -> ChainPosition:
    steps = steps_of(dossier) if steps is None else steps
    handovers = handovers_of(dossier) if handovers is None else handovers
    active = next((s for s in steps if s.status is StepStatus.ACTIVE), None)
    moves = [h for h in handovers if h.kind is not HandoverKind.ACKNOWLEDGED]
    last_move = moves[-1] if moves else None
    acknowledged = last_move is not None and any(
        h.kind is HandoverKind.ACKNOWLEDGED and h.id > last_move.id for h in handovers)
    return ChainPosition(active, last_move, acknowledged)


# --- the clock of a step -----------------------------------------------------------------------------------------

def _granularity() -> str:
    return current_app.config["TIMELINESS_GRANULARITY"]


def _open(step: DossierStep, at: datetime) -> None:
    step.status = StepStatus.ACTIVE
    step.started_at = at
    step.due_at = calendar.due_for(at, step.working_days, DueUnit.WORKING_DAYS, step.agency)


def _close(step: DossierStep, at: datetime, judged: bool = True) -> None:
    step.status = StepStatus.DONE
    step.finished_at = at
    if judged and step.due_at is not None:
        step.timeliness = Timeliness(classify_timeliness(at, step.due_at, _granularity()))


def _holder_agency(dossier: Dossier, holder: StepHolder, code: str | None) -> Agency:
    if holder is StepHolder.RECEIVING:
        return dossier.agency
    if holder is StepHolder.COMPETENT:
        return competent_agency(dossier)
    named = Agency.by_code(code) if code else None
    if named is None:
        # A catalogue naming an unknown agency must not refuse a dossier received at a citizen's home: the step
        # goes to the deciding unit, and the operators see why.
        log.warning("Dossier %s: step agency %s unknown; the competent unit holds the step", dossier.id, code)
        return competent_agency(dossier)
    return named


def start_chain(dossier: Dossier) -> list[DossierStep]:
    """Copy the version's steps into the dossier's, step 1 active from the legal receipt time (flushes)."""
    received_at = dossier.device_received_at or utcnow()
    created = []
    for source in dossier.procedure_version.steps:
        agency = _holder_agency(dossier, source.holder, source.agency_code)
        step = DossierStep(dossier_id=dossier.id, position=source.position, agency=agency, agency_id=agency.id,
                           name_vi=source.name_vi, name_en=source.name_en, working_days=source.working_days)
        db.session.add(step)
        created.append(step)
    if created:
        _open(created[0], received_at)
        dossier.holder_agency_id = created[0].agency_id
    db.session.flush()
    return created


def _handover(dossier: Dossier, kind: HandoverKind, from_id: int, to_id: int, step: DossierStep | None,
              at: datetime, actor: User | None, reference: str | None = None,
              note: str | None = None) -> DossierHandover:
    row = DossierHandover(dossier_id=dossier.id, step_id=step.id if step else None, kind=kind,
                          from_agency_id=from_id, to_agency_id=to_id, occurred_at=at,
                          recorded_by_id=actor.id if actor else None, reference=reference, note=note)
    db.session.add(row)
    db.session.flush()
    return row


def _advance(dossier: Dossier, kind: HandoverKind, at: datetime, actor: User | None, to_last: bool = False,
             reference: str | None = None, note: str | None = None) -> DossierHandover | None:
    """Hand the dossier to the next step (to the last one with ``to_last``), closing the active one; without
    steps, to the competent unit (SENT) or back to the receiving one (RESULT_RECEIVED) when they differ."""
    steps = steps_of(dossier)
    if steps:
        active = next((s for s in steps if s.status is StepStatus.ACTIVE), None)
        if active is None or active is steps[-1]:
            return None
        target = steps[-1] if to_last else steps[steps.index(active) + 1]
        _close(active, at)
        _open(target, at)
        from_id, to_id, step = active.agency_id, target.agency_id, target
    else:
        from_id = dossier.holder_agency_id or dossier.agency_id
        to_id = competent_agency(dossier).id if kind is HandoverKind.SENT else dossier.agency_id
        if from_id == to_id:
            return None
        step = None
    dossier.holder_agency_id = to_id
    return _handover(dossier, kind, from_id, to_id, step, at, actor, reference, note)


def _move_due_after_supplement(dossier: Dossier, event: DossierEvent) -> None:
    steps = steps_of(dossier)
    active = next((s for s in steps if s.status is StepStatus.ACTIVE), None)
    if active is None or active.due_at is None:
        return
    now = event.occurred_at
    if dossier.procedure_version.supplement_clock is SupplementClock.RESTART:
        active.due_at = calendar.due_for(now, active.working_days, DueUnit.WORKING_DAYS, active.agency)
        return
    # Pause: the step's working days left when the request went out run again from the supplement, as the
    # dossier's own (server/dossiers/services.py _record_supplement).
    paused_at = db.session.scalar(select(func.max(DossierEvent.occurred_at)).where(
        DossierEvent.dossier_id == dossier.id, DossierEvent.action == Action.REQUEST_SUPPLEMENT.value))
    if paused_at is None:
        return
    paused_day, due_day = to_local(paused_at).date(), to_local(active.due_at).date()
    cal = calendar.load_calendar(paused_day.year, to_local(now).year + 1)
    left = cal.working_days_between(paused_day, due_day)
    active.due_at = calendar.due_for(now, left, DueUnit.WORKING_DAYS, active.agency)


def follow_transition(dossier: Dossier, action: Action, event: DossierEvent, actor: User | None) -> None:
    """Keep the chain in step with a lifecycle action (see the module's docstring for the mapping)."""
    at = event.occurred_at
    if action is Action.RECEIVE:
        start_chain(dossier)
    elif action is Action.TRANSFER:
        _advance(dossier, HandoverKind.SENT, at, actor)
    elif action is Action.MARK_RESULT_READY:
        _advance(dossier, HandoverKind.RESULT_RECEIVED, at, actor, to_last=True)
    elif action is Action.RECORD_SUPPLEMENT:
        _move_due_after_supplement(dossier, event)
    elif action in (Action.RETURN_RESULT, Action.STOP, Action.WITHDRAW, Action.EXPIRE_SUPPLEMENT):
        for step in steps_of(dossier):
            if step.status is StepStatus.ACTIVE:
                _close(step, at, judged=action is Action.RETURN_RESULT)
    db.session.flush()


# --- hand-overs recorded by people -------------------------------------------------------------------------------

def _refuse_not_now(code: str, vi: str, en: str) -> HandoverRefused:
    return HandoverRefused(409, code, vi, en)


def acknowledge(dossier: Dossier, user: User, now: datetime | None = None) -> DossierHandover:
    """The unit in the system that was sent the dossier acknowledges receipt, by one of its staff.

    :raises HandoverRefused: 403 for a user of another unit, 409 when nothing is awaiting acknowledgement.
    """
    now = now or utcnow()
    position = position_of(dossier)
    move = position.last_move
    if move is None or user.agency_id != move.to_agency_id:
        raise HandoverRefused(403, "not_the_receiving_unit",
                              "Chỉ cơ quan được chuyển hồ sơ mới xác nhận đã nhận hồ sơ.",
                              "Only the unit the dossier was sent to can acknowledge it.")
    if not position.awaiting_acknowledgement:
        raise _refuse_not_now("nothing_to_acknowledge", "Không có lần chuyển hồ sơ nào đang chờ xác nhận.",
                              "No hand-over of this dossier is awaiting acknowledgement.")
    if not move.to_agency.in_system:
        raise _refuse_not_now("outside_unit", "Cơ quan này ngoài hệ thống: Bộ phận Một cửa ghi nhận thay.",
                              "This unit is outside the system: the sending desk records it.")
    return _handover(dossier, HandoverKind.ACKNOWLEDGED, move.from_agency_id, move.to_agency_id, move.step, now,
                     user)


def _clean(text: str | None, limit: int, field: str) -> str | None:
    text = " ".join((text or "").split())
    if len(text) > limit:
        raise HandoverRefused(422, f"{field}_too_long", f"Tối đa {limit} ký tự.", f"At most {limit} characters.",
                              field)
    return text or None


def record_outside(dossier: Dossier, kind: HandoverKind, user: User, occurred_at: datetime | None,
                   reference: str | None, note: str | None, now: datetime | None = None) -> DossierHandover:
    """The sending desk records what a unit outside the system did: it acknowledged receipt, or its result came
    back (which closes its step and opens the next).

    :raises HandoverRefused: 403 for another unit's user; 409 out of order (twice, before it was sent, the result
        before the acknowledgement, a closed dossier, a unit in the system); 422 for a wrong field.
    """
    now = now or utcnow()
    handovers = handovers_of(dossier)
    position = position_of(dossier, handovers=handovers)
    move = position.last_move
    sent = [h for h in handovers if h.kind is HandoverKind.SENT]
    sender = sent[-1].from_agency_id if sent else dossier.agency_id
    if user.agency_id != sender:
        raise HandoverRefused(403, "not_the_sending_unit",
                              "Chỉ Bộ phận Một cửa đã chuyển hồ sơ mới ghi nhận thay cơ quan nhận.",
                              "Only the desk that sent the dossier records what the other unit did.")
    if move is None or move.kind is not HandoverKind.SENT or move.from_agency_id == move.to_agency_id:
        raise _refuse_not_now("not_sent", "Hồ sơ chưa được chuyển đến cơ quan khác.",
                              "The dossier has not been sent to another unit.")
    if move.to_agency.in_system:
        raise _refuse_not_now("unit_in_system", "Cơ quan nhận dùng hệ thống này: cán bộ của cơ quan đó tự xác nhận.",
                              "The receiving unit uses this system: its own staff record it.")
    if dossier.state not in OPEN_STATES:
        raise _refuse_not_now("dossier_closed", "Hồ sơ không còn trong quá trình giải quyết.",
                              "The dossier is no longer being processed.")
    reference = _clean(reference, REFERENCE_MAX, "reference")
    note = _clean(note, NOTE_MAX, "note")
    at = occurred_at or now
    if at.tzinfo is None:
        raise HandoverRefused(422, "time_zone_required", "Thời điểm phải có múi giờ.", "The time needs a time zone.",
                              "occurred_at")
    if at > now + CLOCK_TOLERANCE:
        raise HandoverRefused(422, "in_the_future", "Thời điểm không được sau thời điểm hiện tại.",
                              "The time cannot be in the future.", "occurred_at")
    if at < move.occurred_at:
        raise HandoverRefused(422, "before_sent", "Thời điểm không được trước lúc chuyển hồ sơ.",
                              "The time cannot be before the dossier was sent.", "occurred_at")
    if kind is HandoverKind.ACKNOWLEDGED:
        if position.acknowledged:
            raise _refuse_not_now("already_acknowledged", "Đã ghi nhận cơ quan nhận đã nhận hồ sơ.",
                                  "The receiving unit's acknowledgement is already recorded.")
        return _handover(dossier, kind, move.from_agency_id, move.to_agency_id, move.step, at, user, reference,
                         note)
    if kind is not HandoverKind.RESULT_RECEIVED:
        raise HandoverRefused(422, "kind_invalid", "Chọn: đã nhận hồ sơ hoặc đã có kết quả.",
                              "Choose: acknowledged or result received.", "kind")
    if not position.acknowledged:
        raise _refuse_not_now("not_acknowledged", "Cần ghi nhận cơ quan nhận đã nhận hồ sơ trước khi ghi nhận kết quả.",
                              "Record the receiving unit's acknowledgement before its result.")
    if reference is None:
        raise HandoverRefused(422, "reference_required", "Phải ghi số văn bản, số hồ sơ của cơ quan trả kết quả.",
                              "Give the reference of the unit that sent the result.", "reference")
    row = _advance(dossier, HandoverKind.RESULT_RECEIVED, at, user, reference=reference, note=note)
    if row is None:
        raise _refuse_not_now("no_next_step", "Hồ sơ không còn bước nào để nhận kết quả.",
                              "The dossier has no step left to receive the result.")
    return row


# --- statistics --------------------------------------------------------------------------------------------------

def step_timeliness_by_agency(start: datetime, end: datetime, agency_ids: list[int] | None = None,
                              for_unit: int | None = None) -> dict[int, dict[str, int]]:
    """Per agency, how many of the steps it held and finished in [start, end) were early, on time and late: a
    late step is the lateness of the unit that held it (steps closed without a judgement are left out).

    :param agency_ids: only the steps these agencies held.
    :param for_unit: only what this unit sees: the steps of the dossiers it received, and the steps it held.
    """
    query = (select(DossierStep.agency_id, DossierStep.timeliness, func.count())
             .where(DossierStep.finished_at >= start, DossierStep.finished_at < end,
                    DossierStep.timeliness.is_not(None))
             .group_by(DossierStep.agency_id, DossierStep.timeliness))
    if agency_ids is not None:
        query = query.where(DossierStep.agency_id.in_(agency_ids))
    if for_unit is not None:
        query = query.join(Dossier, Dossier.id == DossierStep.dossier_id).where(
            or_(Dossier.agency_id == for_unit, DossierStep.agency_id == for_unit))
    found: dict[int, Counter] = {}
    for agency_id, timeliness, count in db.session.execute(query):
        found.setdefault(agency_id, Counter())[timeliness.value] += count
    return {agency_id: {key: counts.get(key, 0) for key in ("early", "on_time", "late")}
            for agency_id, counts in found.items()}


def step_timeliness_table(first_day: date, last_day: date, unit_id: int) -> list[tuple[Agency, dict[str, int]]]:
    """For the statistics page of ``unit_id``: per holding unit, its steps finished between the two days
    (inclusive, Viet Nam's days), by name."""
    start = datetime.combine(first_day, time(0), tzinfo=VN_TZ)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=VN_TZ)
    counts = step_timeliness_by_agency(start, end, for_unit=unit_id)
    agencies = db.session.scalars(select(Agency).where(Agency.id.in_(counts))) if counts else []
    return sorted(((agency, counts[agency.id]) for agency in agencies), key=lambda row: row[0].name_vi)


def is_chained(dossier: Dossier) -> bool:
    """Whether the dossier crossed (or will cross) units: it has steps or hand-overs."""
    return bool(db.session.scalar(select(func.count()).select_from(DossierStep)
                                  .where(DossierStep.dossier_id == dossier.id))
                or db.session.scalar(select(func.count()).select_from(DossierHandover)
                                     .where(DossierHandover.dossier_id == dossier.id)))


def desk_facts(dossier: Dossier) -> dict | None:
    """What the desk's dossier page shows of the chain and which hand-over forms it offers; None without one."""
    if not is_chained(dossier):
        return None
    steps, handovers = steps_of(dossier), handovers_of(dossier)
    position = position_of(dossier, steps, handovers)
    sent = [h for h in handovers if h.kind is HandoverKind.SENT]
    move = position.last_move
    outside = (move is not None and move.kind is HandoverKind.SENT and move.from_agency_id != move.to_agency_id
               and not move.to_agency.in_system and dossier.state in OPEN_STATES)
    user_ids = {h.recorded_by_id for h in handovers if h.recorded_by_id}
    return {
        "steps": steps,
        "handovers": handovers,
        "position": position,
        "holder": dossier.holder_agency,
        #: the desk that sent it records for a unit outside the system
        "sender_id": sent[-1].from_agency_id if sent else dossier.agency_id,
        "record_outside": outside,
        "acknowledge_in_system": (position.awaiting_acknowledgement and move is not None
                                  and move.to_agency.in_system),
        "users": {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))},
    }
