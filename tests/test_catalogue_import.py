"""``flask catalogue import``: a province's publication in our CSV/JSON layout (docs/catalogue-import.md).

The samples under tests/data/ are the ones the documentation describes. "Today" is fixed at 7 December 2026 so that
their 2027 versions stay in the future whatever day the suite runs.
"""

from __future__ import annotations

import json
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import AuditEvent
from server.dossiers.models import State
from server.dossiers.services import due_from
from server.extensions import db
from server.reference.catalogue import CATALOGUE_PATH
from server.reference.catalogue_import import import_catalogue
from server.reference.models import Agency
from server.reference.models import Procedure
from server.reference.models import ProcedureStep
from server.reference.models import ProcedureVersion
from server.reference.models import RequiredDocument
from tests.helpers import demo_agency
from tests.helpers import make_dossier
from tests.helpers import procedure

DATA = Path(__file__).resolve().parent / "data"
CSV_SAMPLE = DATA / "catalogue-import.csv"
JSON_SAMPLE = DATA / "catalogue-import.json"
TODAY = date(2026, 12, 7)
HOME_AFFAIRS = "000.00.04.H26"
EMPLOYMENT_CENTRE = "000.20.04.H26"


@pytest.fixture
def departments(app, monkeypatch):
    """The Sở Nội vụ (the demo seed has it) and the employment services centre the samples' chains name; today
    fixed."""
    monkeypatch.setattr("server.reference.catalogue_import.today", lambda: TODAY)
    for code, name_vi, name_en in ((HOME_AFFAIRS, "Sở Nội vụ thành phố Hà Nội", "Hanoi Department of Home Affairs"),
                                   (EMPLOYMENT_CENTRE, "Trung tâm Dịch vụ việc làm Hà Nội",
                                    "Hanoi Employment Services Centre")):
        if Agency.by_code(code) is None:
            db.session.add(Agency(agency_code=code, name_vi=name_vi, name_en=name_en, in_system=False,
                                  ministry="BNV", is_one_stop=False))
    db.session.commit()


def _import(runner, path: Path, *options: str):
    result = runner.invoke(args=["catalogue", "import", str(path), *options])
    db.session.expire_all()
    return result


def _counts() -> dict:
    return {model: db.session.scalar(select(func.count()).select_from(model))
            for model in (Procedure, ProcedureVersion, ProcedureStep, RequiredDocument)}


