"""Data subjects' requests (Decree 356/2025/NĐ-CP): one row per request, with its legal deadlines."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.auth.models import User
from server.enums import enum_type
from server.extensions import db
from server.people.models import Person
from server.reference.models import Agency
from server.types import UtcDateTime
from server.types import utcnow


class RequestKind(enum.Enum):
    """What the data subject asks for (the rights of PDPL 91/2025 the desk can act on)."""

    ACCESS = "access"  #: to see the data held about them
    EXPORT = "export"  #: a copy, as JSON and as a readable PDF
    RECTIFY = "rectify"  #: to correct it
    RESTRICT = "restrict"  #: to restrict its processing to what the law requires
    ERASE = "erase"  #: to delete it (within what the law obliges the ward to keep)


class RequestState(enum.Enum):
    RECEIVED = "received"  #: waiting for the acknowledgement
    ACKNOWLEDGED = "acknowledged"  #: acknowledged, waiting for the answer
    ANSWERED = "answered"  #: answered (and acted on); closed


class DataSubjectRequest(db.Model):
    """A data subject's request, made by the citizen from their account or taken by the desk on their behalf.

    The due times are computed once, at receipt (and at the one extension), on the working-day calendar with the
    rule in force that day (``DATA_REQUEST_DEADLINES``), and stored: a later change of the rule or the calendar
    does not move the deadline of a request already received, as for dossiers.
    """

    __tablename__ = "data_subject_request"
    __table_args__ = (
        CheckConstraint("extension_count BETWEEN 0 AND 1", name="dsr_at_most_one_extension"),
        # The desk's queue: the ward's open requests by their next deadline.
        Index("ix_data_subject_request_agency_state", "agency_id", "state", "answer_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[RequestKind] = mapped_column(enum_type(RequestKind, "data_request_kind"))
    #: The person the data is about (one record of theirs; server/privacy/records.py finds the others).
    subject_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: The account that asked: the citizen, or the desk's staff member who took the request on their behalf.
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    on_behalf: Mapped[bool] = mapped_column(default=False)
    #: How the desk checked who the subject is when it took the request ("chip_read", "card_sighted").
    identity_method: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[str | None] = mapped_column(Text)  #: what the subject wrote
    #: For a correction: the corrected values ({"full_name", "phone_e164", "address", "date_of_birth"}).
    corrections: Mapped[dict | None] = mapped_column(JSON)
    state: Mapped[RequestState] = mapped_column(enum_type(RequestState, "data_request_state"),
                                                default=RequestState.RECEIVED)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledge_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answer_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The answer due time before the extension (None until extended).
    original_answer_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Where the day counts come from (e.g. "Nghị định 356/2025/NĐ-CP"), as configured when it was received.
    deadline_source: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    extended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    extension_count: Mapped[int] = mapped_column(default=0)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answer_text: Mapped[str | None] = mapped_column(Text)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    agency: Mapped[Agency] = relationship()
    subject: Mapped[Person] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])

    @property
    def next_due_at(self) -> datetime | None:
        """The deadline the desk must meet next: the acknowledgement, then the answer; None once answered."""
        if self.state is RequestState.RECEIVED:
            return self.acknowledge_due_at
        if self.state is RequestState.ACKNOWLEDGED:
            return self.answer_due_at
        return None
