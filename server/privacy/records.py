"""What the ward holds about a person, what the law obliges it to keep, and how the rest is removed.

A person is recorded once per source (each dossier keeps its people as the officer typed them, an account keeps
what the citizen declared: server/people/models.py), so "a person's data" is every record of the ward with the
same personal ID, plus the record the request names. Removing data never deletes a dossier or its history:

* a dossier still under processing is kept whole (the ward must finish it: Decree 118/2025/NĐ-CP);
* a closed dossier keeps its photos and people until its procedure's retention ends (server/privacy/retention.py),
  then the photos are deleted and the people anonymised;
* what stays for good is the statutory record: the dossier's code, procedure, dates and result, its history
  (append-only) and the statutory forms the desk issued (Circular 01/2018, 03/2025), which the archives keep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from server.auth.models import User
from server.dossiers.models import Attachment
from server.dossiers.models import AttachmentUpload
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.models import HomeVisit
from server.dossiers.workflow import TERMINAL_STATES
from server.extensions import db
from server.people.models import Person
from server.portal.messages import without_personal_data
from server.portal.models import PortalMessage
from server.storage import backend

log = logging.getLogger(__name__)

#: What an anonymised record is called (a name is required; the statutory record keeps the dossier, not the person).
ANONYMOUS_NAME = "(đã ẩn danh)"


def records_of(subject: Person, agency_id: int) -> list[Person]:
    """Every record of the ward about ``subject``: the record itself and, when it has a personal ID, each record
    with that ID on the ward's dossiers and home visits and on accounts whose identity the desk checked."""
    if not subject.personal_id:
        return [subject]
    on_dossiers = select(Dossier.owner_id).where(Dossier.agency_id == agency_id).union(
        select(Dossier.submitter_id).where(Dossier.agency_id == agency_id),
        select(HomeVisit.person_id).where(HomeVisit.agency_id == agency_id),
        # An account's record only once the desk checked its ID card: a declared ID proves nothing.
        select(User.person_id).where(User.person_id.is_not(None), User.identity_verified_at.is_not(None)))
    found = db.session.scalars(select(Person).where(Person.personal_id == subject.personal_id,
                                                    Person.id.in_(on_dossiers)).order_by(Person.id))
    return [subject, *(p for p in found if p.id != subject.id)]


def dossiers_of(people: list[Person]) -> list[Dossier]:
    """The dossiers these records are the owner or submitter of, oldest first."""
    ids = [p.id for p in people]
    return list(db.session.scalars(select(Dossier).where(
        or_(Dossier.owner_id.in_(ids), Dossier.submitter_id.in_(ids))).order_by(Dossier.id)))


def is_closed(dossier: Dossier) -> bool:
    """Ended for good (returned, refused, stopped, withdrawn, guided): nothing more will be done with it."""
    return dossier.state in TERMINAL_STATES and dossier.closed_at is not None


def _days(configured: int | None, default_key: str) -> int | None:
    return configured if configured is not None else current_app.config[default_key]


def photos_kept_until(dossier: Dossier) -> datetime | None:
    """When the photos of a closed dossier may go; None while it is open or when its procedure keeps them."""
    days = _days(dossier.procedure_version.procedure.photo_retention_days, "RETENTION_PHOTO_DAYS")
    if not is_closed(dossier) or days is None:
        return None
    return dossier.closed_at + timedelta(days=days)


def personal_data_kept_until(dossier: Dossier) -> datetime | None:
    """When the people of a closed dossier may be anonymised; None while it is open or kept without a term."""
    days = _days(dossier.procedure_version.procedure.personal_data_retention_days, "RETENTION_PERSONAL_DATA_DAYS")
    if not is_closed(dossier) or days is None:
        return None
    return dossier.closed_at + timedelta(days=days)


@dataclass(frozen=True)
class PhotoPurge:
    documents: int  #: photographed papers that lost their photo
    files: int  #: attachments (rows and files) deleted: no dossier cites them any more


def photo_documents(dossier: Dossier) -> list[DossierDocument]:
    """The dossier's photographed papers: documents with a file that is not a statutory form the desk issued."""
    return [d for d in dossier.documents if d.sha256 is not None and d.form_key is None]


def delete_photos(dossier: Dossier, now: datetime) -> PhotoPurge:
    """Delete the photos of ``dossier`` (the documents stay, marked as papers without a photo); the attachment row
    and file go when no other document cites them. ``Dossier.photographed`` stays set, so the statistics of
    digitised dossiers do not change. Flushes. The files go before the commit: if it failed, the rows would stay
    and be purged again at the next run (the photo is gone either way, which is what was due)."""
    documents = photo_documents(dossier)
    hashes = {d.sha256 for d in documents}
    for document in documents:
        document.sha256 = None
    dossier.photos_purged_at = now
    db.session.flush()
    still_cited = set(db.session.scalars(select(DossierDocument.sha256).where(DossierDocument.sha256.in_(hashes))))
    gone = sorted(hashes - still_cited)
    if gone:
        db.session.execute(delete(AttachmentUpload).where(AttachmentUpload.sha256.in_(gone)))
        db.session.execute(delete(Attachment).where(Attachment.sha256.in_(gone)))
        files = backend()
        for sha256 in gone:
            files.delete(sha256)
    return PhotoPurge(documents=len(documents), files=len(gone))


def anonymise(person: Person, now: datetime) -> None:
    """Blank a record: a placeholder name, no identifiers, birth date, gender, contacts or address. The row stays
    (the dossier and its history point at it); the desk's search text follows (server/dossiers/models.py)."""
    person.full_name = ANONYMOUS_NAME
    person.personal_id = person.legacy_id_number = None
    person.date_of_birth = person.gender = None
    person.phone_e164 = person.address = None
    person.anonymised_at = now


def anonymise_dossier_people(dossier: Dossier, now: datetime) -> int:
    """Anonymise the owner and submitter of ``dossier`` where no dossier still held (open, or within its
    retention) and no account uses the same record; blank its home visit's address, phone and note, and its
    summary. Returns how many records were anonymised."""
    people = {p.id: p for p in (dossier.owner, dossier.submitter)}
    anonymised = 0
    for person in people.values():
        if person.anonymised_at is None and not _held_elsewhere(person, dossier, now):
            anonymise(person, now)
            anonymised += 1
    if dossier.home_visit_id is not None:
        db.session.execute(update(HomeVisit).where(HomeVisit.id == dossier.home_visit_id)
                           .values(address=ANONYMOUS_NAME, phone_e164=None, note=None))
    dossier.summary = None
    # The national portal's copies were sent long ago; ours need the name and ID number no more.
    for message in db.session.scalars(select(PortalMessage).where(PortalMessage.dossier_id == dossier.id)):
        message.payload = without_personal_data(message.payload)
    dossier.personal_data_purged_at = now
    db.session.flush()
    return anonymised


def _held_elsewhere(person: Person, dossier: Dossier, now: datetime) -> bool:
    """The same record is an account's, or belongs to another dossier whose personal data must still be kept."""
    if db.session.scalar(select(User.id).where(User.person_id == person.id).limit(1)) is not None:
        return True
    others = db.session.scalars(select(Dossier).where(
        or_(Dossier.owner_id == person.id, Dossier.submitter_id == person.id), Dossier.id != dossier.id))
    return any(must_keep_personal_data(other, now) for other in others)


def must_keep_personal_data(dossier: Dossier, now: datetime) -> bool:
    """Open, or closed and still within its retention (or kept without a term)."""
    until = personal_data_kept_until(dossier)
    return until is None or now < until
