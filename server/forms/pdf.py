"""Lay a form's blocks (server/forms/content.py) out as an A5 PDF with fpdf2.

The font is DejaVu Sans, vendored in ``fonts/`` with its licence, embedded (subset) in every file: the paper has
every Vietnamese diacritic whatever fonts the machine or the citizen's phone has. The output depends only on the
content (the creation date is the issue time), so the same form always gives the same bytes and the same SHA-256.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf import FontFace
from fpdf.enums import Align
from fpdf.enums import XPos
from fpdf.enums import YPos

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
MARGIN = 12  # mm
LINE = 5  # mm per line of body text
#: A5 in millimetres (Circular 01/2018 prints its forms on A5), given as a size: fpdf2 warns about its "A5" name.
A5 = (148, 210)


def _new_document(content: dict) -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format=A5)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN)
    pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_title(content["label"])
    pdf.set_lang("vi")
    pdf.set_creator("Một Cửa Tại Nhà")
    pdf.set_creation_date(datetime.fromisoformat(content["issued_at"]))
    pdf.add_page()
    return pdf


def _header(pdf: FPDF, block: dict) -> None:
    half = (pdf.epw - 4) / 2
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 8)
    for line in block["left"]:
        pdf.multi_cell(half, 4, line, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if block.get("number"):
        pdf.set_font(FONT, "", 8)
        pdf.multi_cell(half, 4, block["number"], align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()
    pdf.set_xy(MARGIN + half + 4, top)
    for line in block["right"]:
        _one_line(pdf, half, line)
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(half, 4, block["place_date"], align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 3)


def _one_line(pdf: FPDF, width: float, text: str, size: float = 8) -> None:
    """A line that must never break (the national motto): bold, made smaller until it fits ``width``."""
    pdf.set_font(FONT, "B", size)
    while pdf.get_string_width(text) > width - 1 and size > 5:
        size -= 0.25
        pdf.set_font(FONT, "B", size)
    pdf.cell(width, 4, text, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _title(pdf: FPDF, block: dict) -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(0, 6, block["text"], align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 7)
    pdf.multi_cell(0, 4, block["subtitle"], align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _field(pdf: FPDF, block: dict) -> None:
    # write() flows the value after the bold label and wraps at the margin (no markup: a reason is plain text).
    pdf.set_font(FONT, "B", 9)
    pdf.write(LINE, f"{block['label']}: ")
    pdf.set_font(FONT, "", 9)
    pdf.write(LINE, block["value"])
    pdf.ln(LINE)


def _paragraph(pdf: FPDF, block: dict) -> None:
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, LINE, block["text"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: FPDF, block: dict) -> None:
    pdf.set_font(FONT, "", 8)
    total = sum(block["widths"])
    widths = tuple(pdf.epw * w / total for w in block["widths"])
    with pdf.table(col_widths=widths, line_height=4, text_align="LEFT",
                   headings_style=FontFace(family=FONT, emphasis="BOLD")) as table:
        for cells in [block["headers"], *block["rows"]]:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(2)


def _signatures(pdf: FPDF, block: dict) -> None:
    columns = block["columns"]
    width = pdf.epw / len(columns)
    pdf.ln(3)
    top = pdf.get_y()
    if top > pdf.h - MARGIN - 30:  # keep the signatures together with their names
        pdf.add_page()
        top = pdf.get_y()
    for index, column in enumerate(columns):
        pdf.set_xy(MARGIN + index * width, top)
        pdf.set_font(FONT, "B", 9)
        pdf.multi_cell(width, LINE, column["title"], align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 7)
        pdf.multi_cell(width, 4, column["note"], align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.ln(14)
        pdf.set_x(MARGIN + index * width)
        pdf.set_font(FONT, "B", 9)
        pdf.multi_cell(width, LINE, column["name"], align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)


_BLOCKS = {
    "header": _header,
    "title": _title,
    "field": _field,
    "paragraph": _paragraph,
    "table": _table,
    "signatures": _signatures,
}


def render(content: dict) -> bytes:
    """The PDF of a form's ``content``."""
    pdf = _new_document(content)
    for block in content["blocks"]:
        _BLOCKS[block["type"]](pdf, block)
    return bytes(pdf.output())
