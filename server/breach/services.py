"""Recording what goes to an officer's phone, and the breach report of a revoked phone.

When a phone is lost the ward must tell the data protection authority within 72 hours (PDPL 91/2025/QH15 Art.
23(1); ``BREACH_NOTIFICATION_HOURS``) what may have been exposed. The server knows two things:

* the dossier codes the phone reserved (server/dossiers/codes.py) that never came back with a dossier: each may be
  a dossier captured at someone's door and still waiting on the phone, with its photos;
* the visits it downloaded, each with a person's name, personal ID, date of birth, phone and address
  (:class:`server.breach.models.VisitDownload`).

A dossier that reached the server is no longer on the phone (the app erases it once the server confirms), and the
revoked phone erases everything at its next contact (server/auth/sessions.py): the report covers the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from server.auth.models import Device
from server.auth.models import User
from server.breach.models import VisitDownload
from server.calendar.workdays import to_local
from server.dossiers import codes
from server.dossiers.models import AttachmentUpload
from server.dossiers.models import CodeReservation
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.models import HomeVisit
from server.dossiers.models import VisitStatus
from server.extensions import db

#: What a downloaded visit puts on the phone (server/dossiers/sync_api.py ``visit_json``), for the report.
VISIT_DATA = ("full_name", "personal_id", "date_of_birth", "phone", "address", "note")
_OPEN = (VisitStatus.REQUESTED, VisitStatus.SCHEDULED)


def record_visits_sent(device: Device | None, visits: list[HomeVisit], held_ids: set[int], now: datetime) -> None:
    """Remember that ``visits`` went to ``device`` now, and that the phone was told to drop every other visit it
    had, i.e. those not in ``held_ids`` (the day download replaces the phone's list; a change pull names the open
    ones). Adds to the session; the caller commits. Nothing to record without a registered phone."""
    if device is None:
        return
    rows = [{"device_id": device.id, "home_visit_id": v.id, "person_id": v.person_id, "first_sent_at": now,
             "last_sent_at": now, "drop_sent_at": None} for v in visits if v.status in _OPEN]
    if rows:
        # One statement, safe when two requests of the same phone race (two tabs): the unique key decides.
        insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(VisitDownload).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=[VisitDownload.device_id, VisitDownload.home_visit_id],
            set_={"last_sent_at": stmt.excluded.last_sent_at, "person_id": stmt.excluded.person_id,
                  "drop_sent_at": None})
        db.session.execute(stmt)
    db.session.execute(
        update(VisitDownload)
        .where(VisitDownload.device_id == device.id, VisitDownload.drop_sent_at.is_(None),
               VisitDownload.home_visit_id.not_in(held_ids or {-1}))
        .values(drop_sent_at=now)
        .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class CodeRange:
    """Consecutive codes of one reserved block that no dossier on the server carries."""

    day: object
    first: int
    last: int
    first_code: str
    last_code: str
    #: A later code of the same block reached the server: the phone issues codes in order, so these were issued
    #: at a door (a dossier captured and not sent, or discarded), not merely unused.
    issued: bool
    #: The block's day comes after the revocation: nothing captured before the loss can carry these codes.
    after_revocation: bool

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class BreachReport:
    device: Device
    owner: User
    revoked_by: User | None
    deadline: datetime
    hours: int
    code_ranges: list[CodeRange]
    visits: list[VisitDownload]
    photos_without_dossier: int

    @property
    def unsynced_code_count(self) -> int:
        return sum(r.count for r in self.code_ranges)

    @property
    def people_count(self) -> int:
        return len({v.person_id for v in self.visits})

    @property
    def visits_still_held(self) -> int:
        return sum(1 for v in self.visits if v.drop_sent_at is None)


def notification_deadline(revoked_at: datetime) -> datetime:
    """When the report to the authority is due: the revocation (the moment the loss is known) plus the hours."""
    return revoked_at + timedelta(hours=current_app.config["BREACH_NOTIFICATION_HOURS"])


def breach_report(device: Device) -> BreachReport:
    """What may have been on a revoked ``device`` (see the module's docstring)."""
    if device.revoked_at is None:
        raise ValueError("only a revoked device has a breach report")
    return BreachReport(
        device=device, owner=device.user,
        revoked_by=db.session.get(User, device.revoked_by_id) if device.revoked_by_id else None,
        deadline=notification_deadline(device.revoked_at),
        hours=current_app.config["BREACH_NOTIFICATION_HOURS"],
        code_ranges=unsynced_code_ranges(device),
        visits=list(db.session.scalars(
            select(VisitDownload).where(VisitDownload.device_id == device.id)
            .order_by(VisitDownload.drop_sent_at.is_not(None), VisitDownload.first_sent_at, VisitDownload.id))),
        photos_without_dossier=_photos_without_dossier(device),
    )


def unsynced_code_ranges(device: Device) -> list[CodeRange]:
    """Every code reserved for ``device`` that no dossier on the server carries, as ranges per block.

    A dossier carrying a code of a block was sent by that block's device (``codes.accept_reserved_code`` refuses
    any other), so the device's own dossiers are all the codes there are to compare with.
    """
    received = set(db.session.scalars(select(Dossier.code).where(Dossier.device_id == device.id,
                                                                 Dossier.code.is_not(None))))
    revoked_day = to_local(device.revoked_at).date() if device.revoked_at else None
    blocks = db.session.scalars(select(CodeReservation).where(CodeReservation.device_id == device.id)
                                .order_by(CodeReservation.day, CodeReservation.first_number))
    ranges = []
    for block in blocks:
        agency_code = block.agency.agency_code
        numbers = range(block.first_number, block.last_number + 1)
        used = [n for n in numbers if codes.format_code(agency_code, block.day, n) in received]
        highest_used = max(used, default=0)
        used_set = set(used)
        missing = [n for n in numbers if n not in used_set]
        after = revoked_day is not None and block.day > revoked_day
        # ``highest_used`` is itself used, so no run spans it: a run is wholly issued or wholly maybe-unused.
        for first, last in _runs(missing):
            ranges.append(CodeRange(block.day, first, last, codes.format_code(agency_code, block.day, first),
                                    codes.format_code(agency_code, block.day, last), issued=last < highest_used,
                                    after_revocation=after))
    return ranges


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers as (first, last) runs of consecutive ones."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return [(a, b) for a, b in runs]


def _photos_without_dossier(device: Device) -> int:
    """Photos this phone uploaded that no dossier cites yet: the photos went first, their dossier may still wait."""
    cited = select(DossierDocument.sha256).where(DossierDocument.sha256.is_not(None))
    return db.session.scalar(select(func.count(func.distinct(AttachmentUpload.sha256))).where(
        AttachmentUpload.device_id == device.id, AttachmentUpload.sha256.not_in(cited))) or 0
