"""Rendering issued forms' PDFs after the step's commit, by a worker (issue 13, point 6).

A step that issues a form (server/forms/issue.py) takes its number and fixes its content in the step's own
transaction, and stores the document row without a PDF (``sha256`` empty: ``DossierDocument.pdf_pending``). Rendering
costs 150 to 230 ms of CPU; inside the step it would hold up the phone's sync request, and on PostgreSQL it would keep
the ward's number counter locked (server/forms/numbering.py) that long, queueing every other step of the ward that
numbers a form. So every form is rendered here, whichever step issued it: one mechanism, and the desk's steps are as
quick as the sync.

The worker (the push worker's loop, server/push/sender.py ``run_worker``, and ``flask forms render-pending``):

1. claims up to ``FORMS_RENDER_BATCH_SIZE`` pending forms with a lease, in its own commit, as the push sender claims
   deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite one conditional UPDATE, one writer at a time), so
   several workers take different rows;
2. renders each from its stored content (the output depends only on the content: the same bytes every time);
3. records it in its own transaction: the file and its attachment row, then the document's sha256, on the condition
   that it is still empty. Of two workers that rendered the same form (the first one's lease expired while it
   worked), only the first records; the second finds the row done and rolls back.

A worker that dies between rendering and recording leaves the lease to expire; the next claim renders again, and
gets the same bytes. A render that fails (a bug, a full disk) is logged and tried again after a back-off that
doubles up to an hour, without holding up the other forms.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server.dossiers.attachments import store
from server.dossiers.models import DossierDocument
from server.extensions import db
from server.forms.pdf import render
from server.storage import StorageError
from server.types import utcnow

log = logging.getLogger(__name__)

#: How long a claim holds a form: rendering takes well under a second, so a worker that still holds a lease this old
#: has died, and another may render the form.
LEASE = timedelta(minutes=1)
FAILURE_BACKOFF_BASE_SECONDS = 30
FAILURE_BACKOFF_CAP_SECONDS = 3600
#: What a download of a form still being prepared tells the client to wait (``Retry-After``): the worker looks every
#: 2 seconds and renders a form in a fraction of a second.
RETRY_AFTER_SECONDS = 5

#: An issued form without its PDF yet (the condition of the partial index ``ix_dossier_document_render_pending``).
PENDING = and_(DossierDocument.form_key.is_not(None), DossierDocument.sha256.is_(None))


def _claimable(now: datetime):
    """Pending, and no live lease: never claimed, or claimed by a worker that died (or a failure's back-off)."""
    return and_(PENDING, or_(DossierDocument.render_lease_until.is_(None), DossierDocument.render_lease_until < now))


def claim(limit: int | None = None) -> list[int]:
    """Lease up to ``limit`` pending forms to this worker in one transaction; returns their ids."""
    limit = limit or current_app.config["FORMS_RENDER_BATCH_SIZE"]
    now = utcnow()
    due = select(DossierDocument.id).where(_claimable(now)).order_by(DossierDocument.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # The ids first, in their own statement (on PostgreSQL it locks them for this transaction): as a subquery of the
    # UPDATE, PostgreSQL may run it again for each row it updates, each run skipping the rows just claimed and
    # finding further ones, so that one claim took every pending form whatever the limit.
    ids = list(db.session.scalars(due))
    if not ids:
        db.session.commit()
        return []
    # The condition again on the rows themselves: on SQLite it is what makes the claim conditional.
    claimed = (update(DossierDocument)
               .where(DossierDocument.id.in_(ids), _claimable(now))
               .values(render_lease_until=now + LEASE, render_attempts=DossierDocument.render_attempts + 1)
               .returning(DossierDocument.id)
               .execution_options(synchronize_session=False))
    ids = sorted(db.session.scalars(claimed))
    db.session.commit()
    return ids


def render_one(document_id: int) -> bool:
    """Render a claimed form and record its PDF; True if this call recorded it, False if it was done already."""
    document = db.session.get(DossierDocument, document_id)
    if document is None or not document.pdf_pending:
        db.session.rollback()
        return False
    data = render(document.form_content)
    sha256 = hashlib.sha256(data).hexdigest()
    return _record(document, sha256, data)


def _record(document: DossierDocument, sha256: str, data: bytes) -> bool:
    """The PDF's file and attachment row, then the form's sha256 if still empty: one transaction, one commit."""
    document_id = document.id
    if db.engine.dialect.name == "postgresql":
        # Wait for a worker recording this very form right now, then see what it did: no second attachment row.
        locked = select(DossierDocument.sha256).where(DossierDocument.id == document_id).with_for_update()
        if db.session.scalar(locked) is not None:
            db.session.rollback()
            return False
    try:
        store(sha256, data, document.captured_by_id)
        recorded = db.session.execute(
            update(DossierDocument)
            .where(DossierDocument.id == document_id, DossierDocument.sha256.is_(None))
            .values(sha256=sha256, render_lease_until=None)
            .execution_options(synchronize_session=False))
        if recorded.rowcount != 1:
            db.session.rollback()
            return False
        db.session.commit()
    except IntegrityError:  # another worker stored the same PDF's attachment row first: it records the form
        db.session.rollback()
        return False
    log.info("Issued form %s rendered (%d bytes)", document_id, len(data))
    return True


def _back_off(document_id: int, counted: bool = True) -> None:
    """After a failed render: try this form again later, later each time (up to an hour). A failure that is not the
    form's (the store down, ``counted=False``) is tried again after the first wait and does not count as an attempt,
    so that a form is not left waiting an hour after a long outage of the store ends."""
    attempts = db.session.scalar(select(DossierDocument.render_attempts).where(DossierDocument.id == document_id))
    seconds = FAILURE_BACKOFF_BASE_SECONDS
    values = {}
    if counted:
        seconds = min(FAILURE_BACKOFF_CAP_SECONDS, FAILURE_BACKOFF_BASE_SECONDS * 2 ** max(0, (attempts or 1) - 1))
    else:
        values["render_attempts"] = max(0, (attempts or 1) - 1)  # the claim counted it
    db.session.execute(update(DossierDocument).where(DossierDocument.id == document_id, PENDING)
                       .values(render_lease_until=utcnow() + timedelta(seconds=seconds), **values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def render_batch(limit: int | None = None) -> tuple[int, int]:
    """Claim up to ``limit`` pending forms (``FORMS_RENDER_BATCH_SIZE`` by default) and render them; returns (how
    many were claimed, how many this worker recorded). A form that fails is logged and backed off."""
    ids = claim(limit)
    recorded = 0
    for document_id in ids:
        try:
            recorded += render_one(document_id)
        except StorageError:  # the store is down or full: every form fails alike, none is at fault
            log.warning("Issued form %s: the file store refused it; tried again in %d s", document_id,
                        FAILURE_BACKOFF_BASE_SECONDS)
            db.session.rollback()
            _back_off(document_id, counted=False)
        except Exception:  # a bad form must not hold up the others
            log.exception("Issued form %s: rendering failed; tried again later", document_id)
            db.session.rollback()
            _back_off(document_id)
    return len(ids), recorded


def render_pending(limit: int | None = None) -> int:
    """Render every form pending now, batch after batch; returns how many this worker recorded. Forms another worker
    holds are left to it."""
    total = 0
    while True:
        claimed, recorded = render_batch(limit)
        if not claimed:
            return total
        total += recorded


def pending_count() -> int:
    """How many issued forms wait for their PDF (for operators and tests)."""
    return db.session.scalar(select(func.count()).select_from(DossierDocument).where(PENDING)) or 0
