"""Configuration: environment first, safe embedded defaults, no silent insecure production."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from server import create_app
from server.config import ConfigError


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    secret_file = tmp_path / "secret_key"
    assert secret_file.exists()
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64


def test_production_without_secret_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


def test_production_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example:5432/motcua")
    monkeypatch.setenv("MOTCUA_SAME_DAY_CUTOFF", "16:00")
    _production_needs(monkeypatch, tmp_path)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example:5432/motcua"
    assert app.config["SAME_DAY_CUTOFF"] == "16:00"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_embedded_default_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'motcua.sqlite3'}"
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_unknown_app_env_is_refused(tmp_path):
    with pytest.raises(ConfigError):
        create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "staging"})


def _production_needs(monkeypatch, instance) -> None:
    """What production cannot start without: a VAPID key and a real subject, a shared rate-limit store (or one
    declared process: the tests have no redis)."""
    from server.push import keys

    monkeypatch.setenv("MOTCUA_VAPID_SUBJECT", "mailto:motcua@hbt.hanoi.gov.vn")
    monkeypatch.setenv("MOTCUA_PROCESSES", "1")
    monkeypatch.setenv("MOTCUA_BASE_URL", "https://motcua.example.vn")
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    # The instance folder's key (the shared file's tests show that one is not read when a file is configured).
    app = create_app({"INSTANCE_PATH": str(instance), "APP_ENV": "testing", "VAPID_PRIVATE_KEY_FILE": None})
    keys.init_keys(app)


@pytest.mark.parametrize("missing, message", [
    ("MOTCUA_VAPID_SUBJECT", "VAPID_SUBJECT"),
    ("vapid key", "VAPID key"),
    ("MOTCUA_PROCESSES", "RATELIMIT_STORAGE_URI"),
    ("MOTCUA_BASE_URL", "BASE_URL"),
    ("ZNS webhook", "ZNS_OA_SECRET_KEY"),
])
def test_production_refuses_to_start_without_what_it_needs(tmp_path, monkeypatch, missing, message):
    monkeypatch.setenv("SECRET_KEY", "s")
    _production_needs(monkeypatch, tmp_path)
    if missing == "vapid key":
        (tmp_path / "vapid_private.pem").unlink()
    elif missing == "ZNS webhook":
        monkeypatch.setenv("MOTCUA_ZNS_ACCESS_TOKEN", "zalo-oa-token")  # ZNS on, its webhook's keys not set
    else:
        monkeypatch.delenv(missing)
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_production_accepts_memory_rate_limits_only_for_one_declared_process(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s")
    _production_needs(monkeypatch, tmp_path)
    monkeypatch.delenv("MOTCUA_PROCESSES")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        create_app({"INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["APP_ENV"] == "production"


def test_production_sends_hsts_and_logs_no_sql_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s")
    _production_needs(monkeypatch, tmp_path)
    monkeypatch.setenv("APP_ENV", "production")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    response = app.test_client().get("/static/does-not-exist.css")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    development = create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "development"})
    assert "Strict-Transport-Security" not in development.test_client().get("/static/x.css").headers


def _production(monkeypatch, instance, **settings):
    """A production start with what it needs, plus ``settings`` (a None value removes the variable)."""
    monkeypatch.setenv("SECRET_KEY", "s")
    _production_needs(monkeypatch, instance)
    monkeypatch.setenv("APP_ENV", "production")
    for name, value in settings.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return create_app({"INSTANCE_PATH": str(instance)})


def test_production_refuses_the_embedded_push_worker(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="PUSH_EMBEDDED_WORKER must be off in production.*flask push worker"):
        _production(monkeypatch, tmp_path, MOTCUA_PUSH_EMBEDDED_WORKER="true")


def test_production_starts_without_the_embedded_push_worker(tmp_path, monkeypatch):
    assert _production(monkeypatch, tmp_path, MOTCUA_PUSH_EMBEDDED_WORKER="false").config["APP_ENV"] == "production"


def test_production_accepts_a_shared_rate_limit_store_with_several_processes(tmp_path, monkeypatch):
    app = _production(monkeypatch, tmp_path, MOTCUA_PROCESSES=None, WEB_CONCURRENCY="4",
                      MOTCUA_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_one_declared_process_does_not_hide_several_gunicorn_workers(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        _production(monkeypatch, tmp_path, MOTCUA_PROCESSES="1", WEB_CONCURRENCY="3")


def _key_file(tmp_path, monkeypatch) -> Path:
    """A VAPID key in a file of its own (as every host's shared secret), made by `flask push init-keys`."""
    from server.push import keys

    shared = tmp_path / "secrets" / "vapid.pem"
    monkeypatch.setenv("MOTCUA_VAPID_PRIVATE_KEY_FILE", str(shared))
    result = create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "testing"}).test_cli_runner().invoke(
        args=["push", "init-keys"])
    assert result.exit_code == 0 and f"Created the VAPID key {shared}" in result.output
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o600
    again = create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "testing"})
    assert f"Kept the VAPID key {shared}" in again.test_cli_runner().invoke(args=["push", "init-keys"]).output
    assert not (tmp_path / keys.KEY_FILE).exists()  # not in the instance folder
    return shared


