"""A citizen turns notifications on (the tap is the consent, to the notice shown), then withdraws the consent on
their consents page in Chromium: a notification queued before the withdrawal never reaches the phone, and the
history shows both moments."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth import services as account_services
from server.auth.models import ConsentRecord
from server.auth.models import Role
from server.consent.purposes import PURPOSES
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.push.models import DeliveryStatus
from server.push.models import PushDelivery
from server.push.notify import notify_dossier
from server.push.sender import PushSender
from tests.browser.support import VirtualAuthenticator
from tests.browser.support import fresh
from tests.browser.test_push_subscription import STUB_PUSH_MANAGER
from tests.helpers import demo_user
from tests.helpers import make_dossier

pytestmark = pytest.mark.browser

#: After the stub: its subscription outlives the page, as a real one does (the stub forgets it at each navigation).
KEEP_SUBSCRIPTION = """(() => {
    const subscribe = PushManager.prototype.subscribe;
    const get = PushManager.prototype.getSubscription;
    PushManager.prototype.subscribe = async function (options) {
        localStorage.setItem("stub-push-subscribed", "1");
        return subscribe.call(this, options);
    };
    PushManager.prototype.getSubscription = async function () {
        if (!localStorage.getItem("stub-push-subscribed")) return get.call(this);
        return subscribe.call(this, {userVisibleOnly: true, applicationServerKey: new Uint8Array(65)});
    };
})();"""


def test_a_citizen_withdraws_push_consent_and_a_queued_notification_is_not_sent(page, live_server, push):
    citizen = demo_user(Role.CITIZEN)
    if citizen.person is None:
        citizen.person = Person(full_name=citizen.display_name)
    dossier = make_dossier(State.RECEIVED, code="000.20.26.H26-261203-0041")
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    _, token = account_services.create_recovery_link(citizen, None)
    db.session.commit()
    dossier_id = dossier.id

    page.context.add_init_script(STUB_PUSH_MANAGER % json.dumps(push.subscribe()))
    page.context.add_init_script(KEEP_SUBSCRIPTION)
    page.context.grant_permissions(["notifications"])
    VirtualAuthenticator(page)
    page.goto(f"/recover/{token}")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(f"{live_server}/my/dossiers")

    # The tap on the inbox is the consent to dossier news by push, to the notice and version shown beside it.
    page.goto("/inbox")
    expect(page.locator("#push-notice")).to_contain_text("Thông báo chỉ ghi mã hồ sơ, không ghi họ tên.")
    page.get_by_role("button", name="Bật thông báo").click()
    expect(page.locator("#push-status")).to_have_text("Điện thoại này đã bật nhận thông báo.")

    page.get_by_role("link", name="Sự đồng ý của tôi").first.click()
    section = page.locator("section[data-purpose='dossier_updates']")
    push_row = section.locator("li[data-channel='push']")
    expect(push_row).to_contain_text("Đang đồng ý từ")
    expect(push_row).to_contain_text(PURPOSES["dossier_updates"].text_version)
    expect(section.locator("li[data-channel='zalo']")).to_contain_text("Phường chưa gửi thông báo qua kênh này.")
    expect(page.locator("#statutory-text")).to_contain_text("không cần sự đồng ý của bạn")

    # A decision is queued for the phone; then the citizen withdraws, before any worker sends it.
    fresh()
    notify_dossier(db.session.get(type(dossier), dossier_id), "result_ready")
    db.session.commit()
    [queued] = db.session.scalars(select(PushDelivery))
    assert queued.status is DeliveryStatus.QUEUED

    push_row.get_by_role("button", name="Rút lại đồng ý").click()
    page.get_by_role("dialog").get_by_role("button", name="Rút lại đồng ý").click()
    expect(page.locator("#consents-status")).to_have_text("Đã rút lại đồng ý. Không gửi gì nữa qua kênh này.")
    expect(push_row).to_contain_text("Chưa đồng ý: không gửi gì qua kênh này.")
    history = page.locator("#history-table tbody tr[data-purpose='dossier_updates']")
    expect(history).to_have_count(1)
    expect(history).to_contain_text(re.compile(r"\d{2}/\d{2}/\d{4}|vừa xong"))
    expect(history).not_to_contain_text("Đang có hiệu lực")

    fresh()
    [record] = db.session.scalars(select(ConsentRecord).where(ConsentRecord.user_id == citizen.id,
                                                              ConsentRecord.channel.is_not(None)))
    assert record.withdrawn_at is not None and record.method == "citizen_app"
    assert PushSender().drain() == 0
    assert push.received == []
    assert db.session.scalar(select(PushDelivery.status)) is DeliveryStatus.WITHHELD

    # The inbox says why this phone, still subscribed, receives nothing, and offers to consent again.
    page.goto("/inbox")
    expect(page.locator("#push-status")).to_contain_text("Bạn đã rút lại đồng ý")
    expect(page.get_by_role("button", name="Bật thông báo")).to_be_visible()
    expect(page.locator("#inbox-list")).to_contain_text("000.20.26.H26-261203-0041")
