"""Official dossier codes (mã hồ sơ): atomic daily sequences per agency, and blocks reserved for offline devices.

The code pattern is configuration (``DOSSIER_CODE_PATTERN``, default ``{agency}-{yy}{mm}{dd}-{seq:04d}`` from
Circular 01/2018 Art. 19): the province's one-stop system may impose another scheme (DOMAIN.md §1.5 [U]).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from server.dossiers.models import CodeCounter
from server.dossiers.models import CodeReservation
from server.dossiers.models import Dossier
from server.extensions import db
from server.reference.models import Agency

_FIELD = re.compile(r"\{(agency|yyyy|yy|mm|dd|seq)(?::0?(\d+)d)?\}")


class CodeError(Exception):
    """A code that cannot be issued or accepted, with a reason in both languages."""

    def __init__(self, code: str, vi: str, en: str):
        super().__init__(en)
        self.code, self.vi, self.en = code, vi, en


def format_code(agency_code: str, day: date, number: int, pattern: str | None = None) -> str:
    """The official code of the ``number``-th dossier of ``agency_code`` on ``day``."""
    pattern = pattern or current_app.config["DOSSIER_CODE_PATTERN"]
    return pattern.format(
        agency=agency_code,
        yyyy=f"{day.year:04d}",
        yy=f"{day.year % 100:02d}",
        mm=f"{day.month:02d}",
        dd=f"{day.day:02d}",
        seq=number,
    )


@dataclass(frozen=True)
class ParsedCode:
    agency_code: str
    day: date
    number: int


def parse_code(code: str, pattern: str | None = None) -> ParsedCode | None:
    """Split a code made with ``pattern`` back into agency, day and number; None if it does not fit."""
    pattern = pattern or current_app.config["DOSSIER_CODE_PATTERN"]
    regex, pos = [], 0
    for match in _FIELD.finditer(pattern):
        regex.append(re.escape(pattern[pos : match.start()]))
        name, width = match.group(1), match.group(2)
        if name == "agency":
            regex.append(r"(?P<agency>.+?)")
        elif name == "seq":
            regex.append(rf"(?P<seq>\d{{{width},}})" if width else r"(?P<seq>\d+)")
        else:
            regex.append(rf"(?P<{name}>\d{{{4 if name == 'yyyy' else 2}}})")
        pos = match.end()
    regex.append(re.escape(pattern[pos:]))
    found = re.fullmatch("".join(regex), code)
    if not found:
        return None
    parts = found.groupdict()
    year = int(parts["yyyy"]) if parts.get("yyyy") else 2000 + int(parts["yy"])
    try:
        day = date(year, int(parts["mm"]), int(parts["dd"]))
    except ValueError:
        return None
    return ParsedCode(parts["agency"], day, int(parts["seq"]))


def take_numbers(agency_id: int, day: date, count: int = 1) -> tuple[int, int]:
    """Take ``count`` consecutive numbers from the agency's sequence for ``day``; returns (first, last).

    One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement: the row lock it takes makes concurrent callers
    queue, so no number is handed out twice, and the lock is held until the caller's transaction ends, so a
    rolled-back receipt gives its number back.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(CodeCounter).values(agency_id=agency_id, day=day, last_number=count)
    stmt = stmt.on_conflict_do_update(
        index_elements=[CodeCounter.agency_id, CodeCounter.day],
        set_={"last_number": CodeCounter.last_number + count},
    ).returning(CodeCounter.last_number)
    last = db.session.execute(stmt).scalar_one()
    return last - count + 1, last


def issue_code(agency: Agency, day: date) -> str:
    """The next official code of ``agency`` for ``day``."""
    number, _ = take_numbers(agency.id, day)
    return format_code(agency.agency_code, day, number)


def reserve_block(agency: Agency, day: date, size: int, device_id: uuid.UUID, officer_id: int) -> CodeReservation:
    """Set aside ``size`` numbers of ``day`` for a device that will issue them offline."""
    if not 1 <= size <= 9999:
        raise CodeError("block_size", "Số lượng mã phải từ 1 đến 9999.", "A block holds 1 to 9999 codes.")
    first, last = take_numbers(agency.id, day, size)
    reservation = CodeReservation(
        agency_id=agency.id, day=day, first_number=first, last_number=last, device_id=device_id, officer_id=officer_id
    )
    db.session.add(reservation)
    db.session.flush()
    return reservation


def accept_reserved_code(code: str, device_id: uuid.UUID | None) -> tuple[Agency, date]:
    """Check that a code issued offline comes from a block reserved for this device and is still unused.

    :raises CodeError: malformed, not reserved, reserved for another device, or already used.
    """
    parsed = parse_code(code)
    if parsed is None:
        raise CodeError("code_malformed", "Mã hồ sơ không đúng định dạng.", "The dossier code is malformed.")
    agency = Agency.by_code(parsed.agency_code)
    block = None
    if agency is not None:
        block = db.session.scalar(
            select(CodeReservation).where(
                CodeReservation.agency_id == agency.id,
                CodeReservation.day == parsed.day,
                CodeReservation.first_number <= parsed.number,
                CodeReservation.last_number >= parsed.number,
            )
        )
    if block is None:
        raise CodeError(
            "code_not_reserved", "Mã hồ sơ không thuộc khối mã đã cấp.", "The code is not from a reserved block."
        )
    if device_id is None or block.device_id != device_id:
        raise CodeError(
            "code_other_device",
            "Mã hồ sơ này được cấp cho thiết bị khác.",
            "This code was reserved for another device.",
        )
    if db.session.scalar(select(Dossier.id).where(Dossier.code == code)) is not None:
        raise CodeError("code_used", "Mã hồ sơ đã được sử dụng.", "This code is already in use.")
    return agency, parsed.day
