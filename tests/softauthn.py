"""A software passkey authenticator for API tests: real P-256 keys, real CBOR, real signatures.

It produces exactly what a browser's ``credential.toJSON()`` contains, so the server's py_webauthn verification
runs unchanged. Browser tests use Chromium's virtual authenticator instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass
from dataclasses import field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Passkey:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Holds discoverable passkeys; ``user_verified=False`` simulates an authenticator that skipped the PIN."""

    origin: str = "http://localhost"
    user_verified: bool = True
    passkeys: list[Passkey] = field(default_factory=list)

    def create(self, options: dict) -> dict:
        """Answer ``navigator.credentials.create()`` for the server's creation options (the publicKey object)."""
        rp_id = options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        passkey = Passkey(secrets.token_bytes(16), key, rp_id, unb64url(options["user"]["id"]))
        self.passkeys.append(passkey)
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([self._flags() | AT]) + struct.pack(">I", 0)
                     + b"\0" * 16 + struct.pack(">H", len(passkey.credential_id)) + passkey.credential_id + cose)
        client_data = self._client_data("webauthn.create", options["challenge"])
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(passkey.credential_id), "rawId": b64url(passkey.credential_id), "type": "public-key",
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                         "transports": ["internal"]},
        }

    def get(self, options: dict, passkey: Passkey | None = None) -> dict:
        """Answer ``navigator.credentials.get()`` with ``passkey`` (default: the newest for this RP)."""
        passkey = passkey or [p for p in self.passkeys if p.rp_id == options["rpId"]][-1]
        passkey.sign_count += 1
        auth_data = (hashlib.sha256(passkey.rp_id.encode()).digest() + bytes([self._flags()])
                     + struct.pack(">I", passkey.sign_count))
        client_data = self._client_data("webauthn.get", options["challenge"])
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = passkey.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(passkey.credential_id), "rawId": b64url(passkey.credential_id), "type": "public-key",
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": b64url(passkey.user_handle)},
        }

    def _flags(self) -> int:
        return UP | (UV if self.user_verified else 0)

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}).encode()
