"""Every launch of the app re-checks its push subscription (pwa/app/push.js recheckPushAtLaunch, from nav.js): with
permission granted, it subscribes again when the browser has none, subscribes anew when the server's VAPID key
changed, and PUTs it, which upserts it by endpoint, marks it seen and un-retires it (server/push/api.py).

The PushManager is stubbed (headless Chromium reaches no vendor's push service), its subscription kept in
localStorage so that it outlives a page as a real one does; its endpoints belong to the push service on loopback.
A launch is a new top-level page: sessionStorage starts empty there."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.auth import services as account_services
from server.auth.models import Role
from server.extensions import db
from server.people.models import Person
from server.push import keys
from server.push.models import PushSubscription
from server.types import utcnow
from tests.browser.support import VirtualAuthenticator
from tests.browser.support import fresh
from tests.helpers import demo_user

pytestmark = pytest.mark.browser

STUB_PUSH_MANAGER = """(() => {
    const minted = %s;
    const STORE = "stub-push-subscription";
    const load = () => JSON.parse(localStorage.getItem(STORE) || "null");
    const made = (state) => ({
        endpoint: minted[state.index].endpoint, expirationTime: null,
        options: {userVisibleOnly: true, applicationServerKey: Uint8Array.from(state.key).buffer},
        toJSON() {
            return {endpoint: minted[state.index].endpoint, expirationTime: null, keys: minted[state.index].keys};
        },
        async unsubscribe() { localStorage.removeItem(STORE); return true; },
    });
    PushManager.prototype.subscribe = async function (options) {
        if (!options || !options.userVisibleOnly || !options.applicationServerKey) throw new Error("bad options");
        let state = load();
        if (!state) {
            const used = Number(localStorage.getItem(STORE + "-used") || "0");
            state = {index: used, key: Array.from(new Uint8Array(options.applicationServerKey))};
            localStorage.setItem(STORE + "-used", String(used + 1));
            localStorage.setItem(STORE, JSON.stringify(state));
        }
        return made(state);
    };
    PushManager.prototype.getSubscription = async function () {
        const state = load();
        return state ? made(state) : null;
    };
})();"""


def _is_put(response) -> bool:
    return response.url.endswith("/api/v1/push/subscriptions") and response.request.method == "PUT"


def _launch(context, path: str = "/my/dossiers"):
    """Open the app anew (a new top-level page) and wait for its subscription's PUT; returns (page, response)."""
    page = context.new_page()
    with page.expect_response(_is_put) as put:
        page.goto(path)
    return page, put.value


def _subscription(endpoint: str) -> PushSubscription | None:
    fresh()
    return db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))


def test_every_launch_upserts_the_subscription_and_restores_one_the_server_lost(page, live_server, push, app):
    citizen = demo_user(Role.CITIZEN)
    if citizen.person is None:
        citizen.person = Person(full_name=citizen.display_name)
    _, token = account_services.create_recovery_link(citizen, None)
    db.session.commit()
    minted = [push.subscribe(), push.subscribe()]
    context = page.context
    context.add_init_script(STUB_PUSH_MANAGER % json.dumps(minted))
    context.grant_permissions(["notifications"])
    VirtualAuthenticator(page)
    page.goto(f"/recover/{token}")
    # Permission granted and no subscription yet: the first launch signed in subscribes and saves it.
    with page.expect_response(_is_put) as put:
        page.get_by_role("button", name="Tạo khóa truy cập").click()
        page.wait_for_url(f"{live_server}/my/dossiers")
    assert put.value.status == 201
    first = _subscription(minted[0]["endpoint"])
    assert first.user_id == citizen.id and first.retired_at is None

    # Later, retired as stale by the worker: the next launch marks it seen and brings it back.
    long_ago = utcnow() - timedelta(days=61)
    first.last_seen_at, first.retired_at, first.retired_reason = long_ago, utcnow(), "not_seen"
    db.session.commit()
    _, response = _launch(context)
    assert response.status == 200 and response.json()["created"] is False
    again = _subscription(minted[0]["endpoint"])
    assert again.last_seen_at > long_ago + timedelta(days=60) and again.retired_at is None
    assert again.retired_reason is None

    # Deleted on the server (gone from the push service's answers, say): the next launch restores it.
    db.session.delete(again)
    db.session.commit()
    _, response = _launch(context, "/inbox")
    assert response.status == 201
    restored = _subscription(minted[0]["endpoint"])
    assert restored is not None and restored.user_id == citizen.id

    # The server's VAPID key changed: the old subscription cannot be pushed with the new key, so the app
    # subscribes anew and the server forgets the old endpoint.
    keys.key_path(app).unlink()
    keys.init_keys(app)
    _, response = _launch(context)
    assert response.status == 201
    assert _subscription(minted[1]["endpoint"]).user_id == citizen.id
    assert _subscription(minted[0]["endpoint"]) is None
