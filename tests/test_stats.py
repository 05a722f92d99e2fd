"""Statistics (DOMAIN.md §3, §11 cases 11, 14, 15, 16, 24): the report service, its pages and its exports."""

from __future__ import annotations

import csv
import io
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.models import Attachment
from server.dossiers.models import Channel
from server.dossiers.models import DossierDocument
from server.dossiers.models import DossierRating
from server.dossiers.models import RatingLevel
from server.dossiers.models import ReceptionMode
from server.dossiers.models import Timeliness
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.reference.models import Agency
from server.stats.service import report
from server.types import utcnow
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import sign_in

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def at(day: int, month: int = 3, hour: int = 9) -> datetime:
    """A moment of 2026 in Viet Nam."""
    return datetime(2026, month, day, hour, tzinfo=VN_TZ)


def stored(state: State, received: datetime, *, channel=Channel.DIRECT, mode=ReceptionMode.COUNTER,
           due: datetime | None = None, finished: datetime | None = None, timeliness: Timeliness | None = None,
           closed: datetime | None = None, procedure_key: str = "tro-cap-xa-hoi-hang-thang", **fields):
    """A dossier stored as it would be after its history (the service's own timestamps, set directly)."""
    dossier = make_dossier(state, procedure_key=procedure_key, due_at=due or received + timedelta(days=10),
                           device_received_at=received, processing_finished_at=finished, timeliness=timeliness,
                           closed_at=closed, **fields)
    dossier.channel, dossier.reception_mode = channel, mode
    db.session.commit()
    return dossier


def case_24_fixture():
    """Carried over 10; received online 5, direct 30 (12 at home), postal 1; resolved early 20, on time 8,
    late 2; in progress 16 (13 within the deadline, 3 overdue) — plus dossiers that must count nowhere."""
    early, on_time, late = Timeliness.EARLY, Timeliness.ON_TIME, Timeliness.LATE
    # Carried over from February: 8 resolved in March (5 early, 2 on time, 1 late), 2 still in progress.
    for i, kind in enumerate([early] * 5 + [on_time] * 2 + [late]):
        stored(State.RETURNED, at(20 + i % 5, 2), finished=at(10), timeliness=kind, closed=at(12))
    stored(State.IN_PROCESS, at(25, 2), due=at(2, 4))
    stored(State.IN_PROCESS, at(26, 2), due=at(20))  # overdue at the end of March
    # Received in March: online 5, postal 1, direct 30 of which 12 at home.
    channels = ([(Channel.ONLINE, ReceptionMode.ONLINE)] * 5 + [(Channel.POSTAL, ReceptionMode.POST)]
                + [(Channel.DIRECT, ReceptionMode.HOME_VISIT)] * 12 + [(Channel.DIRECT, ReceptionMode.COUNTER)] * 18)
    outcomes = [early] * 15 + [on_time] * 6 + [late] + [None] * 14  # 22 resolved, 14 in progress
    for i, ((channel, mode), outcome) in enumerate(zip(channels, outcomes, strict=True)):
        received = at(2 + i % 20)
        if outcome is None:
            due = at(5) if i >= 34 else at(10, 4)  # the last two in progress are overdue
            stored(State.IN_PROCESS, received, channel=channel, mode=mode, due=due)
        else:
            stored(State.RESOLVED, received, channel=channel, mode=mode, finished=at(25), timeliness=outcome)
    # Counted nowhere: refused in March (case 14), guided at the door (case 13), finished before March,
    # received after March.
    make_dossier(State.REFUSED, closed_at=at(3), device_received_at=at(3))
    make_dossier(State.GUIDED_INCOMPLETE, closed_at=at(4))
    stored(State.RETURNED, at(5, 1), finished=at(20, 2), timeliness=early, closed=at(21, 2))
    stored(State.RECEIVED, at(1, 4))


