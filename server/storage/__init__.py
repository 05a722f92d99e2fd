"""Where the bytes of attachments and issued PDFs live: one small interface, two backends.

- ``local`` (the embedded default): a folder, ``ATTACHMENT_DIR`` or ``<instance>/attachments``, with the two-level
  fan-out existing installs have (``ab/abcdef...``). Right for one process on one machine.
- ``s3``: an S3-compatible bucket (MinIO, Ceph RGW, a provincial cloud's S3 API), through boto3. Right for several
  app servers: a photo uploaded through one host is there for every other.

``STORAGE_BACKEND`` chooses. Keys are the SHA-256 (hex) of the bytes: a put is idempotent, and each backend checks
that what it stored hashes to its key. Whatever goes wrong in the store itself (a full disk, S3 down, the bucket
missing) is a :class:`StorageError`, answered as the 503/507 problem document (server/errors.py), never a 500.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO
from typing import Protocol

from flask import current_app

#: The problem documents of a store that cannot serve, by HTTP status: (slug, (Vietnamese, English) title).
PROBLEMS = {
    503: ("storage-unavailable", ("Kho lưu tệp tạm thời không dùng được", "File store unavailable")),
    507: ("insufficient-storage", ("Kho lưu tệp đã đầy", "File store full")),
}


class StorageError(Exception):
    """The store cannot do it now: 507 when it is full, 503 when it is unreachable, read-only or misconfigured.
    Either way a phone keeps its photo and tries again later (5xx); the operator reads the reason in the log."""

    def __init__(self, full: bool, reason: str):
        super().__init__(reason)
        self.full = full
        self.status = 507 if full else 503
        if full:
            self.code = "storage_full"
            self.vi = "Kho lưu tệp của máy chủ đã đầy; tệp sẽ được gửi lại sau."
            self.en = "The server's file store is full; the file will be sent again later."
        else:
            self.code = "storage_unavailable"
            self.vi = "Kho lưu tệp của máy chủ tạm thời không ghi được; tệp sẽ được gửi lại sau."
            self.en = "The server's file store cannot be written to for now; the file will be sent again later."


class NotStored(LookupError):
    """No bytes under this key in the store (never uploaded here, purged, or only on another host's disk)."""


class Storage(Protocol):
    """What the app needs of a store. Every method may raise :class:`StorageError`."""

    name: str

    def put(self, sha256: str, data: bytes, media_type: str) -> bool:
        """Keep ``data`` under ``sha256`` (the caller checked that it hashes to it); True when written now, False
        when the store already held these bytes. The backend verifies what it stored."""

    def has(self, sha256: str) -> bool:
        """Whether the store holds bytes that hash to ``sha256``."""

    def open(self, sha256: str) -> BinaryIO:
        """A file object to stream the bytes from (the caller closes it). :raises NotStored:"""

    def read(self, sha256: str) -> bytes:
        """The bytes, at once (small files: issued forms). :raises NotStored:"""

    def delete(self, sha256: str) -> None:
        """Forget the bytes; nothing happens when they are not there."""

    def presigned_url(self, sha256: str, seconds: int, media_type: str) -> str | None:
        """A URL that serves the bytes for ``seconds`` without the app, or None when the backend has none."""

    def check(self) -> str:
        """For /healthz: "ok", or a short reason ("full", "not_writable", "unreachable", "no_bucket")."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def backend() -> Storage:
    """The store the configuration chooses (cheap: the S3 client is made once per application and settings)."""
    chosen = current_app.config["STORAGE_BACKEND"]
    if chosen == "local":
        from server.storage.local import LocalStorage

        return LocalStorage.from_config(current_app)
    if chosen == "s3":
        from server.storage.s3 import S3Storage

        return S3Storage.from_config(current_app)
    raise ValueError(f"STORAGE_BACKEND must be 'local' or 's3', not {chosen!r}")
