"""Which visits (and so which people) went to which officer's phone, and when.

The day download and the change pulls (server/dossiers/sync_api.py) send each visit with its person's name,
personal ID, date of birth, phone and address. One row per phone and visit says when it first and last went
there, and when the server last told the phone to drop it (the visit was done, cancelled or given to another
officer). That answer may never have arrived, so a visit told to drop is still listed in a breach report, marked.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.dossiers.models import HomeVisit
from server.extensions import db
from server.people.models import Person
from server.types import UtcDateTime


class VisitDownload(db.Model):
    """A visit, with its person, sent to a device."""

    __tablename__ = "visit_download"
    __table_args__ = (UniqueConstraint("device_id", "home_visit_id", name="uq_visit_download_device_visit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id"), index=True)
    home_visit_id: Mapped[int] = mapped_column(ForeignKey("home_visit.id"))
    #: The person the visit named when it was sent (a visit's person record is never rewritten, but say it here).
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    first_sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: When an answer told the phone to drop the visit; None while the phone should still hold it.
    drop_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    visit: Mapped[HomeVisit] = relationship()
    person: Mapped[Person] = relationship()
