"""The desk's queue (/staff/queue): tabs and counts, filters, sorting, pages, search, ward scoping, refusals."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.models import Channel
from server.dossiers.models import Dossier
from server.dossiers.models import ReceptionMode
from server.dossiers.search_text import fold
from server.dossiers.search_text import search_needle
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.reference.models import Agency
from server.types import utcnow
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_user
from tests.helpers import procedure
from tests.helpers import sign_in
from tests.test_sync_api import captured
from tests.test_sync_api import officer_client
from tests.test_sync_api import put
from tests.test_sync_api import reserve


def add(code: str, state: State = State.RECEIVED, due_in_days: float | None = 10, *, name: str = "Lê Văn An",
        phone: str | None = None, procedure_key: str = "tro-cap-xa-hoi-hang-thang", channel: Channel = Channel.DIRECT,
        mode: ReceptionMode = ReceptionMode.COUNTER, agency: Agency | None = None,
        received_days_ago: int = 1) -> Dossier:
    """A dossier stored directly (no workflow), due ``due_in_days`` from now (None: no due date)."""
    person = Person(full_name=name, phone_e164=phone)
    now = utcnow()
    due = now + timedelta(days=due_in_days) if due_in_days is not None else None
    dossier = Dossier(client_uuid=uuid.uuid4(), code=code, procedure_version=procedure(procedure_key).versions[-1],
                      agency=agency or demo_agency(), channel=channel, reception_mode=mode, owner=person,
                      submitter=person, state=state, due_at=due, original_due_at=due,
                      device_received_at=now - timedelta(days=received_days_ago))
    db.session.add(dossier)
    db.session.commit()
    return dossier


def desk_client(app, role: Role = Role.STAFF):
    client = app.test_client()
    sign_in(client, demo_user(role))
    return client


def listed(response) -> list[str]:
    """The codes of the rows shown, in order."""
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    return re.findall(r'<th scope="row"><a href="/staff/dossiers/\d+">([^<]+)</a>', html)


def counts(response) -> dict[str, int]:
    html = response.get_data(as_text=True)
    return {key: int(n) for key, n in re.findall(r'data-count="([a-z_]+)">(\d+)<', html)}


def test_active_tab_sorted_by_due_date_with_counts(app):
    add("LATER", due_in_days=20)
    add("SOONER", State.IN_PROCESS, due_in_days=3)
    add("NO-DUE", State.ONLINE_SUBMITTED, due_in_days=None)
    add("RESOLVED", State.RESOLVED, due_in_days=1)
    add("DONE", State.RETURNED, due_in_days=-5)
    add("REFUSED", State.REFUSED, due_in_days=None)
    client = desk_client(app)
    response = client.get("/staff/queue")
    # Due first, the nearest first; no due date last. Returned and refused are not in "to act on".
    assert listed(response) == ["RESOLVED", "SOONER", "LATER", "NO-DUE"]
    tabs = counts(response)
    assert tabs["active"] == 4 and tabs["all"] == 6
    assert tabs["received"] == 1 and tabs["in_process"] == 1 and tabs["returned"] == 1 and tabs["refused"] == 1
    assert tabs["online_submitted"] == 1 and tabs["resolved"] == 1 and tabs["withdrawn"] == 0
    assert listed(client.get("/staff/queue?sort=due_desc")) == ["LATER", "SOONER", "RESOLVED", "NO-DUE"]
    assert listed(client.get("/staff/queue?tab=returned")) == ["DONE"]
    assert listed(client.get("/staff/queue?tab=all"))[:2] == ["DONE", "RESOLVED"]
    # Rows link to the dossier's page.
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == "SOONER"))
    assert f'href="/staff/dossiers/{dossier.id}"' in response.get_data(as_text=True)


def test_an_approved_result_not_yet_at_the_desk_is_to_act_on_and_can_be_overdue(app):
    add("APPROVED", State.APPROVED, due_in_days=-1)  # signed, but the result is not at the desk yet
    add("RESOLVED", State.RESOLVED, due_in_days=-1)
    client = desk_client(app)
    response = client.get("/staff/queue")
    assert listed(response) == ["APPROVED", "RESOLVED"]
    tabs = counts(response)
    assert tabs["active"] == 2 and tabs["approved"] == 1 and tabs["pending_approval"] == 0
    assert "Đã phê duyệt, chờ chuyển kết quả" in response.get_data(as_text=True)
    assert listed(client.get("/staff/queue?tab=approved")) == ["APPROVED"]
    assert listed(client.get("/staff/queue?deadline=overdue")) == ["APPROVED"]


def test_leaders_see_it_too_and_the_nav_links_it(app):
    add("X1")
    response = desk_client(app, Role.LEADER).get("/staff/queue")
    assert listed(response) == ["X1"]
    assert 'href="/staff/queue"' in response.get_data(as_text=True) and "Danh sách hồ sơ" in response.get_data(
        as_text=True)


def test_filters_by_procedure_field_channel_and_mode(app):
    add("SOCIAL", procedure_key="tro-cap-xa-hoi-hang-thang")
    add("CERT", procedure_key="chung-thuc-ban-sao", channel=Channel.ONLINE, mode=ReceptionMode.ONLINE)
    add("HOME", procedure_key="chung-thuc-chu-ky", mode=ReceptionMode.HOME_VISIT)
    add("POST", procedure_key="tro-cap-huu-tri-xa-hoi", channel=Channel.POSTAL, mode=ReceptionMode.POST)
    client = desk_client(app)
    social = procedure("tro-cap-xa-hoi-hang-thang")
    assert listed(client.get(f"/staff/queue?procedure={social.id}")) == ["SOCIAL"]
    assert sorted(listed(client.get("/staff/queue?field=chung_thuc"))) == ["CERT", "HOME"]
    assert sorted(listed(client.get(f"/staff/queue?field={social.field}"))) == ["POST", "SOCIAL"]
    assert listed(client.get("/staff/queue?channel=online")) == ["CERT"]
    assert listed(client.get("/staff/queue?channel=postal")) == ["POST"]
    assert listed(client.get("/staff/queue?mode=home_visit")) == ["HOME"]
    # Filters combine, and the tab counts follow them.
    response = client.get("/staff/queue?field=chung_thuc&mode=home_visit")
    assert listed(response) == ["HOME"] and counts(response)["active"] == 1 and counts(response)["all"] == 1
    assert listed(client.get(f"/staff/queue?procedure={social.id}&field=chung_thuc")) == []


def next_working_days(count: int):
    """The local end (17:00) of today, then of the next working days, as on the ward's calendar."""
    from server.calendar import service as calendar

    today = datetime.now(VN_TZ).date()
    work = calendar.load_calendar(today.year, today.year + 1)
    return [datetime.combine(work.add_working_days(today, n), datetime.min.time(), tzinfo=VN_TZ)
            + timedelta(hours=17) for n in range(count + 1)]


