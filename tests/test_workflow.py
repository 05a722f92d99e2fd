"""The lifecycle: every (state, action) pair against the pure decision, a sample through the HTTP API, then each
guard.

The expected table below is written out again from DOMAIN.md §10 rather than read from the code, so that a wrong
entry in ``TRANSITIONS`` fails here.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.models import DossierEvent
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import NATIONAL_STATUS
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import DossierFacts
from server.dossiers.workflow import InvalidTransition
from server.dossiers.workflow import State
from server.dossiers.workflow import decide
from server.extensions import db
from server.people.models import Person
from server.push.models import InboxMessage
from server.reference.models import TimeUnit
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in

S = State
# DOMAIN.md §10, transcribed: (from, action) -> to.
EXPECTED = {
    (S.DRAFT, "receive"): S.RECEIVED,
    (S.DRAFT, "refuse"): S.REFUSED,
    (S.DRAFT, "guide_supplement"): S.GUIDED_INCOMPLETE,
    (S.ONLINE_SUBMITTED, "receive"): S.RECEIVED,
    (S.ONLINE_SUBMITTED, "refuse"): S.REFUSED,
    (S.ONLINE_SUBMITTED, "guide_supplement"): S.GUIDED_INCOMPLETE,
    (S.RECEIVED, "transfer"): S.IN_PROCESS,
    (S.RECEIVED, "resolve_on_spot"): S.RESOLVED,
    (S.IN_PROCESS, "request_supplement"): S.AWAITING_SUPPLEMENT,
    (S.AWAITING_SUPPLEMENT, "record_supplement"): S.IN_PROCESS,
    (S.AWAITING_SUPPLEMENT, "expire_supplement"): S.STOPPED,
    (S.IN_PROCESS, "request_payment"): S.AWAITING_PAYMENT,
    (S.AWAITING_PAYMENT, "record_payment"): S.IN_PROCESS,
    (S.IN_PROCESS, "submit_for_approval"): S.PENDING_APPROVAL,
    (S.PENDING_APPROVAL, "reject"): S.IN_PROCESS,
    (S.PENDING_APPROVAL, "approve"): S.APPROVED,
    (S.APPROVED, "mark_result_ready"): S.RESOLVED,
    (S.IN_PROCESS, "stop"): S.STOPPED,
    (S.AWAITING_SUPPLEMENT, "stop"): S.STOPPED,
    (S.AWAITING_PAYMENT, "stop"): S.STOPPED,
    (S.PENDING_APPROVAL, "stop"): S.STOPPED,
    (S.RECEIVED, "withdraw"): S.WITHDRAWN,
    (S.IN_PROCESS, "withdraw"): S.WITHDRAWN,
    (S.AWAITING_SUPPLEMENT, "withdraw"): S.WITHDRAWN,
    (S.AWAITING_PAYMENT, "withdraw"): S.WITHDRAWN,
    (S.PENDING_APPROVAL, "withdraw"): S.WITHDRAWN,
    (S.RESOLVED, "return_result"): S.RETURNED,
    # Extension is an overlay on any open state: the state stays.
    **{(s, "extend"): s for s in (S.RECEIVED, S.IN_PROCESS, S.AWAITING_SUPPLEMENT, S.AWAITING_PAYMENT,
                                   S.PENDING_APPROVAL)},
}
# DOMAIN.md §1.6, transcribed.
EXPECTED_NATIONAL = {
    S.ONLINE_SUBMITTED: 1, S.RECEIVED: 2, S.REFUSED: 3, S.IN_PROCESS: 4, S.PENDING_APPROVAL: 4, S.APPROVED: 4,
    S.AWAITING_SUPPLEMENT: 5, S.AWAITING_PAYMENT: 6, S.WITHDRAWN: 7, S.STOPPED: 8, S.RESOLVED: 9, S.RETURNED: 10,
    S.DRAFT: None, S.GUIDED_INCOMPLETE: None,
}
DUE = datetime(2026, 12, 10, 10, 0, tzinfo=VN_TZ)
VALID_PAYLOAD = {
    "reason": "Lý do cụ thể",
    "items": ["Bản sao Bằng Tổ quốc ghi công có chứng thực"],
    "citizen_request": "Đơn xin rút hồ sơ ngày 20/11/2026",
    "new_due_date": "2026-12-20",
    "delivery_mode": "home",
    "recipient_name": "Trần Thị Bình",
    "acknowledged": True,
    "amount_vnd": 10000,
}


def test_national_status_mapping():
    assert NATIONAL_STATUS == EXPECTED_NATIONAL


def _attach_all_documents(dossier: Dossier) -> None:
    # Papers checked at the door without a photo (sha256 empty) count as provided.
    for doc in dossier.procedure_version.required_documents:
        db.session.add(DossierDocument(dossier=dossier, required_document_id=doc.id, name=doc.name_vi,
                                       sighted_original=True))
    db.session.commit()


def _refused_sample() -> list[tuple[State, str]]:
    """One action each state refuses (the first in Action's order): the HTTP path's 409 for every state."""
    return [(state, next(a.value for a in Action if (state, a.value) not in EXPECTED)) for state in State]


#: Through HTTP: every legal step (each writes an event, runs the listeners, answers the new state) and one refused
#: action per state. The whole matrix is checked against decide() below, in milliseconds.
HTTP_SAMPLE = sorted(EXPECTED, key=lambda pair: (list(State).index(pair[0]), pair[1])) + _refused_sample()


def test_every_state_action_pair_against_the_pure_decision():
    """All states × actions through :func:`decide`: the legal ones reach EXPECTED's state, the others are refused."""
    handler_id, staff_id, leader_id = 7, 8, 9
    checked = 0
    for state in State:
        for action in Action:
            leading = action.value in ("approve", "reject")
            request = ActionRequest(
                actor_id=leader_id if leading else staff_id, actor_role="leader" if leading else "staff",
                reason=VALID_PAYLOAD["reason"], items=tuple(VALID_PAYLOAD["items"]),
                citizen_request=VALID_PAYLOAD["citizen_request"],
                new_due_date=date.fromisoformat(VALID_PAYLOAD["new_due_date"]),
                delivery_mode=VALID_PAYLOAD["delivery_mode"], recipient_name=VALID_PAYLOAD["recipient_name"],
                acknowledged=VALID_PAYLOAD["acknowledged"], amount_vnd=VALID_PAYLOAD["amount_vnd"],
            )
            facts = DossierFacts(state, handler_id=handler_id, due_date=DUE.date(),
                                 same_day_procedure=action is Action.RESOLVE_ON_SPOT)
            expected = EXPECTED.get((state, action.value))
            if expected is None:
                with pytest.raises(InvalidTransition):
                    decide(facts, action, request)
            else:
                decision = decide(facts, action, request)
                assert (decision.from_state, decision.to_state) == (state, expected), (state, action)
            checked += 1
    assert checked == len(State) * len(Action)


@pytest.mark.parametrize(("state", "action"), HTTP_SAMPLE, ids=lambda v: v.value if isinstance(v, State) else v)
def test_every_state_action_pair(app, client, state, action):
    leader, staff = demo_user(Role.LEADER), demo_user(Role.STAFF)
    procedure_key = "chung-thuc-chu-ky" if action == "resolve_on_spot" else "tro-cap-xa-hoi-hang-thang"
    dossier = make_dossier(state, procedure_key, due_at=None if state in (S.DRAFT, S.ONLINE_SUBMITTED) else DUE,
                           handler=staff)
    _attach_all_documents(dossier)
    actor = leader if action in ("approve", "reject") else staff
    token = sign_in(client, actor)
    events_before = db.session.scalar(select(func.count()).select_from(DossierEvent))

    response = client.post(f"/api/v1/dossiers/{dossier.id}/actions/{action}", json=VALID_PAYLOAD,
                           headers={"X-CSRFToken": token})

    body = response.get_json()
    events_after = db.session.scalar(select(func.count()).select_from(DossierEvent))
    db.session.refresh(dossier)
    expected = EXPECTED.get((state, action))
    if expected is None:
        assert response.status_code == 409, body
        assert response.mimetype == "application/problem+json"
        assert body["type"] == "urn:motcua:problem:invalid-transition"
        assert body["state"] == state.value
        assert dossier.state is state
        assert events_after == events_before
    else:
        assert response.status_code == 200, body
        assert body["state"] == expected.value == dossier.state.value
        assert body["national_status"] == EXPECTED_NATIONAL[expected]
        assert events_after == events_before + 1
        event = dossier.events[-1]
        assert (event.action, event.from_state, event.to_state, event.actor_id) == (
            action, state.value, expected.value, actor.id)


# --- Guards (422) and roles (403) ----------------------------------------------------------------------------

def post(client, dossier, action, payload, user):
    token = sign_in(client, user)
    return client.post(f"/api/v1/dossiers/{dossier.id}/actions/{action}", json=payload,
                       headers={"X-CSRFToken": token})


@pytest.mark.parametrize(
    ("state", "action", "payload", "code"),
    [
        (S.ONLINE_SUBMITTED, "refuse", {"reason": "  "}, "reason_required"),
        (S.IN_PROCESS, "stop", {}, "reason_required"),
        (S.PENDING_APPROVAL, "reject", {"reason": ""}, "reason_required"),
        (S.IN_PROCESS, "request_supplement", {"reason": "Thiếu giấy tờ", "items": []}, "items_required"),
        (S.IN_PROCESS, "withdraw", {"reason": "Gọi điện xin rút"}, "citizen_request_required"),
        (S.RESOLVED, "return_result", {"recipient_name": "An"}, "delivery_mode_invalid"),
        (S.RESOLVED, "return_result", {"delivery_mode": "home"}, "recipient_required"),
        (S.RESOLVED, "return_result", {"delivery_mode": "home", "recipient_name": "An"}, "acknowledgement_required"),
        (S.RESOLVED, "return_result", {"delivery_mode": "home", "recipient_name": "An", "acknowledged": False},
         "acknowledgement_required"),
        (S.IN_PROCESS, "request_payment", {"amount_vnd": 0}, "amount_required"),
        (S.IN_PROCESS, "extend", {"new_due_date": "2026-12-20"}, "reason_required"),
        (S.IN_PROCESS, "extend", {"reason": "Chờ xác minh"}, "new_due_date_required"),
        (S.IN_PROCESS, "extend", {"reason": "Chờ xác minh", "new_due_date": "2026-12-10"}, "new_due_date_not_later"),
        (S.RECEIVED, "resolve_on_spot", {}, "not_same_day"),
    ],
)
def test_guards_answer_422(app, client, state, action, payload, code):
    dossier = make_dossier(state, due_at=DUE)
    actor = demo_user(Role.LEADER if action in ("approve", "reject") else Role.STAFF)
    response = post(client, dossier, action, payload, actor)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["type"] == "urn:motcua:problem:guard-failed"
    assert code in [e["code"] for e in body["errors"]]
    db.session.refresh(dossier)
    assert dossier.state is state and dossier.events == []


def test_receive_needs_the_mandatory_documents(app, client):
    dossier = make_dossier(S.ONLINE_SUBMITTED)
    response = post(client, dossier, "receive", {}, demo_user(Role.STAFF))
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["code"] == "documents_missing"
    _attach_all_documents(dossier)
    response = post(client, dossier, "receive", {}, demo_user(Role.STAFF))
    assert response.status_code == 200
    assert response.get_json()["code"].startswith(demo_agency().agency_code + "-")


def test_approver_cannot_be_the_handler(app, client):
    leader = demo_user(Role.LEADER)
    dossier = make_dossier(S.IN_PROCESS, due_at=DUE)
    assert post(client, dossier, "submit_for_approval", {}, leader).status_code == 200
    response = post(client, dossier, "approve", {}, leader)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["code"] == "approver_is_handler"
    other_leader = make_user(Role.LEADER, demo_agency(), "Chủ tịch UBND phường")
    assert post(client, dossier, "approve", {}, other_leader).status_code == 200


def test_only_a_leader_approves(app, client):
    dossier = make_dossier(S.PENDING_APPROVAL, due_at=DUE, handler=demo_user(Role.LEADER))
    response = post(client, dossier, "approve", {}, demo_user(Role.STAFF))
    assert response.status_code == 403
    assert response.get_json()["type"] == "urn:motcua:problem:forbidden"


# --- Approval, then the result at the desk (issue 6 point 3) --------------------------------------------------

def _owned_by_a_citizen(dossier: Dossier) -> None:
    user = make_user(Role.CITIZEN, None, "Nguyễn Văn An")
    user.person = Person(full_name="Nguyễn Văn An", personal_id="001089012345")
    dossier.owner = dossier.submitter = user.person
    db.session.flush()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=user.id, role=FollowRole.OWNER))
    db.session.commit()


