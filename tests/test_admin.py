"""Administration pages: procedures and dated versions, the working calendar, wards. Real database, real forms."""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.admin.procedures import today
from server.auth.models import AuditEvent
from server.auth.models import Role
from server.calendar.models import CalendarOverride
from server.calendar.workdays import VN_TZ
from server.dossiers import services as dossier_services
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.reference.models import Agency
from server.reference.models import Procedure
from server.reference.models import TimeUnit
from tests.browser.test_pages import InlineCode
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import procedure
from tests.helpers import sign_in


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def _audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def admin(app):
    client = app.test_client()
    return client, sign_in(client, demo_user(Role.ADMIN))


def _post(admin, url: str, **data):
    client, token = admin
    return client.post(url, data={**data, "csrf_token": token})


def _text(response) -> str:
    return response.get_data(as_text=True)


# --- access --------------------------------------------------------------------------------------------------------

ADMIN_PAGES = ["/admin/procedures", "/admin/calendar", "/admin/wards"]


@pytest.mark.parametrize("role", [Role.OFFICER, Role.STAFF, Role.LEADER, Role.CITIZEN])
def test_non_admins_are_refused_and_change_nothing(app, role):
    client = app.test_client()
    token = sign_in(client, demo_user(role))
    for url in ADMIN_PAGES + [f"/admin/procedures/{procedure('tro-cap-xa-hoi-hang-thang').id}",
                              f"/admin/wards/{demo_agency().id}"]:
        assert client.get(url).status_code == 403, url
    before = _count(Procedure), _count(Agency), _count(CalendarOverride)
    assert client.post("/admin/procedures", data={"csrf_token": token, "key": "x-y", "name_vi": "X",
                                                  "field": "tre_em"}).status_code == 403
    assert client.post("/admin/wards", data={"csrf_token": token, "agency_code": "000.20.99.H26", "name_vi": "X",
                                             "am_open": "07:00", "am_close": "11:30", "pm_open": "13:30",
                                             "pm_close": "17:00"}).status_code == 403
    assert client.post("/admin/calendar/overrides", data={"csrf_token": token, "day": "2027-03-02",
                                                          "kind": "day_off", "name": "X"}).status_code == 403
    assert (_count(Procedure), _count(Agency), _count(CalendarOverride)) == before


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), url


def test_admin_pages_render_with_their_nav_links(admin):
    client, _token = admin
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        body = _text(response)
        for label, href in (("Thủ tục", "/admin/procedures"), ("Lịch làm việc", "/admin/calendar"),
                            ("Phường", "/admin/wards")):
            assert re.search(rf'href="{href}"[^>]*>{label}</a>', body), (url, label)
    assert 'aria-current="page">Lịch làm việc' in _text(client.get("/admin/calendar"))