def test_case_24_the_report_formula(app):
    case_24_fixture()
    totals = report(*MARCH).totals
    assert totals.carried_over == 10
    assert (totals.received_online, totals.received_direct, totals.received_home, totals.received_postal) == (5, 30,
                                                                                                             12, 1)
    assert totals.received == 36 and totals.total == 46
    assert (totals.resolved_early, totals.resolved_on_time, totals.resolved_late) == (20, 8, 2)
    assert totals.in_progress == 16
    assert (totals.in_progress_on_time, totals.in_progress_overdue) == (13, 3)
    assert totals.refused == 1  # shown apart, not received
    assert totals.on_time_rate.percent() == "93,33%"
    assert (totals.on_time_rate.numerator, totals.on_time_rate.denominator) == (28, 30)
    assert totals.online_rate.percent(1) == "13,9%"
    assert (totals.online_rate.numerator, totals.online_rate.denominator) == (5, 36)
    # Gia Lai late rate = (late in progress + late resolved) / total.
    assert (totals.in_progress_overdue + totals.resolved_late) / totals.total == pytest.approx(5 / 46)


def test_case_24_by_field_and_filter(app):
    case_24_fixture()
    stored(State.RESOLVED, at(10), procedure_key="chung-thuc-ban-sao", finished=at(10),
           timeliness=Timeliness.ON_TIME)
    full = report(*MARCH)
    assert set(full.by_field) == {"bao_tro_xa_hoi", "chung_thuc"}
    assert full.by_field["bao_tro_xa_hoi"].total == 46 and full.by_field["chung_thuc"].total == 1
    assert full.totals.total == 47
    only = report(*MARCH, field="chung_thuc")
    assert only.totals.total == 1 and only.totals.resolved_on_time == 1 and list(only.by_field) == ["chung_thuc"]


def test_another_wards_dossiers_are_not_counted(app):
    case_24_fixture()
    other = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other)
    db.session.commit()
    assert report(*MARCH, agency_ids=[other.id]).totals.total == 0
    assert report(*MARCH, agency_ids=[demo_agency().id]).totals.total == 46
    assert report(*MARCH).totals.total == 46  # None: every ward


def _real_dossier(received: datetime, **fields):
    """A dossier received through the service at ``received`` (so its history has real events)."""
    from server.dossiers.services import apply_action

    staff = demo_user(Role.STAFF)
    dossier = make_dossier(State.DRAFT, **fields)
    db.session.add_all(DossierDocument(dossier_id=dossier.id, required_document_id=required.id, name=required.name_vi)
                       for required in dossier.procedure_version.required_documents)
    db.session.commit()
    apply_action(dossier, Action.RECEIVE, staff, ActionRequest(staff.id, "staff"), now=received)
    db.session.commit()
    return dossier


def _approve(dossier, submitted: datetime, approved: datetime, ready: datetime | None = None):
    """Submit, approve and (at ``ready``, by default when approved) hand the result to the desk."""
    from server.dossiers.services import apply_action

    staff, leader = demo_user(Role.STAFF), demo_user(Role.LEADER)
    if dossier.state is State.RECEIVED:
        apply_action(dossier, Action.TRANSFER, staff, ActionRequest(staff.id, "staff"), now=submitted)
    apply_action(dossier, Action.SUBMIT_FOR_APPROVAL, staff, ActionRequest(staff.id, "staff"), now=submitted)
    apply_action(dossier, Action.APPROVE, leader, ActionRequest(leader.id, "leader"), now=approved)
    apply_action(dossier, Action.MARK_RESULT_READY, staff, ActionRequest(staff.id, "staff"), now=ready or approved)
    db.session.commit()


def test_case_16_carry_over_between_february_and_march(app):
    dossier = _real_dossier(at(27, 2))  # 20 working days: due in late March
    assert dossier.original_due_at.date() >= date(2026, 2, 28)
    _approve(dossier, at(3), at(4))

    february = report(date(2026, 2, 1), date(2026, 2, 28)).totals
    assert february.received == 1 and february.carried_over == 0
    assert february.in_progress_on_time == 1 and february.resolved == 0

    march = report(*MARCH).totals
    assert march.carried_over == 1 and march.received == 0 and march.total == 1
    assert march.resolved_early == 1 and march.in_progress == 0
    assert report(date(2026, 4, 1), date(2026, 4, 30)).totals.total == 0  # finished: not carried into April


