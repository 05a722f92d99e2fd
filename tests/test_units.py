"""Issue 15 point 1: a dossier's receiving unit, competent unit and holding unit; who sees and acts on it; the
statistics cut by either unit (DOMAIN.md §3.1 stays exact across units); the demo's province."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.demo import DEMO_DEPARTMENTS
from server.demo import DEMO_SECOND_WARD
from server.dossiers.models import Dossier
from server.dossiers.models import Timeliness
from server.dossiers.workflow import Action
from server.dossiers.workflow import State
from server.extensions import db
from server.interagency.units import UnitRefused
from server.interagency.units import competent_agency_for
from server.interagency.units import may_act
from server.interagency.units import may_view
from server.reference.models import AdministrativeUnit
from server.reference.models import Agency
from server.reference.models import UnitLevel
from server.stats.service import UnitBasis
from server.stats.service import attention
from server.stats.service import report
from tests.desk_support import PROCEDURE_KEY
from tests.desk_support import synced_dossier
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import procedure
from tests.helpers import sign_in
from tests.test_sync_api import captured
from tests.test_sync_api import officer_client
from tests.test_sync_api import put

SO_NOI_VU, SO_Y_TE = (code for code, *_rest in DEMO_DEPARTMENTS)


def second_ward() -> Agency:
    return Agency.by_code(DEMO_SECOND_WARD[0])


def foreign_ward() -> Agency:
    """A ward of another province (Đà Nẵng's code 48 here)."""
    province = AdministrativeUnit(code="48", name="Thành phố Đà Nẵng", level=UnitLevel.PROVINCE)
    ward = AdministrativeUnit(code="20194-test", name="Phường Hải Châu", level=UnitLevel.WARD, parent_code="48")
    agency = Agency(agency_code="000.20.01.H48", name_vi="Bộ phận Một cửa – phường Hải Châu",
                    name_en="Hai Chau ward", administrative_unit=ward)
    db.session.add_all([province, ward, agency])
    db.session.commit()
    return agency


def third_ward() -> Agency:
    """A ward of the same province that has nothing to do with the dossiers of these tests."""
    ward = AdministrativeUnit(code="00002-test", name="Phường Bạch Mai", level=UnitLevel.WARD, parent_code="01")
    agency = Agency(agency_code="000.20.46.H26", name_vi="Bộ phận Một cửa – phường Bạch Mai",
                    name_en="Bach Mai ward", administrative_unit=ward)
    db.session.add_all([ward, agency])
    db.session.commit()
    return agency


# --- the rule ------------------------------------------------------------------------------------------------


def test_the_version_decides_first_then_the_ward_the_dossier_is_for(app):
    version = procedure(PROCEDURE_KEY).versions[-1]
    receiving, other = demo_agency(), second_ward()
    assert competent_agency_for(version, receiving) is receiving
    assert competent_agency_for(version, receiving, receiving) is receiving
    assert competent_agency_for(version, receiving, other) is other
    with pytest.raises(UnitRefused) as refused:  # a department is not a ward the person may live in
        competent_agency_for(version, receiving, Agency.by_code(SO_NOI_VU))
    assert refused.value.code == "not_a_ward_of_province" and refused.value.status == 422
    with pytest.raises(UnitRefused):  # receipt regardless of boundary stops at the province's
        competent_agency_for(version, receiving, foreign_ward())

    version.competent_agency_code = SO_NOI_VU
    assert competent_agency_for(version, receiving).agency_code == SO_NOI_VU
    assert competent_agency_for(version, receiving, other).agency_code == SO_NOI_VU  # whatever ward was chosen
    version.competent_agency_code = "000.00.98.H26"
    with pytest.raises(UnitRefused) as unknown:
        competent_agency_for(version, receiving)
    assert unknown.value.code == "competent_agency_unknown"
    assert "000.00.98.H26" in unknown.value.vi


# --- the phone's sync ----------------------------------------------------------------------------------------


def _sync(app, **changes):
    client, token = officer_client(app)
    return put(client, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(None, [], **changes))


def test_a_dossier_with_no_ward_chosen_is_decided_and_held_where_it_was_received(app):
    response = _sync(app)
    assert response.status_code == 201, response.get_json()
    dossier = db.session.get(Dossier, response.get_json()["id"])
    ward = demo_agency()
    assert (dossier.agency_id, dossier.competent_agency_id, dossier.holder_agency_id) == (ward.id,) * 3
    assert response.get_json()["units"] == {"receiving": ward.agency_code, "competent": ward.agency_code,
                                            "holder": ward.agency_code}


def test_the_officer_receives_for_a_resident_of_another_ward(app):
    response = _sync(app, competent_agency_code=DEMO_SECOND_WARD[0])
    assert response.status_code == 201, response.get_json()
    dossier = db.session.get(Dossier, response.get_json()["id"])
    assert dossier.agency_id == demo_agency().id  # received, coded and numbered here
    assert dossier.code.startswith(demo_agency().agency_code)
    assert dossier.competent_agency_id == second_ward().id
    assert dossier.holder_agency_id == demo_agency().id  # until a hand-over moves it
    assert response.get_json()["units"]["competent"] == DEMO_SECOND_WARD[0]


@pytest.mark.parametrize(("code", "error"), [
    ("000.00.77.H26", "unknown"),  # nobody has it
    (SO_NOI_VU, "not_a_ward_of_province"),  # a department, not a ward
    ("", None), (None, None),  # nothing chosen: the receiving ward
])
def test_the_chosen_ward_is_checked(app, code, error):
    response = _sync(app, competent_agency_code=code)
    if error is None:
        assert response.status_code == 201, response.get_json()
        assert db.session.get(Dossier, response.get_json()["id"]).competent_agency_id == demo_agency().id
        return
    assert response.status_code == 422
    problem = response.get_json()
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("competent_agency_code", error)]
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 0