def test_admin_pages_carry_no_inline_code_and_label_every_field(admin):
    client, _token = admin
    urls = ADMIN_PAGES + [f"/admin/procedures/{procedure('tro-cap-xa-hoi-hang-thang').id}",
                          f"/admin/wards/{demo_agency().id}", f"/admin/users/{demo_user(Role.STAFF).id}"]
    for url in urls:
        response = client.get(url)
        html = _text(response)
        parser = InlineCode()
        parser.feed(html)
        assert parser.found == [], (url, parser.found)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
        for tag_id in re.findall(r'<(?:input|select)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html):
            tag = re.search(rf'<(?:input|select)[^>]*\bid="{re.escape(tag_id)}"[^>]*>', html).group(0)
            assert tag_id in labelled or "aria-label=" in tag, (url, tag_id)


def test_the_form_without_a_csrf_token_is_refused(admin):
    client, _token = admin
    response = client.post("/admin/procedures", data={"key": "a-b", "name_vi": "A", "field": "tre_em"})
    assert response.status_code == 400
    assert _count(Procedure, Procedure.key == "a-b") == 0


# --- procedures ----------------------------------------------------------------------------------------------------

def test_create_a_procedure_is_audited_and_shown(admin):
    response = _post(admin, "/admin/procedures", key="ho-tro-thu-nghiem", name_vi="Hỗ trợ thử nghiệm",
                     name_en="", national_code="1.009999", field="bao_tro_xa_hoi", ministry="MOLISA",
                     competent_level="ward")
    assert response.status_code == 302
    created = db.session.scalar(select(Procedure).where(Procedure.key == "ho-tro-thu-nghiem"))
    assert response.headers["Location"] == f"/admin/procedures/{created.id}"
    assert created.name_en == "Hỗ trợ thử nghiệm"  # stands in until a translator fills it
    assert created.versions == []
    (row,) = _audits("procedure_created")
    assert (row.actor_id, row.target_type, row.target_id) == (demo_user(Role.ADMIN).id, "Procedure", str(created.id))
    page = _text(admin[0].get(f"/admin/procedures/{created.id}"))
    assert "Chưa có: chưa tiếp nhận được hồ sơ của thủ tục này." in page
    assert "Tạo thủ tục" in page and "1.009999" in page  # the audit line and the facts
    assert "Hỗ trợ thử nghiệm" in _text(admin[0].get("/admin/procedures"))


@pytest.mark.parametrize(("data", "errors"), [
    ({}, {"key": "Vui lòng nhập mã định danh của thủ tục.", "name_vi": "Vui lòng nhập tên thủ tục.",
          "field": "Vui lòng chọn lĩnh vực."}),
    ({"key": "Trợ cấp", "name_vi": "A", "field": "tre_em"}, {"key": "Mã định danh chỉ gồm chữ thường không dấu"}),
    ({"key": "tro-cap-xa-hoi-hang-thang", "name_vi": "A", "field": "tre_em"},
     {"key": "Đã có thủ tục với mã định danh này."}),
    ({"key": "a-b", "name_vi": "A", "field": "khong-co"}, {"field": "Vui lòng chọn lĩnh vực."}),
    ({"key": "a-b", "name_vi": "A", "field": "tre_em", "ministry": "X" * 17}, {"ministry": "Dài quá 16 ký tự."}),
])
def test_procedure_form_errors_are_per_field_in_vietnamese(admin, data, errors):
    before = _count(Procedure)
    response = _post(admin, "/admin/procedures", **data)
    assert response.status_code == 422
    body = _text(response)
    for name, message in errors.items():
        assert re.search(rf'<p class="field-error" id="{name}-error">{re.escape(message)}', body), name
        assert f'id="{name}"' in body and 'aria-invalid="true"' in body
    assert _count(Procedure) == before
    assert _audits("procedure_created") == []


def _version_form(**changes) -> dict:
    data = {"effective_from": (today() + timedelta(days=1)).isoformat(), "publication_decision": "QĐ 99/QĐ-UBND",
            "time_value": "30", "time_unit": "working_days", "time_note": "", "same_day_cutoff": "",
            "supplement_clock": "pause", "home_reception": "partial", "fee_vnd": "", "doc_rows": "2",
            "doc-0-code": "TK", "doc-0-name_vi": "Tờ khai", "doc-0-name_en": "", "doc-0-copy_type": "original",
            "doc-0-quantity": "1", "doc-0-mandatory": "1", "doc-0-form_ref": "Mẫu 1a",
            "doc-1-code": "", "doc-1-name_vi": "", "doc-1-name_en": "", "doc-1-copy_type": "original",
            "doc-1-quantity": "1", "doc-1-form_ref": ""}
    data.update(changes)
    return data


def test_a_new_version_takes_effect_later_and_closes_the_current_one(admin):
    subsidy = procedure("tro-cap-xa-hoi-hang-thang")
    current = subsidy.versions[-1]
    current_id, current_time = current.id, current.time_value
    tomorrow = today() + timedelta(days=1)
    response = _post(admin, f"/admin/procedures/{subsidy.id}/versions", **_version_form(fee_vnd="50.000"))
    assert response.status_code == 302
    db.session.expire_all()
    subsidy = procedure("tro-cap-xa-hoi-hang-thang")
    old, new = subsidy.versions[-2], subsidy.versions[-1]
    assert old.id == current_id and old.time_value == current_time  # its rules are untouched
    assert old.effective_to == today()
    assert (new.effective_from, new.effective_to, new.time_value, new.time_unit) == (tomorrow, None, 30,
                                                                                   TimeUnit.WORKING_DAYS)
    assert (new.supplement_clock.value, new.home_reception.value, new.fee_vnd) == ("pause", "partial", 50000)
    assert [(d.code, d.name_vi, d.mandatory, d.form_ref) for d in new.required_documents] == [
        ("TK", "Tờ khai", True, "Mẫu 1a")]
    assert subsidy.version_at(today()).id == current_id and subsidy.version_at(tomorrow).id == new.id
    (row,) = _audits("procedure_version_added")
    assert row.target_id == str(subsidy.id)
    assert row.data["version_id"] == new.id and row.data["closed_version_id"] == current_id
    page = _text(admin[0].get(f"/admin/procedures/{subsidy.id}"))
    assert "Sắp áp dụng" in page and "Đang áp dụng" in page and "Thêm phiên bản thủ tục" in page


def test_the_first_version_of_a_new_procedure_may_start_today(admin):
    _post(admin, "/admin/procedures", key="moi-tinh", name_vi="Thủ tục mới", field="tre_em")
    created = db.session.scalar(select(Procedure).where(Procedure.key == "moi-tinh"))
    response = _post(admin, f"/admin/procedures/{created.id}/versions",
                     **_version_form(effective_from=today().isoformat(), time_value="0", time_unit="same_day",
                                     same_day_cutoff="16:30"))
    assert response.status_code == 302
    db.session.expire_all()
    version = db.session.get(Procedure, created.id).version_at(today())
    assert version.time_unit is TimeUnit.SAME_DAY and version.same_day_cutoff.strftime("%H:%M") == "16:30"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"effective_from": ""}, "effective_from", "Vui lòng nhập ngày phiên bản mới bắt đầu có hiệu lực."),
    ({"effective_from": "31/02/2027"}, "effective_from", "Ngày không hợp lệ"),
    ({"effective_from": "TODAY"}, "effective_from", "Phiên bản mới chỉ có hiệu lực từ ngày"),
    ({"time_value": ""}, "time_value", "Vui lòng nhập thời hạn giải quyết."),
    ({"time_value": "-3"}, "time_value", "Thời hạn là một số nguyên từ 0 đến 365."),
    ({"time_value": "0"}, "time_value", "Thời hạn theo ngày phải lớn hơn 0"),
    ({"time_unit": "weeks"}, "time_unit", "Vui lòng chọn đơn vị thời hạn."),
    ({"same_day_cutoff": "15:00"}, "same_day_cutoff", "Giờ chốt chỉ dùng cho thủ tục giải quyết trong ngày"),
    ({"time_unit": "same_day", "time_value": "0", "same_day_cutoff": "25:00"}, "same_day_cutoff",
     "Giờ không hợp lệ"),
    ({"supplement_clock": ""}, "supplement_clock", "Vui lòng chọn cách tính thời hạn khi yêu cầu bổ sung hồ sơ."),
    ({"home_reception": "maybe"}, "home_reception", "Vui lòng chọn có tiếp nhận tại nhà hay không."),
    ({"fee_vnd": "năm mươi"}, "fee_vnd", "Lệ phí là số đồng"),
    ({"doc-0-code": ""}, "doc-0-code", "Giấy tờ số 1: vui lòng nhập mã giấy tờ."),
    ({"doc-0-name_vi": ""}, "doc-0-name_vi", "Giấy tờ số 1: vui lòng nhập tên giấy tờ."),
    ({"doc-0-quantity": "0"}, "doc-0-quantity", "Giấy tờ số 1: số lượng từ 1 đến 20."),
    ({"doc-0-copy_type": "photo"}, "doc-0-copy_type", "Giấy tờ số 1: vui lòng chọn loại bản."),
    ({"doc-1-code": "TK", "doc-1-name_vi": "Tờ khai khác"}, "doc-1-code",
     "Giấy tờ số 2: mã này đã dùng cho giấy tờ khác."),
])
def test_version_form_errors_are_per_field_and_change_nothing(admin, changes, field, message):
    subsidy = procedure("tro-cap-xa-hoi-hang-thang")
    versions_before = len(subsidy.versions)
    if changes.get("effective_from") == "TODAY":
        changes = {**changes, "effective_from": today().isoformat()}
    response = _post(admin, f"/admin/procedures/{subsidy.id}/versions", **_version_form(**changes))
    assert response.status_code == 422
    assert re.search(rf'<p class="field-error" id="{field}-error">{re.escape(message)}', _text(response)), field
    db.session.expire_all()
    assert len(procedure("tro-cap-xa-hoi-hang-thang").versions) == versions_before
    assert procedure("tro-cap-xa-hoi-hang-thang").versions[-1].effective_to is None
    assert _audits("procedure_version_added") == []


