"""The report as a spreadsheet: one row per procedure field and a total row, in the order of the provincial form.

CSV is written in UTF-8 with a byte-order mark, without which Excel reads Vietnamese as mojibake; XLSX keeps
counts as numbers and rates as percentages Excel can compute with.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.styles import Font

from server.stats.service import Counts
from server.stats.service import Rate
from server.stats.service import Report
from server.stats.service import UnitBasis
from server.web.formats import day_text


def columns() -> list[tuple[str, Callable[[Counts], int | Rate]]]:
    """The report's columns: a Vietnamese heading and how to read it from a line of counts."""
    return [
        (_("Kỳ trước chuyển sang"), lambda c: c.carried_over),
        (_("Tiếp nhận trực tuyến"), lambda c: c.received_online),
        (_("Tiếp nhận trực tiếp"), lambda c: c.received_direct),
        (_("Trong đó: tiếp nhận tại nhà"), lambda c: c.received_home),
        (_("Tiếp nhận qua bưu chính công ích"), lambda c: c.received_postal),
        (_("Tổng số hồ sơ cần giải quyết"), lambda c: c.total),
        (_("Đã giải quyết trước hạn"), lambda c: c.resolved_early),
        (_("Đã giải quyết đúng hạn"), lambda c: c.resolved_on_time),
        (_("Đã giải quyết quá hạn"), lambda c: c.resolved_late),
        (_("Đang giải quyết trong hạn"), lambda c: c.in_progress_on_time),
        (_("Đang giải quyết quá hạn"), lambda c: c.in_progress_overdue),
        (_("Tạm dừng: chờ bổ sung"), lambda c: c.paused_supplement),
        (_("Tạm dừng: chờ nghĩa vụ tài chính"), lambda c: c.paused_payment),
        (_("Dừng xử lý"), lambda c: c.stopped),
        (_("Rút hồ sơ"), lambda c: c.withdrawn),
        (_("Từ chối tiếp nhận (không tính là tiếp nhận)"), lambda c: c.refused),
        (_("Tỷ lệ giải quyết đúng hạn"), lambda c: c.on_time_rate),
        (_("Tỷ lệ hồ sơ trực tuyến"), lambda c: c.online_rate),
        (_("Tỷ lệ số hóa hồ sơ"), lambda c: c.digitisation_rate),
        (_("Tỷ lệ hài lòng (QĐ 766)"), lambda c: c.satisfaction_rate),
        (_("Số lượt đánh giá"), lambda c: c.rated),
    ]


def basis_labels() -> dict[str, str]:
    """How the report's dossiers are assigned to units (server/stats/service.py UnitBasis), as the form says it."""
    return {UnitBasis.RECEIVING.value: _("Theo đơn vị tiếp nhận"),
            UnitBasis.COMPETENT.value: _("Theo cơ quan có thẩm quyền giải quyết")}


def _lines(report: Report, field_label: Callable[[str], str]) -> list[tuple[str, Counts]]:
    return [(field_label(key), counts) for key, counts in report.by_field.items()] + [(_("Tổng cộng"), report.totals)]


def title(report: Report) -> str:
    """The report's title; on the competent unit's basis it says so (the receiving basis is the report as before)."""
    text = _("Tình hình giải quyết hồ sơ thủ tục hành chính từ %(start)s đến %(end)s",
             start=day_text(report.start), end=day_text(report.end))
    if report.basis is UnitBasis.COMPETENT:
        text += " — " + _("theo cơ quan có thẩm quyền giải quyết")
    return text


def to_csv(report: Report, field_label: Callable[[str], str]) -> bytes:
    """The report as CSV, UTF-8 with BOM; rates as "93,33%"."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    cols = columns()
    writer.writerow([_("Lĩnh vực"), *(heading for heading, _read in cols)])
    for label, counts in _lines(report, field_label):
        values = [read(counts) for _heading, read in cols]
        writer.writerow([label, *(v.percent() if isinstance(v, Rate) else v for v in values)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(report: Report, field_label: Callable[[str], str]) -> bytes:
    """The report as an Excel workbook: a title row, the headings, one row per field and the total."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Báo cáo")
    sheet.append([title(report)])
    sheet["A1"].font = Font(bold=True, size=13)
    cols = columns()
    sheet.append([_("Lĩnh vực"), *(heading for heading, _read in cols)])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for label, counts in _lines(report, field_label):
        values = [read(counts) for _heading, read in cols]
        sheet.append([label, *(v.value if isinstance(v, Rate) else v for v in values)])
        for cell, value in zip(sheet[sheet.max_row][1:], values, strict=True):
            if isinstance(value, Rate):
                cell.number_format = "0.00%"
    sheet.column_dimensions["A"].width = 28
    sheet.freeze_panes = "B3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
