"""Fixtures: an app on a freshly migrated database (SQLite by default, PostgreSQL when DATABASE_URL is set).

Schema comes only from the migrations, never from ``create_all``, so the tests exercise what production runs.
SQLite tests copy a migrated and seeded template file; PostgreSQL tests truncate every table after each test and
seed again.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from server import create_app
from server.extensions import db
from server.schema import migrate_afresh
from tests.redis_server import redis_server  # noqa: F401  (the session's own Redis, for the tests that need it)
from tests.signing_support import authority  # noqa: F401  (a test CA: signed results)
from tests.signing_support import stranger_authority  # noqa: F401  (a test CA: signed results)
from tests.signing_support import trusting  # noqa: F401  (a test CA: signed results)

DATABASE_URL = os.environ.get("DATABASE_URL")
ON_POSTGRES = bool(DATABASE_URL and DATABASE_URL.startswith("postgres"))
#: TEST_STORAGE_BACKEND=s3 runs every test app on the S3 test server (a fresh bucket each), else the local folder.
ON_S3 = os.environ.get("TEST_STORAGE_BACKEND", "local") == "s3"


class FreshContextClient(FlaskClient):
    """A test client whose requests run outside the test's own app context, as real requests do.

    Without this, every request would reuse the test's app context: one ``g`` (Flask-Login's cached user,
    Flask-Babel's cached locale) and one database session for the whole test, hiding bugs.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def _config(tmp_dir, uri: str) -> dict:
    return {
        "APP_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": str(tmp_dir),
        "SQLALCHEMY_DATABASE_URI": uri,
        # The in-memory rate-limit store is per process: give each test app its own keys.
        "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        # No quiet hours: a test's notifications must not wait for the morning because the suite runs at night
        # (tests/test_ladder.py sets them where they are tested, with its own clock).
        "QUIET_HOURS": "",
    }


def _seed(app) -> None:
    from server.demo import seed_demo

    with app.app_context():
        seed_demo()
        db.session.commit()


def _truncate_all(app) -> None:
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        # A connection the test left in a transaction would make TRUNCATE wait forever: fail instead, loudly.
        db.session.execute(text("SET LOCAL lock_timeout = '60s'"))
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Migrate (and seed, for SQLite) once per session; returns the template's URI."""
    base = tmp_path_factory.mktemp("db")
    if ON_POSTGRES:
        app = create_app(_config(base, DATABASE_URL))
        with app.app_context():
            migrate_afresh(wipe_postgres_schema=True)
        return DATABASE_URL
    path = base / "template.sqlite3"
    app = create_app(_config(base, f"sqlite:///{path}"))
    with app.app_context():
        migrate_afresh()
    _seed(app)
    with app.app_context():
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def s3_server():
    """The S3 protocol server on loopback (tests/s3_server.py), one per session, stopped at its end."""
    from tests.s3_server import S3Server

    server = S3Server.start()
    yield server
    server.stop()


@pytest.fixture
def storage_settings(request):
    """The test app's file store: the local folder, or with TEST_STORAGE_BACKEND=s3 a fresh bucket."""
    if not ON_S3:
        return {}
    return request.getfixturevalue("s3_server").new_bucket()


@pytest.fixture
def app(database_template, tmp_path, storage_settings):
    """An app with its own database holding the demo seed (reference data, demo ward, one user per role)."""
    if ON_POSTGRES:
        app = create_app({**_config(tmp_path, DATABASE_URL), **storage_settings})
        _seed(app)
    else:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(database_template, path)
        app = create_app({**_config(tmp_path, f"sqlite:///{path}"), **storage_settings})
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
    if ON_POSTGRES:
        _truncate_all(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def push(app):
    """The loopback push service; the app may push to loopback (a test-only setting) with a fresh VAPID key."""
    from server.push import keys
    from tests import push_service

    app.config["PUSH_ALLOW_PRIVATE_ENDPOINTS"] = True
    keys.init_keys(app)
    service = push_service.PushService()
    server = push_service.start(service)
    yield service
    server.shutdown()
    server.server_close()
