"""The service worker's side of Web Push, in Chromium: a push delivered by CDP shows the right notification."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth.models import User
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from tests.browser.pwa.conftest import wait_for_controller
from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.browser.support import VirtualAuthenticator
from tests.browser.support import fresh
from tests.helpers import make_dossier

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
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
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


def test_a_tap_on_the_notification_opens_the_dossier_for_its_follower(new_page, live_server):
    """Point 9: a tap runs the worker's notificationclick handler on the notification the push showed: it closes
    it and opens the payload's address, where a signed-in follower lands on the dossier's page.

    CDP cannot tap an operating-system notification, so the tap is a NotificationEvent dispatched in the real
    worker with the real notification; opening a window needs a real tap, so ``clients.openWindow`` is replaced in
    the worker by a recorder (the browser's own window opening is the only stand-in)."""
    page = new_page()
    page.context.grant_permissions(["notifications"])
    VirtualAuthenticator(page)
    page.goto("/register")
    page.get_by_label("Họ và tên").fill("Nguyễn Thị Lan")
    page.get_by_label("Số điện thoại di động").fill("0912 345 678")
    page.get_by_role("checkbox", name=re.compile("Tôi đã đọc thông báo trên")).check()
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(f"{live_server}/my/dossiers")
    fresh()
    lan = db.session.scalar(select(User).where(User.display_name == "Nguyễn Thị Lan"))
    code = "000.20.26.H26-261127-0042"
    dossier = make_dossier(State.RESOLVED, code=code)
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=lan.id, role=FollowRole.OWNER))
    db.session.commit()

    page.goto("/app")
    wait_for_controller(page)
    deliver(page, live_server, {"kind": "result_ready", "code": code, "url": f"/follow/{code}", "id": 7, "lang": "vi"})
    [worker] = page.context.service_workers
    tapped = worker.evaluate("""async () => {
        const opened = [];
        Clients.prototype.openWindow = async (url) => { opened.push(url); return null; };
        Clients.prototype.matchAll = async () => [];
        const [notification] = await self.registration.getNotifications();
        try {
            self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
        } catch (error) {
            // waitUntil() refuses an event the browser did not make; the handler has already started.
        }
        // Until the handler has opened its window (bounded: 30 s on a busy machine, not a fixed wait).
        for (let i = 0; i < 1500 && !opened.length; i += 1) await new Promise((r) => setTimeout(r, 20));
        return { opened, left: (await self.registration.getNotifications()).length };
    }""")
    assert tapped == {"opened": [f"{live_server}/follow/{code}"], "left": 0}

    page.goto(tapped["opened"][0])
    page.wait_for_url(re.compile(rf"/my/dossiers/{dossier.id}$"))
    expect(page.locator("#dossier-code")).to_have_text(code)
    expect(page.locator("#dossier-state")).to_have_text("Đã có kết quả")
