"""The receipt says what the law says (issue 11 point 2): the officer's receipt on the phone, its print, and the Mẫu 01
PDF the server issues for the same dossier agree field by field.

A dossier is captured at a door with no network (a relative submits it for the owner; one paper photographed with
the original sighted, one photographed only), the receipt is read on screen, then in the print rendering, then
again after the sync (when the phone has dropped the citizen's data), and compared with the text of the PDF.
"""

from __future__ import annotations

import io
import re
import uuid as uuids

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from server.dossiers.models import Dossier
from server.extensions import db
from server.forms.issue import issued_forms
from server.storage import backend
from tests.browser.pwa import offline_support as app
from tests.browser.support import fresh
from tests.browser.test_languages import UNMARKED_VIETNAMESE_JS
from tests.helpers import render_forms

pytestmark = pytest.mark.browser

OWNER = "Nguyễn Thị Hường"
SUBMITTER = "Lê Văn Đức"
ADDRESS = "Số 12 ngõ Huế, phường Hai Bà Trưng"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")

#: The receipt's facts as the page shows them: {label: value}, in order.
FACTS_JS = """() => Object.fromEntries([...document.querySelectorAll('#receipt dl.receipt-facts dt')]
    .map((dt) => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))"""
ROWS_JS = """() => [...document.querySelectorAll('#receipt-documents tbody tr')]
    .map((tr) => [...tr.cells].map((td) => td.textContent.trim()))"""
#: How many lines each motto line takes on screen, and whether it overflows its box.
MOTTO_JS = """() => [...document.querySelectorAll('#receipt .motto-line')].map((line) => {
    const range = document.createRange();
    range.selectNodeContents(line);
    const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
    return {text: line.textContent, lines: tops.size, overflows: line.scrollWidth > line.clientWidth + 1};
})"""
SIGNATURES_JS = """() => [...document.querySelectorAll('#receipt-signatures .signature')].map((block) => {
    const box = block.getBoundingClientRect();
    return {text: block.innerText, left: box.left, right: box.right, top: box.top, bottom: box.bottom,
            visible: box.width > 0 && box.height > 0};
})"""


def _capture(page) -> str:
    app.start_capture(page, OWNER)
    page.get_by_label("Số định danh cá nhân").first.fill(app.owner_id(171))
    page.get_by_label("Địa chỉ").first.fill(ADDRESS)
    page.get_by_label("Người nộp hồ sơ chính là chủ hồ sơ").uncheck()
    submitter = page.locator("[data-person=submitter]")
    submitter.get_by_label("Họ và tên").fill(SUBMITTER)
    submitter.get_by_label("Số điện thoại").fill("0987654321")
    cameras = page.locator("#documents input[type=file]")
    assert cameras.count() >= 2
    for index, seeds in enumerate(((171, 172), (173,))):
        for seed in seeds:
            cameras.nth(index).set_input_files({"name": f"p-{seed}.jpg", "mimeType": "image/jpeg",
                                                "buffer": app.photo_bytes(seed)})
        expect(page.locator(f"#doc-{index}-photos li")).to_have_count(len(seeds))
    for box in page.locator("#documents input[name$='.ticked']").all():
        box.check()
    page.locator("#doc-0-sighted").check()  # the original of the first paper was sighted, the second's was not
    app.finish_capture(page)  # through the review step
    return page.evaluate("location.hash.split('/')[2]")


def _pdf_text(uuid: str) -> tuple[str, list[str], dict]:
    fresh()
    render_forms()  # the receipt's PDF, as the push worker renders it after the sync (server/forms/rendering.py)
    dossier = db.session.scalar(select(Dossier).where(Dossier.client_uuid == uuids.UUID(uuid)))
    [form] = issued_forms(dossier, "receipt")
    reader = PdfReader(io.BytesIO(backend().read(form.sha256)))
    raw = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(raw.split()), raw.splitlines(), form.form_content


def _header(content: dict) -> dict:
    [header] = [block for block in content["blocks"] if block["type"] == "header"]
    return header


def _table_rows(content: dict) -> list[list[str]]:
    [table] = [block for block in content["blocks"] if block["type"] == "table"]
    return table["rows"]