def test_overdue_and_due_within_two_working_days(app):
    ends = next_working_days(3)
    late = add("LATE", State.IN_PROCESS, due_in_days=-1)
    add("LATE-BUT-RESOLVED", State.RESOLVED, due_in_days=-1)  # not overdue: the result exists
    add("LATE-RETURNED", State.RETURNED, due_in_days=-1)
    second = add("SECOND-DAY")
    third = add("THIRD-DAY")
    for dossier, end in ((second, ends[2]), (third, ends[3])):
        dossier.due_at = dossier.original_due_at = end - timedelta(hours=1)
    db.session.commit()
    client = desk_client(app)
    overdue = client.get("/staff/queue?deadline=overdue")
    assert listed(overdue) == ["LATE"] and counts(overdue)["active"] == 1 and counts(overdue)["all"] == 1
    assert 'badge-late' in overdue.get_data(as_text=True)
    soon = client.get("/staff/queue?deadline=due_soon")
    assert listed(soon) == ["SECOND-DAY"]
    assert 'badge-soon' in soon.get_data(as_text=True)
    assert late.id  # the late dossier exists and is not "due soon"


def test_pages_of_fifty(app):
    for n in range(55):
        add(f"P{n:03d}", due_in_days=n + 1)
    client = desk_client(app)
    first = client.get("/staff/queue")
    assert listed(first) == [f"P{n:03d}" for n in range(50)]
    assert "trang 1/2" in first.get_data(as_text=True) and 'rel="next"' in first.get_data(as_text=True)
    second = client.get("/staff/queue?page=2")
    assert listed(second) == [f"P{n:03d}" for n in range(50, 55)]
    assert 'rel="prev"' in second.get_data(as_text=True)
    assert listed(client.get("/staff/queue?page=3")) == []


@pytest.mark.parametrize("typed", ["tran thi binh", "TRAN THI BINH", "Trần Thị Bình", "trần thị bình", "thi binh"])
def test_search_by_name_ignores_diacritics_and_case(app, typed):
    add("HIT", name="Trần Thị Bình")
    add("MISS", name="Trần Thị Bích")
    assert listed(desk_client(app).get("/staff/queue", query_string={"q": typed})) == ["HIT"]


