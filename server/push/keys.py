"""The VAPID key pair that signs every push request (RFC 8292).

Generated once into the instance folder (``flask push init-keys``; ``./dev run`` does it) or given in the
environment as ``MOTCUA_VAPID_PRIVATE_KEY`` (PEM). Never in the repository: whoever holds it can push to every
subscribed phone. The public half is what browsers need to subscribe (``GET /api/v1/push/key``).
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from py_vapid import Vapid

KEY_FILE = "vapid_private.pem"


class PushConfigError(RuntimeError):
    """The push set-up is unusable (no key, or a VAPID subject push services would refuse)."""


def key_path(app=None) -> Path:
    app = app or current_app
    return Path(app.instance_path) / KEY_FILE


def init_keys(app=None) -> tuple[Path, bool]:
    """Create the key file unless it exists; returns (path, created). Safe to run at every start."""
    path = key_path(app)
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # O_EXCL: two processes starting together cannot both write (and disagree on) the key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path, False
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return path, True


def _pem(app) -> bytes:
    configured = app.config.get("VAPID_PRIVATE_KEY")
    if configured:
        return configured.encode() if isinstance(configured, str) else configured
    path = key_path(app)
    if not path.exists():
        if app.config.get("APP_ENV") == "production":
            raise PushConfigError(f"no VAPID key: run `flask push init-keys` (expected {path})")
        init_keys(app)  # development and tests: made on first use, like the secret key
    return path.read_bytes()


@lru_cache(maxsize=4)
def _vapid(pem: bytes) -> Vapid:
    return Vapid.from_pem(pem)


def vapid(app=None) -> Vapid:
    """The signing key (parsed once per key)."""
    return _vapid(_pem(app or current_app))


def public_key(app=None) -> str:
    """The application server key for ``pushManager.subscribe``: the uncompressed P-256 point, base64url."""
    point = vapid(app).public_key.public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def subject(app=None) -> str:
    """The VAPID ``sub``: a real ``mailto:`` or ``https:`` address (Apple refuses anything else)."""
    app = app or current_app
    value = app.config.get("VAPID_SUBJECT") or ""
    if value.startswith(("mailto:", "https://")) and not value.endswith((".invalid", "@localhost")):
        return value
    if app.config.get("APP_ENV") in ("development", "testing"):
        return value or "mailto:push@motcua.invalid"
    raise PushConfigError("MOTCUA_VAPID_SUBJECT must be a real mailto: or https: address in production")
