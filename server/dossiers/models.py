"""Dossiers, their documents, their append-only history, code allocation and home visits (DOMAIN.md §9)."""

from __future__ import annotations

import enum
import uuid
from datetime import date
from datetime import datetime
from datetime import time

from sqlalchemy import JSON
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import event
from sqlalchemy import false
from sqlalchemy import inspect
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.auth.models import Device
from server.auth.models import User
from server.dossiers.search_text import search_text_of
from server.dossiers.workflow import NATIONAL_STATUS
from server.dossiers.workflow import State
from server.enums import enum_type
from server.extensions import db
from server.people.models import Person
from server.reference.models import Agency
from server.reference.models import Procedure
from server.reference.models import ProcedureVersion
from server.reference.models import RequiredDocument
from server.types import UtcDateTime
from server.types import utcnow


class Channel(enum.Enum):
    """The legal submission channel (DVCQG codes 1-3, DOMAIN.md §1.2)."""

    DIRECT = "direct"  #: trực tiếp (1), which includes reception at home
    ONLINE = "online"  #: trực tuyến (2)
    POSTAL = "postal"  #: bưu chính công ích (3)


class ReceptionMode(enum.Enum):
    """How a dossier was physically received; at home is a mode of the direct channel, not a channel."""

    COUNTER = "counter"
    HOME_VISIT = "home_visit"
    ONLINE_ASSISTED = "online_assisted"
    ONLINE = "online"
    POST = "post"