def _receive(version, received_at: datetime):
    """A dossier received through the real receipt service (due date from the stored calendar)."""
    person = Person(full_name="Nguyễn Văn An", personal_id=None)
    db.session.add(person)
    dossier = dossier_services.receive(dossier_services.NewDossier(
        procedure_version=version, agency=demo_agency(), owner=person, submitter=person,
        received_by=demo_user(Role.STAFF), received_at=received_at,
        provided_document_ids=frozenset(d.id for d in version.required_documents)))
    db.session.commit()
    return dossier


def test_a_new_version_does_not_change_dossiers_already_received(admin):
    subsidy = procedure("tro-cap-xa-hoi-hang-thang")
    current = subsidy.versions[-1]
    received = _receive(current, datetime.now(VN_TZ))
    older = make_dossier(State.IN_PROCESS, due_at=received.due_at + timedelta(days=3))
    due_before = {received.id: received.due_at, older.id: older.due_at}
    response = _post(admin, f"/admin/procedures/{subsidy.id}/versions",
                     **_version_form(time_value="60", time_unit="calendar_days"))
    assert response.status_code == 302
    db.session.expire_all()
    for dossier_id, due in due_before.items():
        dossier = db.session.get(type(received), dossier_id)
        assert dossier.procedure_version_id == current.id
        assert dossier.due_at == due and dossier.original_due_at == due
    # A dossier received once the new version is in force takes its rules: 60 calendar days.
    new = procedure("tro-cap-xa-hoi-hang-thang").versions[-1]
    start = datetime.combine(new.effective_from, datetime.min.time(), VN_TZ).replace(hour=9)
    later = _receive(new, start)
    assert later.due_at.date() >= (start + timedelta(days=60)).date()
    assert later.due_at.date() > due_before[received.id].date()