def test_search_folds_d_with_stroke_and_finds_code_and_phone(app):
    add("000.20.26.H26-260309-0007", name="Đỗ Thị Đào", phone="+84912345678")
    add("000.20.26.H26-260309-0008", name="Do Van Dung", phone="+84987654321")
    client = desk_client(app)
    for typed in ("do thi dao", "ĐỖ THỊ ĐÀO", "0912345678", "+84912345678", "0912 345 678", "84912345678",
                  "260309-0007", "h26-260309-0007"):
        assert listed(client.get("/staff/queue", query_string={"q": typed})) == ["000.20.26.H26-260309-0007"], typed
    assert len(listed(client.get("/staff/queue", query_string={"q": "260309"}))) == 2
    # LIKE wildcards typed by the desk are letters, not patterns.
    assert listed(client.get("/staff/queue", query_string={"q": "%"})) == []
    assert listed(client.get("/staff/queue", query_string={"q": "0912_45678"})) == []


def test_fold_and_needle():
    assert fold("  Nguyễn   Đức Thắng ") == "nguyen duc thang"
    assert fold("ĐẶNG THỊ ỨC") == "dang thi uc"
    assert search_needle("+84 912 345 678") == "0912345678"
    assert search_needle("0912.345.678") == "0912345678"
    assert search_needle("Hồ Sơ") == "ho so"


def test_search_text_follows_a_sync_from_a_phone_and_a_renamed_person(app):
    officer, token = officer_client(app)
    block = reserve(officer, token)
    response = put(officer, token, f"/api/v1/dossiers/{uuid.uuid4()}", json=captured(block["first_code"], []))
    assert response.status_code == 201, response.get_json()
    client = desk_client(app)
    # The owner (Trần Văn Phúc, 0912345678) and the submitter (Trần Thị Mai, 0987654321) of tests/test_sync_api.py.
    for typed in ("tran van phuc", "TRAN THI MAI", "+84987654321", "0912345678", block["first_code"].lower()):
        assert listed(client.get("/staff/queue", query_string={"q": typed})) == [block["first_code"]], typed
    stored = db.session.scalar(select(Dossier).where(Dossier.code == block["first_code"]))
    stored.owner.full_name = "Trần Văn Phước"
    db.session.commit()
    assert listed(client.get("/staff/queue", query_string={"q": "tran van phuoc"})) == [block["first_code"]]
    assert listed(client.get("/staff/queue", query_string={"q": "tran van phuc"})) == []


def test_another_wards_staff_sees_none_of_it(app):
    add("OURS")
    other_ward = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other_ward)
    db.session.commit()
    add("THEIRS", agency=other_ward)
    stranger = make_user(Role.STAFF, other_ward, "Cán bộ phường khác")
    client = app.test_client()
    sign_in(client, stranger)
    response = client.get("/staff/queue?tab=all")
    assert listed(response) == ["THEIRS"] and counts(response)["all"] == 1
    assert listed(client.get("/staff/queue", query_string={"q": "ours"})) == []
    assert listed(desk_client(app).get("/staff/queue?tab=all")) == ["OURS"]


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.OFFICER, Role.ADMIN])
def test_other_roles_are_refused(app, role):
    add("SECRET", name="Người Bí Mật")
    client = app.test_client()
    sign_in(client, demo_user(role))
    response = client.get("/staff/queue")
    assert response.status_code == 403
    assert "Người Bí Mật" not in response.get_data(as_text=True)


def test_anonymous_visitors_sign_in_first(app, client):
    response = client.get("/staff/queue?tab=all")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("query, field", [
    ("tab=nonsense", "tab"), ("procedure=999999", "procedure"), ("procedure=abc", "procedure"),
    ("field=khac", "field"), ("channel=fax", "channel"), ("mode=drone", "mode"), ("deadline=tomorrow", "deadline"),
    ("sort=name", "sort"), ("page=0", "page"), ("page=-1", "page"), ("page=x", "page"), ("page=1000001", "page"),
    ("q=" + "a" * 101, "q"),
])
def test_bad_input_is_answered_422_with_a_message_for_the_field(app, query, field):
    add("ANY")
    response = desk_client(app).get(f"/staff/queue?{query}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    target = {"tab": "queue-filters", "page": "queue-filters", "q": "filter-q"}.get(field, f"filter-{field}")
    assert 'class="error-summary"' in html and f'href="#{target}"' in html
    if field not in ("tab", "page"):  # those two are in the address, not in a form field
        assert f'id="{target}" name="{field if field != "mode" else "mode"}"' in html
        assert f'id="{target}-error"' in html
    assert "ANY" not in html
