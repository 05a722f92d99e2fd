"""Statutory forms (server/forms/): issued at their step, numbered, stored once as PDF, shown to the ward's desk.

The PDFs' text is extracted with pypdf, so these tests read what a printer would print, diacritics included.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.auth.models import Role
from server.calendar.workdays import VN_TZ
from server.dossiers.attachments import store
from server.dossiers.models import Attachment
from server.dossiers.models import DossierDocument
from server.dossiers.models import ReceptionMode
from server.dossiers.services import NewDossier
from server.dossiers.services import apply_action
from server.dossiers.services import receive
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.forms.issue import issued_forms
from server.forms.numbering import take_number
from server.forms.pdf import render
from server.people.models import Person
from server.reference.models import Agency
from server.storage import backend
from tests.conftest import ON_POSTGRES
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user
from tests.helpers import procedure
from tests.helpers import render_forms
from tests.helpers import sign_in

TRO_CAP = "tro-cap-xa-hoi-hang-thang"


def _receive(received_at: datetime, owner_name="Nguyễn Thị Hường", submitter_name="Lê Văn Đức"):
    owner = Person(full_name=owner_name, address="Số 12 ngõ Huế, phường Hai Bà Trưng", phone_e164="+84912345678")
    submitter = Person(full_name=submitter_name, phone_e164="+84987654321")
    version = procedure(TRO_CAP).version_at(received_at.date())
    dossier = receive(NewDossier(
        procedure_version=version, agency=demo_agency(), owner=owner, submitter=submitter,
        received_by=demo_user(Role.OFFICER), received_at=received_at, reception_mode=ReceptionMode.HOME_VISIT,
        provided_document_ids=frozenset(d.id for d in version.required_documents),
    ))
    db.session.commit()
    render_forms()
    return dossier


def _act(dossier, action: Action, role: Role = Role.STAFF, **fields):
    actor = demo_user(role)
    apply_action(dossier, action, actor, ActionRequest(actor_id=actor.id, actor_role=role.value, **fields))
    db.session.commit()
    render_forms()
    return issued_forms(dossier)


def text_of(document: DossierDocument) -> str:
    """The PDF's text, with runs of white space (line breaks) made single spaces."""
    reader = PdfReader(io.BytesIO(backend().read(document.sha256)))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _one(dossier, form_key: str) -> DossierDocument:
    found = issued_forms(dossier, form_key)
    assert len(found) == 1, [d.name for d in issued_forms(dossier)]
    return found[0]


def test_receipt_at_receipt_under_circular_03_2025(app):
    dossier = _receive(datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ))
    receipt = _one(dossier, "receipt")
    text = text_of(receipt)

    assert (receipt.form_circular, receipt.form_number, receipt.form_year) == ("03/2025/TT-VPCP", "1/TNHS", 2026)
    for expected in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Thông tư số 03/2025/TT-VPCP", "Số: 1/TNHS",
                     f"Mã hồ sơ: {dossier.code}", "Ông/bà: Lê Văn Đức", "Chủ hồ sơ: Nguyễn Thị Hường",
                     "Số 12 ngõ Huế, phường Hai Bà Trưng", "9 giờ 30 phút, ngày 09 tháng 03 năm 2026",
                     dossier.procedure_version.procedure.name_vi, "NGƯỜI TIẾP NHẬN HỒ SƠ",
                     demo_user(Role.OFFICER).display_name,
                     " ".join(dossier.procedure_version.required_documents[0].name_vi.split())):
        assert expected in text, expected
    due = dossier.due_at.astimezone(VN_TZ)
    assert f"Thời gian trả kết quả giải quyết hồ sơ: {due.hour} giờ {due.minute:02d} phút, ngày {due.day:02d}" in text
    # The font travels inside the file: a machine without DejaVu prints the same diacritics.
    data = backend().read(receipt.sha256)
    assert b"/FontFile2" in data and b"DejaVuSans" in data
    # Stored like any attachment, by its hash, and listed among the dossier's documents.
    assert hashlib.sha256(data).hexdigest() == receipt.sha256
    attachment = db.session.get(Attachment, receipt.sha256)
    assert attachment.media_type == "application/pdf" and attachment.size_bytes == len(data)
    assert receipt in dossier.documents


