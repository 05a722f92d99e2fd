"""The service worker's side of Web Push, in Chromium: a push delivered by CDP shows the right notification."""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.pwa.conftest import wait_for_controller

pytestmark = pytest.mark.browser

NOTIFICATIONS_JS = """() => navigator.serviceWorker.ready
    .then((registration) => registration.getNotifications())
    .then((all) => all.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data, lang: n.lang})))"""


def deliver(page, base_url: str, payload: dict) -> list[dict]:
    """Deliver ``payload`` to the page's worker as a push service would; returns the notifications shown."""
    cdp = page.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations:
        assert time.monotonic() < deadline, "no service worker registration reported"
        page.wait_for_timeout(50)
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": base_url, "registrationId":
                                                  registrations[0]["registrationId"], "data": json.dumps(payload)})
    while True:
        shown = page.evaluate(NOTIFICATIONS_JS)
        if shown or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(100)


@pytest.mark.parametrize(("lang", "title", "body"), [
    ("vi", "Đã có kết quả", "Hồ sơ 000.20.26.H26-261127-0007 đã có kết quả."),
    ("en", "Result ready", "The result of dossier 000.20.26.H26-261127-0007 is ready."),
])
def test_a_push_shows_the_notification_in_the_apps_language(new_page, live_server, lang, title, body):
    page = new_page()
    page.context.grant_permissions(["notifications"])
    page.goto("/app")
    wait_for_controller(page)
    code = "000.20.26.H26-261127-0007"
    [shown] = deliver(page, live_server, {"kind": "result_ready", "code": code, "url": f"/follow/{code}",
                                          "id": 1, "lang": lang})
    assert (shown["title"], shown["body"], shown["lang"]) == (title, body, lang)
    assert shown["tag"] == f"dossier-{code}" and shown["data"]["url"] == f"/follow/{code}"


def test_an_unreadable_push_still_shows_a_notification(new_page, live_server):
    """iOS revokes subscriptions whose pushes show nothing: even a garbled payload gets a notification."""
    page = new_page()
    page.context.grant_permissions(["notifications"])
    page.goto("/app")
    wait_for_controller(page)
    [shown] = deliver(page, live_server, {"kind": "no-such-kind", "url": "//evil.example/"})
    assert shown["title"] == "Một Cửa Tại Nhà" and shown["data"]["url"] == "/"
