"""``flask users``: invitations from the terminal with a QR code."""

from __future__ import annotations

from sqlalchemy import select

from server.auth.models import Invitation
from server.auth.models import Role
from server.demo import DEMO_AGENCY_CODE
from server.extensions import db


def test_invite_prints_link_and_qr(runner):
    result = runner.invoke(args=["users", "invite", "--role", "officer", "--ward", DEMO_AGENCY_CODE,
                                 "--name", "Đỗ Thị Giang"])
    assert result.exit_code == 0, result.output
    link = next(line for line in result.output.splitlines() if "/invite/" in line)
    assert link.startswith("http://localhost:5000/invite/")
    assert "█" in result.output  # the QR code drawn in the terminal
    invitation = db.session.scalar(select(Invitation).where(Invitation.display_name == "Đỗ Thị Giang"))
    assert invitation.role is Role.OFFICER and invitation.agency.agency_code == DEMO_AGENCY_CODE


def test_invite_refuses_bad_input(runner):
    assert runner.invoke(args=["users", "invite", "--role", "officer", "--name", "X"]).exit_code == 1
    assert runner.invoke(args=["users", "invite", "--role", "officer", "--ward", "nope", "--name", "X"]).exit_code == 1
    assert runner.invoke(args=["users", "invite", "--role", "citizen", "--name", "X"]).exit_code == 2


def test_demo_seed_prints_enrolment_links(runner):
    output = runner.invoke(args=["demo", "seed", "--url", "http://localhost:5000"]).output
    assert output.count("http://localhost:5000/recover/") == 5