# --- the working calendar ------------------------------------------------------------------------------------------

def _grid_kind(body: str, day: str) -> str:
    match = re.search(rf'data-day="{day}" data-kind="(\w+)"', body)
    assert match, day
    return match.group(1)


def test_the_2026_grid_marks_holidays_weekends_and_overrides(admin):
    response = admin[0].get("/admin/calendar?year=2026")
    assert response.status_code == 200
    body = _text(response)
    assert body.count('<table class="calendar-month"') == 12
    assert "<caption>Tháng 2/2026</caption>" in body
    # DOMAIN.md §2.3, the official civil-service calendar 2026.
    for day in ("2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
                "2026-04-26", "2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02"):
        assert _grid_kind(body, day) == "holiday", day
    for day in ("2026-01-02", "2026-04-27", "2026-08-31"):
        assert _grid_kind(body, day) == "override_off", day
    for day in ("2026-01-10", "2026-08-22"):
        assert _grid_kind(body, day) == "override_working", day
    assert _grid_kind(body, "2026-02-14") == "weekend" and _grid_kind(body, "2026-02-22") == "weekend"
    assert _grid_kind(body, "2026-01-05") == "working" and _grid_kind(body, "2026-02-23") == "working"
    # Not colour alone: each marked cell says what it is, in words for screen readers and a letter on screen.
    cell = re.search(r'<td class="day day-holiday" data-day="2026-09-02".*?</td>', body, re.S).group(0)
    assert 'class="day-mark" aria-hidden="true">L<' in cell
    assert '<span class="visually-hidden">Ngày lễ, Tết (theo luật): Quốc khánh</span>' in cell
    legend = re.search(r'<ul class="calendar-legend".*?</ul>', body, re.S).group(0)
    for words in ("Ngày làm việc", "Cuối tuần", "Ngày lễ, Tết (theo luật)", "Ngày nghỉ do điều chỉnh",
                  "Ngày làm việc do điều chỉnh"):
        assert words in legend


