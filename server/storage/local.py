"""The local folder: ``ATTACHMENT_DIR`` or ``<instance>/attachments``, as installs before object storage have it.

A file is ``<folder>/<first two hex digits>/<sha256>`` (the two-level fan-out keeps folders small). Written to a
temporary name, synced, then renamed: a crash mid-write never leaves a truncated file under a valid hash, so a file
that exists under its name is the bytes that were checked against that name before writing (put refuses bytes that
do not hash to the key). Reading the file back after the fsync would read the page cache, which proves nothing more.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from flask import Flask

from server.storage import NotStored
from server.storage import StorageError
from server.storage import sha256_hex

log = logging.getLogger(__name__)


def attachment_dir(app: Flask) -> Path:
    """The folder of the local store (also the source of ``flask storage copy``)."""
    return Path(app.config.get("ATTACHMENT_DIR") or Path(app.instance_path) / "attachments")


class LocalStorage:
    name = "local"

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def from_config(cls, app: Flask) -> LocalStorage:
        return cls(attachment_dir(app))

    def path_of(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes, media_type: str) -> bool:
        if sha256_hex(data) != sha256:
            raise ValueError("the bytes do not hash to their key")  # a caller's bug: store() checked it first
        target = self.path_of(sha256)
        if target.is_file():
            return False
        try:
            _write_atomically(target, data)
        except OSError as error:
            raise self._error(error) from None
        return True

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path_of(sha256).open("rb")
        except FileNotFoundError:
            raise NotStored(sha256) from None
        except OSError as error:
            raise self._error(error) from None

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as fh:
            return fh.read()

    def delete(self, sha256: str) -> None:
        try:
            self.path_of(sha256).unlink(missing_ok=True)
        except OSError as error:
            raise self._error(error) from None

    def presigned_url(self, sha256: str, seconds: int, media_type: str) -> None:
        return None  # a folder has no URL of its own: the app streams the file

    def check(self) -> str:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".health-") as probe:
                probe.write(b"ok")
                probe.flush()
        except OSError as error:
            log.error("health check: attachment store %s not writable: %s", self.folder, error)
            return "full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else "not_writable"
        return "ok"

    def _error(self, error: OSError) -> StorageError:
        log.error("attachment store %s: %s", self.folder, error)
        return StorageError(error.errno in (errno.ENOSPC, errno.EDQUOT), str(error))


def _write_atomically(target: Path, data: bytes) -> None:
    # Write then rename: a crash mid-write never leaves a truncated file under a valid hash.
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
