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


def test_going_below_0011_refuses_clearly_while_one_id_has_several_records(app, capfd):
    """Since 0011 capture keeps a person record per dossier; the older schema had one per ID. The downgrade says
    so instead of failing on a unique constraint half-way (and changes nothing on PostgreSQL)."""
    import pytest

    from server.people.models import Person

    db.session.add_all([Person(full_name="Trần Văn Phúc", personal_id="001045012345"),
                        Person(full_name="Trần Văn Phú", personal_id="001045012345")])
    db.session.commit()
    db.session.remove()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits, as `flask db downgrade` would
        downgrade(revision="0010")
    assert "1 personal IDs are held by several person records" in capfd.readouterr().err  # alembic logs to stderr
    db.engine.dispose()
    upgrade()  # SQLite has no transactional DDL: put back what the later revisions' downgrades removed
    assert _diff() == []
