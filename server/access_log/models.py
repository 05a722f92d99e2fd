"""The access log and the heads of the hash chains.

An access event says who (user, role) saw what (kind of view, the object shown, the person it is about), when,
from where (the client address as the app sees it) and why, when the desk has a reason (the dossier it works on).
It holds ids only, never a name, a personal ID or an address: the log of who saw personal data must not become one
more copy of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from server.extensions import db
from server.types import UtcDateTime
from server.types import utcnow


class AccessEvent(db.Model):
    """One person's data shown to one user. A page about two people (a dossier's owner and submitter) is two rows;
    a view about nobody in particular (the list of accounts) is one row without a person."""

    __tablename__ = "access_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(20))
    #: what was shown: dossier_page, photo, pdf, form_page, export, ... (server/access_log/record.py)
    kind: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    #: why: the dossier the desk was working on, when there is one
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    #: the ward whose data it is: what a leader may read of the log
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class LogChain(db.Model):
    """The head of one hash chain: the last entry's id and hash, and how many entries it has.

    Appending locks this row first, so two writers cannot both take the same previous hash; and the verification
    compares the last entry with the head, so deleting the newest entries is seen too.
    """

    __tablename__ = "log_chain"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int | None]
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(default=0)
