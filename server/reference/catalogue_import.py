"""``flask catalogue import``: a province's publication of its procedures (quyết định công bố danh mục TTHC) in our
CSV or JSON layout (docs/catalogue-import.md), added to the catalogue without touching what is in force.

A dossier keeps the procedure version it was received under (DOMAIN.md §0), and an officer's phone may hold a dossier
received offline today that the server has not seen yet. So the import never rewrites a version: a row whose
procedure already has a version from the same day is compared and is either "unchanged" or refused as a conflict;
a new version of a known procedure must start after today and after its latest version. The import is all or
nothing: one refused row and nothing is written.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import json.decoder
import json.scanner
import re
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import time
from datetime import timedelta

from sqlalchemy import select

from server.auth.audit import audit
from server.calendar.workdays import to_local
from server.extensions import db
from server.reference.catalogue import build_version
from server.reference.models import Agency
from server.reference.models import CopyType
from server.reference.models import HomeReception
from server.reference.models import Procedure
from server.reference.models import ProcedureVersion
from server.reference.models import StepHolder
from server.reference.models import SupplementClock
from server.reference.models import TimeUnit
from server.types import utcnow

#: A publication of a whole province is a few hundred rows; anything far larger is not one.
MAX_FILE_BYTES = 20 * 1024 * 1024

KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NATIONAL_CODE = re.compile(r"^\d\.\d{6}$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MINISTRY = re.compile(r"^[A-Z][A-Z0-9]*$")
LEVELS = ("ward", "province", "ward_to_province")
ONLINE_LEVELS = ("full", "partial", "none")

#: CSV columns (docs/catalogue-import.md). One row per procedure version.
CSV_REQUIRED = ("key", "name_vi", "name_en", "field", "ministry", "competent_level", "home_reception",
                "effective_from", "time_value", "time_unit", "documents")
CSV_OPTIONAL = ("national_code", "publication_decision", "effective_to", "time_confirmed", "time_note",
                "same_day_cutoff", "supplement_clock", "fee_vnd", "fee_note", "online_level",
                "competent_agency_code", "chain")

#: JSON keys: the seed's own layout (server/reference/data/catalogue.json), so the seed itself can be imported.
PROCEDURE_KEYS = {"key", "national_code", "name_vi", "name_en", "field", "ministry", "competent_level",
                  "home_reception", "versions"}
VERSION_KEYS = {"publication_decision", "effective_from", "effective_to", "processing_time", "same_day_cutoff",
                "supplement_clock", "fee_vnd", "fee_note", "online_level", "required_documents",
                "competent_agency_code", "steps", "home_reception"}
TIME_KEYS = {"value", "unit", "confirmed", "note"}
STEP_KEYS = {"holder", "agency_code", "working_days", "name_vi", "name_en"}
DOCUMENT_KEYS = {"code", "name_vi", "name_en", "form_ref", "copy_type", "quantity", "mandatory", "note"}

#: Default names of a chain step given in the compact CSV form without its own.
STEP_NAMES = {
    "first": ("Tiếp nhận, kiểm tra và chuyển hồ sơ", "Receive, check and forward the dossier"),
    "competent": ("Thẩm định và quyết định", "Appraise and decide"),
    "agency": ("Xử lý tại cơ quan phối hợp", "Handled by the coordinating agency"),
    "last": ("Nhận kết quả và trả kết quả", "Receive the result and return it"),
    "receiving": ("Xử lý tại đơn vị tiếp nhận", "Handled by the receiving unit"),
}

TRUE_WORDS = {"true", "yes", "1", "có", "x"}
FALSE_WORDS = {"false", "no", "0", "không"}
LINE = "\x00line"  # where a JSON object starts; a key no file can contain (NUL is refused before parsing)


class ImportFileError(Exception):
    """The file as a whole cannot be read (not UTF-8, not CSV/JSON, empty, missing columns): nothing is imported."""

    def __init__(self, vi: str, en: str):
        super().__init__(f"{vi} / {en}")


class Refused(Exception):
    """One row of the file cannot be imported."""

    def __init__(self, vi: str, en: str):
        super().__init__(f"{vi} / {en}")
        self.vi, self.en = vi, en


@dataclass
class Entry:
    """One procedure version of the file, in the seed's layout, with the line it starts on."""

    line: int
    procedure: dict
    version: dict
    refusal: Refused | None = None  #: the row could not even be read into the layout


