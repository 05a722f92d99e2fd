"""The results attached to a dossier, and what the validation of each one's signature found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from server.dossiers.models import Attachment
from server.extensions import db
from server.types import UtcDateTime
from server.types import utcnow


class DossierResult(db.Model):
    """A result document of a dossier: ``<code>-KQ<number>``. Signed and intact, or accepted as unsigned with the
    desk's reason; never silently either."""

    __tablename__ = "dossier_result"
    __table_args__ = (
        UniqueConstraint("dossier_id", "number"),
        CheckConstraint("signature_valid OR unsigned_reason IS NOT NULL", name="unsigned_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    number: Mapped[int]  #: the n of KQ<n>, from 1 per dossier
    sha256: Mapped[str] = mapped_column(ForeignKey("attachment.sha256"))
    title: Mapped[str] = mapped_column(String(300))  #: e.g. "Quyết định trợ cấp mai táng"
    #: the signature is intact, covers the whole document, and its certificate chains to a configured trust root
    signature_valid: Mapped[bool] = mapped_column(default=False)
    signer_name: Mapped[str | None] = mapped_column(String(300))  #: the certificate's subject common name
    signer_organisation: Mapped[str | None] = mapped_column(String(300))
    certificate_serial: Mapped[str | None] = mapped_column(String(80))  #: hex
    certificate_issuer: Mapped[str | None] = mapped_column(String(300))
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  #: the signing time the signature claims
    #: what the validation said, for the desk (e.g. "intact; chain to the test CA; whole document covered")
    validation_summary: Mapped[str | None] = mapped_column(Text)
    unsigned_reason: Mapped[str | None] = mapped_column(Text)  #: why an unsigned or broken file was accepted
    attached_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    attached_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    handed_over_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  #: the return step that gave it

    attachment: Mapped[Attachment] = relationship()
