"""``flask push init-keys`` and ``flask push worker``."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from server.push import keys

push_cli = AppGroup("push", help="Web Push: VAPID keys and the sending worker.")


@push_cli.command("init-keys")
def init_keys() -> None:
    """Create the VAPID key pair once (an existing key is kept): in MOTCUA_VAPID_PRIVATE_KEY_FILE when set, else in
    the instance folder."""
    if current_app.config.get("VAPID_PRIVATE_KEY"):
        click.echo("VAPID key given in the environment (MOTCUA_VAPID_PRIVATE_KEY): nothing to create.")
    else:
        path, created = keys.init_keys()
        click.echo(f"{'Created' if created else 'Kept'} the VAPID key {path}")
    click.echo(f"Public key: {keys.public_key()}")


@push_cli.command("worker")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks at the outbox when idle.")
def worker(poll: float) -> None:
    """Send queued notifications until stopped (SIGTERM or Ctrl+C finish the current batch first)."""
    from server.push.sender import run_worker

    keys.subject()  # refuse to start with a VAPID subject push services would reject
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo("Push worker running; Ctrl+C to stop.")
    run_worker(current_app._get_current_object(), stop, poll)


def start_embedded_worker(app) -> threading.Thread:
    """The worker as a thread of the web process: the embedded default sends push with nothing else started."""
    stop = threading.Event()
    from server.push.sender import run_worker

    thread = threading.Thread(target=run_worker, args=(app, stop), name="push-worker", daemon=True)
    thread.start()
    return thread