def test_a_ward_of_another_province_or_hostile_text_is_refused(app):
    foreign_ward()
    assert _sync(app, competent_agency_code="000.20.01.H48").status_code == 422
    assert _sync(app, competent_agency_code="x" * 33).status_code == 400  # the schema's bound
    nul = _sync(app, competent_agency_code="000.20.45\x00H26")
    assert nul.status_code == 422 and nul.get_json()["errors"][0]["field"] == "competent_agency_code"


def test_a_department_level_version_names_the_competent_unit(app):
    version = procedure(PROCEDURE_KEY).versions[-1]
    version.competent_agency_code = SO_NOI_VU
    db.session.commit()
    response = _sync(app, competent_agency_code=DEMO_SECOND_WARD[0])  # the ward chosen does not matter then
    assert response.status_code == 201, response.get_json()
    assert db.session.get(Dossier, response.get_json()["id"]).competent_agency.agency_code == SO_NOI_VU

    # A catalogue naming an agency the system lacks is nothing the officer at the door can fix, and the receipt is
    # printed: the dossier is kept, decided where it was received until the catalogue is fixed.
    version.competent_agency_code = "000.00.98.H26"
    db.session.commit()
    kept = _sync(app)
    assert kept.status_code == 201, kept.get_json()
    stored = db.session.get(Dossier, kept.get_json()["id"])
    assert stored.competent_agency_id == stored.agency_id


def test_the_day_download_lists_the_provinces_wards_own_first(app):
    client, token = officer_client(app)
    version = procedure(PROCEDURE_KEY).versions[-1]
    version.competent_agency_code = SO_Y_TE
    db.session.commit()
    day = client.post("/api/v1/sync/day", json={}, headers={"X-CSRFToken": token}).get_json()
    codes = [ward["agency_code"] for ward in day["wards"]]
    assert codes[0] == demo_agency().agency_code
    assert DEMO_SECOND_WARD[0] in codes
    assert SO_NOI_VU not in codes and SO_Y_TE not in codes  # departments are no ward to choose
    listed = {p["key"]: p for p in day["catalogue"]["procedures"]}
    assert listed[PROCEDURE_KEY]["competent_agency_code"] == SO_Y_TE  # the phone hides the choice for it
    assert all("name_vi" in ward for ward in day["wards"])


# --- who sees and acts ---------------------------------------------------------------------------------------


def _desk(app, agency: Agency, role: Role = Role.STAFF):
    client = app.test_client()
    user = make_user(role, agency, f"Công chức {agency.agency_code}")
    return client, sign_in(client, user), user


def _cross_ward_dossier(app) -> Dossier:
    """Received by the demo ward at a home, for a resident of the second ward, sent to it (holder moved as the
    chains' hand-over does: this module only reads it)."""
    dossier, _picture = synced_dossier(app, follower=None)
    dossier.competent_agency = second_ward()
    db.session.commit()
    return dossier


