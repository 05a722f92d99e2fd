"""Inter-agency chains (liên thông, issue 15 point 2 and the per-step part of point 6): steps with their own working-day
deadlines, hand-overs between units, a step's lateness attributed to the unit that held it, and Mẫu 06.

The chain of the tests: the ward receives and checks (1 working day), Sở Nội vụ decides (3), the ward returns the
result (1). Received Wed 29 Apr 2026 09:00: 30 Apr and 1 May are holidays and 2-3 May a weekend, so the ward's first
step is due Mon 4 May 09:00.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.models import Dossier
from server.dossiers.models import ReceptionMode
from server.dossiers.services import NewDossier
from server.dossiers.services import apply_action
from server.dossiers.services import receive
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.extensions import db
from server.forms.issue import control_sheet
from server.interagency import services as chains
from server.interagency.models import DossierHandover
from server.interagency.models import HandoverKind
from server.interagency.models import StepStatus
from server.people.models import Person
from server.reference.models import Agency
from server.reference.models import ProcedureStep
from server.reference.models import StepHolder
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import procedure
from tests.helpers import sign_in

PROCEDURE = "tro-cap-xa-hoi-hang-thang"
HOME_AFFAIRS = "000.00.26.H26-SNV"
HEALTH = "000.00.26.H26-SYT"
RECEIVED = datetime(2026, 4, 29, 9, 0, tzinfo=VN_TZ)


def at(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN_TZ)


def _department(code: str, name: str, in_system: bool) -> Agency:
    agency = Agency(agency_code=code, name_vi=name, name_en=name, in_system=in_system, ministry="BNV",
                    is_one_stop=False)
    db.session.add(agency)
    db.session.flush()
    return agency


def _version(competent_code: str, steps: bool = True):
    version = procedure(PROCEDURE).version_at(RECEIVED.date())
    version.competent_agency_code = competent_code
    if steps:
        version.steps = [
            ProcedureStep(position=1, holder=StepHolder.RECEIVING, working_days=1,
                          name_vi="Tiếp nhận, kiểm tra, chuyển hồ sơ", name_en="Receive, check and send"),
            ProcedureStep(position=2, holder=StepHolder.AGENCY, agency_code=competent_code, working_days=3,
                          name_vi="Thẩm định, quyết định", name_en="Appraise and decide"),
            ProcedureStep(position=3, holder=StepHolder.RECEIVING, working_days=1,
                          name_vi="Trả kết quả", name_en="Return the result"),
        ]
    db.session.flush()
    return version


def _receive(version) -> Dossier:
    person = Person(full_name="Nguyễn Thị Hường", phone_e164="+84912345678")
    dossier = receive(NewDossier(
        procedure_version=version, agency=demo_agency(), owner=person, submitter=person,
        received_by=demo_user(Role.OFFICER), received_at=RECEIVED, reception_mode=ReceptionMode.HOME_VISIT,
        provided_document_ids=frozenset(d.id for d in version.required_documents)))
    db.session.commit()
    return dossier


def _act(dossier: Dossier, action: Action, when: datetime, user=None, **fields) -> None:
    user = user or demo_user(Role.STAFF)
    apply_action(dossier, action, user, ActionRequest(actor_id=user.id, actor_role=user.role.value, **fields),
                 now=when)
    db.session.commit()


def _post(client, url: str, token: str, **form):
    return client.post(url, data={"csrf_token": token, **form})


def _handovers(dossier: Dossier) -> list[tuple]:
    return [(h.kind, h.from_agency_id, h.to_agency_id, h.occurred_at, h.reference)
            for h in chains.handovers_of(dossier)]


def _rows(content: dict) -> list[list[str]]:
    return next(b for b in content["blocks"] if b["type"] == "table")["rows"]


def _field(content: dict, label: str) -> str:
    return next(b["value"] for b in content["blocks"] if b["type"] == "field" and b["label"] == label)


@pytest.fixture
def outside_chain(app):
    department = _department(HOME_AFFAIRS, "Sở Nội vụ thành phố Hà Nội", in_system=False)
    dossier = _receive(_version(HOME_AFFAIRS))
    return dossier, department


def test_a_chain_through_a_department_outside_the_system(app, client, outside_chain):
    dossier, department = outside_chain
    ward = demo_agency()
    steps = chains.steps_of(dossier)
    assert [(s.position, s.agency_id, s.working_days, s.status) for s in steps] == [
        (1, ward.id, 1, StepStatus.ACTIVE), (2, department.id, 3, StepStatus.WAITING),
        (3, ward.id, 1, StepStatus.WAITING)]
    # Step 1 runs from the legal receipt time, over the holidays of 30 Apr and 1 May and the weekend.
    assert steps[0].started_at == RECEIVED and steps[0].due_at == at(4, 9)
    assert dossier.holder_agency_id == ward.id

    _act(dossier, Action.TRANSFER, at(4, 10))
    db.session.refresh(dossier)
    steps = chains.steps_of(dossier)
    assert (steps[0].status, steps[0].finished_at, steps[0].timeliness.value) == (StepStatus.DONE, at(4, 10),
                                                                                   "on_time")
    assert (steps[1].status, steps[1].started_at, steps[1].due_at) == (StepStatus.ACTIVE, at(4, 10), at(7, 10))
    assert dossier.holder_agency_id == department.id
    assert _handovers(dossier) == [(HandoverKind.SENT, ward.id, department.id, at(4, 10), None)]

    # The department is outside the system: the desk that sent the dossier records what it did.
    staff = demo_user(Role.STAFF)
    token = sign_in(client, staff)
    url = f"/staff/dossiers/{dossier.id}/handovers/record"
    page = client.get(f"/staff/dossiers/{dossier.id}")
    assert page.status_code == 200 and 'id="handover-record"' in page.get_data(as_text=True)
    response = _post(client, url, token, kind="acknowledged", occurred_at="2026-05-04T15:30", reference="88/SNV")
    assert response.status_code == 302
    response = _post(client, url, token, kind="result_received", occurred_at="2026-05-08T14:00",
                     reference="123/QĐ-SNV", note="Quyết định hưởng trợ cấp")
    assert response.status_code == 302

    db.session.expire_all()
    assert _handovers(dossier) == [
        (HandoverKind.SENT, ward.id, department.id, at(4, 10), None),
        (HandoverKind.ACKNOWLEDGED, ward.id, department.id, at(4, 15, 30), "88/SNV"),
        (HandoverKind.RESULT_RECEIVED, department.id, ward.id, at(8, 14), "123/QĐ-SNV"),
    ]
    assert all(h.recorded_by_id == staff.id for h in chains.handovers_of(dossier)[1:])
    steps = chains.steps_of(dossier)
    # Three working days from Mon 4 May 10:00 end on Thu 7 May: the result of Fri 8 May is the department's delay.
    assert (steps[1].finished_at, steps[1].timeliness.value) == (at(8, 14), "late")
    assert (steps[2].status, steps[2].started_at, steps[2].due_at) == (StepStatus.ACTIVE, at(8, 14), at(11, 14))
    assert dossier.holder_agency_id == ward.id

    # The lifecycle goes on at the ward; the result at the one-stop finds the chain already at its last step.
    _act(dossier, Action.SUBMIT_FOR_APPROVAL, at(8, 14, 30))
    _act(dossier, Action.APPROVE, at(8, 14, 45), demo_user(Role.LEADER))
    _act(dossier, Action.MARK_RESULT_READY, at(8, 15))
    assert len(chains.handovers_of(dossier)) == 3
    _act(dossier, Action.RETURN_RESULT, at(8, 16), delivery_mode="home", recipient_name="Nguyễn Thị Hường",
         acknowledged=True)
    steps = chains.steps_of(dossier)
    assert [(s.status, s.timeliness.value) for s in steps] == [
        (StepStatus.DONE, "on_time"), (StepStatus.DONE, "late"), (StepStatus.DONE, "early")]

    # The lateness is the department's, not the ward's.
    assert chains.step_timeliness_by_agency(at(1, 0), at(1, 0, month=6)) == {
        ward.id: {"early": 1, "on_time": 1, "late": 0},
        department.id: {"early": 0, "on_time": 0, "late": 1},
    }
    assert chains.step_timeliness_by_agency(at(1, 0, month=6), at(1, 0, month=7)) == {}
    stats = client.get("/staff/stats?period=custom&start=2026-05-01&end=2026-05-31")
    assert stats.status_code == 200
    table = stats.get_data(as_text=True).split('id="step-timeliness-table"')[1].split("</table>")[0]
    department_row = table.split(f'data-agency="{department.agency_code}"')[1].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in department_row.split("<td>")[1:]] == ["0", "0", "1"]

    # Mẫu 06: each hand-over with its time and the giver's step judged; each step under the unit that held it.
    content = control_sheet(dossier)
    assert _field(content, "Cơ quan (bộ phận) giải quyết hồ sơ") == department.name_vi
    assert _field(content, "Cơ quan phối hợp giải quyết hồ sơ") == ward.name_vi
    rows = _rows(content)
    by_note = {row[4].split(" – ")[0].split(".")[0]: row for row in rows}
    sent = by_note["Chuyển hồ sơ"]
    assert sent[1:4] == [f"Giao: {ward.name_vi}; nhận: {department.name_vi}",
                         "10 giờ 00 phút, ngày 04 tháng 05 năm 2026", "Đúng hạn"]
    acknowledged = by_note["Xác nhận đã nhận hồ sơ"]
    assert acknowledged[2:4] == ["15 giờ 30 phút, ngày 04 tháng 05 năm 2026", ""]
    result = by_note["Nhận kết quả giải quyết"]
    assert result[1:4] == [f"Giao: {department.name_vi}; nhận: {ward.name_vi}",
                           "14 giờ 00 phút, ngày 08 tháng 05 năm 2026", "Quá hạn"]
    assert "Số: 123/QĐ-SNV" in result[4]
    assert by_note["Trả kết quả cho công dân"][1] == ward.name_vi
    assert by_note["Trả kết quả cho công dân"][3] == "Trước hạn"
    assert [row[0] for row in rows] == [str(n) for n in range(1, len(rows) + 1)]
    assert [row[1] for row in rows if row[4].startswith("Chuyển hồ sơ đến bộ phận")] == [ward.name_vi]

    pdf = client.get(f"/staff/dossiers/{dossier.id}/forms/control_sheet.pdf")
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages).split())
    for expected in ("Sở Nội vụ thành phố Hà Nội", "Nhận kết quả giải quyết", "Số: 123/QĐ-SNV", "Quá hạn",
                     "14 giờ 00 phút, ngày 08 tháng 05 năm 2026", "Trước hạn"):
        assert expected in text, expected

    page = client.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    assert 'id="chain-steps"' in page and 'data-timeliness="late"' in page and 'id="handover-record"' not in page


def test_a_department_in_the_system_acknowledges_in_its_own_name(app, client):
    department = _department(HEALTH, "Sở Y tế thành phố Hà Nội", in_system=True)
    ward = demo_agency()
    # No steps: the version only names the deciding unit; the hand-overs are recorded all the same.
    dossier = _receive(_version(HEALTH, steps=False))
    assert chains.steps_of(dossier) == [] and dossier.holder_agency_id == ward.id
    _act(dossier, Action.TRANSFER, at(4, 10))
    db.session.refresh(dossier)
    assert dossier.holder_agency_id == department.id
    assert _handovers(dossier) == [(HandoverKind.SENT, ward.id, department.id, at(4, 10), None)]

    ward_client = app.test_client()
    ward_token = sign_in(ward_client, demo_user(Role.STAFF))
    url = f"/staff/dossiers/{dossier.id}/handovers"
    # The ward can neither acknowledge in the department's name nor record for a unit that records itself.
    assert _post(ward_client, f"{url}/acknowledge", ward_token).status_code == 403
    refused = _post(ward_client, f"{url}/record", ward_token, kind="acknowledged")
    assert refused.status_code == 409 and "tự xác nhận" in refused.get_data(as_text=True)

    clerk = make_user(Role.STAFF, department, "Công chức Sở Y tế")
    token = sign_in(client, clerk)
    assert _post(client, f"{url}/acknowledge", token).status_code == 302
    assert _post(client, f"{url}/acknowledge", token).status_code == 409  # twice
    db.session.expire_all()
    acknowledged = chains.handovers_of(dossier)[-1]
    assert (acknowledged.kind, acknowledged.recorded_by_id, acknowledged.to_agency_id) == (
        HandoverKind.ACKNOWLEDGED, clerk.id, department.id)

    # The department's own staff take the result to the one-stop: the result's hand-over back to the ward.
    _act(dossier, Action.SUBMIT_FOR_APPROVAL, at(6, 9), clerk)
    _act(dossier, Action.APPROVE, at(6, 10), make_user(Role.LEADER, department, "Giám đốc Sở Y tế"))
    _act(dossier, Action.MARK_RESULT_READY, at(6, 11), clerk)
    db.session.refresh(dossier)
    assert dossier.holder_agency_id == ward.id
    assert _handovers(dossier)[-1] == (HandoverKind.RESULT_RECEIVED, department.id, ward.id, at(6, 11), None)
    content = control_sheet(dossier)
    assert _field(content, "Cơ quan (bộ phận) giải quyết hồ sơ") == department.name_vi
    approve = next(row for row in _rows(content) if row[4].startswith("Phê duyệt kết quả"))
    assert approve[1] == department.name_vi  # the step under the unit that held the dossier then


def test_a_dossier_without_a_chain_keeps_its_sheet(app):
    dossier = _receive(procedure(PROCEDURE).version_at(RECEIVED.date()))
    _act(dossier, Action.TRANSFER, at(4, 10))
    assert chains.handovers_of(dossier) == [] and chains.steps_of(dossier) == []
    content = control_sheet(dossier)
    assert _field(content, "Cơ quan phối hợp giải quyết hồ sơ") == "………………"
    assert [row[0] for row in _rows(content)] == [str(e.seq) for e in dossier.events]


def test_hand_overs_refused_out_of_order_twice_or_on_someone_elses_dossier(app, client, outside_chain):
    dossier, department = outside_chain
    staff = demo_user(Role.STAFF)
    token = sign_in(client, staff)
    url = f"/staff/dossiers/{dossier.id}/handovers/record"
    before_sent = _post(client, url, token, kind="acknowledged")
    assert before_sent.status_code == 409 and "chưa được chuyển" in before_sent.get_data(as_text=True)

    _act(dossier, Action.TRANSFER, at(4, 10))
    result_first = _post(client, url, token, kind="result_received", reference="1/SNV")
    assert result_first.status_code == 409
    for form in ({"kind": "sent"}, {"kind": "nonsense"}, {"kind": "acknowledged", "occurred_at": "hôm qua"},
                 {"kind": "acknowledged", "occurred_at": "2026-05-04T09:00"},  # before it was sent
                 {"kind": "acknowledged", "occurred_at": "2099-01-01T09:00"},  # in the future
                 {"kind": "acknowledged", "reference": "x" * 121}):
        assert _post(client, url, token, **form).status_code == 422, form
    assert client.post(url, data={"kind": "acknowledged"}).status_code == 400  # no CSRF token
    assert _post(client, url, token, kind="acknowledged").status_code == 302
    assert _post(client, url, token, kind="acknowledged").status_code == 409  # twice
    assert _post(client, url, token, kind="result_received").status_code == 422  # without the reference
    assert _post(client, url, token, kind="result_received", reference="2/SNV").status_code == 302
    assert _post(client, url, token, kind="result_received", reference="2/SNV").status_code == 409  # twice

    # Another ward's desk, the department's staff, and a dossier that does not exist: as if it did not exist.
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    stranger = app.test_client()
    stranger_token = sign_in(stranger, make_user(Role.STAFF, other_ward, "Công chức phường khác"))
    assert _post(stranger, url, stranger_token, kind="acknowledged").status_code == 404
    assert _post(stranger, f"/staff/dossiers/{dossier.id}/handovers/acknowledge", stranger_token).status_code == 404
    assert _post(client, "/staff/dossiers/999999/handovers/record", token, kind="acknowledged").status_code == 404
    kinds = db.session.scalars(select(DossierHandover.kind).where(DossierHandover.dossier_id == dossier.id)
                               .order_by(DossierHandover.id))
    assert list(kinds) == [HandoverKind.SENT, HandoverKind.ACKNOWLEDGED, HandoverKind.RESULT_RECEIVED]


def test_a_stopped_dossier_ends_its_chain_without_judging_the_step(app, outside_chain):
    dossier, department = outside_chain
    _act(dossier, Action.TRANSFER, at(4, 10))
    _act(dossier, Action.STOP, at(12, 10), reason="Không đủ điều kiện hưởng")
    steps = chains.steps_of(dossier)
    assert (steps[1].status, steps[1].finished_at, steps[1].timeliness) == (StepStatus.DONE, at(12, 10), None)
    assert steps[2].status is StepStatus.WAITING
    assert department.id not in chains.step_timeliness_by_agency(at(1, 0), at(1, 0, month=6))


def test_the_demo_carries_one_chained_procedure(app):
    from server.demo import DEMO_CHAIN_PROCEDURE
    from server.demo import DEMO_DEPARTMENT_CODE

    department = Agency.by_code(DEMO_DEPARTMENT_CODE)
    assert department is not None and not department.in_system
    dossier = _receive(procedure(DEMO_CHAIN_PROCEDURE).version_at(RECEIVED.date()))
    steps = chains.steps_of(dossier)
    assert [(s.agency_id, s.working_days) for s in steps] == [
        (demo_agency().id, 1), (department.id, 12), (demo_agency().id, 2)]
    assert steps[0].due_at == at(4, 9)


@pytest.mark.parametrize("clock", ["restart", "pause"])
def test_a_supplement_moves_the_active_steps_due_date_as_the_dossiers(app, outside_chain, clock):
    from server.reference.models import SupplementClock

    dossier, _department = outside_chain
    dossier.procedure_version.supplement_clock = SupplementClock(clock)
    db.session.commit()
    _act(dossier, Action.TRANSFER, at(4, 10))  # step 2 due Thu 7 May 10:00
    _act(dossier, Action.REQUEST_SUPPLEMENT, at(5, 9), reason="Thiếu giấy tờ", items=("Trích lục khai tử",))
    _act(dossier, Action.RECORD_SUPPLEMENT, at(11, 9))
    step = chains.steps_of(dossier)[1]
    # Restart: three working days from Mon 11 May 09:00. Pause: the two left on Tue 5 May (6 and 7 May) run again.
    assert step.due_at == (at(14, 9) if clock == "restart" else at(13, 9))


def test_the_result_at_the_one_stop_moves_a_chain_the_desk_did_not_move(app, outside_chain):
    dossier, department = outside_chain
    _act(dossier, Action.TRANSFER, at(4, 10))
    _act(dossier, Action.SUBMIT_FOR_APPROVAL, at(5, 9))
    _act(dossier, Action.APPROVE, at(5, 10), demo_user(Role.LEADER))
    _act(dossier, Action.MARK_RESULT_READY, at(6, 11))
    db.session.refresh(dossier)
    steps = chains.steps_of(dossier)
    assert [(s.status, s.timeliness.value if s.timeliness else None) for s in steps] == [
        (StepStatus.DONE, "on_time"), (StepStatus.DONE, "early"), (StepStatus.ACTIVE, None)]
    assert _handovers(dossier)[-1] == (HandoverKind.RESULT_RECEIVED, department.id, demo_agency().id, at(6, 11),
                                       None)
    assert dossier.holder_agency_id == demo_agency().id
