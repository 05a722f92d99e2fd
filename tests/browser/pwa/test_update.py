"""Deploying a new app version: it installs, waits for the officer's tap, then replaces only our own old caches."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server import pwa_routes
from tests.browser.pwa.conftest import cache_names
from tests.browser.pwa.conftest import worker_version
from tests.browser.pwa.test_citizen_precache import UPDATE_JS

pytestmark = pytest.mark.browser

NEW_VERSION = "test-new-version"

#: Caches and data that are not the app shell's: an update must leave every one of them alone.
SEED_OTHERS_JS = """async () => {
    for (const name of ["another-app-v1", "motcuaphone-v1", "motcua"]) {
        const cache = await caches.open(name);
        await cache.put("/kept-by-" + name, new Response("kept"));
    }
    const { openOutbox, put, STATUS } = await import("/pwa/lib/outbox-db.js");
    const db = await openOutbox();
    await put(db, "dossiers", {client_uuid: "9f1c7e0e-0000-4000-8000-000000000001", user_id: 7,
                               status: STATUS.QUEUED, owner: {full_name: "Nguyễn Văn An"}});
    db.close();
}"""

READ_OUTBOX_JS = """async () => {
    const { openOutbox, get } = await import("/pwa/lib/outbox-db.js");
    const db = await openOutbox();
    const record = await get(db, "dossiers", "9f1c7e0e-0000-4000-8000-000000000001");
    db.close();
    return record && record.owner.full_name;
}"""


def _registration_state(page) -> dict:
    return page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        return {waiting: Boolean(registration.waiting), installing: Boolean(registration.installing)};
    }""")


def test_new_version_waits_for_the_tap_then_replaces_only_our_old_caches(
    shell_page, new_page, live_server, monkeypatch
):
    page = shell_page
    old_version = worker_version(page)
    old_shell = f"motcua-shell-{old_version}"
    assert old_shell in cache_names(page)
    page.evaluate(SEED_OTHERS_JS)
    # Another origin (same server, other host name) with a cache named exactly like ours: not ours to delete.
    other_origin = new_page()
    other_origin.goto(live_server.replace("localhost", "127.0.0.1") + "/healthz")
    other_origin.evaluate(f"caches.open('{old_shell}').then(c => c.put('/x', new Response('theirs')))")

    # Deploy: the served worker config now carries another version.
    monkeypatch.setattr(pwa_routes, "shell_version", lambda: NEW_VERSION)
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")

    update = page.get_by_role("button", name="Cập nhật")
    expect(update).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Đã có phiên bản mới")).to_be_visible()
    # Installed and waiting: the new shell is cached beside the old one, the page still runs the old version.
    assert _registration_state(page) == {"waiting": True, "installing": False}
    assert worker_version(page, "waiting") == NEW_VERSION
    page.wait_for_timeout(500)  # nothing happens by itself
    assert _registration_state(page)["waiting"]
    assert worker_version(page) == old_version
    assert {old_shell, f"motcua-shell-{NEW_VERSION}"} <= set(cache_names(page))

    with page.expect_navigation():  # the page that asked reloads itself onto the new version
        update.click()
    page.wait_for_function(f"navigator.serviceWorker.controller && caches.has('{old_shell}').then(has => !has)")
    assert worker_version(page) == NEW_VERSION
    assert _registration_state(page)["waiting"] is False
    names = cache_names(page)
    assert [name for name in names if name.startswith("motcua-")] == [f"motcua-shell-{NEW_VERSION}"]
    assert {"another-app-v1", "motcuaphone-v1", "motcua"} <= set(names)
    # The outbox is not a cache: an unsent dossier survives the update.
    assert page.evaluate(READ_OUTBOX_JS) == "Nguyễn Văn An"
    # The other origin's cache was not touched.
    assert other_origin.evaluate(f"caches.has('{old_shell}')") is True
    expect(page.locator("main[data-app-shell]")).to_be_visible()
    # Offline, the new version opens from its own cache: the page names the new version's module URLs
    # (/pwa/v/<version>/...) and the modules ran (nobody signed in on this phone: the app asks to sign in).
    page.context.set_offline(True)
    response = page.reload()
    assert response.from_service_worker
    assert page.evaluate(MODULE_URL_JS).endswith(f"/pwa/v/{NEW_VERSION}/app/officer.js")
    expect(page.locator("#view-welcome").get_by_role("link", name="Đăng nhập")).to_be_visible()


MODULE_URL_JS = """document.querySelector("script[src$='/app/officer.js']").src"""


def test_a_version_whose_files_are_gone_is_not_installed_and_the_phone_keeps_its_own(shell_page, monkeypatch):
    """A worker that read one deploy's configuration while the server already serves the next gets 404 for its
    version's files (server/pwa_routes.py: never today's bytes under another version's URL). Its install fails
    whole, so no cache mixes two versions; the phone keeps running its version, offline too; the next update
    check installs the version the server really serves."""
    page = shell_page
    old_version = worker_version(page)
    monkeypatch.setattr(pwa_routes, "shell_version", lambda: NEW_VERSION)  # the configuration the worker reads...
    monkeypatch.setattr(pwa_routes, "current_version", lambda: "deployed-since")  # ...and the files served since
    assert page.evaluate(UPDATE_JS) == "redundant"
    assert worker_version(page) == old_version
    assert f"motcua-shell-{NEW_VERSION}" not in cache_names(page)
    page.context.set_offline(True)
    response = page.reload()
    assert response.from_service_worker
    assert page.evaluate(MODULE_URL_JS).endswith(f"/pwa/v/{old_version}/app/officer.js")
    expect(page.locator("#view-welcome").get_by_role("link", name="Đăng nhập")).to_be_visible()

    page.context.set_offline(False)
    monkeypatch.undo()
    monkeypatch.setattr(pwa_routes, "shell_version", lambda: NEW_VERSION)  # a consistent deploy: installed
    assert page.evaluate(UPDATE_JS) == "installed"
    assert worker_version(page, "waiting") == NEW_VERSION


def test_an_update_waiting_from_an_earlier_visit_is_offered_again(shell_page, monkeypatch):
    page = shell_page
    monkeypatch.setattr(pwa_routes, "shell_version", lambda: NEW_VERSION)
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    expect(page.get_by_role("button", name="Cập nhật")).to_be_visible()
    page.reload()  # the officer ignored it; the next page load asks again
    expect(page.get_by_role("button", name="Cập nhật")).to_be_visible()
    assert worker_version(page, "waiting") == NEW_VERSION
