"""Form numbers: "Số: 12/TNHS", a sequence per agency, per series and per year.

A number is taken with one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, as dossier codes are
(server/dossiers/codes.py). On PostgreSQL the statement locks the counter row until the issuing transaction ends, so
concurrent issues queue and get different numbers, and a rolled-back issue gives its number back (no hole printed on
paper). SQLite allows one writer at a time, which gives the same guarantee. ``uq_dossier_document_form_number``
backs it up in the database.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from server.extensions import db
from server.forms.models import FormNumberCounter


def take_number(agency_id: int, series: str, year: int) -> int:
    """The next number of ``series`` for ``agency_id`` in ``year`` (1 for the first form of the year)."""
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(FormNumberCounter).values(agency_id=agency_id, series=series, year=year, last_number=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[FormNumberCounter.agency_id, FormNumberCounter.series, FormNumberCounter.year],
        set_={"last_number": FormNumberCounter.last_number + 1},
    ).returning(FormNumberCounter.last_number)
    return db.session.execute(stmt).scalar_one()
