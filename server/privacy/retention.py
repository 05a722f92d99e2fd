"""The retention of closed dossiers: photos and personal data go when their procedure's period has passed.

``flask retention purge`` (``--dry-run`` lists what it would do) and the push worker (every
``RETENTION_PURGE_INTERVAL_HOURS``) call :func:`purge`. It deletes the photos (attachment rows and files) and
anonymises the people (server/privacy/records.py) of closed dossiers whose retention expired, and writes one audit
event with the counts and the dossier ids: no name, ID or phone goes into the audit log or the application log.

The statistics stay exact: they are counted from the dossier rows (state, dates, timeliness, channel, the
``photographed`` flag) and their history, which are never changed here (tests/test_privacy.py compares the report
before and after).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.auth.audit import audit
from server.dossiers.models import Dossier
from server.dossiers.workflow import TERMINAL_STATES
from server.extensions import db
from server.privacy import records
from server.push.turns import claim_turn
from server.reference.models import ProcedureVersion

log = logging.getLogger(__name__)

#: The longest retention an administrator may set (days): a century is beyond any records schedule.
MAX_RETENTION_DAYS = 36_500
RETENTION_FIELDS = ("photo_retention_days", "personal_data_retention_days")

#: The worker's marker of its last purge (a row of the heartbeat table, like the push worker's own beat).
PURGE_MARKER = "retention-purge"


@dataclass
class PurgePlan:
    """What is due: dossier ids whose photos, and whose personal data, have passed their retention."""

    photos: list[int] = field(default_factory=list)
    personal_data: list[int] = field(default_factory=list)
    photo_documents: int = 0
    files_deleted: int = 0
    people_anonymised: int = 0


def _closed_not_purged():
    return (select(Dossier).where(Dossier.state.in_(TERMINAL_STATES), Dossier.closed_at.is_not(None),
                                  or_(Dossier.photos_purged_at.is_(None), Dossier.personal_data_purged_at.is_(None)))
            .options(selectinload(Dossier.documents),
                     selectinload(Dossier.procedure_version).selectinload(ProcedureVersion.procedure))
            .order_by(Dossier.id))


def plan(now: datetime) -> PurgePlan:
    """The closed dossiers whose photos or personal data have expired at ``now`` (nothing is changed)."""
    due = PurgePlan()
    for dossier in db.session.scalars(_closed_not_purged()):
        photos_until = records.photos_kept_until(dossier)
        if dossier.photos_purged_at is None and photos_until is not None and photos_until <= now:
            due.photos.append(dossier.id)
            due.photo_documents += len(records.photo_documents(dossier))
        people_until = records.personal_data_kept_until(dossier)
        if dossier.personal_data_purged_at is None and people_until is not None and people_until <= now:
            due.personal_data.append(dossier.id)
    return due


def purge(now: datetime, dry_run: bool = False) -> PurgePlan:
    """Delete the expired photos and anonymise the expired personal data; flushes (the caller commits).

    With ``dry_run`` only the plan is returned. Idempotent: a purged dossier is marked and not looked at again.
    """
    due = plan(now)
    if dry_run or not (due.photos or due.personal_data):
        return due
    for dossier_id in due.photos:
        done = records.delete_photos(db.session.get(Dossier, dossier_id), now)
        due.files_deleted += done.files
    for dossier_id in due.personal_data:
        due.people_anonymised += records.anonymise_dossier_people(db.session.get(Dossier, dossier_id), now)
    audit("retention_purge", None, photos_dossier_ids=due.photos, personal_data_dossier_ids=due.personal_data,
          photo_documents=due.photo_documents, files_deleted=due.files_deleted,
          people_anonymised=due.people_anonymised)
    log.info("retention purge: photos of %d dossiers (%d files), personal data of %d dossiers (%d records)",
             len(due.photos), due.files_deleted, len(due.personal_data), due.people_anonymised)
    return due


def purge_if_due(now: datetime) -> PurgePlan | None:
    """The worker's step: purge when the last purge is older than ``RETENTION_PURGE_INTERVAL_HOURS`` (claimed
    with a conditional update, so that of several workers one purges); commits. None when not due."""
    hours = current_app.config["RETENTION_PURGE_INTERVAL_HOURS"]
    if not hours:
        return None
    if not claim_turn(PURGE_MARKER, timedelta(hours=hours), now):
        return None
    done = purge(now)
    db.session.commit()
    return done


def read_retention(form) -> tuple[dict[str, int | None] | None, dict[str, str]]:
    """The administrator's retention form: for each field a whole number of days, or blank for the configured
    default. Returns (values, {}) or (None, one message per field)."""
    from flask_babel import gettext as _

    values: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for name in RETENTION_FIELDS:
        text = (form.get(name) or "").strip()
        if not text:
            values[name] = None
        elif text.isdigit() and len(text) <= 6 and int(text) <= MAX_RETENTION_DAYS:
            values[name] = int(text)
        else:
            errors[name] = _("Nhập số ngày (0 đến %(n)s) hoặc để trống để dùng mặc định.", n=MAX_RETENTION_DAYS)
    return (None, errors) if errors else (values, {})


def set_retention(procedure, values: dict[str, int | None], actor) -> None:
    """Store a procedure's retention (the next purge applies it, to old dossiers too) and audit it."""
    for name, value in values.items():
        setattr(procedure, name, value)
    audit("procedure_retention_changed", actor, procedure, **values)
