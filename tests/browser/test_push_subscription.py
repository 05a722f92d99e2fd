"""A citizen turns notifications on in Chromium: the page's real subscription code runs against a stubbed
PushManager (headless Chromium cannot reach a vendor's push service) whose subscription belongs to the push service
on loopback; a staff decision then reaches that service encrypted, and the inbox lists it."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth import services as account_services
from server.auth.models import Role
from server.dossiers import services
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push.models import PushSubscription
from server.push.sender import PushSender
from tests.browser.support import VirtualAuthenticator
from tests.browser.support import fresh
from tests.helpers import demo_user
from tests.helpers import make_dossier

pytestmark = pytest.mark.browser

STUB_PUSH_MANAGER = """(() => {
    const minted = %s;
    let current = null;
    const subscription = () => ({
        endpoint: minted.endpoint, expirationTime: null, options: {userVisibleOnly: true},
        toJSON() { return {endpoint: minted.endpoint, expirationTime: null, keys: minted.keys}; },
        async unsubscribe() { current = null; return true; },
    });
    PushManager.prototype.subscribe = async function (options) {
        if (!options || !options.userVisibleOnly || !options.applicationServerKey) throw new Error("bad options");
        current = current || subscription();
        return current;
    };
    PushManager.prototype.getSubscription = async function () { return current; };
})();"""


def test_a_citizen_turns_notifications_on_and_a_decision_reaches_the_phone(page, live_server, push):
    citizen = demo_user(Role.CITIZEN)
    if citizen.person is None:
        citizen.person = Person(full_name=citizen.display_name)
    dossier = make_dossier(State.RECEIVED, code="000.20.26.H26-261127-0031")
    dossier.owner = dossier.submitter = citizen.person
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    _, token = account_services.create_recovery_link(citizen, None)
    db.session.commit()

    minted = push.subscribe()
    page.context.add_init_script(STUB_PUSH_MANAGER % json.dumps(minted))
    page.context.grant_permissions(["notifications"])
    VirtualAuthenticator(page)
    page.goto(f"/recover/{token}")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(f"{live_server}/my/dossiers")

    page.goto("/inbox")
    # The recovery link added a passkey: the citizen is told (issue 10 point 7), before any dossier news.
    expect(page.locator("#inbox-count")).to_have_text("1 thông báo chưa đọc")
    expect(page.locator("#inbox-list")).to_contain_text("vừa được thêm vào tài khoản của bạn")
    page.get_by_role("button", name="Bật thông báo").click()
    expect(page.locator("#push-status")).to_have_text("Điện thoại này đã bật nhận thông báo.")
    fresh()
    [subscription] = db.session.scalars(select(PushSubscription))
    assert (subscription.user_id, subscription.endpoint, subscription.lang) == (citizen.id, minted["endpoint"], "vi")

    dossier = db.session.merge(dossier)
    staff, leader = demo_user(Role.STAFF), demo_user(Role.LEADER)
    services.apply_action(dossier, Action.TRANSFER, staff, ActionRequest(actor_id=staff.id, actor_role="staff"))
    services.apply_action(dossier, Action.STOP, leader,
                          ActionRequest(actor_id=leader.id, actor_role="leader", reason="Không còn đủ điều kiện"))
    db.session.commit()
    assert PushSender().drain() == 1
    [received] = push.received
    assert received.payload["code"] == "000.20.26.H26-261127-0031" and received.payload["kind"] == "stopped"
    assert "Nguyễn" not in json.dumps(received.payload, ensure_ascii=False)

    page.reload()
    expect(page.locator("#inbox-count")).to_have_text("2 thông báo chưa đọc")
    expect(page.locator("#inbox-list")).to_contain_text("Hồ sơ 000.20.26.H26-261127-0031 dừng giải quyết.")
