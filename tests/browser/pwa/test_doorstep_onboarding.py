"""Doorstep onboarding (issue 5, points 2 and 9): the QR code on the officer's receipt, opened on the citizen's own
phone (a second browser context), leads to a citizen account with a passkey that follows the dossier and hears
about it. Real Chromium, the officer's real worker and outbox, a virtual authenticator on the citizen's phone.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth.models import Role
from server.auth.models import User
from server.dossiers import services
from server.dossiers.models import Dossier
from server.dossiers.models import DossierClaim
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import Action
from server.dossiers.workflow import ActionRequest
from server.extensions import db
from server.push.models import InboxMessage
from tests.browser.pwa import offline_support as app
from tests.browser.support import VirtualAuthenticator
from tests.browser.support import fresh
from tests.helpers import demo_user

pytestmark = pytest.mark.browser


def test_the_receipt_qr_code_makes_a_relative_the_dossier_s_follower(officer_phone, new_page, live_server):
    officer = officer_phone
    app.go_offline(officer.context)
    receipt = app.capture_dossier(officer, "Nguyễn Thị Lan", (151, 152))
    offline_qr = officer.locator("#receipt svg.qr").get_attribute("data-text")
    assert re.fullmatch(rf"{re.escape(live_server)}/follow/{re.escape(receipt['code'])}\?t=[A-Z2-7]{{26}}", offline_qr)
    token = offline_qr.rsplit("=", 1)[1]
    app.go_online(officer.context)
    app.wait_until_synced(officer, 1)
    # The receipt redrawn after the sync still carries the token: the officer may still be at the door.
    expect(officer.locator("#receipt svg.qr")).to_have_attribute("data-text", offline_qr)
    fresh()
    claim = db.session.scalar(select(DossierClaim))
    assert claim.role is FollowRole.OWNER and claim.used_at is None and token not in str(claim.token_sha256)

    # The daughter scans the paper with her own phone: the status shows at once, and how to follow it.
    phone = new_page()
    authenticator = VirtualAuthenticator(phone)
    phone.goto(offline_qr)
    expect(phone.locator(".facts")).to_contain_text("Đã tiếp nhận")
    expect(phone.locator("#install-panel")).to_be_visible()
    phone.locator("#claim-register").click()
    expect(phone.locator("#register-claim")).to_be_visible()
    phone.get_by_label("Họ và tên").fill("Lê Thị Hồng")
    phone.get_by_label("Số điện thoại di động").fill("0987 654 321")
    phone.get_by_role("checkbox", name=re.compile("Tôi đã đọc thông báo trên")).check()
    phone.get_by_role("button", name="Tạo khóa truy cập").click()
    phone.wait_for_url(re.compile(r"/my/dossiers/\d+\?claimed=1$"))
    expect(phone.locator("#claimed")).to_be_visible()
    expect(phone.locator("#dossier-code")).to_have_text(receipt["code"])
    expect(phone.locator("#dossier-state")).to_have_text("Đã tiếp nhận")
    assert len(authenticator.credentials()) == 1

    fresh()
    user = db.session.scalar(select(User).where(User.display_name == "Lê Thị Hồng"))
    assert user.role is Role.CITIZEN
    follower = db.session.scalar(select(DossierFollower).where(DossierFollower.user_id == user.id))
    dossier = db.session.scalar(select(Dossier).where(Dossier.code == receipt["code"]))
    assert follower.role is FollowRole.OWNER and follower.dossier_id == dossier.id
    assert db.session.scalar(select(DossierClaim)).used_by_id == user.id

    # She can invite her brother: the invitation's QR code is drawn on her phone.
    phone.get_by_role("button", name="Mời người thân theo dõi").click()
    invitation_qr = phone.locator("#invitation svg.qr")
    expect(invitation_qr).to_be_visible()
    assert re.search(r"\?t=[A-Z2-7]{16}$", invitation_qr.get_attribute("data-text"))

    # The desk's next step reaches her account (inbox, and push when she turns it on).
    staff = demo_user(Role.STAFF)
    services.apply_action(dossier, Action.TRANSFER, staff, ActionRequest(actor_id=staff.id, actor_role="staff"))
    services.apply_action(dossier, Action.REQUEST_SUPPLEMENT, staff, ActionRequest(
        actor_id=staff.id, actor_role="staff", reason="Thiếu giấy", items=("Bản sao sổ hộ khẩu",)))
    db.session.commit()
    assert db.session.scalar(select(InboxMessage.kind).where(InboxMessage.user_id == user.id)) \
        == "supplement_requested"
    phone.reload()
    expect(phone.locator("#asked")).to_contain_text("Bản sao sổ hộ khẩu")
