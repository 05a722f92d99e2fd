"""Reference data models.

Procedures are versioned with effective dates (DOMAIN.md §0): a dossier keeps the procedure version it was received
under, so a change of processing time or required documents never rewrites the deadline of an older dossier.
"""

from __future__ import annotations

import enum
from datetime import date
from datetime import time

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.enums import enum_type
from server.extensions import db


class UnitLevel(enum.Enum):
    """Level of an administrative unit after the two-tier reform of 1 July 2025."""

    PROVINCE = "province"  #: tỉnh / thành phố trực thuộc trung ương
    WARD = "ward"  #: phường / xã / đặc khu


class TimeUnit(enum.Enum):
    """How a procedure's processing time is counted (DOMAIN.md §2.1)."""

    WORKING_DAYS = "working_days"  #: ngày làm việc
    CALENDAR_DAYS = "calendar_days"  #: ngày (moved off a day off at the end)
    SAME_DAY = "same_day"  #: trong ngày; next working day after the cut-off hour


class SupplementClock(enum.Enum):
    """What a supplementation request does to the deadline (DOMAIN.md §1.4 D)."""

    RESTART = "restart"  #: Decree 61: the full time runs again from the complete dossier
    PAUSE = "pause"  #: the remaining time resumes from the supplement


class HomeReception(enum.Enum):
    """Whether officers realistically receive this procedure at home (DOMAIN.md §5, column Home)."""

    YES = "yes"
    PARTIAL = "partial"
    NO = "no"


class CopyType(enum.Enum):
    """The form in which a required document is handed over."""

    ORIGINAL = "original"  #: bản chính
    CERTIFIED_COPY = "certified_copy"  #: bản sao có chứng thực
    COPY_WITH_ORIGINAL = "copy_with_original"  #: bản sao kèm bản chính để đối chiếu
    ELECTRONIC = "electronic"  #: bản điện tử


class AdministrativeUnit(db.Model):
    """A province or ward of the post-2025 two-tier administration."""

    __tablename__ = "administrative_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[UnitLevel] = mapped_column(enum_type(UnitLevel, "unit_level"))
    parent_code: Mapped[str | None] = mapped_column(String(16))


