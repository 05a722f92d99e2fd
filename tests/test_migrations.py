"""Migrations are the only source of the schema: they match the models and go down to base and back up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect

from server.extensions import db


def _diff():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_match_migrations_and_round_trip(app):
    assert _diff() == []
    db.session.remove()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert _diff() == []
    tables = set(inspect(db.engine).get_table_names())
    assert {"dossier", "dossier_event", "procedure_version", "calendar_override", "code_reservation",
            "home_visit", "person", "user_account", "agency", "dossier_document", "device"} <= tables