@dataclass
class Report:
    """What an import did (or, for a dry run or a refused file, would have done)."""

    source: str
    file_format: str
    dry_run: bool
    procedures_added: list[str] = field(default_factory=list)
    versions_added: list[tuple[str, date, list[str]]] = field(default_factory=list)
    unchanged: list[tuple[str, date]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False

    def text(self) -> str:
        lines = [f"Nhập danh mục thủ tục / Catalogue import: {self.source} ({self.file_format})"]
        lines.append(f"Thủ tục thêm mới / Procedures added: {len(self.procedures_added)}")
        lines += [f"  + {key}" for key in self.procedures_added]
        lines.append(f"Phiên bản thêm mới / Versions added: {len(self.versions_added)}")
        for key, start, changes in self.versions_added:
            lines.append(f"  + {key} từ / from {start.isoformat()}: " + "; ".join(changes))
        lines.append(f"Không đổi / Unchanged: {len(self.unchanged)}")
        lines += [f"  = {key} từ / from {start.isoformat()}" for key, start in self.unchanged]
        lines.append(f"Dòng bị từ chối / Refused rows: {len(self.refused)}")
        lines += [f"  dòng / line {line}: {reason}" for line, reason in sorted(self.refused)]
        if self.notes:
            lines.append("Ghi chú / Notes:")
            lines += [f"  {note}" for note in self.notes]
        if self.refused:
            outcome = "không ghi gì vì có dòng bị từ chối / nothing written: rows were refused"
        elif self.dry_run:
            outcome = "chạy thử, không ghi gì / dry run, nothing written"
        else:
            outcome = "đã ghi vào danh mục / written to the catalogue"
        lines.append(f"Kết quả / Outcome: {outcome}")
        return "\n".join(lines)


def today() -> date:
    """Today in Viet Nam."""
    return to_local(utcnow()).date()


def import_catalogue(content: bytes, source: str, file_format: str | None = None, dry_run: bool = False,
                     on: date | None = None) -> Report:
    """Check every row of ``content`` and, when none is refused and it is not a dry run, add what is new.

    The caller commits (when ``report.written``) or rolls back.

    :raises ImportFileError: the file cannot be read at all.
    """
    text = _decode(content)
    file_format = file_format or _guess_format(source, text)
    entries = _read_json(text) if file_format == "json" else _read_csv(text)
    report = Report(source=source, file_format=file_format, dry_run=dry_run)
    plan = _Plan(report, on or today())
    for entry in entries:
        plan.check(entry)
    plan.finish()
    if not entries and not report.refused:
        raise ImportFileError("Tệp không có dòng thủ tục nào.", "The file holds no procedure rows.")
    if report.refused or dry_run:
        return report
    plan.apply()
    report.written = True
    return report


# --- reading the file -------------------------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError(f"Tệp quá lớn (tối đa {MAX_FILE_BYTES // 1024 // 1024} MB).",
                              f"The file is too large (at most {MAX_FILE_BYTES // 1024 // 1024} MB).")
    try:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" export starts with a byte-order mark.
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"Tệp không phải văn bản UTF-8 (byte lạ ở vị trí {error.start}); hãy lưu lại dưới dạng CSV UTF-8.",
            f"The file is not UTF-8 text (bad byte at offset {error.start}); save it again as CSV UTF-8.",
        ) from None
    if "\x00" in text:
        raise ImportFileError("Tệp chứa ký tự NUL: không phải tệp văn bản.",
                              "The file contains NUL characters: it is not a text file.")
    if not text.strip():
        raise ImportFileError("Tệp rỗng.", "The file is empty.")
    return text


def _guess_format(source: str, text: str) -> str:
    lowered = source.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    return "json" if text.lstrip()[:1] in "{[" else "csv"