def _kinds(dossier: Dossier) -> list[str]:
    return list(db.session.scalars(select(InboxMessage.kind).where(InboxMessage.dossier_id == dossier.id)
                                   .order_by(InboxMessage.id)))


def test_approval_is_not_yet_the_result_the_desk_marks_it_ready(app, client):
    staff, leader = demo_user(Role.STAFF), demo_user(Role.LEADER)
    dossier = make_dossier(S.PENDING_APPROVAL, due_at=DUE, handler=staff, code="000.20.26.H26-261127-0011")
    _owned_by_a_citizen(dossier)

    response = post(client, dossier, "approve", {}, leader)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "approved" and body["national_status"] == 4
    assert body["allowed_actions"] == ["mark_result_ready"]
    assert body["processing_finished_at"] is None and body["timeliness"] is None
    assert _kinds(dossier) == []  # an internal step: the citizen has nothing to collect yet

    # The handler who drafted the result may carry it to the desk (no segregation rule here).
    response = post(client, dossier, "mark_result_ready", {}, staff)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "resolved" and body["national_status"] == 9
    assert body["processing_finished_at"] is not None and body["timeliness"] == "early"
    db.session.refresh(dossier)
    ready = dossier.events[-1]
    assert (ready.action, ready.from_state, ready.to_state) == ("mark_result_ready", "approved", "resolved")
    assert ready.data == {"timeliness": "early"}
    assert dossier.processing_finished_at == ready.occurred_at
    assert _kinds(dossier) == ["result_ready"]


