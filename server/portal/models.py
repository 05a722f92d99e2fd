"""The DVCQG outbox: one row per message owed to the national portal."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from server.enums import enum_type
from server.extensions import db
from server.types import UtcDateTime
from server.types import utcnow


class PortalAction(enum.Enum):
    """The portal's two actions for a one-stop system (DOMAIN.md §1.6)."""

    SYNC_DOSSIER = "DongBoHoSoMC"  #: a dossier the portal does not know yet, whole
    UPDATE_PROGRESS = "CapNhatTienDoHoSoMC"  #: a status change of a dossier it knows


class PortalStatus(enum.Enum):
    QUEUED = "queued"  #: waiting (for its turn: the earlier messages of the same dossier go first)
    SENDING = "sending"  #: claimed by a worker until ``lease_until``
    SENT = "sent"  #: the portal accepted it
    FAILED = "failed"  #: refused for good (a 4xx, a rejected field): an operator must look; later ones wait


class PortalMessage(db.Model):
    """A message to DVCQG, in order per dossier (``seq``): delivered exactly once, the next only after it."""

    __tablename__ = "portal_message"
    __table_args__ = (
        UniqueConstraint("dossier_id", "seq"),
        # The worker's claim looks only at what is not sent yet.
        Index("ix_portal_message_pending", "next_attempt_at",
              postgresql_where=text("status IN ('queued', 'sending')"),
              sqlite_where=text("status IN ('queued', 'sending')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    seq: Mapped[int]  #: 1, 2, ... per dossier
    action: Mapped[PortalAction] = mapped_column(enum_type(PortalAction, "portal_action"))
    national_status: Mapped[int]  #: TrangThaiHoSo 1-10 the message reports
    payload: Mapped[dict] = mapped_column(JSON)  #: the body as sent (its fields checked by the fake portal)
    status: Mapped[PortalStatus] = mapped_column(enum_type(PortalStatus, "portal_status"), default=PortalStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)  #: the portal's code and message, never personal data
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: the portal's reference for the message, if it gives one
    portal_reference: Mapped[str | None] = mapped_column(String(120))
