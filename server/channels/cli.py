"""``flask channels send-pending``: send the ZNS and SMS deliveries due now (the push worker does it in its loop)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.channels import ladder
from server.consent.purposes import Channel

channels_cli = AppGroup("channels", help="Zalo ZNS and SMS: the providers' outbox.")


@channels_cli.command("send-pending")
def send_pending() -> None:
    """Send every ZNS and SMS delivery that is due, once, and say how many were handled."""
    from server.channels.sender import send_pending as drain

    configured = sorted(channel.value for channel in ladder.enabled_channels() - {Channel.PUSH})
    handled = drain()
    click.echo(f"Channel deliveries handled: {handled} (configured: {', '.join(configured) or 'none'})")
