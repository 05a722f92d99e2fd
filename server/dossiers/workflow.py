"""The dossier lifecycle of the one-stop mechanism (DOMAIN.md §10), as data and pure functions.

No Flask, no database: this module says which action is legal in which state, who may take it and what it needs.
The service layer (:mod:`server.dossiers.services`) applies its answer to a stored dossier and writes the event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class State(enum.Enum):
    """Internal dossier states. The national portal (DVCQG) code of each is in :data:`NATIONAL_STATUS`."""

    DRAFT = "draft"  #: on the officer's phone; nothing legal yet
    ONLINE_SUBMITTED = "online_submitted"  #: submitted online, not yet checked by the one-stop
    GUIDED_INCOMPLETE = "guided_incomplete"  #: Mẫu 02 given at reception: no code, not counted as received
    REFUSED = "refused"  #: Mẫu 03: refused at reception, with reasons
    RECEIVED = "received"  #: code issued, Mẫu 01 (except same-day procedures), clock running
    IN_PROCESS = "in_process"  #: with the competent civil servant
    AWAITING_SUPPLEMENT = "awaiting_supplement"  #: Mẫu 02 during processing; clock restarts or pauses
    AWAITING_PAYMENT = "awaiting_payment"  #: financial obligation to fulfil
    PENDING_APPROVAL = "pending_approval"  #: draft result waiting for the signer (a sub-state of "processing")
    APPROVED = "approved"  #: result signed, not yet handed to the one-stop (still "processing" for the portal)
    RESOLVED = "resolved"  #: result issued and at the one-stop, waiting to be returned
    RETURNED = "returned"  #: result handed to the citizen (at the desk, at home, by post)
    STOPPED = "stopped"  #: Mẫu 05: processing stopped, with reasons
    WITHDRAWN = "withdrawn"  #: the citizen asked to withdraw the dossier


class Action(enum.Enum):
    """Legal steps; each is one POST endpoint ``/api/v1/dossiers/{id}/actions/{value}``."""

    RECEIVE = "receive"
    REFUSE = "refuse"
    GUIDE_SUPPLEMENT = "guide_supplement"
    TRANSFER = "transfer"
    RESOLVE_ON_SPOT = "resolve_on_spot"
    REQUEST_SUPPLEMENT = "request_supplement"
    RECORD_SUPPLEMENT = "record_supplement"
    EXPIRE_SUPPLEMENT = "expire_supplement"
    REQUEST_PAYMENT = "request_payment"
    RECORD_PAYMENT = "record_payment"
    SUBMIT_FOR_APPROVAL = "submit_for_approval"
    REJECT = "reject"
    APPROVE = "approve"
    MARK_RESULT_READY = "mark_result_ready"  #: the signed result reaches the one-stop desk (DVCQG 9)
    EXTEND = "extend"
    STOP = "stop"
    WITHDRAW = "withdraw"
    RETURN_RESULT = "return_result"


#: DVCQG ``TrangThaiHoSo`` for each state (DOMAIN.md §1.6). Draft and guided dossiers were never received and
#: are never reported to the portal.
NATIONAL_STATUS: dict[State, int | None] = {
    State.DRAFT: None,
    State.GUIDED_INCOMPLETE: None,
    State.ONLINE_SUBMITTED: 1,
    State.RECEIVED: 2,
    State.REFUSED: 3,
    State.IN_PROCESS: 4,
    State.PENDING_APPROVAL: 4,
    State.APPROVED: 4,
    State.AWAITING_SUPPLEMENT: 5,
    State.AWAITING_PAYMENT: 6,
    State.WITHDRAWN: 7,
    State.STOPPED: 8,
    State.RESOLVED: 9,
    State.RETURNED: 10,
}

#: States in which the legal clock runs or is paused: the dossier is "open" at the one-stop. An approved result
#: still runs against the clock until it is at the desk (the finish time, DOMAIN.md §2.5).
OPEN_STATES = frozenset(
    {State.RECEIVED, State.IN_PROCESS, State.AWAITING_SUPPLEMENT, State.AWAITING_PAYMENT, State.PENDING_APPROVAL,
     State.APPROVED}
)
TERMINAL_STATES = frozenset({State.REFUSED, State.RETURNED, State.STOPPED, State.WITHDRAWN, State.GUIDED_INCOMPLETE})

_NOT_YET_RECEIVED = (State.DRAFT, State.ONLINE_SUBMITTED)
_BEFORE_RESULT = (State.IN_PROCESS, State.AWAITING_SUPPLEMENT, State.AWAITING_PAYMENT, State.PENDING_APPROVAL)

#: (from state, action) → to state. An extension is an overlay: the state does not change.
TRANSITIONS: dict[tuple[State, Action], State] = {
    **{(s, Action.RECEIVE): State.RECEIVED for s in _NOT_YET_RECEIVED},
    **{(s, Action.REFUSE): State.REFUSED for s in _NOT_YET_RECEIVED},
    **{(s, Action.GUIDE_SUPPLEMENT): State.GUIDED_INCOMPLETE for s in _NOT_YET_RECEIVED},
    (State.RECEIVED, Action.TRANSFER): State.IN_PROCESS,
    (State.RECEIVED, Action.RESOLVE_ON_SPOT): State.RESOLVED,
    (State.IN_PROCESS, Action.REQUEST_SUPPLEMENT): State.AWAITING_SUPPLEMENT,
    (State.AWAITING_SUPPLEMENT, Action.RECORD_SUPPLEMENT): State.IN_PROCESS,
    (State.AWAITING_SUPPLEMENT, Action.EXPIRE_SUPPLEMENT): State.STOPPED,
    (State.IN_PROCESS, Action.REQUEST_PAYMENT): State.AWAITING_PAYMENT,
    (State.AWAITING_PAYMENT, Action.RECORD_PAYMENT): State.IN_PROCESS,
    (State.IN_PROCESS, Action.SUBMIT_FOR_APPROVAL): State.PENDING_APPROVAL,
    (State.PENDING_APPROVAL, Action.REJECT): State.IN_PROCESS,
    (State.PENDING_APPROVAL, Action.APPROVE): State.APPROVED,
    # Decree 61 Art. 18: the signed result is sent to the one-stop, which returns it; a decision exists, so the
    # dossier can no longer be stopped, withdrawn or re-appointed (§1.4 G).
    (State.APPROVED, Action.MARK_RESULT_READY): State.RESOLVED,
    **{(s, Action.EXTEND): s for s in (State.RECEIVED, *_BEFORE_RESULT)},
    **{(s, Action.STOP): State.STOPPED for s in _BEFORE_RESULT},
    **{(s, Action.WITHDRAW): State.WITHDRAWN for s in (State.RECEIVED, *_BEFORE_RESULT)},
    (State.RESOLVED, Action.RETURN_RESULT): State.RETURNED,
}

_DESK = frozenset({"staff", "leader"})
_DESK_AND_FIELD = frozenset({"officer", "staff", "leader"})

#: Who may take each action. Administrators keep reference data and never act on dossiers.
ACTION_ROLES: dict[Action, frozenset[str]] = {
    Action.RECEIVE: _DESK_AND_FIELD,
    Action.REFUSE: _DESK_AND_FIELD,
    Action.GUIDE_SUPPLEMENT: _DESK_AND_FIELD,
    Action.RESOLVE_ON_SPOT: _DESK_AND_FIELD,
    Action.WITHDRAW: _DESK_AND_FIELD,
    Action.RETURN_RESULT: _DESK_AND_FIELD,
    Action.APPROVE: frozenset({"leader"}),
    Action.REJECT: frozenset({"leader"}),
    **{
        a: _DESK
        for a in (
            Action.TRANSFER,
            Action.REQUEST_SUPPLEMENT,
            Action.RECORD_SUPPLEMENT,
            Action.EXPIRE_SUPPLEMENT,
            Action.REQUEST_PAYMENT,
            Action.RECORD_PAYMENT,
            Action.SUBMIT_FOR_APPROVAL,
            Action.EXTEND,
            Action.STOP,
            Action.MARK_RESULT_READY,  # the handler or the desk (staff), or the leader who signed
        )
    },
}

#: How a result may reach the citizen (DOMAIN.md §1.4 F).
DELIVERY_MODES = frozenset({"counter", "home", "post", "online"})


@dataclass(frozen=True)
class ActionRequest:
    """What the actor submits with an action (fields unused by an action are ignored)."""

    actor_id: int
    actor_role: str
    reason: str | None = None
    items: tuple[str, ...] = ()
    citizen_request: str | None = None  #: reference of the citizen's signed withdrawal request
    new_due_date: date | None = None
    delivery_mode: str | None = None
    recipient_name: str | None = None  #: who acknowledged receipt of the result
    acknowledged: bool = False  #: the recipient acknowledged receipt (signed the ledger, Mẫu 07)
    amount_vnd: int | None = None
    #: return_result: which of the dossier's results (the n of ``<code>-KQ<n>``) were handed over; optional
    result_numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class DossierFacts:
    """What the guards need to know about the dossier."""

    state: State
    handler_id: int | None = None
    extension_count: int = 0
    due_date: date | None = None
    same_day_procedure: bool = False
    missing_documents: tuple[str, ...] = ()
    result_numbers: frozenset[int] = frozenset()  #: the numbers of the results attached to the dossier


@dataclass(frozen=True)
class GuardFailure:
    """Why an otherwise legal action cannot be taken, in both languages."""

    code: str
    field: str | None
    vi: str
    en: str

    def message(self, locale: str) -> str:
        """The message in ``locale`` ("vi" or "en")."""
        return self.en if locale == "en" else self.vi


class WorkflowError(Exception):
    """Base class of the lifecycle's refusals."""


