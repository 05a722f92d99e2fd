"""``flask portal``: the national portal's outbox from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.extensions import db

portal_cli = AppGroup("portal", help="Messages to the National Public Service Portal (DVCQG).")


@portal_cli.command("retry")
@click.argument("message_id", type=int)
def retry(message_id: int) -> None:
    """Queue a refused (failed) message again; the later messages of its dossier follow it."""
    from server.auth.audit import audit
    from server.portal.models import PortalMessage
    from server.portal.sender import requeue

    message = db.session.get(PortalMessage, message_id)
    if message is None:
        raise click.ClickException(f"no portal message {message_id}")
    if not requeue(message):
        raise click.ClickException(f"portal message {message_id} is {message.status.value}, not failed")
    audit("portal_message_requeued", None, message, dossier_id=message.dossier_id, seq=message.seq, via="cli")
    db.session.commit()
    click.echo(f"portal message {message_id} queued again")


@portal_cli.command("send-pending")
def send_pending_command() -> None:
    """Post the due messages now (the push worker does it in its loop); nothing without PORTAL_URL."""
    from server.portal.sender import configured
    from server.portal.sender import send_pending

    if not configured():
        raise click.ClickException("PORTAL_URL is not set: nothing is sent, the messages wait")
    click.echo(f"{send_pending()} messages handled")
