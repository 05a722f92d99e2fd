"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """A timezone-aware instant, stored as UTC.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no time zones, so the value is stored as naive UTC and made
    aware again on the way out. Either way Python code only ever sees aware datetimes, and comparing a dossier's
    due date with "now" cannot silently mix local and UTC clocks.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column; attach a time zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)