def test_receipt_before_circular_03_2025_uses_circular_01_2018(app):
    dossier = _receive(datetime(2025, 8, 20, 14, 5, tzinfo=VN_TZ))
    receipt = _one(dossier, "receipt")
    text = text_of(receipt)
    assert receipt.form_circular == "01/2018/TT-VPCP" and receipt.form_number == "1/TNHS"
    assert "Mẫu số 01 – Thông tư số 01/2018/TT-VPCP" in text
    assert "14 giờ 05 phút, ngày 20 tháng 08 năm 2025" in text


def test_case_19_a_later_apology_keeps_the_circular_of_the_receipt(app):
    old = _receive(datetime(2025, 8, 20, 9, 0, tzinfo=VN_TZ))
    new = _receive(datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ), owner_name="Phạm Thị Ánh", submitter_name="Phạm Thị Ánh")
    for dossier in (old, new):
        _act(dossier, Action.TRANSFER)
        new_due = dossier.due_at.astimezone(VN_TZ).date() + timedelta(days=14)
        _act(dossier, Action.EXTEND, reason="Chờ xác minh của Sở Y tế về mức độ khuyết tật", new_due_date=new_due)

    old_apology, new_apology = _one(old, "apology"), _one(new, "apology")
    assert old_apology.form_circular == "01/2018/TT-VPCP"
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text_of(old_apology)
    assert new_apology.form_circular == "03/2025/TT-VPCP"
    text = text_of(new_apology)
    assert "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT" in text
    assert "Kính gửi: Phạm Thị Ánh" in text and "Lý do: Chờ xác minh của Sở Y tế về mức độ khuyết tật" in text
    new_due = new.due_at.astimezone(VN_TZ)
    assert f"đề nghị gia hạn thời gian giải quyết hồ sơ đến {new_due.hour} giờ {new_due.minute:02d} phút, ngày " \
           f"{new_due.day:02d} tháng {new_due.month:02d} năm {new_due.year}" in text
    # Separate series per year: 2025 and 2026 both start at 1.
    assert (old_apology.form_number, new_apology.form_number) == ("1/XLHS", "1/XLGH")


def test_each_step_issues_its_form(app):
    dossier = _receive(datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ))
    _act(dossier, Action.TRANSFER)
    _act(dossier, Action.REQUEST_SUPPLEMENT, reason="Giấy xác nhận khuyết tật đã hết hạn",
         items=("Giấy xác nhận khuyết tật còn hiệu lực", "Bản sao sổ hộ nghèo có chứng thực"))
    supplement = _one(dossier, "supplement_request")
    text = text_of(supplement)
    assert supplement.form_number == "1/YCBS"
    for expected in ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "1. Giấy xác nhận khuyết tật còn hiệu lực",
                     "2. Bản sao sổ hộ nghèo có chứng thực", "Lý do: Giấy xác nhận khuyết tật đã hết hạn"):
        assert expected in text, expected

    _act(dossier, Action.RECORD_SUPPLEMENT)
    _act(dossier, Action.STOP, reason="Đối tượng không còn đủ điều kiện hưởng trợ cấp")
    stop = _one(dossier, "stop_notice")
    text = text_of(stop)
    assert stop.form_number == "1/TBDGQ" and "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in text
    assert "Lý do: Đối tượng không còn đủ điều kiện hưởng trợ cấp" in text

    online = make_dossier(State.ONLINE_SUBMITTED)
    _act(online, Action.REFUSE, reason="Thủ tục không thuộc thẩm quyền của phường")
    refusal = _one(online, "refusal")
    text = text_of(refusal)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    assert "Thủ tục không thuộc thẩm quyền của phường" in text and "Trần Thị Bình" in text
    # Steps without a form issue none.
    assert [d.form_key for d in issued_forms(dossier)] == ["receipt", "supplement_request", "stop_notice"]


