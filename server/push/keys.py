"""The VAPID key pair that signs every push request (RFC 8292).

Generated once into the instance folder (``flask push init-keys``; ``./dev run`` does it), or given in the
environment as ``MOTCUA_VAPID_PRIVATE_KEY`` (PEM), or read from ``MOTCUA_VAPID_PRIVATE_KEY_FILE``, a file every host
shares (several hosts must sign with the same key: a phone subscribed with one key refuses pushes signed with
another). Never in the repository: whoever holds it can push to every subscribed phone. The public half is what
browsers need to subscribe (``GET /api/v1/push/key``).
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
    """Where the key file is: VAPID_PRIVATE_KEY_FILE when set, else the instance folder's."""
    app = app or current_app
    configured = app.config.get("VAPID_PRIVATE_KEY_FILE")
    return Path(configured) if configured else Path(app.instance_path) / KEY_FILE


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


def _pem(app) -> tuple[bytes, str]:
    """The key's PEM and where it came from (for error messages: never the key itself)."""
    configured = app.config.get("VAPID_PRIVATE_KEY")
    if configured and app.config.get("VAPID_PRIVATE_KEY_FILE"):
        raise PushConfigError("both MOTCUA_VAPID_PRIVATE_KEY and MOTCUA_VAPID_PRIVATE_KEY_FILE are set: set one")
    if configured:
        return (configured.encode() if isinstance(configured, str) else configured), "MOTCUA_VAPID_PRIVATE_KEY"
    path = key_path(app)
    if not path.exists():
        if app.config.get("APP_ENV") == "production":
            raise PushConfigError(f"no VAPID key: set MOTCUA_VAPID_PRIVATE_KEY or MOTCUA_VAPID_PRIVATE_KEY_FILE, or "
                                  f"run `flask push init-keys` (expected {path})")
        init_keys(app)  # development and tests: made on first use, like the secret key
    try:
        return path.read_bytes(), str(path)
    except OSError as error:
        raise PushConfigError(f"the VAPID key file {path} cannot be read: {error.strerror}") from None


@lru_cache(maxsize=4)
def _parse(pem: bytes) -> Vapid:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 key")
    return Vapid.from_pem(pem)


def _vapid(pem: bytes, source: str) -> Vapid:
    try:
        return _parse(pem)
    except (ValueError, TypeError):  # cryptography's answers to what is not an unencrypted PEM private key
        raise PushConfigError(f"the VAPID key in {source} is not an unencrypted PEM P-256 private key "
                              f"(`flask push init-keys` makes one)") from None


def vapid(app=None) -> Vapid:
    """The signing key (parsed once per key)."""
    return _vapid(*_pem(app or current_app))


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