def _read_json(text: str) -> list[Entry]:
    try:
        data = _json_with_lines(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(f"Không đọc được JSON: dòng {error.lineno}, cột {error.colno} ({error.msg}).",
                              f"Not valid JSON: line {error.lineno}, column {error.colno} ({error.msg}).") from None
    except RecursionError:
        raise ImportFileError("JSON lồng quá sâu.", "The JSON is nested too deeply.") from None
    if not isinstance(data, dict) or not isinstance(data.get("procedures"), list):
        raise ImportFileError('JSON phải là một đối tượng có khóa "procedures" (danh sách thủ tục).',
                              'The JSON must be an object with a "procedures" list.')
    entries: list[Entry] = []
    for procedure in data["procedures"]:
        line = procedure.get(LINE, 1) if isinstance(procedure, dict) else data[LINE]
        try:
            _check_keys(procedure, PROCEDURE_KEYS, "thủ tục", "procedure")
            if not isinstance(procedure.get("versions"), list) or not procedure["versions"]:
                raise Refused('Thủ tục thiếu danh sách "versions".', 'The procedure has no "versions" list.')
        except Refused as refusal:
            entries.append(Entry(line, {}, {}, refusal))
            continue
        head = {k: v for k, v in procedure.items() if k not in ("versions", LINE)}
        for version in procedure["versions"]:
            entries.append(Entry(version.get(LINE, line) if isinstance(version, dict) else line, head, version))
    return entries


def _json_with_lines(text: str):
    """``json.loads`` that records in each object (under ``LINE``) the line it starts on, for the report."""
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    decoder = json.JSONDecoder()

    def parse_object(s_and_end, *args, **kwargs):
        obj, end = json.decoder.JSONObject(s_and_end, *args, **kwargs)
        obj[LINE] = bisect.bisect_left(newlines, s_and_end[1]) + 1
        return obj, end

    decoder.parse_object = parse_object
    # The C scanner ignores parse_object; the pure-Python one calls it.
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    return decoder.decode(text)


def _read_csv(text: str) -> list[Entry]:
    header_line = text.lstrip().splitlines()[0]
    # A spreadsheet in a Vietnamese locale (decimal comma) saves CSV with semicolons.
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        rows = []
        start = 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        raise ImportFileError(f"Không đọc được CSV ở dòng {reader.line_num}: {error}.",
                              f"Not valid CSV at line {reader.line_num}: {error}.") from None
    rows = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ImportFileError("Tệp rỗng.", "The file is empty.")
    header_at, header = rows[0]
    columns = [name.strip().lower() for name in header]
    missing = [name for name in CSV_REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(f"Thiếu cột bắt buộc: {', '.join(missing)} (dòng tiêu đề {header_at}).",
                              f"Missing required columns: {', '.join(missing)} (header line {header_at}).")
    unknown = [name for name in columns if name not in CSV_REQUIRED + CSV_OPTIONAL]
    if unknown:
        raise ImportFileError(f"Cột không có trong mẫu: {', '.join(unknown)}.",
                              f"Columns not in the layout: {', '.join(unknown)}.")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise ImportFileError(f"Cột bị lặp: {', '.join(repeated)}.", f"Repeated columns: {', '.join(repeated)}.")
    entries = []
    for line, row in rows[1:]:
        if len(row) != len(columns):
            refusal = Refused(f"Dòng có {len(row)} ô, dòng tiêu đề có {len(columns)}.",
                              f"The row has {len(row)} cells, the header {len(columns)}.")
            entries.append(Entry(line, {}, {}, refusal))
            continue
        cells = {name: (cell.strip() or None) for name, cell in zip(columns, row, strict=True)}
        try:
            entries.append(Entry(line, *_csv_entry(cells)))
        except Refused as refusal:
            entries.append(Entry(line, {}, {}, refusal))
    return entries


def _csv_entry(cells: dict) -> tuple[dict, dict]:
    procedure = {name: cells.get(name) for name in PROCEDURE_KEYS - {"versions", "home_reception"}}
    version = {
        "publication_decision": cells.get("publication_decision"),
        "effective_from": cells["effective_from"],
        "effective_to": cells.get("effective_to"),
        "processing_time": {"value": _csv_int(cells["time_value"]), "unit": cells["time_unit"],
                            "confirmed": _csv_bool(cells.get("time_confirmed"), False), "note": cells.get("time_note")},
        "same_day_cutoff": cells.get("same_day_cutoff"),
        "supplement_clock": cells.get("supplement_clock"),
        "fee_vnd": _csv_int(cells.get("fee_vnd"), grouped=True),
        "fee_note": cells.get("fee_note"),
        "online_level": cells.get("online_level"),
        "home_reception": cells["home_reception"],
        "competent_agency_code": cells.get("competent_agency_code"),
        "steps": _parse_chain(cells.get("chain")),
        "required_documents": _parse_documents(cells.get("documents")),
    }
    return procedure, version


def _csv_int(cell: str | None, grouped: bool = False):
    """An integer cell as an int; anything else is left for the checks to refuse. ``grouped``: thousands may be
    separated ("10.000", "10,000", as the publications print fees)."""
    if cell is None:
        return None
    if grouped and re.fullmatch(r"\d{1,3}([., \u00a0]\d{3})+", cell):
        cell = re.sub(r"\D", "", cell)
    return int(cell) if re.fullmatch(r"\d{1,12}", cell) else cell


def _csv_bool(cell: str | None, default: bool):
    if cell is None:
        return default
    word = cell.lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else cell


def _parse_chain(cell: str | None) -> list[dict]:
    """``receiving:1;agency=000.00.04.H26:10;receiving:1`` → steps; an optional third part names the step
    (``name_vi|name_en``)."""
    if cell is None:
        return []
    segments = [s.strip() for s in cell.split(";") if s.strip()]
    steps = []
    for position, segment in enumerate(segments, start=1):
        parts = segment.split(":", 2)
        if len(parts) < 2:
            raise Refused(f'Bước liên thông "{segment}" phải có dạng nơi_xử_lý:số_ngày.',
                          f'Chain step "{segment}" must read holder:days.')
        holder, _, agency_code = parts[0].strip().partition("=")
        if position == 1 and holder == "receiving":
            role = "first"
        elif position == len(segments) and holder == "receiving" and position > 1:
            role = "last"
        else:
            role = holder if holder in STEP_NAMES else "agency"
        name_vi, name_en = STEP_NAMES[role]
        if len(parts) == 3 and parts[2].strip():
            name_vi, _, name_en = parts[2].partition("|")
            name_vi, name_en = name_vi.strip(), (name_en.strip() or name_vi.strip())
        steps.append({"holder": holder.strip().lower(), "agency_code": agency_code.strip() or None,
                      "working_days": _csv_int(parts[1].strip()), "name_vi": name_vi, "name_en": name_en})
    return steps


def _parse_documents(cell: str | None) -> list[dict]:
    """``TP1|name_vi|name_en|copy_type|quantity|mandatory|form_ref|note;TP2|...`` → documents (trailing parts
    optional)."""
    if cell is None:
        return []
    documents = []
    for segment in (s for s in cell.split(";") if s.strip()):
        parts = [p.strip() or None for p in segment.split("|")]
        if len(parts) < 3 or len(parts) > 8:
            raise Refused(f'Thành phần hồ sơ "{segment[:60]}" phải có dạng mã|tên tiếng Việt|tên tiếng Anh[|...].',
                          f'Document "{segment[:60]}" must read code|Vietnamese name|English name[|...].')
        parts += [None] * (8 - len(parts))
        documents.append({"code": parts[0], "name_vi": parts[1], "name_en": parts[2],
                          "copy_type": parts[3] or "original", "quantity": _csv_int(parts[4]) or 1,
                          "mandatory": _csv_bool(parts[5], True), "form_ref": parts[6], "note": parts[7]})
    return documents


# --- checking one entry -----------------------------------------------------------------------------------------


def _check_keys(value, allowed: set[str], what_vi: str, what_en: str) -> None:
    if not isinstance(value, dict):
        raise Refused(f"Mục {what_vi} phải là một đối tượng JSON.", f"A {what_en} entry must be a JSON object.")
    unknown = sorted(k for k in value if k not in allowed and k != LINE)
    if unknown:
        raise Refused(f"Khóa không có trong mẫu ({what_vi}): {', '.join(unknown)}.",
                      f"Keys not in the layout ({what_en}): {', '.join(unknown)}.")


def _text(data: dict, name: str, limit: int, required: bool = True, pattern: re.Pattern | None = None,
          hint: str = "") -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str):
        raise Refused(f"{name} phải là chuỗi ký tự.", f"{name} must be a string.")
    value = value.strip()
    if len(value) > limit:
        raise Refused(f"{name} dài quá {limit} ký tự.", f"{name} is longer than {limit} characters.")
    if pattern is not None and not pattern.match(value):
        raise Refused(f"{name} không hợp lệ: {value[:40]!r}{hint}.", f"{name} is not valid: {value[:40]!r}{hint}.")
    return value


def _missing(name: str) -> Refused:
    return Refused(f"Thiếu giá trị bắt buộc: {name}.", f"Missing required value: {name}.")


def _integer(value, name: str, low: int, high: int, required: bool = True) -> int | None:
    if value is None:
        if required:
            raise _missing(name)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(f"{name} phải là số nguyên: {str(value)[:40]!r}.",
                      f"{name} must be a whole number: {str(value)[:40]!r}.")
    if not low <= value <= high:
        raise Refused(f"{name} phải trong khoảng {low}–{high}: {value}.", f"{name} must be {low} to {high}: {value}.")
    return value


def _choice(value, name: str, choices, default: str | None = None) -> str | None:
    if value is None:
        if default is None:
            raise _missing(name)
        return default
    if value not in choices:
        raise Refused(f"{name} không hợp lệ: {str(value)[:40]!r} (giá trị được nhận: {', '.join(choices)}).",
                      f"Unknown {name}: {str(value)[:40]!r} (accepted: {', '.join(choices)}).")
    return value


def _day(value, name: str, required: bool = True) -> date | None:
    if value is None:
        if required:
            raise _missing(name)
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise Refused(f"Ngày không hợp lệ ở {name}: {str(value)[:40]!r} (dạng YYYY-MM-DD).",
                      f"Bad date in {name}: {str(value)[:40]!r} (expected YYYY-MM-DD).") from None


def _boolean(value, name: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Refused(f"{name} phải là có/không (true/false): {str(value)[:40]!r}.",
                      f"{name} must be true or false: {str(value)[:40]!r}.")
    return value


def _clean_procedure(data: dict) -> dict:
    """The procedure's own fields, checked."""
    return {
        "key": _text(data, "key", 80, pattern=KEY, hint=" (chữ thường, số và dấu gạch ngang / a-z, 0-9, -)"),
        "national_code": _text(data, "national_code", 32, required=False, pattern=NATIONAL_CODE,
                               hint=" (dạng / like 1.010824)"),
        "name_vi": _text(data, "name_vi", 2000),
        "name_en": _text(data, "name_en", 2000),
        "field": _text(data, "field", 40, pattern=FIELD_NAME, hint=" (a-z, 0-9, _)"),
        "ministry": _text(data, "ministry", 16, pattern=MINISTRY, hint=" (BNV, BYT, BTP, ...)"),
        "competent_level": _choice(data.get("competent_level"), "competent_level", LEVELS),
    }


def _clean_version(procedure: dict, data: dict) -> dict:
    """The version in the seed's layout with every value checked, ready for ``build_version``."""
    _check_keys(data, VERSION_KEYS, "phiên bản", "version")
    timing = data.get("processing_time")
    _check_keys(timing, TIME_KEYS, "thời hạn", "processing_time")
    start = _day(data.get("effective_from"), "effective_from")
    end = _day(data.get("effective_to"), "effective_to", required=False)
    if end is not None and end < start:
        raise Refused("effective_to sớm hơn effective_from.", "effective_to is before effective_from.")
    unit = _choice(timing.get("unit"), "time_unit", [u.value for u in TimeUnit])
    value = _integer(timing.get("value"), "time_value", 0, 3650)
    cutoff = data.get("same_day_cutoff")
    if unit == TimeUnit.SAME_DAY.value:
        cutoff = _cutoff(cutoff)
    elif cutoff is not None:
        raise Refused("same_day_cutoff chỉ dùng khi time_unit là same_day.",
                      "same_day_cutoff is only for time_unit same_day.")
    elif value == 0:
        raise Refused("time_value phải lớn hơn 0 (trừ khi time_unit là same_day).",
                      "time_value must be above 0 (unless time_unit is same_day).")
    home = data.get("home_reception") or procedure.get("home_reception")
    return {
        "publication_decision": _text(data, "publication_decision", 120, required=False),
        "effective_from": start.isoformat(),
        "effective_to": end.isoformat() if end else None,
        "processing_time": {"value": value, "unit": unit,
                            "confirmed": _boolean(timing.get("confirmed"), "time_confirmed", False),
                            "note": _text(timing, "note", 2000, required=False)},
        "same_day_cutoff": cutoff,
        "supplement_clock": _choice(data.get("supplement_clock"), "supplement_clock",
                                    [c.value for c in SupplementClock], default=SupplementClock.RESTART.value),
        "home_reception": _choice(home, "home_reception", [h.value for h in HomeReception]),
        "fee_vnd": _integer(data.get("fee_vnd"), "fee_vnd", 0, 2_000_000_000, required=False),
        "fee_note": _text(data, "fee_note", 2000, required=False),
        "online_level": None if data.get("online_level") is None else _choice(
            data.get("online_level"), "online_level", ONLINE_LEVELS),
        "competent_agency_code": _agency_code(data.get("competent_agency_code"), "competent_agency_code"),
        "steps": _clean_steps(data.get("steps")),
        "required_documents": _clean_documents(data.get("required_documents")),
    }


def _cutoff(value) -> str:
    try:
        if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
            raise ValueError
        return time.fromisoformat(value).strftime("%H:%M")
    except ValueError:
        shown = str(value)[:20]
        raise Refused(f"same_day_cutoff phải là giờ dạng HH:MM khi time_unit là same_day: {shown!r}.",
                      f"same_day_cutoff must be an HH:MM hour when time_unit is same_day: {shown!r}.") from None


def _agency_code(value, name: str) -> str | None:
    if value is None:
        return None
    return _text({name: value}, name, 32)


def _check_agencies(cleaned: dict) -> None:
    """The agencies a version to be added names are in the database (a department outside the system is an Agency
    too, ``in_system`` false): a chain cannot hand a dossier over to a unit nobody can record a hand-over to."""
    named = [("competent_agency_code", cleaned["competent_agency_code"])]
    named += [("chain agency", step["agency_code"]) for step in cleaned["steps"]]
    for name, code in named:
        if code is not None and Agency.by_code(code) is None:
            raise Refused(f"Mã cơ quan chưa có trong hệ thống ở {name}: {code} (thêm cơ quan trước khi nhập).",
                          f"Unknown agency code in {name}: {code} (add the agency before importing).")


def _clean_steps(steps) -> list[dict]:
    if steps is None:
        return []
    if not isinstance(steps, list):
        raise Refused('"steps" phải là danh sách.', '"steps" must be a list.')
    cleaned = []
    for step in steps:
        _check_keys(step, STEP_KEYS, "bước liên thông", "chain step")
        holder = _choice(step.get("holder"), "chain holder", [h.value for h in StepHolder])
        code = _agency_code(step.get("agency_code"), "chain agency")
        if holder == StepHolder.AGENCY.value and code is None:
            raise Refused("Bước liên thông agency phải có mã cơ quan (agency=MÃ).",
                          "An agency chain step needs its agency code (agency=CODE).")
        if holder != StepHolder.AGENCY.value and code is not None:
            raise Refused(f"Chỉ bước agency mới ghi mã cơ quan (bước {holder}).",
                          f"Only an agency step carries an agency code (step {holder}).")
        cleaned.append({"holder": holder, "agency_code": code,
                        "working_days": _integer(step.get("working_days"), "chain working_days", 0, 365),
                        "name_vi": _text(step, "name_vi", 500), "name_en": _text(step, "name_en", 500)})
    return cleaned


def _clean_documents(documents) -> list[dict]:
    if not isinstance(documents, list) or not documents:
        raise Refused("Thiếu thành phần hồ sơ (ít nhất một).", "No required documents (at least one is needed).")
    cleaned = []
    for document in documents:
        _check_keys(document, DOCUMENT_KEYS, "thành phần hồ sơ", "document")
        code = _text(document, "code", 32)
        if code in {d["code"] for d in cleaned}:
            raise Refused(f"Mã thành phần hồ sơ bị lặp: {code}.", f"Repeated document code: {code}.")
        cleaned.append({
            "code": code, "name_vi": _text(document, "name_vi", 2000), "name_en": _text(document, "name_en", 2000),
            "form_ref": _text(document, "form_ref", 200, required=False),
            "copy_type": _choice(document.get("copy_type"), "copy_type", [c.value for c in CopyType],
                                 default=CopyType.ORIGINAL.value),
            "quantity": _integer(1 if document.get("quantity") is None else document["quantity"], "quantity", 1, 100),
            "mandatory": _boolean(document.get("mandatory"), "mandatory", True),
            "note": _text(document, "note", 2000, required=False),
        })
    return cleaned


# --- comparing versions -----------------------------------------------------------------------------------------


def _chain_text(version: ProcedureVersion) -> str:
    return ";".join(f"{s.holder.value}{'=' + s.agency_code if s.agency_code else ''}:{s.working_days}"
                    for s in version.steps) or "—"


def _rules(version: ProcedureVersion) -> dict[str, object]:
    """What a version says, part by part (everything but its dates)."""
    return {
        "time_value": version.time_value,
        "time_unit": version.time_unit.value,
        "time_confirmed": bool(version.time_confirmed),
        "time_note": version.time_note,
        "same_day_cutoff": version.same_day_cutoff.strftime("%H:%M") if version.same_day_cutoff else None,
        "supplement_clock": version.supplement_clock.value,
        "home_reception": version.home_reception.value,
        "fee": (version.fee_vnd, version.fee_note),
        "online_level": version.online_level,
        "publication_decision": version.publication_decision,
        "competent_agency_code": version.competent_agency_code,
        "chain": tuple((s.holder.value, s.agency_code, s.working_days, s.name_vi, s.name_en) for s in version.steps),
        "documents": tuple((d.code, d.name_vi, d.name_en, d.form_ref, d.copy_type.value, d.quantity,
                            bool(d.mandatory), d.note) for d in version.required_documents),
    }


def _differences(old: ProcedureVersion, new: ProcedureVersion) -> list[str]:
    before, after = _rules(old), _rules(new)
    return [part for part in before if before[part] != after[part]]


def _changes(old: ProcedureVersion | None, new: ProcedureVersion) -> list[str]:
    """What ``new`` changes against the version before it, in the report's words."""
    if old is None:
        return [f"phiên bản đầu tiên / first version ({new.time_value} {new.time_unit.value})"]
    changed = _differences(old, new)
    described = []
    if "time_value" in changed:
        described.append(f"thời hạn / time {old.time_value} → {new.time_value}")
    if "time_unit" in changed:
        described.append(f"đơn vị / unit {old.time_unit.value} → {new.time_unit.value}")
    if "competent_agency_code" in changed:
        described.append(f"cơ quan giải quyết / competent agency {old.competent_agency_code or 'cấp xã / ward'} → "
                         f"{new.competent_agency_code or 'cấp xã / ward'}")
    if "chain" in changed:
        described.append(f"liên thông / chain {_chain_text(old)} → {_chain_text(new)}")
    if "documents" in changed:
        described.append("thành phần hồ sơ / documents " + _document_changes(old, new))
    if "fee" in changed:
        described.append(f"lệ phí / fee {old.fee_vnd if old.fee_vnd is not None else '—'} → "
                         f"{new.fee_vnd if new.fee_vnd is not None else '—'} VND")
    shown = {"time_value", "time_unit", "competent_agency_code", "chain", "documents", "fee"}
    others = [part for part in changed if part not in shown]
    if others:
        described.append("khác / other: " + ", ".join(others))
    return described or ["không đổi quy tắc, chỉ ngày hiệu lực / same rules, new start date"]


def _document_changes(old: ProcedureVersion, new: ProcedureVersion) -> str:
    before = {d[0]: d for d in _rules(old)["documents"]}
    after = {d[0]: d for d in _rules(new)["documents"]}
    parts = [f"+{code}" for code in after if code not in before]
    parts += [f"−{code}" for code in before if code not in after]
    parts += [f"~{code}" for code in after if code in before and before[code] != after[code]]
    return " ".join(parts) or "(thứ tự / order)"


# --- planning and writing ---------------------------------------------------------------------------------------


@dataclass
class _Planned:
    line: int
    procedure: dict
    version: ProcedureVersion


class _Plan:
    """Checks entries one by one against the database and the file's earlier rows; writes nothing until apply()."""

    def __init__(self, report: Report, on: date):
        self.report = report
        self.on = on
        self.seen: dict[tuple[str, date], int] = {}
        self.codes: dict[str, tuple[str, int]] = {}
        self.new_procedures: dict[str, dict] = {}
        self.added: dict[str, list[_Planned]] = {}
        self.noted: set[str] = set()

    def refuse(self, line: int, refusal: Refused) -> None:
        self.report.refused.append((line, str(refusal)))

    def check(self, entry: Entry) -> None:
        if entry.refusal is not None:
            self.refuse(entry.line, entry.refusal)
            return
        try:
            procedure = _clean_procedure(entry.procedure)
            cleaned = _clean_version(entry.procedure, entry.version)
            self._place(entry.line, procedure, cleaned)
        except Refused as refusal:
            self.refuse(entry.line, refusal)

    def _place(self, line: int, procedure: dict, cleaned: dict) -> None:
        key, start = procedure["key"], date.fromisoformat(cleaned["effective_from"])
        if (key, start) in self.seen:
            raise Refused(f"Trùng dòng {self.seen[key, start]} (cùng thủ tục {key}, cùng ngày hiệu lực {start}).",
                          f"Duplicate of line {self.seen[key, start]} (same procedure {key}, same start {start}).")
        self.seen[key, start] = line
        code = procedure["national_code"]
        if code is not None:
            other_key, other_line = self.codes.setdefault(code, (key, line))
            if other_key != key:
                raise Refused(f"Mã {code} đã dùng cho thủ tục {other_key} ở dòng {other_line}.",
                              f"Code {code} is already used for procedure {other_key} on line {other_line}.")
        existing = db.session.scalar(select(Procedure).where(Procedure.key == key))
        self._check_identity(key, code, existing, procedure)
        version = build_version(procedure, cleaned, start)
        stored = {v.effective_from: v for v in existing.versions} if existing else {}
        if start in stored:
            self._compare(key, stored[start], version, cleaned)
            return
        planned = self.added.setdefault(key, [])
        if stored and start <= max(stored):
            raise Refused(
                f"Phiên bản mới từ {start} không sau phiên bản mới nhất ({max(stored)}): không chen phiên bản vào "
                "giữa các phiên bản hồ sơ đã có thể tiếp nhận theo.",
                f"The new version from {start} is not after the latest version ({max(stored)}): a version is never "
                "slipped in among versions dossiers may have been received under.")
        if stored and start <= self.on:
            raise Refused(
                f"Phiên bản mới của thủ tục đang có hiệu lực phải bắt đầu sau hôm nay ({self.on}): hồ sơ hôm nay, kể "
                "cả hồ sơ nhận ngoại tuyến chưa đồng bộ, theo phiên bản đang có.",
                f"A new version of a procedure in force must start after today ({self.on}): today's dossiers, "
                "including those received offline and not yet synced, follow the version in force.")
        # Only what is to be written: a version already stored named its agencies when it was written.
        _check_agencies(cleaned)
        if existing is None:
            first = self.new_procedures.setdefault(key, procedure)
            differing = [name for name in first if first[name] != procedure[name]]
            if differing:
                raise Refused(f"Thủ tục mới {key} ghi khác dòng trước ở: {', '.join(differing)}.",
                              f"New procedure {key} differs from its earlier row in: {', '.join(differing)}.")
        planned.append(_Planned(line, procedure, version))

    def _check_identity(self, key: str, code: str | None, existing: Procedure | None, procedure: dict) -> None:
        if code is not None:
            holder = db.session.scalar(select(Procedure.key).where(Procedure.national_code == code))
            if holder is not None and holder != key:
                raise Refused(f"Mã {code} đã thuộc thủ tục {holder} trong danh mục.",
                              f"Code {code} already belongs to procedure {holder} in the catalogue.")
        if existing is None:
            return
        if existing.national_code is not None and code is not None and existing.national_code != code:
            raise Refused(f"Thủ tục {key} đã có mã {existing.national_code}, tệp ghi {code}.",
                          f"Procedure {key} has code {existing.national_code}; the file says {code}.")
        differing = [name for name in ("name_vi", "name_en", "field", "ministry", "competent_level")
                     if getattr(existing, name) != procedure[name]]
        if differing and key not in self.noted:
            self.noted.add(key)
            self.report.notes.append(
                f"{key}: {', '.join(differing)} khác danh mục, không sửa (sửa ở trang quản trị) / differ from the "
                "catalogue, not changed (edit them on the admin pages)")

    def _compare(self, key: str, stored: ProcedureVersion, version: ProcedureVersion, cleaned: dict) -> None:
        differing = _differences(stored, version)
        end = cleaned["effective_to"]
        # A version's end is usually set by the version after it: compared only when the file gives one.
        if end is not None and stored.effective_to != date.fromisoformat(end):
            differing.append("effective_to")
        if differing:
            raise Refused(
                f"Xung đột với phiên bản đang có của {key} từ {stored.effective_from} (khác: {', '.join(differing)});"
                " phiên bản đã có không bao giờ bị sửa: hãy công bố phiên bản mới với ngày hiệu lực sau.",
                f"Conflicts with the stored version of {key} from {stored.effective_from} (differs: "
                f"{', '.join(differing)}); a stored version is never rewritten: publish a new version with a later "
                "start.")
        self.report.unchanged.append((key, stored.effective_from))

    def finish(self) -> None:
        """Order each procedure's new versions and say what each changes; refuse overlapping ends of the file."""
        for key, planned in self.added.items():
            planned.sort(key=lambda p: p.version.effective_from)
            procedure = db.session.scalar(select(Procedure).where(Procedure.key == key))
            previous = procedure.versions[-1] if procedure is not None and procedure.versions else None
            if procedure is None:
                fields = self.new_procedures[key]
                self.report.procedures_added.append(
                    f"{key} ({fields['national_code'] or 'chưa có mã / no code'}, {fields['ministry']})")
            for item in planned:
                new = item.version
                if previous in (p.version for p in planned) and previous.effective_to is not None \
                        and previous.effective_to >= new.effective_from:
                    self.refuse(item.line, Refused(
                        f"Phiên bản từ {new.effective_from} chồng lên phiên bản trước (đến {previous.effective_to}).",
                        f"The version from {new.effective_from} overlaps the one before (to {previous.effective_to})."))
                self.report.versions_added.append((key, new.effective_from, _changes(previous, new)))
                previous = new

    def apply(self) -> None:
        """Write the planned procedures and versions (called only when nothing was refused)."""
        for key, planned in self.added.items():
            procedure = db.session.scalar(select(Procedure).where(Procedure.key == key))
            if procedure is None:
                procedure = Procedure(**self.new_procedures[key])
                db.session.add(procedure)
            for item in planned:
                previous = procedure.versions[-1] if procedure.versions else None
                new = item.version
                if previous is not None and (previous.effective_to is None
                                             or previous.effective_to >= new.effective_from):
                    # Ends the version it replaces the day before: its rules stay for the dossiers received under
                    # it, as the admin pages do (server/admin/procedures.py). Only an end after today moves: a new
                    # version of a stored procedure starts after today.
                    previous.effective_to = new.effective_from - timedelta(days=1)
                procedure.versions.append(new)
        db.session.flush()
        audit("catalogue_imported", None, None, source_format=self.report.file_format,
              procedures=len(self.report.procedures_added), versions=len(self.report.versions_added),
              unchanged=len(self.report.unchanged))