class Agency(db.Model):
    """A receiving and resolving body, such as a ward's one-stop desk, identified by its QCVN 102:2016 code."""

    __tablename__ = "agency"
    __table_args__ = (
        CheckConstraint("am_open < am_close AND am_close <= pm_open AND pm_open < pm_close", name="office_hours"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(32), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    administrative_unit_id: Mapped[int | None] = mapped_column(ForeignKey("administrative_unit.id"))
    is_one_stop: Mapped[bool] = mapped_column(default=True)
    #: Issue 15: an agency whose staff use this system has its own queue; one outside it (a department still on its
    #: ministry's portal) gets dossiers by a hand-over the desk records (sent, acknowledged, result received).
    in_system: Mapped[bool] = mapped_column(default=True, server_default=true())
    #: Which ministry's field it serves after the 2025 merger ("BNV" Home Affairs, "BYT" Health, ...), for a
    #: department (Sở Nội vụ, Sở Y tế); None for a ward's one-stop desk, which serves every field.
    ministry: Mapped[str | None] = mapped_column(String(16))
    # Office hours bound the working-day clock: a dossier received outside them starts at the next opening.
    am_open: Mapped[time] = mapped_column(default=time(7, 0))
    am_close: Mapped[time] = mapped_column(default=time(11, 30))
    pm_open: Mapped[time] = mapped_column(default=time(13, 30))
    pm_close: Mapped[time] = mapped_column(default=time(17, 0))

    administrative_unit: Mapped[AdministrativeUnit | None] = relationship()

    @property
    def place_name(self) -> str:
        """Where its documents are dated ("Phường Hai Bà Trưng, ngày ..."): its administrative unit, else itself."""
        return self.administrative_unit.name if self.administrative_unit is not None else self.name_vi

    @classmethod
    def by_code(cls, agency_code: str) -> Agency | None:
        """The agency with this electronic identifier, or None."""
        return db.session.scalar(select(cls).where(cls.agency_code == agency_code))


class Procedure(db.Model):
    """An administrative procedure (thủ tục hành chính) of the national catalogue."""

    __tablename__ = "procedure"
    __table_args__ = (
        CheckConstraint("photo_retention_days IS NULL OR photo_retention_days >= 0", name="photo_retention"),
        CheckConstraint("personal_data_retention_days IS NULL OR personal_data_retention_days >= 0",
                        name="personal_data_retention"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    national_code: Mapped[str | None] = mapped_column(String(32), index=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(40))
    ministry: Mapped[str | None] = mapped_column(String(16))
    competent_level: Mapped[str | None] = mapped_column(String(32))
    # Retention of closed dossiers (server/privacy/retention.py), in days after the dossier closed; None: the
    # configured default (RETENTION_PHOTO_DAYS, RETENTION_PERSONAL_DATA_DAYS). On the procedure rather than its
    # dated version: it is the ward's records schedule for what it holds now, old dossiers included.
    photo_retention_days: Mapped[int | None]
    personal_data_retention_days: Mapped[int | None]

    versions: Mapped[list[ProcedureVersion]] = relationship(
        back_populates="procedure", order_by="ProcedureVersion.effective_from", cascade="all, delete-orphan"
    )

    def version_at(self, day: date) -> ProcedureVersion | None:
        """The version in force on ``day``, or None."""
        for version in reversed(self.versions):
            if version.effective_from <= day and (version.effective_to is None or day <= version.effective_to):
                return version
        return None


class ProcedureVersion(db.Model):
    """The rules of a procedure for a period: time, clock rule, documents, home reception."""

    __tablename__ = "procedure_version"
    __table_args__ = (
        UniqueConstraint("procedure_id", "effective_from"),
        CheckConstraint("time_value >= 0", name="time_value_non_negative"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="effective_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"))
    publication_decision: Mapped[str | None] = mapped_column(String(120))
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    time_value: Mapped[int]
    time_unit: Mapped[TimeUnit] = mapped_column(enum_type(TimeUnit, "time_unit"))
    # [U] values from research are configuration to confirm against the province's decision; flagged here.
    time_confirmed: Mapped[bool] = mapped_column(default=False)
    time_note: Mapped[str | None] = mapped_column(Text)
    same_day_cutoff: Mapped[time | None]
    supplement_clock: Mapped[SupplementClock] = mapped_column(
        enum_type(SupplementClock, "supplement_clock"), default=SupplementClock.RESTART
    )
    home_reception: Mapped[HomeReception] = mapped_column(enum_type(HomeReception, "home_reception"))
    fee_vnd: Mapped[int | None]
    fee_note: Mapped[str | None] = mapped_column(Text)
    online_level: Mapped[str | None] = mapped_column(String(16))
    #: Issue 15: who decides under this version. None: a ward (the ward the dossier is for, which need not be the
    #: ward that received it, Decree 118/2025); else the agency code of the deciding unit (a Sở Nội vụ, a Sở Y tế).
    competent_agency_code: Mapped[str | None] = mapped_column(String(32))

    procedure: Mapped[Procedure] = relationship(back_populates="versions")
    #: The inter-agency chain (liên thông), in order; empty: the competent unit alone, within ``time_value``.
    steps: Mapped[list[ProcedureStep]] = relationship(
        back_populates="procedure_version", order_by="ProcedureStep.position", cascade="all, delete-orphan"
    )
    required_documents: Mapped[list[RequiredDocument]] = relationship(
        back_populates="procedure_version", order_by="RequiredDocument.position", cascade="all, delete-orphan"
    )

    @property
    def home_reception_allowed(self) -> bool:
        """True when an officer may receive this procedure at the citizen's home."""
        return self.home_reception is not HomeReception.NO


class RequiredDocument(db.Model):
    """One document (thành phần hồ sơ) a procedure version requires."""

    __tablename__ = "required_document"
    __table_args__ = (UniqueConstraint("procedure_version_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    position: Mapped[int]
    code: Mapped[str] = mapped_column(String(32))
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    form_ref: Mapped[str | None] = mapped_column(String(200))
    copy_type: Mapped[CopyType] = mapped_column(enum_type(CopyType, "copy_type"))
    quantity: Mapped[int] = mapped_column(default=1)
    mandatory: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(Text)

    procedure_version: Mapped[ProcedureVersion] = relationship(back_populates="required_documents")


class StepHolder(enum.Enum):
    """Which unit holds a step of an inter-agency chain."""

    RECEIVING = "receiving"  #: the unit that received the dossier (its one-stop desk)
    COMPETENT = "competent"  #: the unit that decides (Dossier.competent_agency)
    AGENCY = "agency"  #: a named agency (``ProcedureStep.agency_code``), e.g. a coordinating department


class ProcedureStep(db.Model):
    """One step of a procedure version's inter-agency chain (DOMAIN.md §5 liên thông), with its own deadline.

    For example ward (1 working day, check and send) → Sở Nội vụ (10, decide) → ward (1, return). The steps' days
    need not add up to the version's ``time_value``, which stays the dossier's legal deadline (the receipt's)."""

    __tablename__ = "procedure_step"
    __table_args__ = (
        UniqueConstraint("procedure_version_id", "position"),
        CheckConstraint("working_days >= 0", name="step_days_non_negative"),
        CheckConstraint("holder != 'agency' OR agency_code IS NOT NULL", name="named_agency_has_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    position: Mapped[int]  #: 1, 2, ... in the order the dossier goes through them
    holder: Mapped[StepHolder] = mapped_column(enum_type(StepHolder, "step_holder"))
    agency_code: Mapped[str | None] = mapped_column(String(32))
    working_days: Mapped[int]
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)

    procedure_version: Mapped[ProcedureVersion] = relationship(back_populates="steps")
