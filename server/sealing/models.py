"""The server's sealing key pairs (EC P-256), one row per key id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from server.extensions import db
from server.types import UtcDateTime
from server.types import utcnow


class SealingKey(db.Model):
    """A key pair phones seal finalised dossiers to.

    The newest key that is not retired is the current one (sent with the officer's day). An older key is "kept":
    what was sealed to it is still opened. Retiring a key erases its private half, so nothing sealed to it can be
    opened any more; the row stays, so that a phone still using it gets "retired" rather than "unknown".
    """

    __tablename__ = "sealing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: PKCS#8 PEM of the private key; NULL once retired.
    private_pem: Mapped[str | None] = mapped_column(Text)
    #: The public key as a JWK (kty, crv, x, y), exactly what phones import.
    public_jwk: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