@pytest.mark.parametrize(("role", "status"), [(Role.STAFF, 200), (Role.LEADER, 200), (Role.OFFICER, 403)])
def test_who_may_mark_the_result_ready(app, client, role, status):
    dossier = make_dossier(S.APPROVED, due_at=DUE, handler=demo_user(Role.STAFF))
    response = post(client, dossier, "mark_result_ready", {}, demo_user(role))
    assert response.status_code == status, response.get_json()
    db.session.refresh(dossier)
    assert dossier.state is (S.RESOLVED if status == 200 else S.APPROVED)


@pytest.mark.parametrize("action", ["mark_result_ready"])
@pytest.mark.parametrize("state", [S.IN_PROCESS, S.PENDING_APPROVAL, S.RESOLVED])
def test_the_result_is_marked_ready_only_once_approved(app, client, state, action):
    dossier = make_dossier(state, due_at=DUE)
    response = post(client, dossier, action, {}, demo_user(Role.STAFF))
    assert response.status_code == 409
    assert response.get_json()["state"] == state.value


def test_an_approved_result_can_no_longer_be_stopped_withdrawn_or_extended(app, client):
    dossier = make_dossier(S.APPROVED, due_at=DUE)
    payloads = {"stop": {"reason": "x"}, "withdraw": {"citizen_request": "Đơn"},
                "extend": {"reason": "x", "new_due_date": "2026-12-20"}}
    for action, payload in payloads.items():
        assert post(client, dossier, action, payload, demo_user(Role.STAFF)).status_code == 409, action


