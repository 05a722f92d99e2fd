"""Delivery receipts end to end in Chromium (issue 14 point 1): the server's worker sends a real encrypted push to
the loopback push service, which decrypts it (PLATFORM.md: headless Chromium cannot reach a vendor's push service);
the plaintext is handed to the real service worker with CDP ``ServiceWorker.deliverPushMessage``, as the browser's
push service would; the worker shows the declarative notification and reports "shown" to the server; a tap reports
"opened"; with the network cut the receipt waits in IndexedDB and goes once the network is back.

CDP cannot tap an operating-system notification: the tap is a NotificationEvent dispatched in the real worker with
the real notification (as tests/browser/pwa/test_push_worker.py does), with ``clients.openWindow`` recorded rather
than opening a window (only a real tap may)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from server.auth.models import Role
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from server.push.models import DeliveryStatus
from server.push.models import PushDelivery
from server.push.models import PushSubscription
from server.push.notify import notify_dossier
from server.push.sender import PushSender
from tests.browser.pwa.conftest import wait_for_controller
from tests.browser.pwa.offline_support import go_offline
from tests.browser.pwa.offline_support import go_online
from tests.browser.pwa.test_push_worker import deliver
from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.browser.support import fresh
from tests.helpers import consent_to_push
from tests.helpers import make_dossier
from tests.helpers import make_user

pytestmark = pytest.mark.browser

CODE = "000.20.26.H26-261127-0077"

#: The tap, in the real worker, on the notification the push showed (see the module's docstring).
TAP_JS = """async () => {
    const opened = [];
    Clients.prototype.openWindow = async (url) => { opened.push(url); return null; };
    Clients.prototype.matchAll = async () => [];
    const [notification] = await self.registration.getNotifications();
    try {
        self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
    } catch (error) {
        // waitUntil() refuses an event the browser did not make; the handler has already started.
    }
    for (let i = 0; i < 1500 && !opened.length; i += 1) await new Promise((r) => setTimeout(r, 20));
    return opened;
}"""

#: The events of the receipts waiting in the worker's IndexedDB queue, read with the worker's own code
#: (pwa/sw/receipts.js), so that the test never creates the database before the worker does.
PENDING_JS = """() => withReceipts("readonly", (store) => self.MotCuaOutboxDb.requestResult(store.getAll()))
    .then((all) => all.map((receipt) => receipt.event))"""


def pending(page) -> list[str]:
    [worker] = page.context.service_workers  # the running worker (Chromium may have restarted it)
    return worker.evaluate(PENDING_JS)


def wait_for_status(page, delivery_id: int, status: DeliveryStatus) -> PushDelivery:
    """Until the server has recorded ``status`` for the delivery (the worker's receipt came in)."""
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
    while True:
        fresh()
        delivery = db.session.get(PushDelivery, delivery_id)
        if delivery.status is status:
            return delivery
        assert time.monotonic() < deadline, f"delivery {delivery_id} is {delivery.status}, not {status}"
        page.wait_for_timeout(50)


def _send(push, dossier, kind: str) -> tuple[int, dict]:
    """A message sent for real by the server's worker; the delivery's id and the payload as the phone decrypts it."""
    notify_dossier(dossier, kind)
    db.session.commit()
    count = len(push.received)
    assert PushSender().drain() == 1
    delivery = db.session.scalar(select(PushDelivery).order_by(PushDelivery.id.desc()))
    return delivery.id, push.received[count].payload


def test_the_worker_reports_shown_and_opened_and_keeps_a_receipt_while_offline(new_page, live_server, app, push):
    app.config["BASE_URL"] = live_server
    citizen = make_user(Role.CITIZEN, None, "Phạm Thị Hạnh")
    dossier = make_dossier(State.RECEIVED, code=CODE)
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    minted = push.subscribe()
    db.session.add(PushSubscription(user_id=citizen.id, endpoint=minted["endpoint"], lang="vi",
                                    p256dh=minted["keys"]["p256dh"], auth=minted["keys"]["auth"]))
    db.session.commit()
    consent_to_push(citizen)

    # The phone: the worker installed by a page, nobody signed in (a receipt needs no session).
    page = new_page()
    page.context.grant_permissions(["notifications"])
    page.goto("/offline")
    wait_for_controller(page)

    delivery_id, sent = _send(push, dossier, "result_ready")
    assert sent["web_push"] == 8030 and sent["notification"]["navigate"] == f"{live_server}/follow/{CODE}"
    [shown] = deliver(page, live_server, sent)
    # The declarative words, and the receipt kept for the tap.
    assert (shown["title"], shown["body"]) == ("Đã có kết quả", f"Hồ sơ {CODE} đã có kết quả.")
    assert shown["data"]["receipt"] == sent["receipt"] and shown["data"]["url"] == f"/follow/{CODE}"
    delivery = wait_for_status(page, delivery_id, DeliveryStatus.SHOWN)
    assert delivery.shown_at is not None and delivery.message.reached_channel == "push"
    assert delivery.subscription.last_shown_at is not None

    [worker] = page.context.service_workers
    assert worker.evaluate(TAP_JS) == [f"{live_server}/follow/{CODE}"]
    assert wait_for_status(page, delivery_id, DeliveryStatus.OPENED).opened_at is not None

    # Offline when the next push shows (the push came, then the network went): the "shown" waits on the phone.
    delivery_id, sent = _send(push, dossier, "returned")
    go_offline(page.context)
    [shown] = deliver(page, live_server, sent)
    assert shown["title"] == "Đã trả kết quả"
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
    while pending(page) != ["shown"]:
        assert time.monotonic() < deadline, "the receipt was not kept"
        page.wait_for_timeout(50)
    fresh()
    assert db.session.get(PushDelivery, delivery_id).status is DeliveryStatus.SENT

    # The network is back and the app opens: the page asks the worker to send what waits (Background Sync may
    # beat it in Chromium; either way the receipt arrives once and the queue empties).
    go_online(page.context)
    page.reload()
    wait_for_status(page, delivery_id, DeliveryStatus.SHOWN)
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
    while pending(page) != []:
        assert time.monotonic() < deadline, "the receipt stayed in the queue after it was sent"
        page.wait_for_timeout(50)