def test_stop_notice_for_a_dossier_of_circular_01_2018_uses_the_new_form(app):
    # Circular 01/2018 had no stop notice: the one in force when processing stops is used.
    dossier = _receive(datetime(2025, 8, 20, 9, 0, tzinfo=VN_TZ))
    _act(dossier, Action.TRANSFER)
    _act(dossier, Action.STOP, reason="Công dân đề nghị dừng")
    assert _one(dossier, "stop_notice").form_circular == "03/2025/TT-VPCP"


def test_action_endpoint_issues_the_form(app, client):
    dossier = make_dossier(State.ONLINE_SUBMITTED)
    token = sign_in(client, demo_user(Role.STAFF))
    response = client.post(f"/api/v1/dossiers/{dossier.id}/actions/refuse", json={"reason": "Sai thẩm quyền"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    render_forms()
    assert "Sai thẩm quyền" in text_of(_one(dossier, "refusal"))


def test_same_day_procedure_gets_no_receipt_unless_asked(app):
    version = procedure("chung-thuc-chu-ky").version_at(date(2026, 3, 9))
    person = Person(full_name="Đỗ Văn Hải")
    dossier = receive(NewDossier(
        procedure_version=version, agency=demo_agency(), owner=person, submitter=person,
        received_by=demo_user(Role.OFFICER), received_at=datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ),
        provided_document_ids=frozenset(d.id for d in version.required_documents)))
    db.session.commit()
    assert issued_forms(dossier) == []


def test_numbers_are_sequential_per_agency_and_never_reused(app):
    dossiers = [_receive(datetime(2026, 3, 9, 9, minute, tzinfo=VN_TZ)) for minute in (0, 1, 2)]
    assert [_one(d, "receipt").form_seq for d in dossiers] == [1, 2, 3]
    # Another ward has its own sequence.
    other = Agency(agency_code="000.20.27.H26", name_vi="UBND phường Bạch Mai", name_en="Bach Mai ward")
    db.session.add(other)
    db.session.commit()
    elsewhere = make_dossier(State.ONLINE_SUBMITTED)
    elsewhere.agency = other
    db.session.commit()
    stranger = make_user(Role.STAFF, other, "Công chức phường Bạch Mai")
    apply_action(elsewhere, Action.REFUSE, stranger, ActionRequest(stranger.id, "staff", reason="Sai thẩm quyền"))
    db.session.commit()
    assert _one(elsewhere, "refusal").form_number == "1/TCHS"
    # The database itself refuses a number given twice.
    first = _one(dossiers[0], "receipt")
    db.session.add(DossierDocument(dossier_id=dossiers[1].id, name="copy", form_agency_id=first.form_agency_id,
                                   form_series="TNHS", form_year=2026, form_seq=1))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_same_content_gives_the_same_pdf_stored_once(app):
    dossier = _receive(datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ))
    receipt = _one(dossier, "receipt")
    again = render(receipt.form_content)
    assert hashlib.sha256(again).hexdigest() == receipt.sha256
    _, created = store(receipt.sha256, again, None)
    assert created is False
    assert db.session.scalar(select(func.count()).select_from(Attachment)
                             .where(Attachment.sha256 == receipt.sha256)) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks between two connections need PostgreSQL")
def test_two_concurrent_issues_get_different_numbers(app):
    # Two desks take a receipt number at the same moment, each in its own connection and transaction, and keep
    # the transaction open a while (rendering the PDF): a read-then-write counter would give both number 1.
    agency_id = demo_agency().id
    barrier = threading.Barrier(2)
    numbers, errors = [], []

    def issue():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                numbers.append(take_number(agency_id, "TNHS", 2026))
                time.sleep(0.3)
                db.session.commit()
            except Exception as error:  # reported below: a thread's exception would otherwise vanish
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(numbers) == [1, 2]
    # And the next receipt issued goes on from there.
    assert _one(_receive(datetime(2026, 3, 9, 9, 0, tzinfo=VN_TZ)), "receipt").form_number == "3/TNHS"


