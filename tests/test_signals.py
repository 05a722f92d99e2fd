"""The dossier core announces its steps; notifications and statutory forms listen (issue 14, point 7)."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from server.auth.models import Role
from server.dossiers import services
from server.dossiers import signals
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.push.models import InboxMessage
from server.types import utcnow
from tests.helpers import demo_user
from tests.helpers import make_dossier
from tests.helpers import make_user

CORE = Path(__file__).resolve().parent.parent / "server" / "dossiers"
#: The dossier core: its rules and its services. The API modules of the package (sync_api.py, api.py) are views and
#: may read other packages.
CORE_MODULES = ("services.py", "models.py", "workflow.py", "codes.py", "sync.py", "attachments.py", "search_text.py",
                "signals.py")


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_dossier_core_does_not_import_the_channels_or_the_forms():
    for name in CORE_MODULES:
        imported = _imported_modules(CORE / name)
        upward = {m for m in imported if m.split(".")[:2] in (["server", "push"], ["server", "forms"],
                                                              ["server", "channels"])}
        assert not upward, f"server/dossiers/{name} imports {sorted(upward)}"


def test_the_notifications_and_the_forms_listen_to_the_transitions(app):
    receivers = {getattr(r, "__module__", "") for r in signals.transitioned.receivers_for(object())}
    assert {"server.push.listeners", "server.forms.listeners"} <= receivers


def _stop(dossier, actor):
    request = ActionRequest(actor_id=actor.id, actor_role="staff", reason="Người có hồ sơ đề nghị dừng")
    services.apply_action(dossier, Action.STOP, actor, request)


def _followed_dossier():
    staff = demo_user(Role.STAFF)
    dossier = make_dossier(State.IN_PROCESS, due_at=utcnow() + timedelta(days=10), handler=staff)
    citizen = make_user(Role.CITIZEN, None, "Nguyễn Văn An")
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    db.session.commit()
    return dossier, staff


def _counts(dossier) -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(InboxMessage)
                              .where(InboxMessage.dossier_id == dossier.id)),
            db.session.scalar(select(func.count()).select_from(DossierDocument)
                              .where(DossierDocument.dossier_id == dossier.id, DossierDocument.form_key.is_not(None))))


def test_a_step_is_announced_once_and_both_listeners_write_in_its_transaction(app):
    dossier, staff = _followed_dossier()
    heard = []

    def listen(sender, **kwargs):
        heard.append((sender.id, kwargs["action"], kwargs["from_state"], kwargs["to_state"], kwargs["event"].seq))

    signals.transitioned.connect(listen)
    try:
        _stop(dossier, staff)
    finally:
        signals.transitioned.disconnect(listen)
    assert heard == [(dossier.id, Action.STOP, State.IN_PROCESS, State.STOPPED, dossier.events[-1].seq)]
    assert _counts(dossier) == (1, 1)  # the notification and the stop notice, not yet committed
    db.session.rollback()
    assert _counts(dossier) == (0, 0)  # ... and gone with the step's transaction


def test_a_receiver_that_fails_fails_the_step_with_its_message_and_its_form(app):
    dossier, staff = _followed_dossier()

    def fail(_sender, **_kwargs):
        raise RuntimeError("a listener broke")

    signals.transitioned.connect(fail)
    try:
        with pytest.raises(RuntimeError):
            _stop(dossier, staff)
    finally:
        signals.transitioned.disconnect(fail)
    db.session.rollback()
    assert db.session.get(Dossier, dossier.id).state is State.IN_PROCESS
    assert _counts(dossier) == (0, 0)
