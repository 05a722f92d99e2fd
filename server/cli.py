"""Command-line tools: ``flask demo``, ``flask catalogue``, ``flask calendar`` (and the groups registered below).

Each command commits once at the end, like a request.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from server.auth.cli import base_url
from server.auth.cli import demo_enrolment_links
from server.auth.cli import url_option
from server.calendar import service as calendar_service
from server.calendar.models import OverrideKind
from server.extensions import db

demo_cli = AppGroup("demo", help="Demo data for the embedded default.")
catalogue_cli = AppGroup("catalogue", help="The procedure catalogue.")
calendar_cli = AppGroup("calendar", help="The civil-service calendar (dated overrides).")


@demo_cli.command("seed")
@url_option
def demo_seed(url: str | None) -> None:
    """Load the catalogue, the calendar swaps, a demo ward and one account per role; print enrolment links."""
    from server.demo import seed_demo

    summary = seed_demo()
    db.session.commit()
    agency = summary["agency"]
    click.echo(f"Catalogue: +{summary['procedures']} procedures, +{summary['versions']} versions; "
               f"calendar overrides: +{summary['calendar_overrides']}")
    click.echo(f"Ward: {agency.name_vi} — agency code {agency.agency_code}")
    for unit in summary["province_units"]:  # receipt across boundaries and departments (issue 15)
        where = "" if unit.in_system else " (outside the system: hand-overs recorded by the desk)"
        click.echo(f"  also in the province: {unit.name_vi} — {unit.agency_code}{where}")
    url = base_url(url)
    links = demo_enrolment_links(url)
    db.session.commit()
    click.echo("Demo accounts: open a link in the browser or phone that should hold the passkey (single use, 24 h;")
    click.echo(f"each start makes new ones; later: .venv/bin/flask users enrol <id> --url {url}):")
    for user, link in links:
        click.echo(f"  {user.role.value:8} #{user.id} {user.display_name}\n           {link}")
    click.echo("Citizens can also register themselves at " + url + "/register")
    click.echo(f"App: {url}")


@catalogue_cli.command("load")
def catalogue_load() -> None:
    """Add procedures and versions from the catalogue file that the database does not have yet."""
    from server.reference.catalogue import load_catalogue

    procedures, versions = load_catalogue()
    db.session.commit()
    click.echo(f"+{procedures} procedures, +{versions} versions")


@catalogue_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--format", "file_format", type=click.Choice(["csv", "json"]),
              help="The file's layout (default: from its name, else from its first character).")
def catalogue_import(file: Path, dry_run: bool, file_format: str | None) -> None:
    """Add the procedures and versions of a province's publication FILE (docs/catalogue-import.md).

    All or nothing: exit status 1 and nothing written when a row is refused or the file cannot be read.
    """
    from server.reference.catalogue_import import ImportFileError
    from server.reference.catalogue_import import import_catalogue

    try:
        content = file.read_bytes()
        report = import_catalogue(content, str(file), file_format=file_format, dry_run=dry_run)
    except OSError as error:
        raise click.ClickException(f"Không đọc được tệp / Cannot read the file: {error.strerror}") from None
    except ImportFileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    if report.written:
        try:
            db.session.commit()
        except IntegrityError:
            # Another import or an administrator added the same version meanwhile: check again against it.
            db.session.rollback()
            raise click.ClickException("Danh mục vừa được thay đổi cùng lúc; hãy chạy lại lệnh. / The catalogue "
                                       "was changed at the same time; run the command again.") from None
    else:
        db.session.rollback()
    click.echo(report.text())
    if report.refused:
        raise SystemExit(1)


@calendar_cli.command("list")
def calendar_list() -> None:
    """Print every override as a JSON line."""
    click.echo(calendar_service.overrides_as_json())


@calendar_cli.command("seed")
def calendar_seed() -> None:
    """Add the verified 2025-2026 swaps that are missing."""
    added = calendar_service.seed_verified_overrides()
    db.session.commit()
    click.echo(f"+{added} overrides")


@calendar_cli.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice([k.value for k in OverrideKind]))
@click.option("--name", required=True, help="What the day is, e.g. 'Nghỉ bù Giỗ Tổ'.")
@click.option("--source", default=None, help="The document that decided it.")
def calendar_set(day, kind: str, name: str, source: str | None) -> None:
    """Declare DAY (YYYY-MM-DD) a day off or a working day."""
    calendar_service.add_override(day.date(), OverrideKind(kind), name, source)
    db.session.commit()
    click.echo(f"{day.date().isoformat()}: {kind} ({name})")


@calendar_cli.command("unset")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
def calendar_unset(day) -> None:
    """Remove the override of DAY, going back to the package's calendar."""
    removed = calendar_service.remove_override(day.date())
    db.session.commit()
    if not removed:
        raise click.ClickException(f"no override on {day.date().isoformat()}")
    click.echo(f"{day.date().isoformat()}: override removed")


@calendar_cli.command("show")
@click.argument("year", type=int, default=lambda: date.today().year)
def calendar_show(year: int) -> None:
    """Print the weekdays off and working weekend days of YEAR."""
    published = calendar_service.publish(date(year, 1, 1), date(year, 12, 31))
    click.echo("Days off: " + ", ".join(d.isoformat() for d in published.non_working_days))
    click.echo("Working weekend days: " + ", ".join(d.isoformat() for d in published.working_weekend_days))
    click.echo(f"Version: {published.version}")


def register_cli(app: Flask) -> None:
    """Attach the command groups to ``flask``."""
    from server.access_log.cli import audit_cli
    from server.auth.cli import users_cli
    from server.channels.cli import channels_cli
    from server.forms.cli import forms_cli
    from server.portal.cli import portal_cli
    from server.privacy.cli import retention_cli
    from server.push.cli import push_cli
    from server.sealing.cli import sealing_cli
    from server.storage.cli import storage_cli

    for group in (demo_cli, catalogue_cli, calendar_cli, users_cli, push_cli, audit_cli, retention_cli, sealing_cli,
                  storage_cli, forms_cli, channels_cli, portal_cli):
        app.cli.add_command(group)
