"""``flask retention purge [--dry-run]``: the retention purge of closed dossiers (server/privacy/retention.py)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.extensions import db
from server.privacy import retention
from server.types import utcnow

retention_cli = AppGroup("retention", help="Retention of closed dossiers' photos and personal data.")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be purged; change nothing.")
def purge(dry_run: bool) -> None:
    """Delete the photos and anonymise the people of closed dossiers whose retention has passed."""
    done = retention.purge(utcnow(), dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} the photos of {len(done.photos)} dossiers ({done.photo_documents} photographed papers"
               + ("" if dry_run else f", {done.files_deleted} files") + ")"
               + (f": {', '.join(map(str, done.photos))}" if done.photos else ""))
    verb = "Would anonymise" if dry_run else "Anonymised"
    click.echo(f"{verb} the personal data of {len(done.personal_data)} dossiers"
               + ("" if dry_run else f" ({done.people_anonymised} person records)")
               + (f": {', '.join(map(str, done.personal_data))}" if done.personal_data else ""))
