"""Opening what a phone sealed (pwa/lib/seal.js writes it; the two must agree byte for byte).

An envelope, version 1, is bytes:

    "MCS1" | len(kid) (1 byte) | kid (ASCII) | ephemeral public key (65 bytes, uncompressed P-256) | IV (12 bytes)
    | AES-256-GCM ciphertext and its 16-byte tag

The AES key is HKDF-SHA-256 of the ECDH secret between the phone's ephemeral key and the server's key ``kid``,
salted with the ephemeral public key, with ``INFO_PREFIX + kid`` as info (the scheme and the key are bound in).
The associated data is the header (everything before the ciphertext) followed by the context: ``dossier:<uuid>``
for a dossier's body, ``photo:<sha256>`` for a photo, so an envelope cannot be replayed as another dossier or
photo, and any change to the kid or the ephemeral key breaks the tag.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.extensions import db
from server.sealing import keys
from server.sealing.models import SealingKey

MAGIC = b"MCS1"
INFO_PREFIX = b"motcua-seal-v1 ECDH-P256 HKDF-SHA256 A256GCM kid="
#: The media type of a sealed photo upload (PUT /api/v1/attachments/<sha256>).
SEALED_MEDIA_TYPE = "application/vnd.motcua.sealed"
_POINT, _IV, _TAG = 65, 12, 16


class SealRefused(Exception):
    """A sealed envelope the server cannot open: a stable slug and a message in both languages."""

    def __init__(self, slug: str, vi: str, en: str):
        super().__init__(en)
        self.slug, self.vi, self.en = slug, vi, en


def _unreadable() -> SealRefused:
    return SealRefused("sealed-unreadable", "Không mở được hồ sơ đã niêm phong: dữ liệu bị hỏng hoặc bị sửa.",
                       "The sealed data cannot be opened: it is damaged or was altered.")


def open_envelope(envelope: bytes, context: str) -> tuple[bytes, str]:
    """The plaintext of ``envelope`` sealed for ``context``, and the key id it was sealed to.

    :raises SealRefused: ``sealing-key-unknown``, ``sealing-key-retired`` or ``sealed-unreadable`` (bad format or
        tag: altered, truncated, or sealed for another context).
    """
    if len(envelope) < len(MAGIC) + 2 or not envelope.startswith(MAGIC):
        raise _unreadable()
    kid_length = envelope[len(MAGIC)]
    start = len(MAGIC) + 1
    header_end = start + kid_length + _POINT + _IV
    if kid_length == 0 or len(envelope) < header_end + _TAG:
        raise _unreadable()
    try:
        kid = envelope[start:start + kid_length].decode("ascii")
    except UnicodeDecodeError:
        raise _unreadable() from None
    point = envelope[start + kid_length:start + kid_length + _POINT]
    iv = envelope[header_end - _IV:header_end]
    key = db.session.get(SealingKey, kid)
    if key is None:
        raise SealRefused("sealing-key-unknown", f"Khóa niêm phong “{kid}” không có trên máy chủ.",
                          f"The sealing key “{kid}” is unknown to the server.")
    if key.private_pem is None:
        raise SealRefused("sealing-key-retired",
                          f"Khóa niêm phong “{kid}” đã bị thu hồi; hồ sơ niêm phong bằng khóa này không mở được nữa.",
                          f"The sealing key “{kid}” was retired; what was sealed to it can no longer be opened.")
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        secret = keys.private_key(key).exchange(ec.ECDH(), ephemeral)
    except ValueError:  # not a point on the curve
        raise _unreadable() from None
    aes_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=point,
                   info=INFO_PREFIX + kid.encode("ascii")).derive(secret)
    try:
        plaintext = AESGCM(aes_key).decrypt(iv, envelope[header_end:], envelope[:header_end] + context.encode())
    except InvalidTag:
        raise _unreadable() from None
    return plaintext, kid
