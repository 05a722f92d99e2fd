"""Statistics pages of the desk (/staff/stats, with CSV and XLSX exports) and the leaders' summary (/leader).

Staff and leaders see their own ward only: every figure is computed for ``current_user.agency_id`` and every
listed dossier links to /staff/dossiers/<id>, which answers 404 for another ward. The period is chosen with a
GET form (it changes nothing, so it carries no CSRF token); a wrong value is answered 422 with one Vietnamese
message per field.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from datetime import timedelta

from flask import Response
from flask import current_app
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from server.auth.access import roles_required
from server.calendar.workdays import to_local
from server.channels import costs
from server.errors import locale_code
from server.extensions import db
from server.interagency import services as interagency
from server.reference.fields import field_labels
from server.reference.models import Agency
from server.reference.models import Procedure
from server.stats import export
from server.stats import service
from server.stats.charts import Bar
from server.stats.charts import bar_chart
from server.types import utcnow
from server.web.officer_messages import officer_messages
from server.web.pages import pages_blueprint

bp = pages_blueprint("stats", __name__)

DESK = ("staff", "leader")
PERIODS = ("month", "quarter", "year", "custom")
#: A custom period longer than this is refused (a typo such as 1026 for 2026), not computed.
MAX_CUSTOM_DAYS = 5 * 366


def _ward_names(lines: list[costs.CostLine]) -> dict[int, str]:
    """The wards of the cost lines by id, in the page's language."""
    ids = {line.agency_id for line in lines if line.agency_id is not None}
    if not ids:
        return {}
    english = locale_code() == "en"
    return {agency.id: agency.name_en if english else agency.name_vi
            for agency in db.session.scalars(select(Agency).where(Agency.id.in_(ids)))}


def field_label(key: str) -> str:
    return field_labels().get(key, key)


def known_fields() -> list[str]:
    return sorted(db.session.scalars(select(Procedure.field).distinct()))


def today_in_vietnam() -> date:
    return to_local(utcnow()).date()


@dataclass
class PeriodChoice:
    """The period form as typed, its errors by field, and the dates it means once valid."""

    values: dict
    errors: dict[str, str] = dataclass_field(default_factory=dict)
    start: date | None = None
    end: date | None = None
    field: str | None = None
    basis: service.UnitBasis = service.UnitBasis.RECEIVING


def _int_in(values: dict, errors: dict, name: str, low: int, high: int, message: str) -> int | None:
    try:
        number = int(values[name])
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        errors[name] = message
        return None
    return number


def _date(values: dict, errors: dict, name: str, message: str) -> date | None:
    try:
        return date.fromisoformat(values[name])
    except ValueError:
        errors[name] = message
        return None


