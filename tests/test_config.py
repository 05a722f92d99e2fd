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