def test_the_receiving_desk_and_the_competent_unit_see_it_a_stranger_does_not(app):
    dossier = _cross_ward_dossier(app)
    demo_staff = app.test_client()
    sign_in(demo_staff, demo_user(Role.STAFF))
    competent, token, competent_user = _desk(app, second_ward())
    stranger, _token2, stranger_user = _desk(app, third_ward())
    photo = dossier.documents[0].sha256 if dossier.documents[0].sha256 else dossier.documents[1].sha256
    page = f"/staff/dossiers/{dossier.id}"

    assert demo_staff.get(page).status_code == 200
    shown = competent.get(page)
    assert shown.status_code == 200  # the deciding ward may open it before it arrives...
    assert 'id="unit-competent" data-code="000.20.45.H26"' in shown.text
    assert 'id="unit-holder" data-code="000.20.26.H26"' in shown.text
    assert 'id="units-read-only"' in shown.text and 'id="no-actions"' in shown.text  # ...but only read it
    assert stranger.get(page).status_code == 404  # deny by default
    assert stranger.get(f"/staff/attachments/{photo}").status_code == 404
    assert stranger.get(f"/api/v1/dossiers/{dossier.id}").status_code == 403
    assert competent.get(f"/api/v1/dossiers/{dossier.id}").status_code == 200
    with competent.get(f"/staff/attachments/{photo}") as streamed:  # a streamed file: closed when read
        assert streamed.status_code == 200 and streamed.data
    assert not may_act(competent_user, dossier, Action.TRANSFER)
    assert not may_view(stranger_user, dossier)
    flag = dossier.flags[0]  # the desk's own records are the receiving desk's (and the holder's)
    assert competent.post(f"{page}/flags/{flag.id}/resolve", data={"csrf_token": token}).status_code == 403
    db.session.refresh(flag)
    assert flag.resolved_at is None


def test_the_holder_acts_the_receiving_desk_keeps_receipt_and_return(app):
    dossier = _cross_ward_dossier(app)
    dossier.holder_agency = second_ward()
    db.session.commit()
    competent, token, competent_user = _desk(app, second_ward())
    demo_staff = app.test_client()
    demo_token = sign_in(demo_staff, demo_user(Role.STAFF))
    page = f"/staff/dossiers/{dossier.id}"

    receiving_page = demo_staff.get(page).text
    assert 'id="action-transfer"' not in receiving_page and 'id="units-read-only"' in receiving_page
    refused = demo_staff.post(f"{page}/actions/transfer", data={"csrf_token": demo_token})
    assert refused.status_code == 403 and "đơn vị khác giữ" in refused.text
    api_refused = demo_staff.post(f"/api/v1/dossiers/{dossier.id}/actions/transfer", json={},
                                  headers={"X-CSRFToken": demo_token})
    assert api_refused.status_code == 403
    db.session.refresh(dossier)
    assert dossier.state is State.RECEIVED
    assert may_act(demo_user(Role.STAFF), dossier, Action.RETURN_RESULT)

    holder_page = competent.get(page).text
    assert 'id="action-transfer"' in holder_page and 'id="units-read-only"' not in holder_page
    done = competent.post(f"{page}/actions/transfer", data={"csrf_token": token})
    assert done.status_code == 302, done.text
    db.session.refresh(dossier)
    assert dossier.state is State.IN_PROCESS
    assert may_act(competent_user, dossier, Action.SUBMIT_FOR_APPROVAL)


def test_a_unit_outside_the_system_gets_nothing_through_a_stray_account(app):
    dossier = _cross_ward_dossier(app)
    outside = Agency.by_code(SO_NOI_VU)
    assert outside.in_system is False
    dossier.competent_agency = dossier.holder_agency = outside
    db.session.commit()
    stray, _token, user = _desk(app, outside)
    assert stray.get(f"/staff/dossiers/{dossier.id}").status_code == 404
    assert not may_view(user, dossier) and not may_act(user, dossier, Action.TRANSFER)
    for view in (None, "held", "incoming", "elsewhere"):  # nor in any view of its queue
        assert dossier.id not in _queue_ids(stray, **({"unit": view} if view else {}))
    # The receiving desk takes the steps of a holder that has nobody here (a withdrawal, an extension, a stop).
    receiving_staff = demo_user(Role.STAFF)
    assert all(may_act(receiving_staff, dossier, action)
               for action in (Action.WITHDRAW, Action.EXTEND, Action.STOP, Action.REQUEST_SUPPLEMENT))
    demo_staff = app.test_client()
    sign_in(demo_staff, demo_user(Role.STAFF))
    assert demo_staff.get(f"/staff/dossiers/{dossier.id}").status_code == 200  # the receiving desk follows it


