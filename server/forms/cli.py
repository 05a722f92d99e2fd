"""``flask forms render-pending``: render the PDFs of issued forms that wait for one (server/forms/rendering.py).

The push worker does this continually; the command is for operators (after a worker was down, before a downgrade)
and for tests. It is safe while workers run: they claim different forms, and a form is recorded once.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.forms import rendering

forms_cli = AppGroup("forms", help="Statutory forms: their PDFs.")


@forms_cli.command("render-pending")
def render_pending() -> None:
    """Render every issued form still without its PDF, once; exit status 1 if some are left (failed or held)."""
    recorded = rendering.render_pending()
    left = rendering.pending_count()
    click.echo(f"Rendered {recorded} forms; {left} still pending")
    if left:
        raise SystemExit(1)