def test_an_approved_result_not_yet_at_the_desk_is_still_in_progress(app):
    dossier = _real_dossier(at(27, 2))  # due in late March
    due = dossier.original_due_at
    _approve(dossier, at(3), at(4), ready=at(2, 4))  # signed in March, at the desk only in April
    assert dossier.processing_finished_at == at(2, 4) and dossier.timeliness is Timeliness.LATE

    march = report(*MARCH).totals
    assert march.resolved == 0 and march.in_progress == 1
    assert march.in_progress_overdue == (1 if due.date() < date(2026, 3, 31) else 0)
    april = report(date(2026, 4, 1), date(2026, 4, 30)).totals
    assert april.carried_over == 1 and april.resolved_late == 1 and april.in_progress == 0


def test_approved_dossiers_are_open_in_the_report_and_running_in_attention(app):
    from server.calendar.workdays import to_local
    from server.stats.service import attention

    today = to_local(utcnow()).date()
    approved = make_dossier(State.APPROVED, due_at=utcnow() - timedelta(days=3),
                            device_received_at=utcnow() - timedelta(days=20))
    report_now = report(today - timedelta(days=1), today + timedelta(days=1)).totals
    assert report_now.in_progress == 1 and report_now.resolved == 0
    seen = attention(demo_agency().id, today)
    assert [d.id for d in seen.overdue] == [approved.id]
    assert seen.pending_approval_count == 0


def test_the_state_at_the_end_of_a_past_period_comes_from_the_history(app):
    from server.dossiers.services import apply_action

    staff = demo_user(Role.STAFF)
    dossier = _real_dossier(at(2))
    apply_action(dossier, Action.TRANSFER, staff, ActionRequest(staff.id, "staff"), now=at(3))
    apply_action(dossier, Action.REQUEST_SUPPLEMENT, staff, ActionRequest(
        staff.id, "staff", reason="Thiếu giấy", items=("Giấy xác nhận",)), now=at(20))
    apply_action(dossier, Action.RECORD_SUPPLEMENT, staff, ActionRequest(staff.id, "staff"), now=at(6, 4))
    db.session.commit()
    # Now in process again; at the end of March it was waiting for the supplement.
    march = report(*MARCH).totals
    assert march.paused_supplement == 1 and march.in_progress == 0 and march.total == 1
    assert report(date(2026, 3, 1), date(2026, 3, 10)).totals.in_progress_on_time == 1
    assert report(date(2026, 4, 1), date(2026, 4, 30)).totals.in_progress == 1


def test_case_11_an_extension_does_not_launder_lateness(app):
    from server.dossiers.services import apply_action

    staff = demo_user(Role.STAFF)
    dossier = _real_dossier(at(12, 2, 10))
    apply_action(dossier, Action.TRANSFER, staff, ActionRequest(staff.id, "staff"), now=at(13, 2))
    dossier.due_at = dossier.original_due_at = at(26, 2, 10)  # the 5-working-day procedure of case 1
    db.session.commit()
    apply_action(dossier, Action.EXTEND, staff, ActionRequest(staff.id, "staff", reason="Chờ xác minh",
                                                              new_due_date=date(2026, 3, 5)), now=at(24, 2))
    db.session.commit()
    # At the end of February it is in progress: past its original due date, though not its new one.
    february = report(date(2026, 2, 1), date(2026, 2, 28)).totals
    assert february.in_progress_overdue == 1 and february.in_progress_on_time == 0
    _approve(dossier, at(3), at(4))
    march = report(*MARCH).totals
    assert march.resolved_late == 1 and march.resolved_early == march.resolved_on_time == 0
    assert march.on_time_rate.percent() == "0,00%"