def read_period(args: MultiDict, today: date, fields: list[str]) -> PeriodChoice:
    """Read the period picker (month, quarter, year or custom dates) and the field filter."""
    defaults = {"period": "month", "year": str(today.year), "month": str(today.month),
                "quarter": str((today.month - 1) // 3 + 1), "start": today.replace(day=1).isoformat(),
                "end": today.isoformat(), "field": "", "unit": service.UnitBasis.RECEIVING.value}
    values = {name: (args.get(name) or default).strip() for name, default in defaults.items()}
    choice = PeriodChoice(values)
    errors = choice.errors
    period = values["period"]
    if period not in PERIODS:
        errors["period"] = _("Vui lòng chọn kỳ báo cáo: tháng, quý, năm hoặc tùy chọn.")
    try:
        choice.basis = service.UnitBasis(values["unit"])
    except ValueError:
        errors["unit"] = _("Vui lòng chọn thống kê theo đơn vị tiếp nhận hoặc theo cơ quan có thẩm quyền giải quyết.")
    if current_user.agency is not None and not current_user.agency.in_system:
        # A unit outside the system decides nothing here: an account attached to it counts what it received.
        choice.basis = service.UnitBasis.RECEIVING
    if values["field"]:
        if values["field"] in fields:
            choice.field = values["field"]
        else:
            errors["field"] = _("Lĩnh vực này không có trong danh mục thủ tục.")
    if period in ("month", "quarter", "year"):
        year = _int_in(values, errors, "year", 2000, 2100, _("Năm phải là số từ 2000 đến 2100."))
        if period == "month":
            month = _int_in(values, errors, "month", 1, 12, _("Tháng phải là số từ 1 đến 12."))
            if year and month:
                choice.start = date(year, month, 1)
                choice.end = (choice.start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        elif period == "quarter":
            quarter = _int_in(values, errors, "quarter", 1, 4, _("Quý phải là số từ 1 đến 4."))
            if year and quarter:
                choice.start = date(year, 3 * quarter - 2, 1)
                choice.end = (date(year, 3 * quarter, 1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        elif year:
            choice.start, choice.end = date(year, 1, 1), date(year, 12, 31)
    elif period == "custom":
        start = _date(values, errors, "start", _("Ngày bắt đầu không hợp lệ (ví dụ 2026-03-01)."))
        end = _date(values, errors, "end", _("Ngày kết thúc không hợp lệ (ví dụ 2026-03-31)."))
        if start and end:
            if end < start:
                errors["end"] = _("Ngày kết thúc phải từ ngày bắt đầu trở đi.")
            elif (end - start).days > MAX_CUSTOM_DAYS:
                errors["end"] = _("Kỳ báo cáo dài quá 5 năm.")
            else:
                choice.start, choice.end = start, end
    if errors:
        choice.start = choice.end = None
    return choice


def _charts(totals: service.Counts) -> list:
    """The page's charts: results by timeliness, receipt by channel, and the rates against 100%."""
    def rate_bar(label, rate, css):
        return Bar(label, rate.value or 0, rate.percent(), css)

    return [
        bar_chart("chart-results", _("Kết quả giải quyết trong kỳ"), [
            Bar(_("Trước hạn"), totals.resolved_early, str(totals.resolved_early), "bar bar-early"),
            Bar(_("Đúng hạn"), totals.resolved_on_time, str(totals.resolved_on_time), "bar bar-on-time"),
            Bar(_("Quá hạn"), totals.resolved_late, str(totals.resolved_late), "bar bar-late"),
            Bar(_("Rút hồ sơ"), totals.withdrawn, str(totals.withdrawn), "bar bar-neutral"),
            Bar(_("Đang giải quyết trong hạn"), totals.in_progress_on_time, str(totals.in_progress_on_time),
                "bar bar-on-time"),
            Bar(_("Đang giải quyết quá hạn"), totals.in_progress_overdue, str(totals.in_progress_overdue),
                "bar bar-late"),
            Bar(_("Tạm dừng"), totals.paused, str(totals.paused), "bar bar-neutral"),
        ]),
        bar_chart("chart-channels", _("Hồ sơ tiếp nhận trong kỳ theo kênh"), [
            Bar(_("Trực tuyến"), totals.received_online, str(totals.received_online), "bar"),
            Bar(_("Trực tiếp tại bộ phận một cửa"), totals.received_direct - totals.received_home,
                str(totals.received_direct - totals.received_home), "bar"),
            Bar(_("Trực tiếp tại nhà"), totals.received_home, str(totals.received_home), "bar bar-home"),
            Bar(_("Bưu chính công ích"), totals.received_postal, str(totals.received_postal), "bar"),
        ]),
        bar_chart("chart-rates", _("Các tỷ lệ"), [
            rate_bar(_("Đúng hạn"), totals.on_time_rate, "bar bar-on-time"),
            rate_bar(_("Trực tuyến"), totals.online_rate, "bar"),
            rate_bar(_("Số hóa"), totals.digitisation_rate, "bar"),
            rate_bar(_("Hài lòng"), totals.satisfaction_rate, "bar bar-early"),
        ], scale_max=1),
    ]


def _choice_or_page(template_args: dict):
    fields = known_fields()
    choice = read_period(request.args, today_in_vietnam(), fields)
    template_args.update(choice=choice, fields=[(key, field_label(key)) for key in fields], periods=PERIODS,
                         bases=export.basis_labels())
    if choice.errors:
        return choice, (render_template("stats/stats.html", report=None, **template_args), 422)
    return choice, None


@bp.get("/staff/stats")
@roles_required(*DESK)
def stats_page():
    args: dict = {}
    choice, refused = _choice_or_page(args)
    if refused:
        return refused
    report = service.report(choice.start, choice.end, [current_user.agency_id], choice.field, basis=choice.basis)
    lists = service.attention(current_user.agency_id, today_in_vietnam(), basis=choice.basis)
    cost_lines = costs.monthly(choice.start, choice.end, [current_user.agency_id])
    return render_template("stats/stats.html", report=report, columns=export.columns(), charts=_charts(report.totals),
                           cost_lines=cost_lines, cost_total=costs.total(cost_lines),
                           ward_names=_ward_names(cost_lines),
                           lists=lists, field_label=field_label, title=export.title(report),
                           export_query=request.query_string.decode(), to_local=to_local,
                           labels=officer_messages(),
                           step_rows=interagency.step_timeliness_table(choice.start, choice.end,
                                                                       current_user.agency_id), **args)


def _export(kind: str):
    args: dict = {}
    choice, refused = _choice_or_page(args)
    if refused:
        return refused
    report = service.report(choice.start, choice.end, [current_user.agency_id], choice.field, basis=choice.basis)
    name = f"bao-cao-tthc-{choice.start.isoformat()}-{choice.end.isoformat()}"
    if choice.basis is not service.UnitBasis.RECEIVING:
        name += f"-{choice.basis.value}"
    if kind == "csv":
        body, mimetype = export.to_csv(report, field_label), "text/csv; charset=utf-8"
    else:
        body = export.to_xlsx(report, field_label)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'})


@bp.get("/staff/stats/export.csv")
@roles_required(*DESK)
def export_csv():
    return _export("csv")


@bp.get("/staff/stats/export.xlsx")
@roles_required(*DESK)
def export_xlsx():
    return _export("xlsx")


@bp.get("/leader")
@roles_required(*DESK)
def leader():
    """One page for a leader's phone: what is late, what is due soon, the month's on-time rate, approvals."""
    today = today_in_vietnam()
    month = service.report(today.replace(day=1), today, [current_user.agency_id])
    target = current_app.config["ON_TIME_TARGET"]
    rate = month.totals.on_time_rate
    return render_template("stats/leader.html", today=today, month=month, rate=rate, target=target,
                           below_target=rate.value is not None and rate.value < target,
                           lists=service.attention(current_user.agency_id, today), to_local=to_local,
                           labels=officer_messages())