def _queue_ids(client, **args) -> set[int]:
    response = client.get("/staff/queue", query_string={"tab": "all", **args})
    assert response.status_code == 200, response.text
    return {int(part.split('"')[0]) for part in response.text.split('data-dossier-id="')[1:]}


def test_the_queues_show_received_held_and_where_it_went(app):
    dossier = _cross_ward_dossier(app)
    own, _picture = synced_dossier(app, seed=1, follower=None)
    competent, _token, _user = _desk(app, second_ward())
    demo_staff = app.test_client()
    sign_in(demo_staff, demo_user(Role.STAFF))

    assert _queue_ids(demo_staff) == {dossier.id, own.id}  # nothing chosen: as before
    assert _queue_ids(demo_staff, unit="elsewhere") == {dossier.id}  # decided elsewhere
    assert _queue_ids(competent) == set()  # not handed over yet
    assert _queue_ids(competent, unit="incoming") == {dossier.id}

    dossier.holder_agency = second_ward()  # the chain's hand-over
    db.session.commit()
    assert _queue_ids(competent) == {dossier.id} == _queue_ids(competent, unit="held")
    assert _queue_ids(demo_staff, unit="held") == {own.id}
    assert _queue_ids(demo_staff, unit="elsewhere") == {dossier.id}
    listed = demo_staff.get("/staff/queue", query_string={"unit": "elsewhere"}).text
    assert "Đang ở: Bộ phận Một cửa – UBND phường Vĩnh Tuy (demo)" in listed
    refused = demo_staff.get("/staff/queue", query_string={"unit": "everything"})
    assert refused.status_code == 422 and "nhóm đơn vị" in refused.text


# --- statistics ----------------------------------------------------------------------------------------------


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=VN_TZ)


def _stored(receiving: Agency, competent: Agency, state: State, received: datetime, due: datetime,
            finished: datetime | None = None, timeliness: Timeliness | None = None) -> Dossier:
    dossier = make_dossier(state, due_at=due, device_received_at=received, processing_finished_at=finished,
                           timeliness=timeliness)
    dossier.agency_id, dossier.competent_agency_id, dossier.holder_agency_id = receiving.id, competent.id, receiving.id
    db.session.commit()
    return dossier


def cross_unit_fixture():
    """Ward A (the demo ward) receives six dossiers, five of them for residents of ward B; B receives one of its
    own. Their fates in March 2026 cover each column of the report."""
    a, b = demo_agency(), second_ward()
    early, on_time, late = Timeliness.EARLY, Timeliness.ON_TIME, Timeliness.LATE
    _stored(a, b, State.RETURNED, at(25, 2), at(20), at(10), early)  # carried over from February
    _stored(a, b, State.RESOLVED, at(5), at(20), at(20), on_time)
    _stored(a, b, State.RESOLVED, at(6), at(20), at(25), late)
    _stored(a, b, State.IN_PROCESS, at(9), at(10, 4))  # in progress, within its deadline
    _stored(a, b, State.IN_PROCESS, at(10), at(20))  # in progress, overdue at the end of March
    _stored(a, a, State.RESOLVED, at(11), at(20), at(12), early)  # A's own
    _stored(b, b, State.IN_PROCESS, at(12), at(10, 4))  # B's own
    return a, b


def _row(counts):
    return {"carried_over": counts.carried_over, "received": counts.received, "total": counts.total,
            "early": counts.resolved_early, "on_time": counts.resolved_on_time, "late": counts.resolved_late,
            "in_progress_on_time": counts.in_progress_on_time, "in_progress_overdue": counts.in_progress_overdue}


MARCH = (date(2026, 3, 1), date(2026, 3, 31))
EMPTY = dict.fromkeys(("carried_over", "received", "total", "early", "on_time", "late", "in_progress_on_time",
                       "in_progress_overdue"), 0)