class InvalidTransition(WorkflowError):
    """The action does not exist in the dossier's current state (HTTP 409)."""

    def __init__(self, state: State, action: Action):
        super().__init__(f"{action.value} is not allowed in state {state.value}")
        self.state = state
        self.action = action


class ActionNotPermitted(WorkflowError):
    """The actor's role may not take this action (HTTP 403)."""

    def __init__(self, role: str, action: Action):
        super().__init__(f"role {role} may not {action.value}")
        self.role = role
        self.action = action


class GuardFailed(WorkflowError):
    """The action is legal here but its conditions are not met (HTTP 422)."""

    def __init__(self, failures: list[GuardFailure]):
        super().__init__("; ".join(f.code for f in failures))
        self.failures = failures


def _blank(text: str | None) -> bool:
    return not (text and text.strip())


def _require_reason(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    if _blank(req.reason):
        return [GuardFailure("reason_required", "reason", "Phải ghi rõ lý do.", "A reason is required.")]
    return []


def _require_items_and_reason(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    failures = _require_reason(req, facts)
    if not [item for item in req.items if item.strip()]:
        failures.append(
            GuardFailure(
                "items_required",
                "items",
                "Phải liệt kê đầy đủ các giấy tờ cần bổ sung (hướng dẫn một lần).",
                "List every document to supplement (guidance is given once, in full).",
            )
        )
    return failures


def _guard_receive(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    if facts.missing_documents:
        return [
            GuardFailure(
                "documents_missing",
                "documents",
                "Thiếu giấy tờ bắt buộc: " + ", ".join(facts.missing_documents) + ".",
                "Mandatory documents are missing: " + ", ".join(facts.missing_documents) + ".",
            )
        ]
    return []


def _guard_resolve_on_spot(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    if not facts.same_day_procedure:
        return [
            GuardFailure(
                "not_same_day",
                None,
                "Chỉ thủ tục giải quyết trong ngày mới được trả kết quả ngay.",
                "Only same-day procedures can be resolved on the spot.",
            )
        ]
    return []


def _guard_payment(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    if req.amount_vnd is None or req.amount_vnd <= 0:
        return [
            GuardFailure(
                "amount_required", "amount_vnd", "Phải ghi số tiền phải nộp (đồng).", "Give the amount due (VND)."
            )
        ]
    return []


def _guard_approve(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    if facts.handler_id is not None and facts.handler_id == req.actor_id:
        return [
            GuardFailure(
                "approver_is_handler",
                None,
                "Người phê duyệt không được là người thụ lý hồ sơ.",
                "The approver cannot be the dossier's handler.",
            )
        ]
    return []


def _guard_extend(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    failures = _require_reason(req, facts)
    if facts.extension_count >= 1:
        failures.append(
            GuardFailure(
                "already_extended",
                None,
                "Hồ sơ đã được gia hạn một lần; không được hẹn lại lần thứ hai.",
                "The dossier was already extended once; a second re-appointment is not allowed.",
            )
        )
    if req.new_due_date is None:
        failures.append(
            GuardFailure("new_due_date_required", "new_due_date", "Phải ghi ngày hẹn mới.", "Give the new due date.")
        )
    elif facts.due_date is not None and req.new_due_date <= facts.due_date:
        failures.append(
            GuardFailure(
                "new_due_date_not_later",
                "new_due_date",
                "Ngày hẹn mới phải sau ngày hẹn trả hiện tại.",
                "The new due date must be after the current due date.",
            )
        )
    return failures


def _guard_withdraw(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    if _blank(req.citizen_request):
        return [
            GuardFailure(
                "citizen_request_required",
                "citizen_request",
                "Rút hồ sơ cần có đề nghị của công dân (số hoặc mô tả văn bản đề nghị).",
                "Withdrawal needs the citizen's request (its reference or description).",
            )
        ]
    return []


def _guard_return(req: ActionRequest, facts: DossierFacts) -> list[GuardFailure]:
    failures = []
    if req.delivery_mode not in DELIVERY_MODES:
        failures.append(
            GuardFailure(
                "delivery_mode_invalid",
                "delivery_mode",
                "Chọn hình thức trả kết quả: tại bộ phận một cửa, tại nhà, qua bưu chính hoặc trực tuyến.",
                "Choose how the result is returned: at the desk, at home, by post or online.",
            )
        )
    if _blank(req.recipient_name):
        failures.append(
            GuardFailure(
                "recipient_required",
                "recipient_name",
                "Phải ghi người nhận kết quả (ký nhận).",
                "Give the name of the person who signed for the result.",
            )
        )
    if not req.acknowledged:
        failures.append(
            GuardFailure(
                "acknowledgement_required",
                "acknowledged",
                "Người nhận phải xác nhận đã nhận kết quả (ký nhận).",
                "The recipient must acknowledge receipt of the result (sign for it).",
            )
        )
    unknown = sorted(set(req.result_numbers) - facts.result_numbers)
    if unknown:
        listed = ", ".join(f"KQ{n}" for n in unknown)
        failures.append(
            GuardFailure(
                "result_unknown",
                "result_numbers",
                f"Hồ sơ không có kết quả {listed}: chỉ chọn các kết quả đã đính kèm.",
                f"The dossier has no result {listed}: choose only results that were attached.",
            )
        )
    return failures


_GUARDS = {
    Action.RECEIVE: _guard_receive,
    Action.REFUSE: _require_reason,
    Action.GUIDE_SUPPLEMENT: _require_items_and_reason,
    Action.RESOLVE_ON_SPOT: _guard_resolve_on_spot,
    Action.REQUEST_SUPPLEMENT: _require_items_and_reason,
    Action.REQUEST_PAYMENT: _guard_payment,
    Action.REJECT: _require_reason,
    Action.APPROVE: _guard_approve,
    Action.EXTEND: _guard_extend,
    Action.STOP: _require_reason,
    Action.WITHDRAW: _guard_withdraw,
    Action.RETURN_RESULT: _guard_return,
}


@dataclass(frozen=True)
class Decision:
    """An allowed step. For an extension (an overlay) ``to_state`` equals ``from_state``."""

    action: Action
    from_state: State
    to_state: State


def decide(facts: DossierFacts, action: Action, request: ActionRequest) -> Decision:
    """Check ``action`` against the state table, the actor's role and the guards, in that order.

    :raises InvalidTransition: the action does not exist in this state (409).
    :raises ActionNotPermitted: the role may not take it (403).
    :raises GuardFailed: its conditions are not met (422).
    """
    target = TRANSITIONS.get((facts.state, action))
    if target is None:
        raise InvalidTransition(facts.state, action)
    if request.actor_role not in ACTION_ROLES[action]:
        raise ActionNotPermitted(request.actor_role, action)
    guard = _GUARDS.get(action)
    failures = guard(request, facts) if guard else []
    if failures:
        raise GuardFailed(failures)
    return Decision(action, facts.state, target)


def allowed_actions(state: State) -> list[Action]:
    """The actions that exist in ``state`` (for buttons and the API description)."""
    return [action for (s, action) in TRANSITIONS if s is state]
