"""Issue 11, point 9: a citizen's phone that scans the receipt's QR code loads the citizen's page, not the officer's
app. The worker installs on every page, but it precaches the officer's shell only on an officer's phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server import pwa_routes
from server.dossiers.workflow import State
from tests.browser.pwa.conftest import wait_for_controller
from tests.browser.pwa.conftest import wait_for_offline_shell
from tests.browser.pwa.test_offline_shell import CACHED_JS
from tests.browser.support import Downloads
from tests.helpers import make_dossier

pytestmark = pytest.mark.browser

CODE = "000.20.26.H26-261127-0042"

#: Modules only the officer's app uses (under /pwa/v/<version>/, as pages load them).
_OFFICER_MODULES = ("app/officer.js", "app/capture.js", "app/receipt.js", "app/day.js", "vendor/qrcode.mjs",
                    "lib/identity.js", "lib/search.js")


def officer_only(version: str | None = None) -> frozenset[str]:
    """Files only the officer's app uses: the page itself, its modules, the QR encoder and the ID/phone data."""
    version = version or pwa_routes.shell_version()
    return frozenset({"/app", "/pwa-data/id_place_codes.json", "/pwa-data/phone_vn.json"}
                     | {f"/pwa/v/{version}/{module}" for module in _OFFICER_MODULES})


def test_a_citizen_who_scans_the_qr_code_does_not_download_the_officers_app(new_page):
    make_dossier(State.RECEIVED, code=CODE)
    page = new_page()
    downloads = Downloads(page.context)
    page.goto(f"/follow/{CODE}")
    expect(page.get_by_label("4 số cuối số định danh")).to_be_visible()
    wait_for_controller(page)  # installed and activated: whatever it precaches is in the cache now

    cached = {entry["url"] for entry in page.evaluate(CACHED_JS)}
    print(f"\n/follow/<code> on a fresh phone: {len(downloads.files)} files, {downloads.total} bytes downloaded; "
          f"cached: {sorted(cached)}")
    assert "/offline" in cached  # the citizen still gets the offline page rather than the browser's error
    assert not officer_only() & cached
    assert not officer_only() & set(downloads.files), sorted(officer_only() & set(downloads.files))
    # The worker's own fetches are counted: its scripts are among the downloads (else this measures nothing).
    assert "/pwa/sw/precache.js" in downloads.files


def test_a_phone_that_opens_the_officers_app_later_gets_its_offline_shell(new_page):
    """A phone whose worker a citizen's page installed: /app asks for the officer's shell and then opens offline."""
    make_dossier(State.RECEIVED, code=CODE)
    page = new_page()
    page.goto(f"/follow/{CODE}")
    wait_for_controller(page)
    assert "/app" not in {entry["url"] for entry in page.evaluate(CACHED_JS)}

    page.goto("/app")
    wait_for_offline_shell(page)
    cached = {entry["url"] for entry in page.evaluate(CACHED_JS)}
    assert officer_only() <= cached

    page.context.set_offline(True)
    response = page.reload()
    assert response.from_service_worker
    expect(page.locator("main[data-app-shell]")).to_be_visible()
    # Its modules came from the cache and ran: nobody signed in on this phone yet, so the app asks to sign in.
    expect(page.locator("#view-welcome").get_by_role("link", name="Đăng nhập")).to_be_visible()


NEW_VERSION = "test-new-version"

#: The paths in one cache.
CACHE_PATHS_JS = """async (name) => {
    const cache = await caches.open(name);
    return (await cache.keys()).map((request) => new URL(request.url).pathname);
}"""


#: Look for a new version and wait until it is installed (it then waits for the tap): its final install state.
UPDATE_JS = """async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    await registration.update();
    const worker = registration.installing || registration.waiting;
    if (!worker) return "no new worker";
    while (worker.state === "installing") {
        await new Promise((resolve) => worker.addEventListener("statechange", resolve, {once: true}));
    }
    return worker.state;
}"""


def _deploy_and_wait_for_the_new_version(page, monkeypatch) -> set[str]:
    monkeypatch.setattr(pwa_routes, "shell_version", lambda: NEW_VERSION)
    assert page.evaluate(UPDATE_JS) == "installed"
    return set(page.evaluate(CACHE_PATHS_JS, f"motcua-shell-{NEW_VERSION}"))


def test_an_update_keeps_each_phone_to_its_own_files(new_page, monkeypatch):
    """A new version precaches what the phone had: the officer's shell on an officer's phone, not on a citizen's."""
    make_dossier(State.RECEIVED, code=CODE)
    citizen = new_page()
    citizen.goto(f"/follow/{CODE}")
    wait_for_controller(citizen)
    officer = new_page()
    officer.goto("/app")
    wait_for_controller(officer)
    wait_for_offline_shell(officer)

    on_the_citizens = _deploy_and_wait_for_the_new_version(citizen, monkeypatch)
    assert "/offline" in on_the_citizens
    assert not officer_only(NEW_VERSION) & on_the_citizens
    on_the_officers = _deploy_and_wait_for_the_new_version(officer, monkeypatch)
    assert officer_only(NEW_VERSION) <= on_the_officers