def _write(tmp_path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _version_lines(text: str) -> list[int]:
    """The lines where the first version object of each procedure starts (the line after '"versions": [')."""
    return [n + 1 for n, line in enumerate(text.splitlines(), start=1) if '"versions": [' in line]


def _csv_rows() -> list[str]:
    return CSV_SAMPLE.read_text(encoding="utf-8").splitlines()


def _sample_json() -> dict:
    return json.loads(JSON_SAMPLE.read_text(encoding="utf-8"))


def test_csv_sample_adds_a_procedure_and_a_later_version(runner, departments):
    before = _counts()
    result = _import(runner, CSV_SAMPLE)
    assert result.exit_code == 0, result.output

    unemployment = procedure("giai-quyet-tro-cap-that-nghiep")
    assert (unemployment.ministry, unemployment.competent_level, unemployment.national_code) == ("BNV", "province",
                                                                                                  None)
    first, second = unemployment.versions
    assert (first.effective_from, first.effective_to, first.time_value) == (date(2025, 7, 1), date(2025, 12, 31), 20)
    assert (second.effective_from, second.effective_to, second.time_value) == (date(2026, 1, 1), None, 15)
    assert second.competent_agency_code == HOME_AFFAIRS
    assert [(s.holder.value, s.agency_code, s.working_days) for s in second.steps] == [
        ("receiving", None, 1), ("agency", EMPLOYMENT_CENTRE, 10), ("competent", None, 3), ("receiving", None, 1)]
    assert second.steps[0].name_vi.startswith("Tiếp nhận") and second.steps[-1].name_vi.startswith("Nhận kết quả")
    assert [(d.code, d.copy_type.value, d.mandatory) for d in second.required_documents] == [
        ("TP1", "original", True), ("TP2", "certified_copy", True), ("TP3", "original", True)]
    assert second.required_documents[0].form_ref == "Mẫu số 03 (mẫu thử)"
    assert second.home_reception.value == "no" and second.time_confirmed is False

    death = procedure("tro-cap-khi-nguoi-co-cong-tu-tran")
    old, new = death.versions
    assert (old.effective_from, old.effective_to) == (date(2025, 7, 1), date(2026, 12, 31))
    assert [s.working_days for s in old.steps] == [1, 12, 2] and old.time_value == 15
    assert (new.effective_from, new.time_value, new.time_confirmed) == (date(2027, 1, 1), 12, True)
    assert new.steps[1].name_en == "The Department of Home Affairs appraises and decides"
    assert [d.code for d in new.required_documents] == ["TP1", "TP2", "TP3", "TP4"]

    after = _counts()
    assert after[Procedure] == before[Procedure] + 1
    assert after[ProcedureVersion] == before[ProcedureVersion] + 3
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalogue_imported")) is not None
    output = result.output
    assert "Procedures added: 1" in output and "+ giai-quyet-tro-cap-that-nghiep (chưa có mã / no code, BNV)" in output
    assert "Versions added: 3" in output
    assert ("+ giai-quyet-tro-cap-that-nghiep từ / from 2026-01-01: thời hạn / time 20 → 15; liên thông / chain "
            "receiving:1;agency=000.20.04.H26:15;competent:3;receiving:1 → "
            "receiving:1;agency=000.20.04.H26:10;competent:3;receiving:1; khác / other: time_note, "
            "publication_decision") in output
    assert ("+ tro-cap-khi-nguoi-co-cong-tu-tran từ / from 2027-01-01: thời hạn / time 15 → 12; liên thông / chain "
            "receiving:1;competent:12;receiving:2 → receiving:1;competent:10;receiving:1; "
            "thành phần hồ sơ / documents −TP5 ~TP3 ~TP4") in output
    assert "Unchanged: 0" in output and "Refused rows: 0" in output
    assert "Outcome: đã ghi vào danh mục / written to the catalogue" in output


def test_a_second_import_is_unchanged(runner, departments):
    assert _import(runner, CSV_SAMPLE).exit_code == 0
    before = _counts()
    again = _import(runner, CSV_SAMPLE)
    assert again.exit_code == 0, again.output
    assert _counts() == before
    assert "Procedures added: 0" in again.output and "Versions added: 0" in again.output
    assert "Unchanged: 3" in again.output
    assert "= tro-cap-khi-nguoi-co-cong-tu-tran từ / from 2027-01-01" in again.output


def test_json_sample_imports_and_its_copy_of_the_seed_is_unchanged(runner, departments):
    before = _counts()
    result = _import(runner, JSON_SAMPLE, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "= chung-thuc-chu-ky từ / from 2025-07-01" in result.output
    assert "Unchanged: 1" in result.output and "Versions added: 2" in result.output
    assert ("+ tro-cap-xa-hoi-hang-thang từ / from 2027-01-01: thời hạn / time 15 → 10; thành phần hồ sơ / "
            "documents +TP6 −TP2 −TP4 −TP5; khác / other: time_confirmed, time_note, online_level, "
            "publication_decision") in result.output
    emergency = procedure("tro-giup-xa-hoi-khan-cap-nha-o")
    assert emergency.versions[0].home_reception.value == "no" and emergency.ministry == "BYT"
    assert _counts()[ProcedureVersion] == before[ProcedureVersion] + 2
    assert _import(runner, JSON_SAMPLE).output.count("Unchanged: 3") == 1


@pytest.mark.parametrize("with_departments", [True, False])
def test_the_shipped_seed_imports_as_unchanged(app, runner, request, with_departments):
    """The seed is in the JSON layout too: importing it over a database loaded from it changes nothing, even
    where its department is not an agency yet (a stored version is not checked again)."""
    if with_departments:
        request.getfixturevalue("departments")
    before = _counts()
    result = _import(runner, CATALOGUE_PATH)
    assert result.exit_code == 0, result.output
    assert "Versions added: 0" in result.output and "Refused rows: 0" in result.output
    assert f"Unchanged: {before[ProcedureVersion]}" in result.output
    assert _counts() == before


def test_a_dossier_received_under_the_old_version_keeps_its_rules(app, runner, departments):
    dossier = make_dossier(State.RECEIVED, procedure_key="tro-cap-khi-nguoi-co-cong-tu-tran")
    old = dossier.procedure_version
    received = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    due_before = due_from(old, demo_agency(), received)
    old_id, old_steps = old.id, [(s.holder, s.working_days) for s in old.steps]

    assert _import(runner, CSV_SAMPLE).exit_code == 0
    dossier = db.session.get(type(dossier), dossier.id)
    assert dossier.procedure_version_id == old_id
    old = dossier.procedure_version
    assert (old.time_value, old.time_unit.value, old.effective_from) == (15, "working_days", date(2025, 7, 1))
    assert [(s.holder, s.working_days) for s in old.steps] == old_steps
    assert due_from(old, demo_agency(), received) == due_before
    death = procedure("tro-cap-khi-nguoi-co-cong-tu-tran")
    assert death.version_at(date(2026, 12, 31)).id == old_id
    assert death.version_at(date(2027, 1, 1)).time_value == 12


def test_a_conflicting_version_of_the_same_day_is_refused_and_nothing_is_written(runner, departments, tmp_path):
    sample = _sample_json()
    signature = sample["procedures"][0]["versions"][0]
    signature["fee_vnd"] = 20000
    path = _write(tmp_path, "conflict.json", json.dumps(sample, ensure_ascii=False, indent=2))
    line = _version_lines(path.read_text())[0]
    before = _counts()
    result = _import(runner, path)
    assert result.exit_code == 1
    assert _counts() == before
    assert procedure("chung-thuc-chu-ky").versions[0].fee_vnd == 10000
    assert (f"dòng / line {line}: Xung đột với phiên bản đang có của chung-thuc-chu-ky từ 2025-07-01 (khác: fee)"
            in result.output)
    assert "Refused rows: 1" in result.output
    assert "Outcome: không ghi gì vì có dòng bị từ chối / nothing written: rows were refused" in result.output
    assert procedure("tro-cap-xa-hoi-hang-thang").versions[-1].effective_from == date(2025, 7, 1)


def test_dry_run_reports_and_writes_nothing(runner, departments):
    before = _counts()
    result = _import(runner, CSV_SAMPLE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Versions added: 3" in result.output and "dry run, nothing written" in result.output
    assert _counts() == before
    assert db.session.scalar(select(Procedure).where(Procedure.key == "giai-quyet-tro-cap-that-nghiep")) is None


def _with_row(change) -> str:
    """The CSV sample with its third row changed by ``change`` (a function of the row's cells)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(CSV_SAMPLE.read_text(encoding="utf-8"))))
    header = rows[0]
    cells = dict(zip(header, rows[3], strict=True))
    change(cells)
    rows[3] = [cells[name] for name in header]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _set(**values):
    return lambda cells: cells.update(values)


@pytest.mark.parametrize(("change", "reason"), [
    (_set(effective_from="2027-02-30"), "Ngày không hợp lệ ở effective_from: '2027-02-30' (dạng YYYY-MM-DD). / Bad "
                                        "date in effective_from"),
    (_set(effective_from="01/01/2027"), "Bad date in effective_from: '01/01/2027'"),
    (_set(time_unit="weeks"), "time_unit không hợp lệ: 'weeks' (giá trị được nhận: working_days, calendar_days, "
                              "same_day). / Unknown time_unit: 'weeks'"),
    (_set(time_value="mười"), "time_value must be a whole number: 'mười'"),
    (_set(time_value="12.5"), "time_value must be a whole number: '12.5'"),
    (_set(chain="receiving:1;agency=000.99.99.H26:10;receiving:1"),
     "Mã cơ quan chưa có trong hệ thống ở chain agency: 000.99.99.H26 (thêm cơ quan trước khi nhập). / Unknown "
     "agency code in chain agency: 000.99.99.H26"),
    (_set(chain="receiving:1;agency:10"), "An agency chain step needs its agency code"),
    (_set(chain="receiving:1;council:10"), "Unknown chain holder: 'council'"),
    (_set(chain="receiving"), 'Chain step "receiving" must read holder:days.'),
    (_set(competent_agency_code="000.99.99.H26"), "Unknown agency code in competent_agency_code: 000.99.99.H26"),
    (_set(documents=""), "No required documents (at least one is needed)."),
    (_set(documents="TP1|only a name"), 'Document "TP1|only a name" must read code|Vietnamese name|English name'),
    (_set(documents="TP1|A|A;TP1|B|B"), "Repeated document code: TP1."),
    (_set(name_vi=""), "Thiếu giá trị bắt buộc: name_vi. / Missing required value: name_vi."),
    (_set(time_value=""), "Missing required value: time_value."),
    (_set(effective_from=" "), "Missing required value: effective_from."),
    (_set(competent_level=""), "Missing required value: competent_level."),
    (_set(national_code="1.0108"), "national_code is not valid: '1.0108' (dạng / like 1.010824)."),
    (_set(national_code="1.001776"), "Code 1.001776 already belongs to procedure tro-cap-xa-hoi-hang-thang"),
    (_set(key="Trợ cấp"), "key is not valid"),
    (_set(home_reception="maybe"), "Unknown home_reception: 'maybe'"),
    (_set(fee_vnd="-5"), "fee_vnd must be a whole number: '-5'"),
    (_set(time_unit="same_day", same_day_cutoff="3pm"), "same_day_cutoff must be an HH:MM hour"),
    (_set(effective_from="2026-12-07"), "A new version of a procedure in force must start after today (2026-12-07)"),
    (_set(effective_from="2025-06-30"), "is not after the latest version (2025-07-01)"),
    (_set(ministry="a" * 17), "ministry is longer than 16 characters."),
])
def test_a_bad_row_is_refused_with_its_line(runner, departments, tmp_path, change, reason):
    path = _write(tmp_path, "bad.csv", _with_row(change))
    before = _counts()
    result = _import(runner, path)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Refused rows: 1" in result.output
    assert "dòng / line 4: " in result.output
    assert reason in result.output
    assert _counts() == before


def test_duplicate_rows_and_rows_of_a_new_procedure_that_disagree(runner, departments, tmp_path):
    rows = _csv_rows()
    second = rows[2].replace("Unemployment benefit", "Unemployment allowance")
    path = _write(tmp_path, "dup.csv", "\n".join([*rows, rows[3], second]) + "\n")
    result = _import(runner, path)
    assert result.exit_code == 1
    assert ("dòng / line 5: Trùng dòng 4 (cùng thủ tục tro-cap-khi-nguoi-co-cong-tu-tran, cùng ngày hiệu lực "
            "2027-01-01).") in result.output
    assert "dòng / line 6: Trùng dòng 3" in result.output
    assert "Refused rows: 2" in result.output
    disagree = _write(tmp_path, "disagree.csv", "\n".join([rows[0], rows[1],
                                                           second.replace("2026-01-01", "2026-02-01")]) + "\n")
    result = _import(runner, disagree)
    assert "dòng / line 3: Thủ tục mới giai-quyet-tro-cap-that-nghiep ghi khác dòng trước ở: name_en." in result.output


def test_a_row_with_the_wrong_number_of_cells_and_multiline_cells(runner, departments, tmp_path):
    rows = _csv_rows()
    multiline = rows[1].replace("Sample data.", "Sample\ndata.")
    path = _write(tmp_path, "cells.csv", "\n".join([rows[0], multiline, "a,b,c", rows[3]]) + "\n")
    result = _import(runner, path)
    assert "dòng / line 4: Dòng có 3 ô, dòng tiêu đề có 22. / The row has 3 cells, the header 22." in result.output
    assert "Refused rows: 1" in result.output


def test_semicolon_csv_with_byte_order_mark_and_grouped_fee(runner, departments, tmp_path):
    import csv
    import io

    rows = list(csv.reader(io.StringIO(CSV_SAMPLE.read_text(encoding="utf-8"))))
    rows[3][rows[0].index("fee_vnd")] = "15.000"
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    path = _write(tmp_path, "excel.csv", b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    assert "lệ phí / fee — → 15000 VND" in result.output
    assert procedure("tro-cap-khi-nguoi-co-cong-tu-tran").versions[-1].fee_vnd == 15000


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", b"", "Tệp rỗng. / The file is empty."),
    ("blank.json", b"  \n\n", "Tệp rỗng. / The file is empty."),
    ("latin1.csv", "key,name_vi\nx,Trợ cấp\n".encode("utf-16"), "The file is not UTF-8 text"),
    ("cp1258.csv", "key\nTr\xe1\n".encode("latin-1"), "The file is not UTF-8 text (bad byte at offset 6)"),
    ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "The file is not UTF-8 text"),
    ("nul.csv", b"key,name_vi\n\x00\x00\n", "The file contains NUL characters"),
    ("broken.json", b'{"procedures": [', "Not valid JSON: line 1, column 17"),
    ("list.json", b"[1, 2]", 'The JSON must be an object with a "procedures" list.'),
    ("none.json", b'{"procedures": []}', "The file holds no procedure rows."),
    ("deep.json", b"{\"procedures\": " + b"[" * 100000 + b"]" * 100000 + b"}", "nested too deeply"),
    ("header.csv", b"key,name_vi\nx,y\n", "Missing required columns: name_en, field, ministry"),
    ("only-header.csv", ",".join(
        ["key", "name_vi", "name_en", "field", "ministry", "competent_level", "home_reception", "effective_from",
         "time_value", "time_unit", "documents"]).encode() + b"\n", "The file holds no procedure rows."),
    ("typo.csv", _csv_rows()[0].replace("time_note", "time_notes").encode() + b"\n",
     "Columns not in the layout: time_notes."),
    ("twice.csv", (_csv_rows()[0] + ",chain").encode() + b"\n", "Repeated columns: chain."),
    ("quote.csv", _csv_rows()[0].encode() + b'\n"a"b,c\n', "Not valid CSV at line 2"),
    ("huge-cell.csv", _csv_rows()[0].encode() + b"\n" + b"x" * 200000 + b"\n", "Not valid CSV at line"),
])
def test_a_file_that_cannot_be_read_gives_a_message_not_a_traceback(runner, departments, tmp_path, name, content,
                                                                       message):
    before = _counts()
    result = _import(runner, _write(tmp_path, name, content))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert message in result.output
    assert _counts() == before


def test_json_refusals_name_the_line_of_the_version(runner, departments, tmp_path):
    sample = _sample_json()
    sample["procedures"][1]["versions"][0]["processing_time"]["unit"] = "tuần"
    sample["procedures"][2]["versions"][0]["colour"] = "blue"
    sample["procedures"].append("not a procedure")
    sample["procedures"].append({"key": "x", "versions": []})
    text = json.dumps(sample, ensure_ascii=False, indent=2)
    starts = _version_lines(text)
    result = _import(runner, _write(tmp_path, "bad.json", text))
    assert result.exit_code == 1
    assert f"dòng / line {starts[1]}: time_unit không hợp lệ: 'tuần'" in result.output
    assert f"dòng / line {starts[2]}: Khóa không có trong mẫu (phiên bản): colour." in result.output
    assert "A procedure entry must be a JSON object." in result.output
    assert 'The procedure has no "versions" list.' in result.output
    assert "Refused rows: 4" in result.output


def test_a_missing_file_and_the_format_option(runner, departments, tmp_path):
    missing = runner.invoke(args=["catalogue", "import", str(tmp_path / "nowhere.csv")])
    assert missing.exit_code != 0 and "Traceback" not in missing.output
    assert "Cannot read the file" in missing.output
    renamed = _write(tmp_path, "publication.txt", CSV_SAMPLE.read_bytes())
    assert _import(runner, renamed, "--dry-run").exit_code == 0
    as_json = _import(runner, renamed, "--format", "json")
    assert as_json.exit_code == 1 and "Not valid JSON" in as_json.output
    bad = runner.invoke(args=["catalogue", "import", str(renamed), "--format", "xlsx"])
    assert bad.exit_code == 2


def test_import_function_leaves_the_commit_to_its_caller(app, departments):
    report = import_catalogue(CSV_SAMPLE.read_bytes(), "sample.csv", on=TODAY)
    assert report.written and not report.refused
    db.session.rollback()
    assert db.session.scalar(select(Procedure).where(Procedure.key == "giai-quyet-tro-cap-that-nghiep")) is None


def test_the_seed_loads_chains_and_competent_agencies(app):
    death = procedure("tro-cap-khi-nguoi-co-cong-tu-tran")
    version = death.versions[0]
    assert death.ministry == "BNV" and death.national_code == "1.010824"
    assert version.competent_agency_code == HOME_AFFAIRS
    assert [(s.position, s.holder.value, s.working_days) for s in version.steps] == [
        (1, "receiving", 1), (2, "competent", 12), (3, "receiving", 2)]
    assert procedure("tro-cap-xa-hoi-hang-thang").versions[0].competent_agency_code is None


def test_a_version_written_meanwhile_makes_the_import_stop_cleanly(runner, departments, monkeypatch):
    """The unique (procedure, effective_from) guards a race with another import: a message, not a traceback."""
    from server.reference import catalogue_import

    real = catalogue_import.import_catalogue

    def racing(*args, **kwargs):
        report = real(*args, **kwargs)
        death = procedure("tro-cap-khi-nguoi-co-cong-tu-tran")
        copy = death.versions[0]
        db.session.add(ProcedureVersion(procedure_id=death.id, effective_from=date(2027, 1, 1), time_value=1,
                                        time_unit=copy.time_unit, home_reception=copy.home_reception))
        return report

    monkeypatch.setattr(catalogue_import, "import_catalogue", racing)
    before = _counts()
    result = _import(runner, CSV_SAMPLE)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "The catalogue was changed at the same time; run the command again." in result.output
    assert _counts() == before