def test_an_override_is_drawn_on_the_grid_and_audited(admin):
    response = _post(admin, "/admin/calendar/overrides", day="2026-12-31", kind="day_off",
                     name="Nghỉ thử nghiệm cuối năm", source="Công văn thử")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/calendar?year=2026"
    body = _text(admin[0].get("/admin/calendar?year=2026"))
    assert _grid_kind(body, "2026-12-31") == "override_off"
    assert "Nghỉ thử nghiệm cuối năm" in body and "Thêm điều chỉnh lịch" in body
    row = db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == date(2026, 12, 31)))
    assert row.created_by_id == demo_user(Role.ADMIN).id
    (audit,) = _audits("calendar_override_added")
    assert audit.target_type == "CalendarOverride" and audit.data["name"] == "Nghỉ thử nghiệm cuối năm"


def _due_of_new_dossier(received_at: datetime) -> datetime:
    return _receive(procedure("tro-cap-xa-hoi-hang-thang").versions[-1], received_at).due_at


def test_an_override_changes_the_due_date_of_a_new_dossier_only(admin):
    # Monday 1 March 2027, 09:00, a 15-working-day procedure; no holiday in March 2027.
    received_at = datetime(2027, 3, 1, 9, 0, tzinfo=VN_TZ)
    first = _receive(procedure("tro-cap-xa-hoi-hang-thang").versions[-1], received_at)
    due_before = first.due_at
    response = _post(admin, "/admin/calendar/overrides", day="2027-03-03", kind="day_off", name="Nghỉ đột xuất")
    assert response.status_code == 302
    due_after = _due_of_new_dossier(received_at)
    assert due_after.date() == due_before.date() + timedelta(days=1)  # Wed 3 Mar no longer counts
    db.session.expire_all()
    assert db.session.get(type(first), first.id).due_at == due_before  # the printed receipt stands
    response = _post(admin, "/admin/calendar/overrides/2027-03-03/delete", reason="Nhập nhầm")
    assert response.status_code == 302
    assert _due_of_new_dossier(received_at) == due_before
    (removed,) = _audits("calendar_override_removed")
    assert removed.data == {"day": "2027-03-03", "kind": "day_off", "name": "Nghỉ đột xuất", "reason": "Nhập nhầm"}


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"day": "", "kind": "day_off", "name": "X"}, "day", "Vui lòng chọn ngày."),
    ({"day": "2027-13-01", "kind": "day_off", "name": "X"}, "day", "Ngày không hợp lệ"),
    ({"day": "2027-03-03", "kind": "", "name": "X"}, "kind", "Vui lòng chọn ngày này là ngày nghỉ hay ngày làm việc."),
    ({"day": "2027-03-03", "kind": "day_off", "name": ""}, "name", "Vui lòng nhập lý do"),
    ({"day": "2027-03-07", "kind": "day_off", "name": "X"}, "kind", "Ngày này vốn đã là ngày nghỉ."),
    ({"day": "2027-03-03", "kind": "working_day", "name": "X"}, "kind", "Ngày này vốn đã là ngày làm việc."),
    ({"day": "2026-01-10", "kind": "day_off", "name": "X"}, "day", "Ngày này đã có điều chỉnh"),
    ({"day": "2099-01-05", "kind": "day_off", "name": "X"}, "day", "Chỉ điều chỉnh được các năm từ 2020 đến 2040."),
])
def test_override_form_errors(admin, data, field, message):
    before = _count(CalendarOverride)
    response = _post(admin, "/admin/calendar/overrides", **data)
    assert response.status_code == 422
    assert re.search(rf'<p class="field-error" id="{field}-error">{re.escape(message)}', _text(response)), field
    assert _count(CalendarOverride) == before
    assert _audits("calendar_override_added") == []