# --- Pages ---------------------------------------------------------------------------------------------------


def test_desk_sees_the_form_as_a_page_and_as_its_stored_pdf(app, client):
    dossier = _receive(datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ))
    receipt = _one(dossier, "receipt")
    for role in (Role.STAFF, Role.LEADER):
        sign_in(client, demo_user(role))
        page = client.get(f"/staff/dossiers/{dossier.id}/forms/receipt")
        assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
        html = page.get_data(as_text=True)
        assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in html and "Số: 1/TNHS" in html
        assert "Lê Văn Đức" in html and dossier.code in html
        pdf = client.get(f"/staff/dossiers/{dossier.id}/forms/receipt.pdf")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert pdf.headers["Cache-Control"] == "private, no-store"  # personal data: never kept by a cache
        assert hashlib.sha256(pdf.get_data()).hexdigest() == receipt.sha256
        listing = client.get(f"/staff/dossiers/{dossier.id}/forms")
        assert listing.status_code == 200 and "1/TNHS" in listing.get_data(as_text=True)


def test_control_sheet_is_built_from_the_history(app, client):
    dossier = _receive(datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ))
    _act(dossier, Action.TRANSFER)
    sign_in(client, demo_user(Role.STAFF))
    page = client.get(f"/staff/dossiers/{dossier.id}/forms/control_sheet")
    assert page.status_code == 200
    assert "Chuyển hồ sơ đến bộ phận giải quyết" in page.get_data(as_text=True)
    pdf = client.get(f"/staff/dossiers/{dossier.id}/forms/control_sheet.pdf")
    assert pdf.status_code == 200
    reader = PdfReader(io.BytesIO(pdf.get_data()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    for expected in ("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "Mẫu số 06",
                     "Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả số: 1/TNHS", "Tiếp nhận hồ sơ",
                     "9 giờ 30 phút, ngày 09 tháng 03 năm 2026", demo_user(Role.OFFICER).display_name):
        assert expected in text, expected


def test_control_sheet_judges_the_result_when_it_reaches_the_desk_and_shows_the_acknowledgement(app, client):
    dossier = _receive(datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ))  # long overdue by now
    _act(dossier, Action.TRANSFER)
    _act(dossier, Action.SUBMIT_FOR_APPROVAL)
    _act(dossier, Action.APPROVE, Role.LEADER)
    approve = dossier.events[-1]
    _act(dossier, Action.MARK_RESULT_READY)
    ready = dossier.events[-1]
    _act(dossier, Action.RETURN_RESULT, delivery_mode="counter", recipient_name="Lê Văn Đức", acknowledged=True)
    db.session.commit()
    assert "timeliness" not in (approve.data or {}) and ready.data == {"timeliness": "late"}
    sign_in(client, demo_user(Role.STAFF))
    pdf = client.get(f"/staff/dossiers/{dossier.id}/forms/control_sheet.pdf")
    assert pdf.status_code == 200
    reader = PdfReader(io.BytesIO(pdf.get_data()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    for expected in ("Phê duyệt kết quả", "Chuyển kết quả đến Bộ phận Một cửa", "Quá hạn",
                     "Người nhận đã ký nhận: Lê Văn Đức"):
        assert expected in text, expected


def test_forms_are_for_the_desk_of_the_ward_only(app, client):
    dossier = _receive(datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ))
    urls = [f"/staff/dossiers/{dossier.id}/forms", f"/staff/dossiers/{dossier.id}/forms/receipt",
            f"/staff/dossiers/{dossier.id}/forms/receipt.pdf", f"/staff/dossiers/{dossier.id}/forms/control_sheet"]
    for url in urls:
        assert app.test_client().get(url).status_code == 302  # to sign in
    for role in (Role.OFFICER, Role.CITIZEN, Role.ADMIN):
        sign_in(client, demo_user(role))
        assert [client.get(url).status_code for url in urls] == [403] * 4
    other = Agency(agency_code="000.20.27.H26", name_vi="UBND phường Bạch Mai", name_en="Bach Mai ward")
    db.session.add(other)
    db.session.commit()
    sign_in(client, make_user(Role.STAFF, other, "Công chức phường Bạch Mai"))
    assert [client.get(url).status_code for url in urls] == [404] * 4


def test_unknown_forms_and_bad_input(app, client):
    dossier = _receive(datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ))
    sign_in(client, demo_user(Role.STAFF))
    base = f"/staff/dossiers/{dossier.id}/forms"
    assert client.get(f"{base}/ledger").status_code == 404  # not a form the app issues
    assert client.get(f"{base}/refusal").status_code == 404  # not issued for this dossier
    assert client.get(f"{base}/receipt?issued=999999").status_code == 404
    bad = client.get(f"{base}/receipt?issued=abc")
    assert bad.status_code == 422 and "số nguyên dương" in bad.get_data(as_text=True)
    assert client.get("/staff/dossiers/999999/forms/receipt").status_code == 404


def test_the_desk_page_links_to_the_issued_forms(app, client):
    """The dossier page leads to the forms list and to each issued form's page."""
    dossier = _receive(datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ))
    sign_in(client, demo_user(Role.STAFF))
    page = client.get(f"/staff/dossiers/{dossier.id}").get_data(as_text=True)
    assert f'/staff/dossiers/{dossier.id}/forms"' in page
    receipt = next(d for d in dossier.documents if d.form_key == "receipt")
    link = f"/staff/dossiers/{dossier.id}/forms/receipt?issued={receipt.id}"
    assert link.replace("&", "&amp;") in page
    assert client.get(link).status_code == 200