class Timeliness(enum.Enum):
    """Judged against the original due date (DOMAIN.md §2.5, §11 case 11)."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class HomeServiceReason(enum.Enum):
    """Why a citizen is served at home (Plan 63/KH-UBND)."""

    MERITORIOUS = "meritorious"  #: người có công, gia đình chính sách
    ELDERLY = "elderly"
    DISABLED = "disabled"
    FORCE_MAJEURE = "force_majeure"
    OTHER = "other"


class VisitStatus(enum.Enum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    DONE = "done"
    CANCELLED = "cancelled"


class Dossier(db.Model):
    """An administrative-procedure dossier (hồ sơ TTHC)."""

    __tablename__ = "dossier"
    __table_args__ = (
        CheckConstraint("extension_count BETWEEN 0 AND 1", name="at_most_one_extension"),
        Index("ix_dossier_agency_state_due", "agency_id", "state", "due_at"),
        # The desk's queue: the whole ward sorted by due date, and its search, which reads only this index
        # (a LIKE '%...%' cannot seek, but scanning one ward's entries of a narrow index is fast).
        Index("ix_dossier_agency_due", "agency_id", "due_at"),
        Index("ix_dossier_agency_search", "agency_id", "search_text"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Generated on the phone before the dossier exists anywhere else: the idempotency key of sync.
    client_uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    provisional_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"), index=True)
    #: The receiving unit (đơn vị tiếp nhận): whose one-stop desk or officer received it, whose counter and day its
    #: code is numbered by. Issue 15: not always the unit that decides (``competent_agency``).
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    #: The competent unit (cơ quan có thẩm quyền giải quyết): another ward of the province, or a department, under
    #: the procedure version's ``competent_agency_code``. Equal to ``agency_id`` when the receiving ward decides.
    competent_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    #: The unit holding the dossier now (the current step of its chain; server/interagency/): whose queue it is in.
    holder_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    reception_mode: Mapped[ReceptionMode] = mapped_column(enum_type(ReceptionMode, "reception_mode"))
    home_visit_id: Mapped[int | None] = mapped_column(ForeignKey("home_visit.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    state: Mapped[State] = mapped_column(enum_type(State, "dossier_state"))
    summary: Mapped[str | None] = mapped_column(Text)
    citizen_requested_receipt: Mapped[bool] = mapped_column(default=False)

    # Time line. device_received_at is the legal moment of receipt (at the door, by the phone's clock);
    # server_received_at is when the server first stored it, so that clock skew can be detected.
    device_received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    server_received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    original_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    extended_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    extension_count: Mapped[int] = mapped_column(default=0)
    apology_late: Mapped[bool] = mapped_column(default=False)
    supplement_count: Mapped[int] = mapped_column(default=0)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    transferred_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    processing_finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    timeliness: Mapped[Timeliness | None] = mapped_column(enum_type(Timeliness, "timeliness"))
    result_delivery_mode: Mapped[str | None] = mapped_column(String(16))

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # SHA-256 of the body a device sent: an identical replay is answered as a success, a different one as 409.
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    #: Folded codes, owner's and submitter's names and phones (server/dossiers/search_text.py), kept up to date
    #: before every flush by :func:`_refresh_search_text`; the desk's search looks here.
    search_text: Mapped[str] = mapped_column(String(600), default="", server_default="")
    #: At least one of its papers was photographed or scanned (a document with a sha256 that is not a form the
    #: server issued). Set before every flush by :func:`_mark_photographed`, never cleared (documents are not
    #: deleted); the statistics count digitised dossiers from it instead of searching two million documents.
    photographed: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: When the retention purge (server/privacy/retention.py) removed its photos, and anonymised its people. The
    #: dossier itself, its dates, timeliness and history stay: the statistics are counted from them.
    photos_purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    personal_data_purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    procedure_version: Mapped[ProcedureVersion] = relationship()
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    competent_agency: Mapped[Agency | None] = relationship(foreign_keys=[competent_agency_id])
    holder_agency: Mapped[Agency | None] = relationship(foreign_keys=[holder_agency_id])
    owner: Mapped[Person] = relationship(foreign_keys=[owner_id])
    submitter: Mapped[Person] = relationship(foreign_keys=[submitter_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    device: Mapped[Device | None] = relationship()
    documents: Mapped[list[DossierDocument]] = relationship(back_populates="dossier", order_by="DossierDocument.id")
    events: Mapped[list[DossierEvent]] = relationship(back_populates="dossier", order_by="DossierEvent.seq")
    flags: Mapped[list[DossierFlag]] = relationship(order_by="DossierFlag.id")

    @property
    def receiving_agency(self) -> Agency:
        """The unit that received the dossier (``agency``, under the name the law gives it)."""
        return self.agency

    @property
    def deciding_agency(self) -> Agency:
        """The unit that decides: the competent one, else (dossiers before issue 15) the receiving one."""
        return self.competent_agency or self.agency

    @property
    def national_status(self) -> int | None:
        """The DVCQG ``TrangThaiHoSo`` (1-10) of the current state."""
        return NATIONAL_STATUS[self.state]


def dossier_search_text(dossier: Dossier) -> str:
    """The search text of ``dossier`` from its codes and its owner and submitter as they are now."""
    people = [dossier.owner, dossier.submitter]
    return search_text_of(dossier.code, dossier.provisional_code,
                          [(p.full_name, p.phone_e164) for i, p in enumerate(people)
                           if p is not None and p not in people[:i]])


_DOSSIER_SEARCHED = ("code", "provisional_code", "owner", "owner_id", "submitter", "submitter_id")
_PERSON_SEARCHED = ("full_name", "phone_e164")


def _changed(instance, names: tuple[str, ...]) -> bool:
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def _refresh_search_text(session, flush_context, instances):
    """Keep ``Dossier.search_text`` right whoever changes a dossier or a person: receipt at the desk, a sync from
    a phone, a citizen correcting their name. One listener rather than a call in every service, so that a new
    code path cannot forget it."""
    with session.no_autoflush:
        for instance in session.new:
            if isinstance(instance, Dossier):
                instance.search_text = dossier_search_text(instance)
        for instance in session.dirty:
            if isinstance(instance, Dossier) and _changed(instance, _DOSSIER_SEARCHED):
                instance.search_text = dossier_search_text(instance)
        renamed = [p.id for p in session.dirty
                   if isinstance(p, Person) and p.id is not None and _changed(p, _PERSON_SEARCHED)]
        if renamed:
            for dossier in session.scalars(select(Dossier).where(
                    or_(Dossier.owner_id.in_(renamed), Dossier.submitter_id.in_(renamed)))):
                dossier.search_text = dossier_search_text(dossier)


@event.listens_for(Session, "before_flush")
def _default_units(session, flush_context, instances):
    """A new dossier whose competent or holding unit nobody chose is decided and held where it was received (every
    dossier before issue 15; a ward-level procedure for the receiving ward's own resident)."""
    for instance in session.new:
        if isinstance(instance, Dossier):
            receiving = instance.agency_id if instance.agency_id is not None else instance.agency
            for name in ("competent_agency", "holder_agency"):
                if getattr(instance, f"{name}_id") is None and getattr(instance, name) is None:
                    setattr(instance, name if not isinstance(receiving, int) else f"{name}_id", receiving)


@event.listens_for(Session, "before_flush")
def _mark_photographed(session, flush_context, instances):
    """Set ``Dossier.photographed`` when a photographed paper is added to a dossier, whichever code path adds it
    (a sync from a phone today, an upload at the desk tomorrow). Issued statutory forms (``form_key``) also have
    a sha256 but are the server's own PDFs: they digitise nothing of what the citizen brought."""
    with session.no_autoflush:
        for instance in session.new:
            if isinstance(instance, DossierDocument) and instance.sha256 is not None and instance.form_key is None:
                dossier = instance.dossier or session.get(Dossier, instance.dossier_id)
                if dossier is not None and not dossier.photographed:
                    dossier.photographed = True


class Attachment(db.Model):
    """A stored file (photo of a paper, scanned PDF), addressed by its SHA-256: uploaded once, referenced by
    documents. The bytes live under the attachment folder, named by the hash."""

    __tablename__ = "attachment"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size_non_negative"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AttachmentUpload(db.Model):
    """Who holds the bytes of an attachment: one row per uploader (phone and ward) of the same SHA-256.

    A dossier cites only photos its phone or ward uploaded; uploading the same bytes again proves possession."""

    __tablename__ = "attachment_upload"
    __table_args__ = (UniqueConstraint("sha256", "user_id", "device_id", name="uq_attachment_upload_holder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("attachment.sha256"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DossierDocument(db.Model):
    """A document of a dossier: a required paper (photographed, or only sighted), or a form the system issued.

    ``sha256`` is empty for a paper that was checked but not photographed (an ID card, DOMAIN.md §6.1), and for an
    issued form whose PDF a worker has yet to render (server/forms/rendering.py: ``pdf_pending``).
    """

    __tablename__ = "dossier_document"
    __table_args__ = (
        UniqueConstraint("dossier_id", "sha256"),
        # The rendering worker's claim looks only at forms still without their PDF: a handful of rows among
        # millions of documents, found through this partial index every time the worker polls.
        Index("ix_dossier_document_render_pending", "id",
              postgresql_where=text("form_key IS NOT NULL AND sha256 IS NULL"),
              sqlite_where=text("form_key IS NOT NULL AND sha256 IS NULL")),
        # A form number is given once per agency, series and year (server/forms/numbering.py); the database
        # refuses a reuse even if the counter were ever wrong. NULLs (photographed papers) never collide.
        UniqueConstraint(
            "form_agency_id", "form_series", "form_year", "form_seq", name="uq_dossier_document_form_number"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    required_document_id: Mapped[int | None] = mapped_column(ForeignKey("required_document.id"))
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(ForeignKey("attachment.sha256"))
    sighted_original: Mapped[bool] = mapped_column(default=False)  #: đã đối chiếu bản chính
    captured_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    captured_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    # A statutory form the system issued (server/forms/): which one, under which circular, its number, and the
    # content it was printed with, so that the page and the stored PDF always show the same thing.
    form_key: Mapped[str | None] = mapped_column(String(32))  #: "receipt", "refusal"... (server/forms/catalogue.py)
    form_circular: Mapped[str | None] = mapped_column(String(32))  #: e.g. "03/2025/TT-VPCP"
    form_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    form_series: Mapped[str | None] = mapped_column(String(16))  #: the "TNHS" of "Số: 12/TNHS"
    form_year: Mapped[int | None]
    form_seq: Mapped[int | None]
    form_content: Mapped[dict | None] = mapped_column(JSON)
    # The PDF of an issued form is rendered after the step's commit (server/forms/rendering.py): a worker leases the
    # row until ``render_lease_until`` while it renders; ``render_attempts`` counts its tries (failures back off).
    render_lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    render_attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    dossier: Mapped[Dossier] = relationship(back_populates="documents")
    attachment: Mapped[Attachment | None] = relationship()
    required_document: Mapped[RequiredDocument | None] = relationship()

    @property
    def pdf_pending(self) -> bool:
        """An issued form whose PDF is still being prepared: its page can be shown (from ``form_content``), its
        PDF cannot be downloaded yet."""
        return self.form_key is not None and self.sha256 is None

    @property
    def form_number(self) -> str | None:
        """The number printed on an issued form, e.g. "12/TNHS"; None for other documents."""
        if self.form_seq is None:
            return None
        return f"{self.form_seq}/{self.form_series}"


class FlagKind(enum.Enum):
    """What a supervisor must look at after a sync (DOMAIN.md §11 case 18)."""

    CLOCK_SKEW = "clock_skew"  #: the phone's clock was far from the server's
    DUE_MISMATCH = "due_mismatch"  #: the receipt's due date differs from the server's computation
    PROVISIONAL_CODE = "provisional_code"  #: no reserved code was left: the official code was issued at sync
    #: a person with the same personal ID on another dossier of the ward was recorded differently (which fields)
    PERSON_MISMATCH = "person_mismatch"


class DossierFlag(db.Model):
    """A point raised for review; never a silent change of what the citizen was given."""

    __tablename__ = "dossier_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[FlagKind] = mapped_column(enum_type(FlagKind, "flag_kind"))
    detail: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class DossierEvent(db.Model):
    """One step of a dossier's history. Rows are never updated or deleted (database triggers refuse it)."""

    __tablename__ = "dossier_event"
    __table_args__ = (UniqueConstraint("dossier_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    seq: Mapped[int]
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    dossier: Mapped[Dossier] = relationship(back_populates="events")


@event.listens_for(DossierEvent, "before_update")
@event.listens_for(DossierEvent, "before_delete")
def _refuse_history_rewrite(mapper, connection, target):
    raise ValueError("dossier events are append-only")


class FollowRole(enum.Enum):
    """What an account is to a dossier it follows."""

    #: Claimed with the token of the officer's receipt: the owner, or the relative holding the owner's phone.
    #: May invite and remove followers.
    OWNER = "owner"
    FOLLOWER = "follower"  #: invited by the owner's account with a second claim code; reads and is notified


class DossierFollower(db.Model):
    """An account that follows a dossier: the owner's (claimed at the doorstep) or a relative's (invited)."""

    __tablename__ = "dossier_follower"
    __table_args__ = (UniqueConstraint("dossier_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[FollowRole] = mapped_column(enum_type(FollowRole, "follow_role"), default=FollowRole.FOLLOWER,
                                             server_default="follower")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    dossier: Mapped[Dossier] = relationship()


class DossierClaim(db.Model):
    """A single-use, expiring token that links a dossier to an account.

    The owner's token is made on the officer's phone at the door, offline: the phone keeps the raw token only
    to draw it into the receipt's QR code and sends the server its SHA-256. A follower's token is made by the
    server when the owner's account invites a relative. Only hashes are stored, so a database leak claims nothing.
    """

    __tablename__ = "dossier_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[FollowRole] = mapped_column(enum_type(FollowRole, "follow_role"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    dossier: Mapped[Dossier] = relationship()


class RatingLevel(enum.Enum):
    """The three answers citizens give on the national portal (DOMAIN.md §7.1)."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"


class DossierRating(db.Model):
    """The citizen's rating of a returned dossier, with its criteria (Decision 766 counts every "not satisfied")."""

    __tablename__ = "dossier_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    level: Mapped[RatingLevel] = mapped_column(enum_type(RatingLevel, "rating_level"))
    #: {criterion key: True when satisfied}, keys from server/citizen/rating.py's CRITERIA; unanswered ones absent.
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CodeCounter(db.Model):
    """The last sequence number used per agency and day; codes restart at 1 each day (Circular 01/2018 Art. 19)."""

    __tablename__ = "code_counter"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class CodeReservation(db.Model):
    """A block of sequence numbers set aside for one device and day, so that it can issue final codes offline."""

    __tablename__ = "code_reservation"
    __table_args__ = (
        CheckConstraint("first_number >= 1 AND last_number >= first_number", name="valid_range"),
        Index("ix_code_reservation_agency_day", "agency_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    day: Mapped[date]
    first_number: Mapped[int]
    last_number: Mapped[int]
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reserved_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()


class HomeVisit(db.Model):
    """A planned or requested visit of an officer to a citizen's home."""

    __tablename__ = "home_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedure.id"))
    reason: Mapped[HomeServiceReason] = mapped_column(enum_type(HomeServiceReason, "home_service_reason"))
    status: Mapped[VisitStatus] = mapped_column(enum_type(VisitStatus, "visit_status"), default=VisitStatus.REQUESTED)
    planned_for: Mapped[date | None]
    planned_time: Mapped[time | None]
    #: The days the citizen asked for (ISO dates); staff choose ``planned_for`` among them when they can.
    preferred_days: Mapped[list | None] = mapped_column(JSON)
    #: The account that asked for the visit (a citizen, or a relative for them); told when it is scheduled.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    address: Mapped[str] = mapped_column(Text)
    phone_e164: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship()
    procedure: Mapped[Procedure | None] = relationship()
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])


class FollowLookupGuard(db.Model):
    """Wrong answers to the 4-digit check of ``/follow/<code>``, counted per code whatever the address (so that
    changing address buys no more guesses) and stored here so that every process sees them. Keyed by the code as
    typed, existing or not, so that a lock-out does not reveal which codes exist."""

    __tablename__ = "follow_lookup_guard"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
