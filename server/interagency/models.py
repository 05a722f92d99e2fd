"""A dossier's steps through an inter-agency chain, and its hand-overs from one unit to the next (Mẫu 06 rows)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import event
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.dossiers.models import Timeliness
from server.enums import enum_type
from server.extensions import db
from server.reference.models import Agency
from server.types import UtcDateTime
from server.types import utcnow


class StepStatus(enum.Enum):
    WAITING = "waiting"  #: not reached yet
    ACTIVE = "active"  #: the dossier is with this step's unit; its clock runs
    DONE = "done"  #: handed on (or, for the last step, the result returned)


class DossierStep(db.Model):
    """One step of one dossier's chain, copied from the procedure version's at receipt (a later catalogue change
    never moves a step of a dossier already received), with its own deadline and, once done, its timeliness: a
    late step is the lateness of the unit that held it."""

    __tablename__ = "dossier_step"
    __table_args__ = (UniqueConstraint("dossier_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    position: Mapped[int]
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    working_days: Mapped[int]
    status: Mapped[StepStatus] = mapped_column(enum_type(StepStatus, "step_status"), default=StepStatus.WAITING)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  #: the unit received the dossier
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  #: started_at + working_days (calendar rules)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  #: handed on to the next unit
    timeliness: Mapped[Timeliness | None] = mapped_column(enum_type(Timeliness, "timeliness"))

    agency: Mapped[Agency] = relationship()


class HandoverKind(enum.Enum):
    """What a hand-over row records (Mẫu 06: "Thời gian giao, nhận hồ sơ")."""

    SENT = "sent"  #: the dossier left ``from_agency`` for ``to_agency``
    ACKNOWLEDGED = "acknowledged"  #: ``to_agency`` confirmed it has it (for an agency outside the system: recorded)
    RESULT_RECEIVED = "result_received"  #: the result came back from ``from_agency`` to ``to_agency``


class DossierHandover(db.Model):
    """One hand-over of a dossier between units. Append-only, like the dossier's events (Mẫu 06: "Lịch sử không bị
    ghi đè"): a correction is a new row."""

    __tablename__ = "dossier_handover"
    __table_args__ = (Index("ix_dossier_handover_dossier", "dossier_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_step.id"))
    kind: Mapped[HandoverKind] = mapped_column(enum_type(HandoverKind, "handover_kind"))
    from_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    to_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: the other side's reference (số văn bản, the department's receipt number), free text from the desk
    reference: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    from_agency: Mapped[Agency] = relationship(foreign_keys=[from_agency_id])
    to_agency: Mapped[Agency] = relationship(foreign_keys=[to_agency_id])
    step: Mapped[DossierStep | None] = relationship()


@event.listens_for(DossierHandover, "before_update")
@event.listens_for(DossierHandover, "before_delete")
def _refuse_handover_rewrite(mapper, connection, target):
    raise ValueError("dossier hand-overs are append-only")
