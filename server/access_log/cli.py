"""``flask audit verify``: walk the audit trail's and the access log's hash chains."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.access_log import chain
from server.access_log.models import AccessEvent
from server.auth.models import AuditEvent
from server.extensions import db

audit_cli = AppGroup("audit", help="The audit trail and the access log: their hash chains.")

TABLES = {chain.AUDIT.name: AuditEvent.__table__, chain.ACCESS.name: AccessEvent.__table__}


@audit_cli.command("verify")
def verify_command() -> None:
    """Check every entry of both chains; print the first broken link and exit 1, or "OK" with the counts."""
    counts = []
    connection = db.session.connection()
    for each in chain.CHAINS:
        checked, broken = chain.verify(connection, TABLES[each.name], each)
        if broken is not None:
            click.echo(f"BROKEN {broken} (after {checked} good entries)", err=True)
            raise SystemExit(1)
        counts.append(f"{each.name}: {checked} entries")
    click.echo("OK (" + ", ".join(counts) + ")")
