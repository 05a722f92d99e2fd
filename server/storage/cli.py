"""``flask storage copy``: move an existing local attachments folder into the configured S3 bucket.

Run it before switching STORAGE_BACKEND to "s3" (and once more just after, for what was uploaded meanwhile). Every
file is hashed: a file whose bytes do not hash to its name (damaged on disk, or not ours) is reported and not copied,
so that the bucket only ever holds verified bytes. A file already in the bucket with the right checksum is skipped,
so the command can be stopped at any point (Ctrl+C, a lost connection) and run again: it goes on where it was.
The folder itself is left as it was (removing it is the operator's decision, after a backup).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from server.dossiers.attachments import sniff
from server.storage import StorageError
from server.storage import sha256_hex
from server.storage.local import attachment_dir
from server.storage.s3 import S3Storage

storage_cli = AppGroup("storage", help="The file store of attachments and issued PDFs.")

_HASH_NAME = re.compile(r"^[0-9a-f]{64}$")


def local_files(folder: Path) -> list[Path]:
    """The stored files of a local folder (``ab/abcdef...``), in a stable order; temporary files are not."""
    return sorted(path for path in folder.glob("??/*")
                  if _HASH_NAME.match(path.name) and path.parent.name == path.name[:2] and path.is_file())


@storage_cli.command("copy")
@click.option("--source", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="the folder to copy (default: ATTACHMENT_DIR or <instance>/attachments)")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="stop after copying this many files (a run in several parts; run again to go on)")
def storage_copy(source: Path | None, limit: int | None) -> None:
    """Copy the local attachments folder into the S3 bucket (S3_BUCKET), verifying every hash; resumable."""
    folder = source or attachment_dir(current_app)
    if not current_app.config.get("S3_BUCKET"):
        raise click.ClickException("S3_BUCKET is not set (MOTCUA_S3_BUCKET): there is no bucket to copy into")
    if not folder.is_dir():
        raise click.ClickException(f"no attachments folder at {folder}")
    bucket = S3Storage.from_config(current_app)
    files = local_files(folder)
    total = len(files)
    click.echo(f"{total} files in {folder} -> bucket {bucket.bucket}")
    copied = skipped = 0
    damaged: list[str] = []
    for number, path in enumerate(files, start=1):
        data = path.read_bytes()
        prefix = f"{number} of {total} {path.name}"
        if sha256_hex(data) != path.name:
            damaged.append(path.name)
            click.echo(f"{prefix}: NOT COPIED, its bytes do not hash to its name (damaged or foreign file)")
            continue
        try:
            written = bucket.put(path.name, data, sniff(data) or "application/octet-stream")
        except StorageError as error:
            raise click.ClickException(f"{prefix}: the bucket refused it ({error}); run the command again to go "
                                       "on") from None
        if written:
            copied += 1
            click.echo(f"{prefix}: copied")
        else:
            skipped += 1
            click.echo(f"{prefix}: already in the bucket")
        if limit is not None and copied >= limit and number < total:
            click.echo(f"Stopped after {copied} copied files (--limit): run the command again to go on.")
            return
    click.echo(f"Done: {copied} copied, {skipped} already in the bucket, {len(damaged)} not copied (damaged).")
    if damaged:
        sys.exit(1)
