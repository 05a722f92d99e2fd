"""The embedded default's demo data: complete and idempotent."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.calendar.models import CalendarOverride
from server.demo import DEMO_AGENCY_CODE
from server.extensions import db
from server.reference.models import Procedure
from server.reference.models import ProcedureVersion


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_seed_is_complete_and_idempotent(app, runner):
    before = {m: _count(m) for m in (Procedure, ProcedureVersion, User, CalendarOverride)}
    assert before[Procedure] >= 15
    assert before[CalendarOverride] >= 5
    assert {u.role for u in db.session.scalars(select(User))} == set(Role)
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert DEMO_AGENCY_CODE in result.output and "http://localhost:5000" in result.output
    assert "+0 procedures" in result.output
    assert {m: _count(m) for m in before} == before


def test_calendar_cli_edits_overrides(app, runner):
    result = runner.invoke(args=["calendar", "set", "2026-12-31", "day_off", "--name", "Nghỉ thêm cuối năm"])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["calendar", "show", "2026"]).output
    assert "2026-12-31" in shown.split("Working weekend days")[0]
    assert runner.invoke(args=["calendar", "unset", "2026-12-31"]).exit_code == 0
    assert runner.invoke(args=["calendar", "unset", "2026-12-31"]).exit_code != 0
    bad = runner.invoke(args=["calendar", "set", "31/12/2026", "day_off", "--name", "x"])
    assert bad.exit_code == 2