def test_the_return_stores_the_acknowledgement(app, client):
    dossier = make_dossier(S.RESOLVED, due_at=DUE)
    payload = {"delivery_mode": "post", "recipient_name": "Trần Thị Bình", "acknowledged": True}
    assert post(client, dossier, "return_result", payload, demo_user(Role.STAFF)).status_code == 200
    db.session.refresh(dossier)
    assert dossier.events[-1].data == {"delivery_mode": "post", "recipient_name": "Trần Thị Bình",
                                       "acknowledged": True}


def test_case_10_one_extension_and_late_apology(app, client):
    staff = demo_user(Role.STAFF)
    due = datetime(2026, 2, 26, 10, tzinfo=VN_TZ)
    dossier = make_dossier(S.IN_PROCESS, due_at=due)
    from server.dossiers.services import apply_action
    from server.dossiers.workflow import ActionRequest
    from server.dossiers.workflow import GuardFailed

    request = ActionRequest(actor_id=staff.id, actor_role="staff", reason="Chờ Sở Nội vụ xác minh",
                            new_due_date=datetime(2026, 3, 5).date())
    apply_action(dossier, Action.EXTEND, staff, request, now=datetime(2026, 2, 25, 9, tzinfo=VN_TZ))
    db.session.commit()
    assert dossier.extension_count == 1 and dossier.apology_late is False
    assert dossier.extended_due_at == dossier.due_at == datetime(2026, 3, 5, 10, tzinfo=VN_TZ)
    assert dossier.original_due_at == due
    with pytest.raises(GuardFailed) as refused:
        apply_action(dossier, Action.EXTEND, staff, request, now=datetime(2026, 2, 25, 10, tzinfo=VN_TZ))
    assert [f.code for f in refused.value.failures] == ["already_extended", "new_due_date_not_later"]

    late = make_dossier(S.IN_PROCESS, due_at=due)
    apply_action(late, Action.EXTEND, staff, request, now=datetime(2026, 2, 26, 15, tzinfo=VN_TZ))
    assert late.apology_late is True


