"""The sealing key pairs: the current one, the kept ones, rotation and retirement.

Kept in the database rather than in instance files: every process and host of the server sees a rotation or a
retirement at the same moment (a second web process reading its own file would refuse what the first accepts),
the keys are backed up with the dossiers they open, and the tests run them on SQLite and PostgreSQL alike. The
private key adds little to what a copy of the database already holds: the dossiers, decrypted. (The Web Push key
is an instance file because it signs; it has no history to keep.)
"""

from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from server.extensions import db
from server.sealing.models import SealingKey
from server.types import utcnow


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_kid() -> str:
    """A key id that says when the key was made and cannot collide: ``20261203-9f2c41ab``."""
    return f"{utcnow():%Y%m%d}-{secrets.token_hex(4)}"


def create_key() -> SealingKey:
    """Make a new key pair; it becomes the current key (the newest kept one). Flushes; the caller commits."""
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    key = SealingKey(
        kid=new_kid(),
        private_pem=private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode("ascii"),
        public_jwk={"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x.to_bytes(32, "big")),
                    "y": _b64url(numbers.y.to_bytes(32, "big"))},
        created_at=utcnow(),
    )
    db.session.add(key)
    db.session.flush()
    return key


def kept_keys() -> list[SealingKey]:
    """The keys not retired, newest first."""
    return list(db.session.scalars(select(SealingKey).where(SealingKey.retired_at.is_(None))
                                   .order_by(SealingKey.created_at.desc(), SealingKey.kid.desc())))


def current_key() -> SealingKey:
    """The key phones seal to now; made on first use, so that a new installation needs no step."""
    kept = kept_keys()
    return kept[0] if kept else create_key()


def public_json(key: SealingKey) -> dict:
    """What a phone needs to seal to ``key``: nothing secret."""
    return {"kid": key.kid, "alg": "ECDH-ES+HKDF-SHA256+A256GCM", "jwk": key.public_jwk,
            "created_at": key.created_at.isoformat()}


def private_key(key: SealingKey) -> ec.EllipticCurvePrivateKey:
    """The private half of a kept key (``key.private_pem`` is None once retired)."""
    return serialization.load_pem_private_key(key.private_pem.encode("ascii"), password=None)


def retire(kid: str) -> SealingKey | None:
    """Stop accepting what was sealed to ``kid``: the private key is erased. Flushes; the caller commits."""
    key = db.session.get(SealingKey, kid)
    if key is None:
        return None
    key.retired_at = key.retired_at or utcnow()
    key.private_pem = None
    db.session.flush()
    return key