def test_case_14_refused_is_not_received(app):
    from server.dossiers.services import apply_action

    staff = demo_user(Role.STAFF)
    dossier = make_dossier(State.ONLINE_SUBMITTED)
    dossier.channel, dossier.reception_mode = Channel.ONLINE, ReceptionMode.ONLINE
    apply_action(dossier, Action.REFUSE, staff, ActionRequest(staff.id, "staff", reason="Ngoài thẩm quyền"),
                 now=at(10))
    db.session.commit()
    march = report(*MARCH).totals
    assert march.refused == 1
    assert march.received == march.total == march.received_online == 0
    assert march.online_rate.value is None and march.online_rate.percent() == "—"


def test_case_15_withdrawal_counts_as_resolved_not_late(app):
    from server.dossiers.services import apply_action

    staff = demo_user(Role.STAFF)
    dossier = _real_dossier(at(2))
    dossier.due_at = dossier.original_due_at = at(6)
    apply_action(dossier, Action.TRANSFER, staff, ActionRequest(staff.id, "staff"), now=at(3))
    apply_action(dossier, Action.WITHDRAW, staff, ActionRequest(staff.id, "staff", citizen_request="Đơn số 12"),
                 now=at(20))  # long after the due date
    db.session.commit()
    march = report(*MARCH).totals
    assert march.withdrawn == 1 and march.resolved_late == 0 and march.resolved_766 == 1
    assert march.on_time_rate.percent() == "100,00%"
    assert march.in_progress == 0 and march.total == 1


def test_stopped_and_paused_for_payment(app):
    stored(State.STOPPED, at(2), closed=at(9))
    stored(State.AWAITING_PAYMENT, at(3))
    march = report(*MARCH).totals
    assert (march.stopped, march.paused_payment, march.paused) == (1, 1, 2)
    assert march.total == 2 and march.in_progress == 0


def test_digitisation_and_satisfaction_rates(app):
    citizen = demo_user(Role.CITIZEN)
    photographed, sighted, _plain = (stored(State.RETURNED, at(2 + i), finished=at(5 + i), closed=at(6 + i),
                                            timeliness=Timeliness.EARLY) for i in range(3))
    db.session.add(Attachment(sha256="a" * 64, media_type="image/jpeg", size_bytes=10))
    db.session.add_all([
        DossierDocument(dossier_id=photographed.id, name="Đơn đề nghị", sha256="a" * 64),
        DossierDocument(dossier_id=photographed.id, name="Giấy khai sinh"),
        DossierDocument(dossier_id=sighted.id, name="Căn cước", sighted_original=True),
        DossierRating(dossier_id=photographed.id, user_id=citizen.id, level=RatingLevel.NOT_SATISFIED),
        DossierRating(dossier_id=sighted.id, user_id=citizen.id, level=RatingLevel.VERY_SATISFIED),
    ])
    db.session.commit()
    march = report(*MARCH).totals
    assert (march.digitisation_rate.numerator, march.digitisation_rate.denominator) == (1, 3)
    assert (march.satisfaction_rate.numerator, march.satisfaction_rate.denominator) == (2, 3)


def test_an_issued_form_is_not_a_photographed_paper(app):
    """The receipt PDF the server issued has a sha256 too; only the citizen's papers make a dossier digitised."""
    issued, photographed = (stored(State.RECEIVED, at(2 + i)) for i in range(2))
    db.session.add_all([Attachment(sha256="b" * 64, media_type="application/pdf", size_bytes=10),
                        Attachment(sha256="c" * 64, media_type="image/jpeg", size_bytes=10)])
    db.session.add_all([
        DossierDocument(dossier_id=issued.id, name="Giấy tiếp nhận", sha256="b" * 64, form_key="receipt"),
        DossierDocument(dossier_id=photographed.id, name="Đơn đề nghị", sha256="c" * 64),
    ])
    db.session.commit()
    assert (issued.photographed, photographed.photographed) == (False, True)
    assert report(*MARCH).totals.digitised == 1


