"""Dossier operations: receipt and the lifecycle actions.

Services change objects and flush; the request (or CLI command) commits once, so a transition and its event are
stored together or not at all.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import time

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import User
from server.calendar import service as calendar
from server.calendar.workdays import DueUnit
from server.calendar.workdays import classify_timeliness
from server.calendar.workdays import to_local
from server.dossiers import codes
from server.dossiers import signals
from server.dossiers.models import Channel
from server.dossiers.models import Dossier
from server.dossiers.models import DossierEvent
from server.dossiers.models import ReceptionMode
from server.dossiers.models import Timeliness
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import DossierFacts
from server.dossiers.workflow import GuardFailed
from server.dossiers.workflow import GuardFailure
from server.dossiers.workflow import State
from server.dossiers.workflow import decide
from server.extensions import db
from server.interagency.units import default_competent_agency
from server.people.models import Person
from server.reference.models import Agency
from server.reference.models import ProcedureVersion
from server.reference.models import SupplementClock
from server.reference.models import TimeUnit
from server.results.models import DossierResult
from server.types import utcnow

log = logging.getLogger(__name__)


def due_from(version: ProcedureVersion, agency: Agency, start: datetime) -> datetime:
    """The due time of a dossier of ``version`` received by ``agency`` at ``start``."""
    return calendar.due_for(
        start, version.time_value, DueUnit(version.time_unit.value), agency, version.same_day_cutoff
    )


def append_event(
    dossier: Dossier,
    action: str,
    from_state: State | None,
    actor: User | None,
    reason: str | None = None,
    data: dict | None = None,
    at: datetime | None = None,
) -> DossierEvent:
    """Add the next history row of ``dossier`` (flushes with the caller's transaction)."""
    last = db.session.scalar(select(func.max(DossierEvent.seq)).where(DossierEvent.dossier_id == dossier.id))
    event = DossierEvent(
        dossier_id=dossier.id,
        seq=(last or 0) + 1,
        action=action,
        from_state=from_state.value if from_state else None,
        to_state=dossier.state.value,
        actor_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else None,
        reason=reason,
        data=data,
        occurred_at=at or utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    return event


@dataclass
class NewDossier:
    """What a receiving officer or the desk records when receiving a dossier."""

    procedure_version: ProcedureVersion
    agency: Agency
    owner: Person
    submitter: Person
    received_by: User
    received_at: datetime
    channel: Channel = Channel.DIRECT
    reception_mode: ReceptionMode = ReceptionMode.COUNTER
    client_uuid: uuid.UUID | None = None
    code: str | None = None  #: a code the device issued from its reserved block
    device_id: uuid.UUID | None = None
    provided_document_ids: frozenset[int] = frozenset()
    #: How each was handed over, for the receipt (Mẫu 01): required document id → (photos, original sighted).
    #: None when not known (the desk's own reception): the receipt then names the form the procedure asks for.
    handed_over: dict[int, tuple[int, bool]] | None = None
    citizen_requested_receipt: bool = False
    summary: str | None = None
    #: The unit that decides (server/interagency/units.py competent_agency_for); None: the receiving one.
    competent_agency: Agency | None = None


def receipt_slip_required(version: ProcedureVersion, citizen_requested: bool) -> bool:
    """Whether receipt issues Mẫu 01: always, except for same-day procedures unless the citizen asks for one
    (Decree 61/2018 Art. 16(3); DOMAIN.md §11 case 7). The dossier is recorded either way."""
    return version.time_unit is not TimeUnit.SAME_DAY or citizen_requested


def missing_documents(version: ProcedureVersion, provided_ids: frozenset[int]) -> tuple[str, ...]:
    """Names of the mandatory documents of ``version`` that are not in ``provided_ids``."""
    return tuple(d.name_vi for d in version.required_documents if d.mandatory and d.id not in provided_ids)


def receive(new: NewDossier) -> Dossier:
    """Record a complete dossier as received: code, due date and the first event.

    :raises GuardFailed: mandatory documents missing or procedure version not in force at the receipt date.
    :raises codes.CodeError: a device code that is not from this device's reserved block.
    """
    version = new.procedure_version
    receipt_day = to_local(new.received_at).date()
    in_force = version.effective_from <= receipt_day and (
        version.effective_to is None or receipt_day <= version.effective_to
    )
    if not in_force:
        raise GuardFailed(
            [
                GuardFailure(
                    "procedure_version_not_in_force",
                    "procedure_version",
                    "Phiên bản thủ tục không còn hiệu lực vào ngày tiếp nhận.",
                    "This procedure version is not in force on the day of receipt.",
                )
            ]
        )
    decide(
        DossierFacts(State.DRAFT, missing_documents=missing_documents(version, new.provided_document_ids)),
        Action.RECEIVE,
        ActionRequest(actor_id=new.received_by.id, actor_role=new.received_by.role.value),
    )
    if new.code is not None:
        agency, code_day = codes.accept_reserved_code(new.code, new.device_id)
        if agency.id != new.agency.id:
            raise codes.CodeError("code_other_agency", "Mã hồ sơ thuộc cơ quan khác.", "The code is another agency's.")
        if code_day != receipt_day:
            # The date is part of the legal code: a block of another day would print a false receipt date.
            raise codes.CodeError(
                "code_other_day", "Mã hồ sơ thuộc ngày khác ngày tiếp nhận.", "The code is for another day."
            )
        code = new.code
    else:
        code = codes.issue_code(new.agency, receipt_day)
    due = due_from(version, new.agency, new.received_at)
    dossier = Dossier(
        client_uuid=new.client_uuid or uuid.uuid4(),
        code=code,
        procedure_version=version,
        agency=new.agency,
        competent_agency=new.competent_agency or default_competent_agency(version, new.agency),
        channel=new.channel,
        reception_mode=new.reception_mode,
        owner=new.owner,
        submitter=new.submitter,
        received_by_id=new.received_by.id,
        device_id=new.device_id,
        state=State.RECEIVED,
        summary=new.summary,
        citizen_requested_receipt=new.citizen_requested_receipt,
        device_received_at=new.received_at,
        server_received_at=utcnow(),
        due_at=due,
        original_due_at=due,
    )
    db.session.add(dossier)
    db.session.flush()
    event = append_event(dossier, Action.RECEIVE.value, State.DRAFT, new.received_by, at=new.received_at)
    signals.transitioned.send(dossier, action=Action.RECEIVE, from_state=State.DRAFT, to_state=State.RECEIVED,
                              event=event, actor=new.received_by, provided_document_ids=new.provided_document_ids,
                              handed_over=new.handed_over)
    log.info("Dossier %s received by user %s", dossier.id, new.received_by.id)
    return dossier


def facts_of(dossier: Dossier) -> DossierFacts:
    """What the lifecycle guards need to know about a stored dossier."""
    due = dossier.due_at
    return DossierFacts(
        state=dossier.state,
        handler_id=dossier.handler_id,
        extension_count=dossier.extension_count,
        due_date=to_local(due).date() if due else None,
        same_day_procedure=dossier.procedure_version.time_unit is TimeUnit.SAME_DAY,
        missing_documents=missing_documents(
            dossier.procedure_version, frozenset(d.required_document_id for d in dossier.documents)
        ),
        result_numbers=_result_numbers(dossier),
    )


def _result_numbers(dossier: Dossier) -> frozenset[int]:
    if dossier.id is None:
        return frozenset()
    return frozenset(db.session.scalars(select(DossierResult.number).where(DossierResult.dossier_id == dossier.id)))


def apply_action(dossier: Dossier, action: Action, actor: User, request: ActionRequest, now: datetime | None = None):
    """Take ``action`` on ``dossier`` as ``actor``: check, change, and append the event, in one transaction.

    :raises server.dossiers.workflow.WorkflowError: illegal (409), not permitted (403) or guard failed (422).
    """
    now = now or utcnow()
    decision = decide(facts_of(dossier), action, request)
    data: dict = {}
    _EFFECTS.get(action, _no_effect)(dossier, request, now, data)
    dossier.state = decision.to_state
    reason = request.reason or request.citizen_request
    event = append_event(dossier, action.value, decision.from_state, actor, reason=reason, data=data or None, at=now)
    signals.transitioned.send(dossier, action=action, from_state=decision.from_state, to_state=decision.to_state,
                              event=event, actor=actor)
    log.info("Dossier %s %s by user %s: %s -> %s", dossier.id, action.value, actor.id,
             decision.from_state.value, decision.to_state.value)
    return dossier


def _no_effect(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    return None


def _receive(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    # Receiving an online submission at the desk: the legal receipt time is now.
    local_day = to_local(now).date()
    dossier.code = dossier.code or codes.issue_code(dossier.agency, local_day)
    dossier.device_received_at = dossier.device_received_at or now
    dossier.server_received_at = dossier.server_received_at or now
    dossier.due_at = dossier.original_due_at = due_from(dossier.procedure_version, dossier.agency, now)
    data["code"] = dossier.code


def _close(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    dossier.closed_at = now


def _guide(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    dossier.closed_at = now
    data["items"] = list(request.items)


def _transfer(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    dossier.transferred_at = now


def _finish(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    # The result exists for the citizen when it is at the one-stop desk (DVCQG 9, "Đã xử lý xong"): this is the
    # finish time that timeliness is judged on (DOMAIN.md §2.5). Approval alone is a step inside processing.
    dossier.processing_finished_at = now
    reference = dossier.original_due_at or dossier.due_at
    if reference is not None:
        granularity = current_app.config["TIMELINESS_GRANULARITY"]
        dossier.timeliness = Timeliness(classify_timeliness(now, reference, granularity))
        data["timeliness"] = dossier.timeliness.value


def _request_supplement(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    dossier.supplement_count += 1
    dossier.paused_at = now
    data["items"] = list(request.items)


def _record_supplement(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    version = dossier.procedure_version
    if version.supplement_clock is SupplementClock.RESTART or dossier.due_at is None or dossier.paused_at is None:
        new_due = due_from(version, dossier.agency, now)
    else:
        # Pause: the working days that were left when the request went out run again from the supplement.
        year_from, year_to = to_local(dossier.paused_at).year, to_local(now).year + 1
        cal = calendar.load_calendar(year_from, year_to)
        left = cal.working_days_between(to_local(dossier.paused_at).date(), to_local(dossier.due_at).date())
        new_due = calendar.due_for(now, left, DueUnit.WORKING_DAYS, dossier.agency)
    data["previous_due_at"] = to_local(dossier.due_at).isoformat() if dossier.due_at else None
    dossier.due_at = dossier.original_due_at = new_due
    dossier.extended_due_at = None
    dossier.paused_at = None
    data["due_at"] = to_local(new_due).isoformat()


def _request_payment(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    data["amount_vnd"] = request.amount_vnd


def _submit_for_approval(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    # Whoever prepares the draft result is its handler; the approver must be someone else.
    if dossier.handler_id is None:
        dossier.handler_id = request.actor_id


def _extend(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    due_local = to_local(dossier.due_at)
    cal = calendar.load_calendar(due_local.year - 1, due_local.year)
    # The apology must reach the citizen at least one working day before the due date (DOMAIN.md §1.4 E);
    # a later one is still allowed, but flagged for the leader.
    dossier.apology_late = to_local(now).date() > cal.previous_working_day(due_local.date())
    # Kept so that the control sheet can tell which due date was in force at each earlier step.
    data["previous_due_at"] = due_local.isoformat()
    new_due = datetime.combine(request.new_due_date, time(due_local.hour, due_local.minute), tzinfo=due_local.tzinfo)
    dossier.extended_due_at = dossier.due_at = new_due
    dossier.extension_count += 1
    data.update(new_due_at=to_local(new_due).isoformat(), apology_late=dossier.apology_late)


def _return_result(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    dossier.returned_at = dossier.closed_at = now
    dossier.result_delivery_mode = request.delivery_mode
    # The guard refused a return without it, so the stored history always says the recipient signed for it.
    data.update(delivery_mode=request.delivery_mode, recipient_name=request.recipient_name,
                acknowledged=request.acknowledged)
    if request.result_numbers:
        # Which signed results (<code>-KQ<n>) the recipient took: in the history, and on each result (the guard
        # refused numbers the dossier does not have).
        numbers = sorted(set(request.result_numbers))
        data["results"] = numbers
        for result in db.session.scalars(select(DossierResult).where(DossierResult.dossier_id == dossier.id,
                                                                     DossierResult.number.in_(numbers))):
            result.handed_over_at = now


def _withdraw(dossier: Dossier, request: ActionRequest, now: datetime, data: dict) -> None:
    dossier.closed_at = now
    dossier.paused_at = None


_EFFECTS = {
    Action.RECEIVE: _receive,
    Action.REFUSE: _close,
    Action.GUIDE_SUPPLEMENT: _guide,
    Action.TRANSFER: _transfer,
    Action.RESOLVE_ON_SPOT: _finish,
    Action.MARK_RESULT_READY: _finish,
    Action.REQUEST_SUPPLEMENT: _request_supplement,
    Action.RECORD_SUPPLEMENT: _record_supplement,
    Action.EXPIRE_SUPPLEMENT: _close,
    Action.REQUEST_PAYMENT: _request_payment,
    Action.SUBMIT_FOR_APPROVAL: _submit_for_approval,
    Action.EXTEND: _extend,
    Action.STOP: _close,
    Action.WITHDRAW: _withdraw,
    Action.RETURN_RESULT: _return_result,
}

