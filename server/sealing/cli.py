"""``flask sealing``: list, rotate and retire the keys phones seal finalised dossiers to."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.extensions import db
from server.sealing import keys

sealing_cli = AppGroup("sealing", help="The server's sealing keys (what phones encrypt finalised dossiers to).")


@sealing_cli.command("list")
def sealing_list() -> None:
    """Every key, newest first: current, kept (still opened) or retired."""
    from sqlalchemy import select

    from server.sealing.models import SealingKey

    current = keys.kept_keys()[:1]
    for key in db.session.scalars(select(SealingKey).order_by(SealingKey.created_at.desc())):
        state = "retired " + key.retired_at.isoformat() if key.retired_at else (
            "current" if key in current else "kept")
        click.echo(f"{key.kid}  created {key.created_at.isoformat()}  {state}")


@sealing_cli.command("rotate")
def sealing_rotate() -> None:
    """Make a new current key; older keys are kept (what was sealed to them is still accepted)."""
    key = keys.create_key()
    db.session.commit()
    click.echo(f"New current sealing key {key.kid}; phones take it with their next day download. "
               f"Older keys stay accepted until `flask sealing retire <kid>`.")


@sealing_cli.command("retire")
@click.argument("kid")
def sealing_retire(kid: str) -> None:
    """Erase the private key ``kid``: dossiers still sealed to it are refused (the phone quarantines them)."""
    key = keys.retire(kid)
    if key is None:
        raise click.ClickException(f"No sealing key {kid}.")
    db.session.commit()
    click.echo(f"Sealing key {kid} retired; what is still sealed to it can no longer be opened.")
