"""Configuration: environment first, safe embedded defaults, no silent insecure production."""

from __future__ import annotations

import os
import stat

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
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = create_app({"INSTANCE_PATH": str(instance), "APP_ENV": "testing"})
    keys.init_keys(app)


@pytest.mark.parametrize("missing, message", [
    ("MOTCUA_VAPID_SUBJECT", "VAPID_SUBJECT"),
    ("vapid key", "VAPID key"),
    ("MOTCUA_PROCESSES", "RATELIMIT_STORAGE_URI"),
])
def test_production_refuses_to_start_without_what_it_needs(tmp_path, monkeypatch, missing, message):
    monkeypatch.setenv("SECRET_KEY", "s")
    _production_needs(monkeypatch, tmp_path)
    if missing == "vapid key":
        (tmp_path / "vapid_private.pem").unlink()
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