def test_the_vapid_key_comes_from_the_shared_file(tmp_path, monkeypatch):
    from server.push import keys

    shared = _key_file(tmp_path, monkeypatch)
    first = _production(monkeypatch, tmp_path / "host-a", MOTCUA_VAPID_PRIVATE_KEY_FILE=str(shared))
    second = _production(monkeypatch, tmp_path / "host-b", MOTCUA_VAPID_PRIVATE_KEY_FILE=str(shared))
    assert keys.public_key(first) == keys.public_key(second)  # two hosts, one key


@pytest.mark.parametrize("damage, message", [
    ("missing", "no VAPID key"),
    ("directory", "cannot be read"),
    ("garbage", "not an unencrypted PEM P-256 private key"),
    ("rsa", "not an unencrypted PEM P-256 private key"),
    ("both", "set one"),
])
def test_production_refuses_a_vapid_key_file_it_cannot_use(tmp_path, monkeypatch, damage, message):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    shared = _key_file(tmp_path, monkeypatch)
    also = {}
    if damage == "missing":
        shared.unlink()
    elif damage == "directory":
        shared.unlink()
        shared.mkdir()
    elif damage == "garbage":
        shared.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    elif damage == "rsa":
        shared.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    else:
        also["MOTCUA_VAPID_PRIVATE_KEY"] = shared.read_text()
    with pytest.raises(ConfigError, match=message) as refused:
        _production(monkeypatch, tmp_path / "host", MOTCUA_VAPID_PRIVATE_KEY_FILE=str(shared), **also)
    assert "PRIVATE KEY-----" not in str(refused.value)  # the error names the file, never the key


def test_production_refuses_an_invalid_vapid_key_in_the_environment(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="MOTCUA_VAPID_PRIVATE_KEY is not an unencrypted PEM"):
        _production(monkeypatch, tmp_path, MOTCUA_VAPID_PRIVATE_KEY="not a key")


def test_the_database_pool_is_sized_by_the_settings_on_postgresql_only(tmp_path, monkeypatch):
    from server.extensions import db

    monkeypatch.setenv("MOTCUA_DB_POOL_SIZE", "7")
    monkeypatch.setenv("MOTCUA_DB_MAX_OVERFLOW", "3")
    monkeypatch.setenv("MOTCUA_DB_POOL_TIMEOUT", "4")
    postgres = create_app({"INSTANCE_PATH": str(tmp_path),
                           "SQLALCHEMY_DATABASE_URI": "postgresql://u@db.example:5432/motcua"})
    options = postgres.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (options["pool_size"], options["max_overflow"], options["pool_timeout"]) == (7, 3, 4)
    assert options["hide_parameters"] is True  # merged into the defaults, not replacing them
    with postgres.app_context():  # the engine is made (it connects only when first used)
        assert (db.engine.pool.size(), db.engine.pool._max_overflow, db.engine.pool._timeout) == (7, 3, 4)
    sqlite = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert "pool_size" not in sqlite.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_trusted_proxy_hops_come_from_the_environment(tmp_path, monkeypatch):
    from werkzeug.middleware.proxy_fix import ProxyFix

    assert not isinstance(create_app({"INSTANCE_PATH": str(tmp_path)}).wsgi_app, ProxyFix)  # default: 0, none
    monkeypatch.setenv("MOTCUA_TRUSTED_PROXY_HOPS", "2")
    proxied = create_app({"INSTANCE_PATH": str(tmp_path)}).wsgi_app
    # x_proto 1: one X-Forwarded-Proto, set by the proxy nearest the app, whatever the hops
    assert isinstance(proxied, ProxyFix) and (proxied.x_for, proxied.x_proto, proxied.x_host) == (2, 1, 0)


@pytest.mark.parametrize("name", ["PUSH_BATCH_SIZE", "PUSH_CONCURRENCY", "FORMS_RENDER_BATCH_SIZE"])
@pytest.mark.parametrize("value", [0, -1, "20", True])
def test_a_worker_batch_below_one_is_refused(tmp_path, name, value):
    # 0 would make a worker's loop claim nothing and come back at once, for ever; -1 is "no limit" on SQLite.
    with pytest.raises(ConfigError, match=name):
        create_app({"APP_ENV": "testing", "INSTANCE_PATH": str(tmp_path), name: value})


@pytest.mark.parametrize("pattern", ["{agency}-{yy}{mm}-{seq:04d}", "{agency}-{yy}{mm}{dd}-{seq:4d}",
                                     "{yy}{mm}{dd}-{seq:04d}"])
def test_a_code_pattern_whose_codes_cannot_be_read_back_stops_the_start(pattern, tmp_path):
    """No day (parse_code had no month-day to read: a 500 on every reserved code), a number padded with spaces
    ("   7", refused by its own reader), no agency."""
    with pytest.raises(ConfigError, match="DOSSIER_CODE_PATTERN"):
        create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "testing", "DOSSIER_CODE_PATTERN": pattern})


def test_the_usual_code_patterns_start(tmp_path):
    for pattern in ("{agency}-{yy}{mm}{dd}-{seq:04d}", "{agency}-{yyyy}{mm}{dd}-{seq:07d}"):
        app = create_app({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "testing", "DOSSIER_CODE_PATTERN": pattern})
        assert app.config["DOSSIER_CODE_PATTERN"] == pattern