def test_removing_an_override_needs_a_reason_and_an_existing_day(admin):
    response = _post(admin, "/admin/calendar/overrides/2026-01-10/delete", reason="  ")
    assert response.status_code == 422
    assert 'id="reason-2026-01-10-error" role="alert">Vui lòng nhập lý do xóa điều chỉnh này.' in _text(response)
    assert _count(CalendarOverride, CalendarOverride.day == date(2026, 1, 10)) == 1
    assert _post(admin, "/admin/calendar/overrides/2026-03-03/delete", reason="x").status_code == 404
    assert _post(admin, "/admin/calendar/overrides/not-a-day/delete", reason="x").status_code == 404
    assert _audits("calendar_override_removed") == []


def test_a_year_out_of_range_is_explained(admin):
    response = admin[0].get("/admin/calendar?year=1890")
    assert response.status_code == 422
    assert "Năm phải từ 2020 đến 2040." in _text(response)


# --- wards ---------------------------------------------------------------------------------------------------------

def _ward_form(**changes) -> dict:
    data = {"agency_code": "000.20.31.H26", "name_vi": "Phường Thử Nghiệm", "name_en": "", "is_one_stop": "1",
            "am_open": "07:30", "am_close": "11:30", "pm_open": "13:00", "pm_close": "16:30"}
    data.update(changes)
    return data


def test_create_and_edit_a_ward_are_audited(admin):
    response = _post(admin, "/admin/wards", **_ward_form(agency_code="000.20.31.h26"))
    assert response.status_code == 302
    ward = Agency.by_code("000.20.31.H26")  # upper-cased
    assert (ward.name_vi, ward.name_en, ward.is_one_stop, ward.am_open.strftime("%H:%M")) == (
        "Phường Thử Nghiệm", "Phường Thử Nghiệm", True, "07:30")
    (created,) = _audits("agency_created")
    assert created.target_id == str(ward.id)
    response = _post(admin, f"/admin/wards/{ward.id}", **_ward_form(agency_code="000.20.32.H26",
                                                                    name_vi="Phường Mới", pm_close="17:00"))
    assert response.status_code == 302
    db.session.expire_all()
    ward = db.session.get(Agency, ward.id)
    assert (ward.agency_code, ward.name_vi, ward.pm_close.strftime("%H:%M")) == ("000.20.32.H26", "Phường Mới",
                                                                                 "17:00")
    (changed,) = _audits("agency_changed")
    assert changed.data["changes"] == {"agency_code": ["000.20.31.H26", "000.20.32.H26"],
                                       "name_vi": ["Phường Thử Nghiệm", "Phường Mới"],
                                       # no English name given: the Vietnamese one stands in for it, and follows
                                       "name_en": ["Phường Thử Nghiệm", "Phường Mới"],
                                       "pm_close": ["16:30", "17:00"]}
    page = _text(admin[0].get(f"/admin/wards/{ward.id}"))
    assert "Sửa thông tin phường" in page and "Phường Thử Nghiệm → Phường Mới" in page
    assert "000.20.32.H26" in _text(admin[0].get("/admin/wards"))


