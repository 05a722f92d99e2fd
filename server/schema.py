"""Building a database's schema the only way it is built: from the migrations (used by the tests and the benches).

Call inside an app context. With ``wipe_postgres_schema`` the ``public`` schema of the PostgreSQL database is
dropped with everything in it first: only for throw-away databases (the test database, a benchmark's).
"""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from server.extensions import db


def migrate_afresh(wipe_postgres_schema: bool = False) -> None:
    if wipe_postgres_schema:
        db.session.execute(text("DROP SCHEMA public CASCADE"))
        db.session.execute(text("CREATE SCHEMA public"))
        db.session.commit()
        db.engine.dispose()
    upgrade()
    # The migrations ran on their own connection; the pool must not hand out one that saw the old schema.
    db.engine.dispose()