def test_a_period_ending_today_uses_the_current_state(app):
    today = utcnow().astimezone(VN_TZ).date()
    make_dossier(State.AWAITING_SUPPLEMENT, due_at=utcnow() + timedelta(days=3), device_received_at=utcnow())
    totals = report(today.replace(day=1), today).totals
    assert totals.paused_supplement == 1 and totals.received == 1


def test_end_before_start_is_refused(app):
    with pytest.raises(ValueError):
        report(date(2026, 3, 2), date(2026, 3, 1))


# --- pages and exports ------------------------------------------------------------------------------------------

MARCH_QUERY = "period=month&year=2026&month=3"


def test_the_stats_page_shows_case_24_with_charts_and_no_inline_style(app, client):
    case_24_fixture()
    sign_in(client, demo_user(Role.STAFF))
    response = client.get(f"/staff/stats?{MARCH_QUERY}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "01/03/2026" in page and "31/03/2026" in page
    assert 'id="rate-on-time">93,33% <span class="small">(28/30)' in page
    assert 'id="rate-online">13,9% <span class="small">(5/36)' in page
    assert page.count("<svg") == 3 and 'id="chart-results"' in page
    assert "style=" not in page and "<script>" not in page  # the CSP allows neither
    assert 'href="/staff/stats/export.csv?period=month&amp;year=2026&amp;month=3"' in page


def test_quarter_year_and_custom_periods(app, client):
    case_24_fixture()
    sign_in(client, demo_user(Role.LEADER))
    quarter = client.get("/staff/stats?period=quarter&year=2026&quarter=1").get_data(as_text=True)
    assert "01/01/2026" in quarter and "31/03/2026" in quarter
    year = client.get("/staff/stats?period=year&year=2026").get_data(as_text=True)
    assert "01/01/2026" in year and "31/12/2026" in year
    custom = client.get("/staff/stats?period=custom&start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    assert 'id="rate-on-time">93,33%' in custom


@pytest.mark.parametrize(("query", "field", "message"), [
    ("period=week", "period", "Vui lòng chọn kỳ báo cáo"),
    ("period=month&year=2026&month=13", "month", "Tháng phải là số từ 1 đến 12."),
    ("period=quarter&year=abc&quarter=1", "year", "Năm phải là số từ 2000 đến 2100."),
    ("period=custom&start=2026-03-31&end=2026-03-01", "end", "Ngày kết thúc phải từ ngày bắt đầu trở đi."),
    ("period=custom&start=31/03/2026&end=2026-04-01", "start", "Ngày bắt đầu không hợp lệ"),
    ("period=month&field=khong_co", "field", "Lĩnh vực này không có trong danh mục thủ tục."),
])
def test_bad_period_input_gets_a_message_per_field(app, client, query, field, message):
    sign_in(client, demo_user(Role.STAFF))
    for path in ("/staff/stats", "/staff/stats/export.csv", "/staff/stats/export.xlsx"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422, path
        page = response.get_data(as_text=True)
        assert message in page
        assert f'href="#{field}"' in page


def test_csv_export_is_utf8_with_bom_for_excel(app, client):
    case_24_fixture()
    sign_in(client, demo_user(Role.STAFF))
    response = client.get(f"/staff/stats/export.csv?{MARCH_QUERY}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="bao-cao-tthc-2026-03-01-2026-03-31.csv"' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header, total = rows[0], rows[-1]
    assert header[0] == "Lĩnh vực" and total[0] == "Tổng cộng"
    line = dict(zip(header, total, strict=True))
    assert line["Kỳ trước chuyển sang"] == "10"
    assert (line["Tiếp nhận trực tuyến"], line["Tiếp nhận trực tiếp"], line["Trong đó: tiếp nhận tại nhà"],
            line["Tiếp nhận qua bưu chính công ích"]) == ("5", "30", "12", "1")
    assert line["Tổng số hồ sơ cần giải quyết"] == "46"
    assert (line["Đã giải quyết trước hạn"], line["Đã giải quyết đúng hạn"], line["Đã giải quyết quá hạn"]) == (
        "20", "8", "2")
    assert line["Tỷ lệ giải quyết đúng hạn"] == "93,33%"
    assert rows[1][0] == "Bảo trợ xã hội" and len(rows) == 3


def test_xlsx_export_reads_back_with_numbers_and_percentages(app, client):
    case_24_fixture()
    sign_in(client, demo_user(Role.STAFF))
    response = client.get(f"/staff/stats/export.xlsx?{MARCH_QUERY}")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert "01/03/2026" in sheet["A1"].value
    header = [cell.value for cell in sheet[2]]
    total = [cell for cell in sheet[sheet.max_row]]
    line = {heading: cell for heading, cell in zip(header, total, strict=True)}
    assert line["Lĩnh vực"].value == "Tổng cộng"
    assert line["Tổng số hồ sơ cần giải quyết"].value == 46 and line["Kỳ trước chuyển sang"].value == 10
    assert line["Trong đó: tiếp nhận tại nhà"].value == 12
    assert line["Tỷ lệ giải quyết đúng hạn"].value == pytest.approx(28 / 30)
    assert line["Tỷ lệ giải quyết đúng hạn"].number_format == "0.00%"
    assert line["Tỷ lệ hồ sơ trực tuyến"].value == pytest.approx(5 / 36)


def _other_ward_staff():
    other = Agency(agency_code="000.20.27.H26", name_vi="Phường khác", name_en="Other ward")
    db.session.add(other)
    db.session.commit()
    return make_user(Role.STAFF, other, "Công chức phường khác")


def test_another_ward_sees_nothing_on_the_pages(app, client):
    case_24_fixture()
    overdue = make_dossier(State.IN_PROCESS, due_at=utcnow() - timedelta(days=3), code="000.20.26.H26-261101-0001")
    sign_in(client, _other_ward_staff())
    page = client.get(f"/staff/stats?{MARCH_QUERY}").get_data(as_text=True)
    assert 'id="rate-on-time">— <span class="small">(0/0)' in page
    assert overdue.code not in page
    rows = list(csv.reader(io.StringIO(client.get(f"/staff/stats/export.csv?{MARCH_QUERY}").data.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == "Tổng cộng" and rows[1][6] == "0"
    assert client.get(f"/staff/dossiers/{overdue.id}").status_code == 404  # where the lists link to
    assert overdue.code not in client.get("/leader").get_data(as_text=True)


def test_overdue_and_due_soon_lists_link_to_the_dossier(app, client):
    now = utcnow()
    late = make_dossier(State.IN_PROCESS, due_at=now - timedelta(days=2), code="000.20.26.H26-261101-0001")
    soon = make_dossier(State.RECEIVED, due_at=now, code="000.20.26.H26-261101-0002")
    later = make_dossier(State.IN_PROCESS, due_at=now + timedelta(days=30), code="000.20.26.H26-261101-0003")
    waiting = make_dossier(State.AWAITING_SUPPLEMENT, due_at=now - timedelta(days=2), code="000.20.26.H26-261101-04")
    sign_in(client, demo_user(Role.STAFF))
    page = client.get("/staff/stats").get_data(as_text=True)
    overdue_part = page[page.index('id="overdue-list"'):page.index('id="due-soon-title"')]
    soon_part = page[page.index('id="due-soon-list"'):]
    assert f'href="/staff/dossiers/{late.id}"' in overdue_part and soon.code not in overdue_part
    assert f'href="/staff/dossiers/{soon.id}"' in soon_part and late.code not in soon_part
    assert later.code not in page and waiting.code not in page  # not due yet; clock stopped for the supplement


def test_the_leaders_summary(app, client):
    today = utcnow().astimezone(VN_TZ)
    leader = demo_user(Role.LEADER)
    pending = make_dossier(State.PENDING_APPROVAL, due_at=utcnow() + timedelta(days=10),
                           code="000.20.26.H26-261101-0005")
    # This month: 1 early, 1 late → 50%, below the 95% target.
    for timeliness in (Timeliness.EARLY, Timeliness.LATE):
        stored(State.RESOLVED, today - timedelta(minutes=5), finished=today - timedelta(minutes=1),
               timeliness=timeliness)
    sign_in(client, leader)
    page = client.get("/leader").get_data(as_text=True)
    assert 'id="month-rate">50,00%<' in page and "Thấp hơn mục tiêu 95%." in page
    assert 'class="big-figure below-target"' in page
    assert f'href="/staff/dossiers/{pending.id}"' in page[page.index('id="approval-list"'):]
    assert 'href="/leader"' in page and 'href="/staff/stats"' in page  # the navigation
    app.config["ON_TIME_TARGET"] = 0.5
    assert "Đạt mục tiêu 50%." in client.get("/leader").get_data(as_text=True)
    sign_in(client, demo_user(Role.STAFF))
    staff_page = client.get("/leader")
    assert staff_page.status_code == 200  # staff may look, but have no link to it
    assert 'href="/leader"' not in client.get("/staff/stats").get_data(as_text=True)


def test_overdue_in_a_running_period_is_judged_today_not_at_the_period_s_end(app):
    """Issue 11 point 8: on 02/12 the December report counts as overdue what is overdue today (due 01/12, not
    finished), not what will be by the 31st (due 30/12)."""
    received = datetime(2026, 11, 20, 9, 0, tzinfo=VN_TZ)
    make_dossier(State.IN_PROCESS, due_at=datetime(2026, 12, 1, 16, 0, tzinfo=VN_TZ),
                        device_received_at=received)
    make_dossier(State.IN_PROCESS, due_at=datetime(2026, 12, 30, 16, 0, tzinfo=VN_TZ), device_received_at=received)
    make_dossier(State.IN_PROCESS, due_at=datetime(2026, 12, 2, 16, 0, tzinfo=VN_TZ), device_received_at=received)
    december = report(date(2026, 12, 1), date(2026, 12, 31), today=date(2026, 12, 2)).totals
    assert (december.in_progress_on_time, december.in_progress_overdue) == (2, 1)
    # Once the period is over, its last day decides (as before): all three were overdue by the 31st.
    after = report(date(2026, 12, 1), date(2026, 12, 31), today=date(2027, 1, 5)).totals
    assert (after.in_progress_on_time, after.in_progress_overdue) == (0, 3)


def test_the_satisfaction_rate_says_what_it_rests_on_and_nothing_before_anyone_rated(app, client):
    """Issue 11 point 8: no "100 %" resting on no rating; with ratings, how many."""
    rated, _unrated = (stored(State.RETURNED, at(2 + i), finished=at(5 + i), closed=at(6 + i),
                              timeliness=Timeliness.EARLY) for i in range(2))
    sign_in(client, demo_user(Role.STAFF))
    before = report(*MARCH).totals
    assert before.rated == 0 and before.satisfaction_rate.value is None
    page = client.get(f"/staff/stats?{MARCH_QUERY}").get_data(as_text=True)
    shown = page[page.index('id="rate-satisfaction"'):].split("</dd>")[0]
    assert "Chưa có lượt đánh giá nào" in shown and "%" not in shown

    db.session.add(DossierRating(dossier_id=rated.id, user_id=demo_user(Role.CITIZEN).id,
                                 level=RatingLevel.SATISFIED))
    db.session.commit()
    after = report(*MARCH).totals
    assert after.rated == 1 and (after.satisfaction_rate.numerator, after.satisfaction_rate.denominator) == (2, 2)
    page = client.get(f"/staff/stats?{MARCH_QUERY}").get_data(as_text=True)
    shown = page[page.index('id="rate-satisfaction"'):].split("</dd>")[0]
    assert "100,0%" in shown and "dựa trên 1 lượt đánh giá" in shown