def test_case_11_extension_does_not_launder_lateness(app):
    from server.dossiers.services import apply_action
    from server.dossiers.workflow import ActionRequest

    staff, leader = demo_user(Role.STAFF), demo_user(Role.LEADER)
    dossier = make_dossier(S.IN_PROCESS, due_at=datetime(2026, 2, 26, 10, tzinfo=VN_TZ))
    extend = ActionRequest(staff.id, "staff", reason="Chờ xác minh", new_due_date=datetime(2026, 3, 5).date())
    apply_action(dossier, Action.EXTEND, staff, extend, now=datetime(2026, 2, 24, 9, tzinfo=VN_TZ))
    apply_action(dossier, Action.SUBMIT_FOR_APPROVAL, staff, ActionRequest(staff.id, "staff"),
                 now=datetime(2026, 3, 3, 9, tzinfo=VN_TZ))
    apply_action(dossier, Action.APPROVE, leader, ActionRequest(leader.id, "leader"),
                 now=datetime(2026, 3, 4, 9, tzinfo=VN_TZ))
    apply_action(dossier, Action.MARK_RESULT_READY, staff, ActionRequest(staff.id, "staff"),
                 now=datetime(2026, 3, 4, 14, tzinfo=VN_TZ))
    db.session.commit()
    assert dossier.timeliness.value == "late"
    assert dossier.processing_finished_at <= dossier.extended_due_at  # the re-appointment itself was met


def test_case_12_supplement_restarts_the_clock(app):
    from server.dossiers.services import apply_action
    from server.dossiers.services import due_from
    from server.dossiers.workflow import ActionRequest

    staff = demo_user(Role.STAFF)
    dossier = make_dossier(S.IN_PROCESS, procedure_key="tro-cap-xa-hoi-hang-thang")
    version = dossier.procedure_version
    version.time_value, version.time_unit = 10, TimeUnit.WORKING_DAYS
    received = datetime(2026, 3, 2, 8, tzinfo=VN_TZ)
    dossier.due_at = dossier.original_due_at = due_from(version, dossier.agency, received)
    assert dossier.due_at == datetime(2026, 3, 16, 8, tzinfo=VN_TZ)
    apply_action(dossier, Action.REQUEST_SUPPLEMENT, staff, ActionRequest(
        staff.id, "staff", reason="Thiếu giấy xác nhận", items=("Giấy xác nhận khuyết tật",)),
        now=datetime(2026, 3, 6, 10, tzinfo=VN_TZ))
    assert dossier.national_status == 5 and dossier.supplement_count == 1
    apply_action(dossier, Action.RECORD_SUPPLEMENT, staff, ActionRequest(staff.id, "staff"),
                 now=datetime(2026, 3, 12, 9, tzinfo=VN_TZ))
    assert dossier.national_status == 4
    assert dossier.due_at == dossier.original_due_at == datetime(2026, 3, 26, 9, tzinfo=VN_TZ)


