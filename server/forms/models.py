"""The counters behind form numbers."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from server.extensions import db


class FormNumberCounter(db.Model):
    """The last number an agency gave in a series ("TNHS", "YCBS"...) in a year; numbers restart each year."""

    __tablename__ = "form_number_counter"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)
