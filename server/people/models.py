"""People: dossier owners, submitters and other subjects (DOMAIN.md §9, People)."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime

from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from server.enums import enum_type
from server.extensions import db
from server.types import UtcDateTime
from server.types import utcnow


class Gender(enum.Enum):
    MALE = "male"
    FEMALE = "female"


class Person(db.Model):
    """A natural person as one source recorded them: the officer at the door for a dossier's owner or submitter,
    the citizen for their own account. Children and some elders have no personal ID yet.

    The personal ID is not unique: each captured dossier keeps its own record of its people as the officer typed
    them, and a self-declared ID on an account proves nothing. Records are never merged or overwritten by ID; a
    difference with another record of the same ward becomes a flag on the dossier (server/dossiers/sync.py).
    """

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    personal_id: Mapped[str | None] = mapped_column(String(12), index=True)
    # The 9-digit CMND is no longer an identity document (Identity Law 2023); kept only to match old papers.
    legacy_id_number: Mapped[str | None] = mapped_column(String(9))
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None]
    gender: Mapped[Gender | None] = mapped_column(enum_type(Gender, "gender"))
    phone_e164: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The data subject restricted processing (PDPL 91/2025): only the statutory processing of their dossiers may
    #: use this record; secondary uses (notifications, server/push/notify.py) leave it out.
    processing_restricted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When the record was anonymised (retention expired, or erasure): name replaced, identifiers and contacts gone.
    anonymised_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
