"""Issue 12 point 2: the session tells the officer's phone how its vault behaves (pwa/app/vault-screens.js)."""

from __future__ import annotations

from server.auth.models import Role
from tests.helpers import demo_user
from tests.helpers import sign_in


def test_the_session_carries_the_vault_policy_with_its_defaults(app, client):
    sign_in(client, demo_user(Role.OFFICER))
    policy = client.get("/api/v1/session").get_json()["device_policy"]
    assert policy == {"lock_after_seconds": 300, "pin_tries": 5, "rp_id": None}


def test_the_vault_policy_follows_the_configuration(app, client):
    app.config.update(VAULT_LOCK_AFTER_SECONDS=60, VAULT_PIN_TRIES=3, WEBAUTHN_RP_ID="motcua.example.vn")
    sign_in(client, demo_user(Role.OFFICER))
    policy = client.get("/api/v1/session").get_json()["device_policy"]
    assert policy == {"lock_after_seconds": 60, "pin_tries": 3, "rp_id": "motcua.example.vn"}