def _receive_handed_over(handed_over: dict[str, tuple[int, bool]]):
    owner = Person(full_name="Nguyễn Thị Hường", address="Số 12 ngõ Huế", phone_e164="+84912345678")
    version = procedure(TRO_CAP).version_at(date(2026, 3, 9))
    by_code = {d.code: d.id for d in version.required_documents}
    dossier = receive(NewDossier(
        procedure_version=version, agency=demo_agency(), owner=owner, submitter=owner,
        received_by=demo_user(Role.OFFICER), received_at=datetime(2026, 3, 9, 9, 30, tzinfo=VN_TZ),
        reception_mode=ReceptionMode.HOME_VISIT,
        provided_document_ids=frozenset(d.id for d in version.required_documents),
        handed_over={by_code[code]: how for code, how in handed_over.items()},
    ))
    db.session.commit()
    render_forms()
    return dossier


def test_receipt_names_photographed_papers_as_photographs_and_the_phone_as_written(app):
    """Issue 11 point 2: a photographed paper is a copy ("Bản chụp"), never an original; the phone is 0912 345 678;
    the national motto is printed whole on its line."""
    codes = [d.code for d in procedure(TRO_CAP).version_at(date(2026, 3, 9)).required_documents]
    handed = {codes[0]: (2, True)} | {code: (1, False) for code in codes[1:]}
    receipt = _one(_receive_handed_over(handed), "receipt")
    [table] = [b for b in receipt.form_content["blocks"] if b["type"] == "table"]
    assert [row[2:] for row in table["rows"]] == [["Bản chụp, đã đối chiếu bản chính", "2 ảnh"]] + \
        [["Bản chụp", "1 ảnh"]] * (len(codes) - 1)
    text = text_of(receipt)
    assert "Số điện thoại: 0912 345 678" in text and "+84" not in text
    lines = PdfReader(io.BytesIO(backend().read(receipt.sha256))).pages[0].extract_text().splitlines()
    for motto in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"):
        assert any(motto in line for line in lines), lines[:5]
