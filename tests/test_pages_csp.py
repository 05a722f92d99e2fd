"""Every page of the desk, the leaders and the citizen carries nothing a strict CSP would block (inline scripts,
style or event-handler attributes): the test client renders each, with data, as its user sees it."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from server.auth.models import Role
from server.auth.models import User
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.services import ActionRequest
from server.dossiers.services import apply_action
from server.dossiers.workflow import Action
from server.dossiers.workflow import State
from server.extensions import db
from tests.browser.test_pages import InlineCode
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import sign_in


@pytest.fixture
def followed(app):
    dossier = make_dossier(State.RECEIVED, code="000.20.26.H26-261127-0077",
                           due_at=datetime(2026, 12, 11, 3, 0, tzinfo=UTC))
    staff = demo_user(Role.STAFF)
    apply_action(dossier, Action.TRANSFER, staff, ActionRequest(actor_id=staff.id, actor_role="staff"))
    lan = User(role=Role.CITIZEN, display_name="Nguyễn Thị Lan")
    db.session.add(lan)
    db.session.flush()
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=lan.id, role=FollowRole.OWNER))
    db.session.commit()
    return dossier, lan


def _inline_code(client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    parser = InlineCode()
    parser.feed(response.get_data(as_text=True))
    return parser.found


def test_desk_and_leader_pages_have_no_inline_code(app, client, followed):
    dossier, _lan = followed
    sign_in(client, demo_user(Role.LEADER))
    for path in ("/staff", "/staff/queue", "/staff/queue?tab=all&q=tran", "/staff/stats", "/staff/stats?period=year",
                 "/leader", "/staff/visits", f"/staff/dossiers/{dossier.id}", f"/staff/dossiers/{dossier.id}/forms",
                 f"/staff/dossiers/{dossier.id}/forms/control_sheet"):
        assert _inline_code(client, path) == [], path


def test_citizen_pages_have_no_inline_code(app, client, followed):
    dossier, lan = followed
    sign_in(client, lan)
    for path in ("/my/dossiers", f"/my/dossiers/{dossier.id}", "/my/visits", "/my/visits/new", "/inbox",
                 "/account/channels"):
        assert _inline_code(client, path) == [], path
    assert _inline_code(app.test_client(), f"/follow/{dossier.code}") == []  # the public QR address
