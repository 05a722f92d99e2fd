"""Test helpers: sign a user in without any production route, find demo data, build dossiers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.demo import DEMO_AGENCY_CODE
from server.dossiers.models import Channel
from server.dossiers.models import Dossier
from server.dossiers.models import ReceptionMode
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.reference.models import Agency
from server.reference.models import Procedure
from server.types import utcnow


def demo_user(role: Role) -> User:
    """The seeded demo account of ``role``."""
    return db.session.scalar(select(User).where(User.role == role).order_by(User.id))


def demo_agency() -> Agency:
    return Agency.by_code(DEMO_AGENCY_CODE)


def procedure(key: str) -> Procedure:
    return db.session.scalar(select(Procedure).where(Procedure.key == key))


def sign_in(client, user: User, device=None) -> str:
    """Put ``user`` in the test client's session (as Flask-Login does) and return a CSRF token for writes."""
    now = int(utcnow().timestamp())
    db.session.refresh(user)  # another request may have bumped its session version (sign-out everywhere)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["auth_at"] = session["seen_at"] = now
        if device is not None:
            session["device_id"] = str(device.id)
    response = client.get("/api/v1/session")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["csrf_token"]


def make_user(role: Role, agency: Agency | None, name: str = "Người dùng thử") -> User:
    user = User(role=role, display_name=name, agency=agency)
    db.session.add(user)
    db.session.commit()
    return user


def make_dossier(state: State, procedure_key: str = "tro-cap-xa-hoi-hang-thang", due_at: datetime | None = None,
                 handler: User | None = None, **fields) -> Dossier:
    """A dossier stored directly in ``state`` (to test what happens next, not how it got there)."""
    person = Person(full_name="Trần Thị Bình", personal_id=None)
    version = procedure(procedure_key).versions[-1]
    dossier = Dossier(
        client_uuid=uuid.uuid4(),
        procedure_version=version,
        agency=demo_agency(),
        channel=Channel.DIRECT,
        reception_mode=ReceptionMode.HOME_VISIT,
        owner=person,
        submitter=person,
        state=state,
        due_at=due_at,
        original_due_at=due_at,
        handler_id=handler.id if handler else None,
        **fields,
    )
    db.session.add(dossier)
    db.session.commit()
    return dossier


def consent_to_push(user: User, *purposes: str) -> None:
    """Record ``user``'s consent to push for ``purposes`` (default: every purpose), as the app's tap does."""
    from server.consent import services as consent
    from server.consent.purposes import PURPOSES
    from server.consent.purposes import Channel

    for key in purposes or PURPOSES:
        consent.give(user, key, Channel.PUSH, PURPOSES[key].text_version)
    db.session.commit()


def verify_phone(user: User, phone: str) -> str:
    """Give ``user``'s person the mobile ``phone`` and mark the account identity-checked, as the desk does
    (server/backoffice/identity.py): the only number the citizen's own Zalo or SMS consent may name. Returns its
    E.164 form."""
    from server.people.identity import check_phone

    e164 = check_phone(phone).e164
    if user.person is None:
        user.person = Person(full_name=user.display_name)
    user.person.phone_e164 = e164
    user.identity_verified_at = user.identity_verified_at or utcnow()
    db.session.flush()
    return e164


def render_forms() -> int:
    """Render the PDFs of the forms issued so far, as the push worker does after each step's commit
    (server/forms/rendering.py); returns how many. For tests that read an issued form's PDF."""
    from server.forms.rendering import render_pending

    return render_pending()


def in_threads(app, work, count: int = 2) -> list:
    """Run ``work()`` in ``count`` threads at once, each in its own app context (its own database session), as
    several worker processes would; returns their results. A thread's exception is raised here, not lost."""
    import threading

    results, errors = [], []

    def run():
        with app.app_context():
            try:
                results.append(work())
            except Exception as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def send_channels(limit: int | None = None) -> int:
    """Send the ZNS and SMS deliveries due now, as the push worker's loop does (server/channels/sender.py);
    returns how many were handled."""
    from server.channels.sender import send_pending

    return send_pending(limit)