def test_the_receipt_on_the_phone_its_print_and_the_pdf_agree(officer_phone):
    page = officer_phone
    page.set_viewport_size({"width": 390, "height": 844})
    app.go_offline(page.context)
    uuid = _capture(page)

    facts = page.evaluate(FACTS_JS)
    rows = page.evaluate(ROWS_JS)
    # The heading: the number is the server's to give, so the paper at the door leaves it blank in its series.
    expect(page.locator("#receipt-number")).to_have_text("Số: …/TNHS")
    place_date = page.locator("#receipt-place-date").inner_text()
    assert re.fullmatch(r"Phường .+, ngày \d{2} tháng \d{2} năm \d{4}", place_date), place_date
    # What the law asks for, as a Vietnamese clerk writes it (no "undefined", no "+84").
    assert facts["Ông/bà"] == SUBMITTER and facts["Chủ hồ sơ"] == OWNER
    assert facts["Số điện thoại"] == "0987 654 321"
    assert re.fullmatch(r"\d+ ngày làm việc", facts["3. Thời gian giải quyết hồ sơ theo quy định là"])
    assert re.fullmatch(r"\d{1,2} giờ \d{2} phút, ngày \d{2} tháng \d{2} năm \d{4}", facts["4. Thời gian nhận hồ sơ"])
    assert facts["6. Đăng ký nhận kết quả tại"] == f"Tại nhà: {ADDRESS}"
    assert [row[2:] for row in rows[:2]] == [["Bản chụp, đã đối chiếu bản chính", "2 ảnh"], ["Bản chụp", "1 ảnh"]]

    # Two signature blocks, each with its title and name, not one run-on line.
    signatures = page.evaluate(SIGNATURES_JS)
    assert [s["text"].split("\n")[0] for s in signatures] == ["NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ"]
    assert SUBMITTER in signatures[0]["text"] and "Cán bộ thử nghiệm" in signatures[1]["text"]
    # The national motto: each line whole, on one line, inside its box, on a 390 px phone and at 320 px, and with
    # the text size at 200 % (the root font size, as the browser's text-size setting changes it).
    for width, text_size in ((390, "100%"), (320, "100%"), (390, "200%")):
        page.set_viewport_size({"width": width, "height": 844})
        page.evaluate("(size) => { document.documentElement.style.fontSize = size; }", text_size)
        assert page.evaluate(MOTTO_JS) == [{"text": line, "lines": 1, "overflows": False} for line in MOTTO]
    page.evaluate("() => { document.documentElement.style.fontSize = ''; }")

    # The print shows the same receipt, and nothing else of the app.
    page.emulate_media(media="print")
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#print-receipt")).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()
    assert page.evaluate(FACTS_JS) == facts and page.evaluate(ROWS_JS) == rows
    assert page.evaluate(MOTTO_JS) == [{"text": line, "lines": 1, "overflows": False} for line in MOTTO]
    printed = page.evaluate(SIGNATURES_JS)
    assert all(s["visible"] for s in printed) and len(printed) == 2
    page.emulate_media(media="screen")

    app.go_online(page.context)
    app.wait_until_synced(page, 1)
    text, lines, content = _pdf_text(uuid)
    # Field by field: every fact on the phone is the PDF's "label: value".
    for label, value in facts.items():
        assert f"{label}: {value}" in text, (label, value)
    assert _table_rows(content) == rows
    header = _header(content)
    assert header["place_date"] == place_date
    assert re.fullmatch(r"Số: \d+/TNHS", header["number"]) and header["number"] in text
    for row in rows:
        for cell in row:
            assert all(word in text for word in cell.split()), cell
    assert "Bản chính" not in " ".join(row[2] for row in _table_rows(content)).replace("đối chiếu bản chính", "")
    for title in ("NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ", SUBMITTER, "Cán bộ thử nghiệm"):
        assert title in text
    # The motto is never broken across lines in the PDF either.
    for line in MOTTO:
        assert any(line in printed_line for printed_line in lines), (line, lines[:6])

    # After the sync the phone holds no personal data, but the receipt still says the statutory time.
    page.reload()
    expect(page.locator("#receipt-time")).to_have_text(facts["3. Thời gian giải quyết hồ sơ theo quy định là"])
    assert "undefined" not in page.locator("#receipt").inner_text()
    after = page.evaluate(FACTS_JS)
    for label in ("Mã hồ sơ", "Nội dung yêu cầu giải quyết", "4. Thời gian nhận hồ sơ",
                  "5. Thời gian trả kết quả giải quyết hồ sơ"):
        assert after[label] == facts[label]
    assert page.evaluate(ROWS_JS) == rows
    # Now the phone knows the number the server gave the receipt, and prints it as the PDF does.
    expect(page.locator("#receipt-number")).to_have_text(header["number"])
    expect(page.locator("#receipt-place-date")).to_have_text(place_date)


def _hold_uploads(route) -> None:
    route.abort("connectionrefused")


def test_the_receipt_in_english_marks_the_vietnamese_it_shows(officer_phone):
    """Issue 11 point 6: on an English phone, the ward, the place and the official titles that stay Vietnamese on
    the receipt carry lang="vi", and so does an owner's name in the list of dossiers."""
    page = officer_phone
    app.go_offline(page.context)
    uuid = _capture(page)
    app.go_home(page)
    app.start_capture(page, SUBMITTER)  # a draft, which the home view lists by its owner's name
    expect(page.locator("#draft-saved")).to_have_text("Đã lưu.")
    # Back online but with the uploads refused, so that the dossier waits on the phone, as at the door.
    page.context.route("**/api/v1/attachments/**", _hold_uploads)
    page.context.route("**/api/v1/dossiers/**", _hold_uploads)
    app.go_online(page.context)
    page.goto("/language/en?next=/app")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"/app#/receipt/{uuid}")
    expect(page.locator("#receipt-number")).to_have_text("No.: …/TNHS")
    expect(page.locator("#receipt-procedure")).to_be_visible()
    # Sealed for the server, the waiting dossier's receipt names no one once the page that captured it is gone.
    expect(page.locator("#receipt-applicant")).to_have_count(0)
    found = page.evaluate(UNMARKED_VIETNAMESE_JS)
    assert found == [], found
    assert page.locator("#receipt [lang=vi]").count() >= 5  # this test looks at the receipt, not an empty page
    page.goto("/app#/")
    expect(page.locator("#view-home")).to_contain_text(SUBMITTER)
    found = page.evaluate(UNMARKED_VIETNAMESE_JS)
    assert found == [], found
