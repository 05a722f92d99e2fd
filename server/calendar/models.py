"""Dated calendar overrides on top of the ``holidays`` package (DOMAIN.md §2.3)."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from server.enums import enum_type
from server.extensions import db
from server.types import UtcDateTime
from server.types import utcnow


class OverrideKind(enum.Enum):
    """What an override makes of its day."""

    DAY_OFF = "day_off"  #: an extra day off (swap, compensatory day) the package may not know
    WORKING_DAY = "working_day"  #: a working Saturday, or a package holiday the government did not keep


class CalendarOverride(db.Model):
    """One dated decision of the civil-service calendar, with the document it comes from."""

    __tablename__ = "calendar_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    kind: Mapped[OverrideKind] = mapped_column(enum_type(OverrideKind, "override_kind"))
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