def test_case_12_pause_adds_the_remaining_time(app):
    from server.dossiers.services import apply_action
    from server.dossiers.workflow import ActionRequest
    from server.reference.models import SupplementClock

    staff = demo_user(Role.STAFF)
    dossier = make_dossier(S.IN_PROCESS, due_at=datetime(2026, 3, 16, 8, tzinfo=VN_TZ))
    dossier.procedure_version.supplement_clock = SupplementClock.PAUSE
    apply_action(dossier, Action.REQUEST_SUPPLEMENT, staff, ActionRequest(
        staff.id, "staff", reason="Thiếu giấy", items=("Giấy xác nhận",)), now=datetime(2026, 3, 6, 10, tzinfo=VN_TZ))
    apply_action(dossier, Action.RECORD_SUPPLEMENT, staff, ActionRequest(staff.id, "staff"),
                 now=datetime(2026, 3, 12, 9, tzinfo=VN_TZ))
    # Paused Fri 6 Mar with Mon 9 .. Mon 16 left = 6 working days; from Thu 12 Mar 09:00 → Fri 20 Mar 09:00.
    assert dossier.due_at == datetime(2026, 3, 20, 9, tzinfo=VN_TZ)


def test_other_ward_is_refused(app, client):
    from server.reference.models import Agency

    other = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other)
    db.session.commit()
    stranger = make_user(Role.STAFF, other, "Công chức phường khác")
    dossier = make_dossier(S.RECEIVED, due_at=DUE)
    response = post(client, dossier, "transfer", {}, stranger)
    assert response.status_code == 403
    assert dossier.state is S.RECEIVED


def test_unknown_action_and_dossier_are_404(app, client):
    dossier = make_dossier(S.RECEIVED, due_at=DUE)
    assert post(client, dossier, "teleport", {}, demo_user(Role.STAFF)).status_code == 404
    token = sign_in(client, demo_user(Role.STAFF))
    response = client.post("/api/v1/dossiers/999999/actions/transfer", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "payload",
    [
        {"reason": 5},
        {"items": "one"},
        {"new_due_date": "next week"},
        {"amount_vnd": "10000"},
        {"delivery_mode": "pigeon"},
        {"unknown_field": 1},
        ["not", "an object"],
    ],
)
def test_malformed_payload_is_400_not_500(app, client, payload):
    dossier = make_dossier(S.IN_PROCESS, due_at=DUE)
    response = post(client, dossier, "extend", payload, demo_user(Role.STAFF))
    assert response.status_code == 400, response.get_json()
    assert response.mimetype == "application/problem+json"


def test_write_without_csrf_token_is_refused(app, client):
    dossier = make_dossier(S.RECEIVED, due_at=DUE)
    sign_in(client, demo_user(Role.STAFF))
    response = client.post(f"/api/v1/dossiers/{dossier.id}/actions/transfer", json={})
    assert response.status_code == 400
    assert response.get_json()["type"] == "urn:motcua:problem:csrf"
    assert dossier.state is S.RECEIVED


def test_anonymous_is_401_and_admin_is_403(app, client):
    dossier = make_dossier(S.RECEIVED, due_at=DUE)
    assert client.post(f"/api/v1/dossiers/{dossier.id}/actions/transfer", json={}).status_code == 401
    response = post(client, dossier, "transfer", {}, demo_user(Role.ADMIN))
    assert response.status_code == 403


def test_events_are_append_only_in_the_database(app):
    from sqlalchemy import text

    dossier = make_dossier(S.RECEIVED, due_at=DUE)
    from server.dossiers.services import append_event

    append_event(dossier, "receive", S.DRAFT, None)
    db.session.commit()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("UPDATE dossier_event SET reason = 'rewritten'"))
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("DELETE FROM dossier_event"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(DossierEvent)) == 1



def test_case_7_same_day_procedures_need_no_receipt_slip_unless_asked(app):
    from server.dossiers.services import receipt_slip_required
    from tests.helpers import procedure

    certification = procedure("chung-thuc-chu-ky").versions[-1]
    allowance = procedure("tro-cap-xa-hoi-hang-thang").versions[-1]
    assert receipt_slip_required(certification, citizen_requested=False) is False
    assert receipt_slip_required(certification, citizen_requested=True) is True
    assert receipt_slip_required(allowance, citizen_requested=False) is True
