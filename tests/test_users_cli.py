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


def _printed_link(output: str, kind: str) -> str:
    return next(line for line in output.splitlines() if f"/{kind}/" in line)


def test_enrol_prints_a_link_that_enrols_a_passkey(app, runner, client, monkeypatch):
    """The README's answer to "lost every passkey": the printed link is stored (committed) and names the server's
    address; opening it and creating a passkey signs the account in."""
    from tests.helpers import demo_user
    from tests.softauthn import SoftAuthenticator
    from tests.test_auth_api import register

    staff = demo_user(Role.STAFF)
    result = runner.invoke(args=["users", "enrol", str(staff.id), "--url", "http://localhost:8123/"])
    assert result.exit_code == 0, result.output
    db.session.rollback()  # whatever the command did not commit is gone when its process ends
    link = _printed_link(result.output, "recover")
    assert link.startswith("http://localhost:8123/recover/")
    assert "█" in result.output and "http://localhost:8123 (another address: --url" in result.output

    path = link.removeprefix("http://localhost:8123")
    assert client.get(path, base_url="http://localhost:8123").status_code == 200
    # The browser's passkey names the page's origin; the test client's API calls go to plain localhost, so the
    # server is told to expect the printed address (as behind a proxy).
    monkeypatch.setitem(app.config, "WEBAUTHN_ORIGINS", ["http://localhost:8123"])
    token = path.rsplit("/", 1)[1]
    assert client.get(f"/api/v1/recovery/{token}").get_json()["display_name"] == staff.display_name
    enrolled = register(client, SoftAuthenticator(origin="http://localhost:8123"), {"recovery_token": token})
    assert enrolled.status_code == 201, enrolled.get_json()
    assert enrolled.get_json()["user"]["id"] == staff.id and enrolled.get_json()["redirect"] == "/staff/queue"


def test_enrol_takes_the_address_from_configuration_then_port(app, runner, monkeypatch):
    from tests.helpers import demo_user

    user_id = str(demo_user(Role.CITIZEN).id)
    monkeypatch.setenv("PORT", "8000")
    assert _printed_link(runner.invoke(args=["users", "enrol", user_id, "--no-qr"]).output, "recover") \
        .startswith("http://localhost:8000/recover/")
    monkeypatch.setitem(app.config, "BASE_URL", "https://motcua.example.vn")
    output = runner.invoke(args=["users", "enrol", user_id, "--no-qr"]).output
    assert _printed_link(output, "recover").startswith("https://motcua.example.vn/recover/") and "█" not in output
    assert runner.invoke(args=["users", "enrol", user_id, "--url", "localhost:8000"]).exit_code == 1
    assert runner.invoke(args=["users", "enrol", "999999"]).exit_code == 1
