"""``flask users``: invitations and enrolment links from the terminal, with a QR code to scan with the phone."""

from __future__ import annotations

import io
import os

import click
import qrcode
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from server.auth import services
from server.auth.models import Role
from server.auth.models import User
from server.extensions import db
from server.reference.models import Agency

users_cli = AppGroup("users", help="Accounts: invitations and enrolment links.")


def base_url(given: str | None = None) -> str:
    """The public address used in printed links: ``given`` (a command's ``--url``), else ``MOTCUA_BASE_URL``, else
    ``http://localhost:$PORT`` (the PORT ``./dev run`` listens on, 5000 unless set). Passkeys refuse IP addresses,
    hence localhost rather than 127.0.0.1."""
    url = given or current_app.config.get("BASE_URL") or f"http://localhost:{os.environ.get('PORT', '5000')}"
    if not url.startswith(("http://", "https://")):
        raise click.ClickException(f"the address must start with http:// or https://, not {url!r}")
    return url.rstrip("/")


#: ``--url`` of every command that prints a link: a link to a port the server does not listen on does not work.
url_option = click.option(
    "--url", default=None, metavar="URL",
    help="Where the server answers, e.g. http://localhost:8000 (default: MOTCUA_BASE_URL, else "
         "http://localhost:$PORT, PORT being 5000 unless set).",
)


def terminal_qr(text: str) -> str:
    """``text`` as a QR code drawn with block characters (scan it from the terminal with the phone)."""
    code = qrcode.QRCode(border=1)
    code.add_data(text)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


@users_cli.command("invite")
@click.option("--role", type=click.Choice(["officer", "staff", "leader", "admin"]), required=True)
@click.option("--ward", "agency_code", help="Agency code of the ward (required for officer, staff, leader).")
@click.option("--name", "display_name", required=True, help="Full name of the person invited.")
@click.option("--no-qr", is_flag=True, help="Print only the link.")
@url_option
def invite(role: str, agency_code: str | None, display_name: str, no_qr: bool, url: str | None) -> None:
    """Invite someone: prints a single-use link (valid 72 h by default) and its QR code."""
    agency = None
    if agency_code:
        agency = Agency.by_code(agency_code)
        if agency is None:
            raise click.ClickException(f"no agency with code {agency_code}")
    try:
        invitation, token = services.create_invitation(Role(role), agency, display_name, None)
    except services.AccountError as error:
        raise click.ClickException(error.en) from None
    db.session.commit()
    link = f"{base_url(url)}/invite/{token}"
    click.echo(f"Invitation for {display_name} ({role}{', ' + agency.agency_code if agency else ''}), "
               f"valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC:")
    click.echo(link)
    if not no_qr:
        click.echo(terminal_qr(link))


@users_cli.command("enrol")
@click.argument("user_id", type=int)
@click.option("--no-qr", is_flag=True, help="Print only the link.")
@url_option
def enrol(user_id: int, no_qr: bool, url: str | None) -> None:
    """Print a single-use link with which an existing account registers a passkey (e.g. after losing them all)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise click.ClickException(f"no user {user_id}")
    base = base_url(url)
    invitation, link = enrolment_link(user, base)
    db.session.commit()  # the link works only once its token is stored
    click.echo(f"Enrolment link for #{user.id} {user.display_name} ({user.role.value}), single use, "
               f"valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC:")
    click.echo(link)
    if not no_qr:
        click.echo(terminal_qr(link))
    click.echo(f"Open it in the browser or phone that should hold the passkey; it works where the server answers at "
               f"{base} (another address: --url or MOTCUA_BASE_URL).")


def enrolment_link(user: User, base: str):
    """A fresh enrolment (recovery) link for ``user``, created by the system: (its row, the link). The caller
    commits."""
    invitation, token = services.create_recovery_link(user, None)
    return invitation, f"{base}/recover/{token}"


def demo_enrolment_links(base: str) -> list[tuple[User, str]]:
    """One enrolment link per demo account, for the start-up banner of ./dev run."""
    from server.demo import DEMO_USERS

    names = [name for _, name in DEMO_USERS]
    users = db.session.scalars(select(User).where(User.display_name.in_(names)).order_by(User.id))
    return [(user, enrolment_link(user, base)[1]) for user in users]