def test_the_report_counts_each_dossier_once_for_the_unit_of_the_basis(app):
    a, b = cross_unit_fixture()

    def row(agency, basis):
        return _row(report(*MARCH, [agency.id], basis=basis, today=date(2026, 4, 15)).totals)

    assert row(a, UnitBasis.RECEIVING) == {**EMPTY, "carried_over": 1, "received": 5, "total": 6, "early": 2,
                                           "on_time": 1, "late": 1, "in_progress_on_time": 1,
                                           "in_progress_overdue": 1}
    assert row(b, UnitBasis.RECEIVING) == {**EMPTY, "received": 1, "total": 1, "in_progress_on_time": 1}
    assert row(a, UnitBasis.COMPETENT) == {**EMPTY, "received": 1, "total": 1, "early": 1}
    assert row(b, UnitBasis.COMPETENT) == {**EMPTY, "carried_over": 1, "received": 5, "total": 6, "early": 1,
                                           "on_time": 1, "late": 1, "in_progress_on_time": 2,
                                           "in_progress_overdue": 1}
    # Either way the province's report is the same: every dossier once.
    both = _row(report(*MARCH, [a.id, b.id], today=date(2026, 4, 15)).totals)
    assert both == _row(report(*MARCH, [a.id, b.id], basis=UnitBasis.COMPETENT, today=date(2026, 4, 15)).totals)
    assert both["total"] == 7
    # February: the carried-over dossier was received then, in progress at its end, for A or for B.
    february = (date(2026, 2, 1), date(2026, 2, 28))
    assert report(*february, [a.id]).totals.in_progress_on_time == 1
    assert report(*february, [b.id]).totals.total == 0
    assert report(*february, [b.id], basis=UnitBasis.COMPETENT).totals.in_progress_on_time == 1
    assert report(*february, [a.id], basis=UnitBasis.COMPETENT).totals.total == 0


def test_attention_lists_follow_the_basis(app):
    a, b = demo_agency(), second_ward()
    overdue = _stored(a, b, State.IN_PROCESS, at(2), at(5))
    today = date(2026, 3, 20)
    assert [d.id for d in attention(a.id, today).overdue] == [overdue.id]
    assert attention(b.id, today).overdue == []
    assert [d.id for d in attention(b.id, today, basis=UnitBasis.COMPETENT).overdue] == [overdue.id]
    assert attention(a.id, today, basis=UnitBasis.COMPETENT).overdue == []


def test_the_stats_page_and_its_export_take_the_basis(app):
    cross_unit_fixture()
    client, _token, _user = _desk(app, second_ward(), Role.LEADER)
    args = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
    by_receipt = client.get("/staff/stats/export.csv", query_string=args)
    by_competence = client.get("/staff/stats/export.csv", query_string={**args, "unit": "competent"})
    assert by_receipt.status_code == by_competence.status_code == 200
    assert "-competent.csv" in by_competence.headers["Content-Disposition"]

    def total_row(response):
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
        heading = rows[0]
        return dict(zip(heading, rows[-1], strict=True))

    assert total_row(by_receipt)["Tổng số hồ sơ cần giải quyết"] == "1"
    competent_total = total_row(by_competence)
    assert competent_total["Tổng số hồ sơ cần giải quyết"] == "6"
    assert competent_total["Kỳ trước chuyển sang"] == "1"
    assert competent_total["Đã giải quyết quá hạn"] == "1"
    page = client.get("/staff/stats", query_string={**args, "unit": "competent"})
    assert page.status_code == 200 and "theo cơ quan có thẩm quyền giải quyết" in page.text
    assert 'value="competent" checked' in page.text
    refused = client.get("/staff/stats", query_string={**args, "unit": "holder"})
    assert refused.status_code == 422 and 'id="unit-error"' in refused.text


# --- the demo's province -------------------------------------------------------------------------------------


def test_the_demo_has_a_second_ward_and_the_two_departments(app, runner):
    ward = second_ward()
    assert ward.is_one_stop and ward.in_system and ward.administrative_unit.parent_code == "01"
    home, health = Agency.by_code(SO_NOI_VU), Agency.by_code(SO_Y_TE)
    assert (home.ministry, home.in_system, home.is_one_stop) == ("BNV", False, False)
    assert (health.ministry, health.in_system, health.is_one_stop) == ("BYT", True, False)
    assert home.place_name == "Thành phố Hà Nội"
    before = db.session.scalar(select(func.count()).select_from(Agency))
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert SO_NOI_VU in result.output and DEMO_SECOND_WARD[0] in result.output
    assert db.session.scalar(select(func.count()).select_from(Agency)) == before


def test_a_dossier_for_another_ward_keeps_its_code_and_deadline_of_the_receiving_ward(app):
    """The receipt the citizen holds is the receiving ward's: its code, its counter and its office hours."""
    response = _sync(app, competent_agency_code=DEMO_SECOND_WARD[0])
    dossier = db.session.get(Dossier, response.get_json()["id"])
    plain = db.session.get(Dossier, _sync(app).get_json()["id"])
    assert dossier.due_at == plain.due_at
    assert dossier.code.rsplit("-", 1)[0] == plain.code.rsplit("-", 1)[0]
    assert dossier.due_at - dossier.device_received_at > timedelta(0)
