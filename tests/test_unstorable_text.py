"""Every submitted form is guarded against text no database stores the same way (server/security.py): a NUL is a
500 on PostgreSQL (psycopg refuses it) and stored on SQLite, so it is a 400 on both before any view reads it."""

from __future__ import annotations

from server.auth.models import Role
from server.dossiers.workflow import Action
from server.extensions import db
from server.interagency import services as chains
from tests.helpers import demo_user
from tests.helpers import sign_in
from tests.test_chains import _act
from tests.test_chains import _post
from tests.test_chains import at
from tests.test_chains import outside_chain  # noqa: F401,F811 (a fixture)


def test_a_nul_in_a_desk_form_is_refused_and_nothing_is_stored(app, client, outside_chain):  # noqa: F811
    dossier, _department = outside_chain
    _act(dossier, Action.TRANSFER, at(4, 10))
    token = sign_in(client, demo_user(Role.STAFF))
    url = f"/staff/dossiers/{dossier.id}/handovers/record"
    refused = _post(client, url, token, kind="acknowledged", occurred_at="2026-05-04T15:30", reference="88\x00SNV")
    assert refused.status_code == 400
    extend = client.post(f"/staff/dossiers/{dossier.id}/actions/extend",
                         data={"csrf_token": token, "reason": "Chưa\x00 có", "new_due_date": "2026-05-20"})
    assert extend.status_code == 400
    db.session.expire_all()
    assert len(chains.handovers_of(dossier)) == 1 and dossier.extension_count == 0  # only the transfer's
    # The same form without the NUL goes through: the guard refuses the character, not the form.
    assert _post(client, url, token, kind="acknowledged", occurred_at="2026-05-04T15:30",
                 reference="88/SNV").status_code == 302
