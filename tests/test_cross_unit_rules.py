"""Issue 15 point 6: the hidden rules of DOMAIN.md §2, §3 and §11 hold for a dossier that crosses units and a chain.

One dossier lives it all, through the services: received at home by the demo ward (Thu 12 Feb 2026 10:00, the day
before Tết), decided by a department outside the system through the chain ward (1 working day) → department (3) →
ward (1), re-appointed once, its result finished after the original due date. The statutory deadline, its
timeliness, each step's, and the periodic report of both months are checked on the receiving and on the competent
basis: the unit a dossier counts for changes with the basis, its figures never do.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.models import Dossier
from server.dossiers.models import ReceptionMode
from server.dossiers.models import Timeliness
from server.dossiers.services import NewDossier
from server.dossiers.services import apply_action
from server.dossiers.services import receive
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.extensions import db
from server.forms.issue import control_sheet
from server.interagency import services as chains
from server.interagency.models import HandoverKind
from server.people.models import Person
from server.reference.models import Agency
from server.reference.models import ProcedureStep
from server.reference.models import StepHolder
from server.reference.models import TimeUnit
from server.stats.service import UnitBasis
from server.stats.service import report
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import procedure

PROCEDURE = "tro-cap-xa-hoi-hang-thang"
DEPARTMENT = "000.00.26.H26-XUR"
FEBRUARY = (date(2026, 2, 1), date(2026, 2, 28))
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def vn(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN_TZ)


def _chained_dossier() -> tuple[Dossier, Agency]:
    department = Agency(agency_code=DEPARTMENT, name_vi="Sở Nội vụ (thử)", name_en="Home Affairs (test)",
                        in_system=False, is_one_stop=False, ministry="BNV")
    db.session.add(department)
    version = procedure(PROCEDURE).version_at(date(2026, 2, 12))
    version.time_value, version.time_unit = 5, TimeUnit.WORKING_DAYS  # DOMAIN.md §11 case 1
    version.competent_agency_code = DEPARTMENT
    version.steps = [
        ProcedureStep(position=1, holder=StepHolder.RECEIVING, working_days=1, name_vi="Tiếp nhận", name_en="Receive"),
        ProcedureStep(position=2, holder=StepHolder.COMPETENT, working_days=3, name_vi="Quyết định", name_en="Decide"),
        ProcedureStep(position=3, holder=StepHolder.RECEIVING, working_days=1, name_vi="Trả", name_en="Return"),
    ]
    db.session.flush()
    person = Person(full_name="Lê Thị Tết", phone_e164="+84912000111")
    dossier = receive(NewDossier(
        procedure_version=version, agency=demo_agency(), owner=person, submitter=person,
        received_by=demo_user(Role.OFFICER), received_at=vn(2, 12, 10), reception_mode=ReceptionMode.HOME_VISIT,
        provided_document_ids=frozenset(d.id for d in version.required_documents)))
    db.session.commit()
    return dossier, department


def _act(dossier: Dossier, action: Action, when: datetime, role: Role = Role.STAFF, **fields) -> None:
    user = demo_user(role)
    apply_action(dossier, action, user, ActionRequest(actor_id=user.id, actor_role=user.role.value, **fields),
                 now=when)
    db.session.commit()


def _figures(period, agency: Agency, basis: UnitBasis, today: date) -> dict[str, int]:
    counts = report(*period, [agency.id], basis=basis, today=today).totals
    return {"carried_over": counts.carried_over, "received": counts.received, "total": counts.total,
            "early": counts.resolved_early, "on_time": counts.resolved_on_time, "late": counts.resolved_late,
            "in_progress_on_time": counts.in_progress_on_time, "in_progress_overdue": counts.in_progress_overdue}


NOTHING = dict.fromkeys(("carried_over", "received", "total", "early", "on_time", "late", "in_progress_on_time",
                         "in_progress_overdue"), 0)


def test_a_chained_dossier_for_a_department_keeps_the_deadline_timeliness_and_report_rules(app):
    dossier, department = _chained_dossier()
    ward = demo_agency()
    assert (dossier.agency_id, dossier.competent_agency_id, dossier.holder_agency_id) == (
        ward.id, department.id, ward.id)
    # §11 case 1: five working days over Tết Bính Ngọ (14-22 February off) end on Thu 26 February at 10:00.
    assert dossier.due_at == dossier.original_due_at == vn(2, 26, 10)
    steps = chains.steps_of(dossier)
    assert steps[0].due_at == vn(2, 13, 10)  # the ward's own step: one working day, Friday before Tết

    _act(dossier, Action.TRANSFER, vn(2, 13, 9))
    steps = chains.steps_of(dossier)
    assert steps[0].timeliness is Timeliness.ON_TIME  # sent on the day it was due (day granularity, §2.5)
    # The department's three working days start after Tết: Mon 23, Tue 24, Wed 25 February.
    assert steps[1].due_at == vn(2, 25, 9)

    # §11 case 10: the apology and new date, once; the report still judges against the original date (case 11).
    _act(dossier, Action.EXTEND, vn(2, 25, 9), reason="Sở Nội vụ chưa có kết quả thẩm định",
         new_due_date=date(2026, 3, 5))
    assert dossier.original_due_at == vn(2, 26, 10) and dossier.extended_due_at is not None

    # February's report, run on 28 February: received in February and overdue against the original date, for the
    # ward on the receiving basis and for the department on the competent one, and for nobody else.
    end_of_february = date(2026, 2, 28)
    in_february = {**NOTHING, "received": 1, "total": 1, "in_progress_overdue": 1}
    assert _figures(FEBRUARY, ward, UnitBasis.RECEIVING, end_of_february) == in_february
    assert _figures(FEBRUARY, department, UnitBasis.COMPETENT, end_of_february) == in_february
    assert _figures(FEBRUARY, ward, UnitBasis.COMPETENT, end_of_february) == NOTHING
    assert _figures(FEBRUARY, department, UnitBasis.RECEIVING, end_of_february) == NOTHING

    staff = demo_user(Role.STAFF)
    chains.record_outside(dossier, HandoverKind.ACKNOWLEDGED, staff, vn(2, 13, 15), reference="12/SNV", note=None)
    chains.record_outside(dossier, HandoverKind.RESULT_RECEIVED, staff, vn(3, 3, 10), reference="45/QĐ-SNV",
                          note=None)
    db.session.commit()
    _act(dossier, Action.SUBMIT_FOR_APPROVAL, vn(3, 3, 11))
    _act(dossier, Action.APPROVE, vn(3, 3, 14), Role.LEADER)
    _act(dossier, Action.MARK_RESULT_READY, vn(3, 4, 9))
    _act(dossier, Action.RETURN_RESULT, vn(3, 4, 15), delivery_mode="home", recipient_name="Lê Thị Tết",
         acknowledged=True)
    db.session.refresh(dossier)
    # §11 case 11: finished 4 March, within the new date of 5 March, but late against 26 February.
    # The ward's last step ran from the result's arrival (Tue 3 March 10:00) for one working day: returned on the 4th.
    assert dossier.timeliness is Timeliness.LATE

    # The lateness is the department's step; the ward's two steps were in time (§2.5, day granularity).
    steps = chains.steps_of(dossier)
    assert steps[1].timeliness is Timeliness.LATE and steps[1].agency_id == department.id
    assert (steps[0].timeliness, steps[2].timeliness) == (Timeliness.ON_TIME, Timeliness.ON_TIME)
    by_agency = chains.step_timeliness_by_agency(vn(2, 1, 0), vn(4, 1, 0))
    assert by_agency[department.id] == {"early": 0, "on_time": 0, "late": 1}
    assert by_agency[ward.id] == {"early": 0, "on_time": 2, "late": 0}

    # §11 case 16: March carries it over from February and counts it resolved, late, for the unit of the basis.
    in_march = {**NOTHING, "carried_over": 1, "total": 1, "late": 1}
    today = date(2026, 4, 10)
    assert _figures(MARCH, ward, UnitBasis.RECEIVING, today) == in_march
    assert _figures(MARCH, department, UnitBasis.COMPETENT, today) == in_march
    assert _figures(MARCH, ward, UnitBasis.COMPETENT, today) == NOTHING

    # Mẫu 06: the department's hand-over row is judged late, the ward's transfer is not.
    rows = next(b for b in control_sheet(dossier)["blocks"] if b["type"] == "table")["rows"]
    sent = [row[3] for row in rows if row[1] == f"Giao: {ward.name_vi}; nhận: {department.name_vi}"]
    came_back = [row[3] for row in rows if row[1] == f"Giao: {department.name_vi}; nhận: {ward.name_vi}"]
    assert sent == ["Đúng hạn", ""]  # the transfer judged; the department's acknowledgement is not a step's end
    assert came_back == ["Quá hạn"]
