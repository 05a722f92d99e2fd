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


def base_url() -> str:
    """The public address used in links: ``MOTCUA_BASE_URL``, else ``http://localhost:$PORT`` (5000). Passkeys
    refuse IP addresses, hence localhost rather than 127.0.0.1."""
    return current_app.config.get("BASE_URL") or f"http://localhost:{os.environ.get('PORT', '5000')}"


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
def invite(role: str, agency_code: str | None, display_name: str, no_qr: bool) -> None:
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
    link = f"{base_url()}/invite/{token}"
    click.echo(f"Invitation for {display_name} ({role}{', ' + agency.agency_code if agency else ''}), "
               f"valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC:")
    click.echo(link)
    if not no_qr:
        click.echo(terminal_qr(link))


@users_cli.command("enrol")
@click.argument("user_id", type=int)
def enrol(user_id: int) -> None:
    """Print a single-use link with which an existing account registers a passkey (e.g. after losing them all)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise click.ClickException(f"no user {user_id}")
    click.echo(enrolment_link(user))


def enrolment_link(user: User) -> str:
    """A fresh enrolment (recovery) link for ``user``, created by the system (committed by the caller)."""
    _, token = services.create_recovery_link(user, None)
    return f"{base_url()}/recover/{token}"


def demo_enrolment_links() -> list[tuple[User, str]]:
    """One enrolment link per demo account, for the start-up banner of ./dev run."""
    from server.demo import DEMO_USERS

    names = [name for _, name in DEMO_USERS]
    users = db.session.scalars(select(User).where(User.display_name.in_(names)).order_by(User.id))
    return [(user, enrolment_link(user)) for user in users]
