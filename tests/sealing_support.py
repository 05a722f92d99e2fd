"""Sealing as the phone does it (pwa/lib/seal.js), in Python, for the server's tests."""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.sealing.envelope import INFO_PREFIX
from server.sealing.envelope import MAGIC


def _public_key(jwk: dict) -> ec.EllipticCurvePublicKey:
    def number(value: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    return ec.EllipticCurvePublicNumbers(number(jwk["x"]), number(jwk["y"]), ec.SECP256R1()).public_key()


def seal(key_info: dict, plaintext: bytes, context: str) -> bytes:
    """An envelope of ``plaintext`` for ``context`` to the key ``key_info`` (as GET /api/v1/sealing-key gives)."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    point = ephemeral.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
    kid = key_info["kid"].encode("ascii")
    secret = ephemeral.exchange(ec.ECDH(), _public_key(key_info["jwk"]))
    aes_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=point, info=INFO_PREFIX + kid).derive(secret)
    iv = os.urandom(12)
    header = MAGIC + bytes([len(kid)]) + kid + point + iv
    return header + AESGCM(aes_key).encrypt(iv, plaintext, header + context.encode())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