def test_a_ward_code_in_use_cannot_change(admin):
    ward = demo_agency()
    make_dossier(State.RECEIVED)
    page = _text(admin[0].get(f"/admin/wards/{ward.id}"))
    assert 'name="agency_code"' not in page and "Không đổi được" in page
    response = _post(admin, f"/admin/wards/{ward.id}", **_ward_form(agency_code="000.20.39.H26",
                                                                    name_vi="Tên mới"))
    assert response.status_code == 302
    db.session.expire_all()
    ward = db.session.get(Agency, ward.id)
    assert ward.agency_code != "000.20.39.H26" and ward.name_vi == "Tên mới"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"agency_code": ""}, "agency_code", "Vui lòng nhập mã cơ quan."),
    ({"agency_code": "G09.20"}, "agency_code", "Mã cơ quan không đúng định dạng QCVN 102:2016"),
    ({"agency_code": "DEMO"}, "agency_code", "Mã cơ quan này đã được dùng cho cơ quan khác."),
    ({"name_vi": ""}, "name_vi", "Vui lòng nhập tên phường."),
    ({"am_open": "7h"}, "am_open", "Giờ không hợp lệ"),
    ({"pm_open": "11:00"}, "pm_close", "Giờ làm việc phải theo thứ tự"),
])
def test_ward_form_errors(admin, changes, field, message):
    if changes.get("agency_code") == "DEMO":
        changes = {"agency_code": demo_agency().agency_code}
    before = _count(Agency)
    response = _post(admin, "/admin/wards", **_ward_form(**changes))
    assert response.status_code == 422
    assert re.search(rf'<p class="field-error" id="{field}-error">{re.escape(message)}', _text(response)), field
    assert _count(Agency) == before
    assert _audits("agency_created") == []


def test_the_agency_code_format_is_configuration(app, admin):
    app.config["AGENCY_CODE_PATTERN"] = r"^G\d{2}\.\d{2}$"
    assert _post(admin, "/admin/wards", **_ward_form(agency_code="G09.20")).status_code == 302
    assert _post(admin, "/admin/wards", **_ward_form(agency_code="000.20.33.H26")).status_code == 422


def test_unknown_objects_answer_404(admin):
    client, _token = admin
    assert client.get("/admin/procedures/999999").status_code == 404
    assert client.get("/admin/wards/999999").status_code == 404
    assert _post(admin, "/admin/procedures/999999/versions", **_version_form()).status_code == 404


# --- a person's position, role and activation --------------------------------------------------------------------

def test_position_role_and_activation_changes_are_audited(admin):
    staff = demo_user(Role.STAFF)
    version_before, position_before = staff.session_version, staff.position
    response = _post(admin, f"/admin/users/{staff.id}", position="Công chức Tư pháp - Hộ tịch", role="staff",
                     active="1")
    assert response.status_code == 302
    db.session.expire_all()
    staff = db.session.get(type(staff), staff.id)
    assert staff.position == "Công chức Tư pháp - Hộ tịch"
    assert staff.session_version == version_before  # a new title does not sign anyone out
    (position,) = _audits("position_changed")
    assert position.data == {"old": position_before, "new": "Công chức Tư pháp - Hộ tịch"}
    response = _post(admin, f"/admin/users/{staff.id}", position="Công chức Tư pháp - Hộ tịch", role="leader")
    assert response.status_code == 302
    db.session.expire_all()
    staff = db.session.get(type(staff), staff.id)
    assert (staff.role, staff.active) == (Role.LEADER, False)
    assert staff.session_version > version_before
    assert _audits("role_changed")[0].data == {"old": "staff", "new": "leader"}
    assert len(_audits("user_deactivated")) == 1
    page = _text(admin[0].get(f"/admin/users/{staff.id}"))
    assert "Đổi vai trò" in page and "Khóa tài khoản" in page and "Đổi chức vụ" in page


def test_user_form_errors(admin):
    admin_user = demo_user(Role.ADMIN)
    response = _post(admin, f"/admin/users/{admin_user.id}", position="", role="staff")
    assert response.status_code == 422
    body = _text(response)
    assert '<p class="field-error" id="role-error">Không tự đổi vai trò của mình.' in body
    assert '<p class="field-error" id="active-error">Không tự khóa tài khoản của mình.' in body
    officer = demo_user(Role.OFFICER)
    response = _post(admin, f"/admin/users/{officer.id}", position="x" * 201, role="mayor", active="1")
    assert response.status_code == 422
    body = _text(response)
    assert '<p class="field-error" id="position-error">Chức vụ dài quá 200 ký tự.' in body
    assert '<p class="field-error" id="role-error">Vui lòng chọn vai trò.' in body
    db.session.expire_all()
    assert db.session.get(type(officer), officer.id).role is Role.OFFICER
    assert _audits("position_changed") == [] and _audits("role_changed") == []
    assert admin[0].get("/admin/users/999999").status_code == 404
