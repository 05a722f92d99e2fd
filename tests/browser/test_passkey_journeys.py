"""Passkey journeys in a real browser: headless Chromium, a CDP virtual authenticator, the live app.

Each test checks what the server stored (through the models), not only what the page shows.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func
from sqlalchemy import select

from server.auth import services
from server.auth.models import AuditEvent
from server.auth.models import ConsentRecord
from server.auth.models import Device
from server.auth.models import Invitation
from server.auth.models import PasskeyCredential
from server.auth.models import Role
from server.auth.models import User
from server.demo import DEMO_AGENCY_CODE
from server.dossiers.models import DossierFollower
from server.dossiers.models import FollowRole
from server.dossiers.workflow import State
from server.extensions import db
from server.people.models import Person
from server.types import utcnow
from tests.browser.support import b64decode
from tests.browser.support import fresh
from tests.browser.support import session_of
from tests.helpers import demo_agency
from tests.helpers import demo_user
from tests.helpers import make_dossier

pytestmark = pytest.mark.browser

SIGN_IN = "Đăng nhập bằng khóa truy cập (passkey)"
CREATE = "Tạo khóa truy cập"
REFUSED = "Đăng nhập không thành công"


def invite(role: Role, name: str) -> str:
    """An invitation made by the demo administrator; returns the raw token."""
    agency = demo_agency() if role.ward_scoped else None
    _, token = services.create_invitation(role, agency, name, demo_user(Role.ADMIN))
    db.session.commit()
    return token


def redeem(page, token: str, device_name: str = "") -> None:
    """Open the invitation link and create a passkey with it (the page's authenticator answers)."""
    page.goto(f"/invite/{token}")
    expect(page.locator("#link-details")).to_be_visible()
    if device_name:
        page.get_by_label("Tên của điện thoại này").fill(device_name)
    page.get_by_role("button", name=CREATE).click()


def sign_in(page) -> None:
    page.goto("/sign-in")
    page.get_by_role("button", name=SIGN_IN).click()


def sign_out(page, base_url: str) -> None:
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{base_url}/")
    expect(page.get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()


def user_named(name: str) -> User:
    return db.session.scalar(select(User).where(User.display_name == name))


def row_counts(*models) -> list[int]:
    return [db.session.scalar(select(func.count()).select_from(model)) for model in models]


def audit_count(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_officer_redeems_invitation_signs_out_and_signs_in_again(new_page, add_authenticator, live_server):
    token = invite(Role.OFFICER, "Lê Thị Hoa")
    page = new_page(locale="en-US")  # a phone the shop set to English: the pages and the API stay Vietnamese
    authenticator = add_authenticator(page)

    page.goto(f"/invite/{token}")
    expect(page.locator("#link-summary")).to_have_text(
        "Bạn được mời làm cán bộ tiếp nhận tại nhà của Bộ phận Một cửa – UBND phường Hai Bà Trưng (demo)."
    )
    expect(page.locator("#link-greeting")).to_have_text("Xin chào Lê Thị Hoa.")
    page.get_by_label("Tên của điện thoại này").fill("Điện thoại Samsung của chị Hoa")
    page.get_by_role("button", name=CREATE).click()
    page.wait_for_url(f"{live_server}/app")  # the officer lands in the doorstep app

    session = session_of(page)
    assert session["status"] == 200, session
    assert session["body"]["role"] == "officer"
    assert session["body"]["ward"]["agency_code"] == DEMO_AGENCY_CODE
    assert session["body"]["device"]["name"] == "Điện thoại Samsung của chị Hoa"

    fresh()
    officer = user_named("Lê Thị Hoa")
    assert officer.role is Role.OFFICER and officer.agency.agency_code == DEMO_AGENCY_CODE
    devices = db.session.scalars(select(Device).where(Device.user_id == officer.id)).all()
    assert [d.name for d in devices] == ["Điện thoại Samsung của chị Hoa"]
    assert str(devices[0].id) == session["body"]["device"]["id"]
    [passkey] = officer.passkeys
    assert passkey.device_id == devices[0].id
    redeemed_by = select(Invitation.redeemed_by_id).where(Invitation.display_name == "Lê Thị Hoa")
    assert db.session.scalar(redeemed_by) == officer.id
    # The phone holds a discoverable credential for this very account (CDP answers standard base64).
    [credential] = authenticator.credentials()
    assert credential["isResidentCredential"] is True
    assert b64decode(credential["credentialId"]) == passkey.credential_id
    assert b64decode(credential["userHandle"]) == officer.webauthn_user_id

    page.goto("/account/passkeys")  # the app has no site menu; its pages do
    sign_out(page, live_server)
    assert session_of(page)["status"] == 401

    # A page for signed-in users sends the visitor to sign in, then back.
    page.goto("/account/devices")
    page.wait_for_url(re.compile(r"/sign-in\?next="))
    page.get_by_role("button", name=SIGN_IN).click()
    page.wait_for_url(f"{live_server}/account/devices")
    expect(page.locator("#device-list > li[aria-current='true']")).to_contain_text("Thiết bị này")
    expect(page.locator("#device-list > li[aria-current='true']")).to_contain_text("Điện thoại Samsung của chị Hoa")

    session = session_of(page)
    assert session["status"] == 200 and session["body"]["role"] == "officer"
    assert session["body"]["device"]["id"] == str(devices[0].id)  # the same phone, not a new device
    fresh()
    assert db.session.scalar(select(func.count()).select_from(Device).where(Device.user_id == officer.id)) == 1
    assert db.session.get(PasskeyCredential, passkey.id).sign_count == authenticator.credentials()[0]["signCount"]
    assert audit_count("signed_in") == 2


def test_citizen_registers_and_signs_in_again_after_a_refused_personal_id(app, page, add_authenticator, live_server):
    before = row_counts(User, Person, ConsentRecord)
    authenticator = add_authenticator(page)
    page.goto("/register")
    consent = page.get_by_role("checkbox", name=re.compile("Tôi đã đọc thông báo trên"))
    expect(consent).not_to_be_checked()  # consent is never preset

    page.get_by_label("Họ và tên").fill("Trần Thị Bình")
    page.get_by_label("Số điện thoại di động").fill("0912 345 678")
    page.locator("#personal_id").fill("12345")
    page.get_by_role("button", name=CREATE).click()
    # Without consent, nothing is sent.
    expect(page.locator("#consent-error")).to_contain_text("đồng ý với thông báo xử lý dữ liệu cá nhân")
    consent.check()
    page.get_by_role("button", name=CREATE).click()
    # The server's own Vietnamese message, next to the field.
    expect(page.locator("#personal_id-error")).to_have_text("Số định danh cá nhân phải gồm đúng 12 chữ số.")
    expect(page.locator("#personal_id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#personal_id")).to_be_focused()
    expect(page.locator("#register-summary")).to_be_visible()
    assert authenticator.credentials() == []
    fresh()
    assert row_counts(User, Person, ConsentRecord) == before

    page.locator("#personal_id").fill("")
    page.get_by_role("button", name=CREATE).click()
    page.wait_for_url(f"{live_server}/my/dossiers")
    session = session_of(page)
    assert session["status"] == 200, session
    assert session["body"]["role"] == "citizen" and session["body"]["user"]["name"] == "Trần Thị Bình"
    assert session["body"]["device"] is None

    fresh()
    citizen = user_named("Trần Thị Bình")
    assert citizen.role is Role.CITIZEN
    assert citizen.person.phone_e164 == "+84912345678" and citizen.person.personal_id is None
    consent_row = db.session.scalar(select(ConsentRecord).where(ConsentRecord.user_id == citizen.id))
    assert consent_row.text_version == app.config["CONSENT_TEXT_VERSION"] and consent_row.granted
    assert len(citizen.passkeys) == 1
    assert b64decode(authenticator.credentials()[0]["userHandle"]) == citizen.webauthn_user_id

    sign_out(page, live_server)
    sign_in(page)
    page.wait_for_url(f"{live_server}/my/dossiers")
    session = session_of(page)
    assert session["status"] == 200 and session["body"]["user"]["id"] == citizen.id

    # Signing out everywhere ends this session too.
    version = citizen.session_version
    page.get_by_role("link", name="Thiết bị của tôi").click()
    expect(page.locator("#devices-status")).to_contain_text("Chưa có thiết bị nào được đăng ký")
    page.get_by_role("button", name="Đăng xuất khỏi mọi thiết bị").click()
    page.get_by_role("dialog").get_by_role("button", name="Đăng xuất khỏi mọi thiết bị").click()
    page.wait_for_url(f"{live_server}/sign-in")
    assert session_of(page)["status"] == 401
    fresh()
    assert db.session.get(User, citizen.id).session_version == version + 1


def test_a_revoked_passkey_can_no_longer_sign_in(page, add_authenticator, live_server):
    token = invite(Role.STAFF, "Phạm Văn Cường")
    first = add_authenticator(page)
    redeem(page, token)
    page.wait_for_url(f"{live_server}/staff/queue")
    fresh()
    staff = user_named("Phạm Văn Cường")
    [old] = staff.passkeys

    page.goto("/account/passkeys")
    items = page.locator("#passkey-list > li")
    expect(items).to_have_count(1)
    # The last passkey cannot be revoked: the server's 409 message is shown.
    items.first.get_by_role("button", name="Thu hồi").click()
    page.get_by_role("dialog").get_by_role("button", name="Thu hồi").click()
    expect(page.locator("#passkeys-status")).to_have_text(
        "Không thể thu hồi khóa truy cập cuối cùng; hãy thêm khóa khác trước."
    )

    # A second passkey, on another authenticator (this one already holds the account's passkey).
    [old_credential] = first.credentials()
    first.remove()
    second = add_authenticator(page)
    page.get_by_label("Tên khóa").fill("Khóa dự phòng")
    page.get_by_role("button", name="Thêm khóa truy cập").click()
    expect(page.locator("#add-status")).to_have_text("Đã thêm khóa truy cập trên thiết bị này.")
    expect(items).to_have_count(2)

    # Rename, then revoke the first one (after confirming).
    old_item = page.locator(f"#passkey-list > li[data-passkey-id='{old.id}']")
    old_item.get_by_label("Đổi tên").fill("Điện thoại cũ")
    old_item.get_by_role("button", name="Lưu tên mới").click()
    expect(page.locator("#passkeys-status")).to_have_text("Đã đổi tên thành “Điện thoại cũ”.")
    old_item.get_by_role("button", name="Thu hồi").click()
    page.get_by_role("dialog").get_by_role("button", name="Thu hồi").click()
    expect(page.locator("#passkeys-status")).to_have_text("Đã thu hồi khóa truy cập “Điện thoại cũ”.")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Khóa dự phòng")

    fresh()
    revoked = db.session.get(PasskeyCredential, old.id)
    assert revoked.revoked_at is not None and revoked.name == "Điện thoại cũ"
    [kept] = db.session.get(User, staff.id).passkeys
    assert kept.name == "Khóa dự phòng"

    # The revoked passkey, still on a phone, is refused.
    sign_out(page, live_server)
    [kept_credential] = second.credentials()
    second.remove()
    lost_phone = add_authenticator(page)
    lost_phone.add_credential(old_credential)
    sign_in(page)
    expect(page.locator("#sign-in-status")).to_contain_text(REFUSED)
    assert session_of(page)["status"] == 401
    fresh()
    assert db.session.scalar(select(PasskeyCredential).where(
        PasskeyCredential.credential_id == b64decode(old_credential["credentialId"]),
        PasskeyCredential.revoked_at.is_(None),
    )) is None
    assert audit_count("sign_in_failed") == 1

    # The passkey that was kept still works.
    lost_phone.remove()
    add_authenticator(page).add_credential(kept_credential)
    page.get_by_role("button", name=SIGN_IN).click()
    page.wait_for_url(f"{live_server}/staff/queue")
    assert session_of(page)["body"]["user"]["id"] == staff.id


def test_a_cloned_authenticator_is_refused(new_page, add_authenticator, live_server):
    token = invite(Role.LEADER, "Hoàng Minh Đức")
    phone = new_page()
    original = add_authenticator(phone)
    redeem(phone, token)
    phone.wait_for_url(f"{live_server}/leader")
    fresh()
    leader = user_named("Hoàng Minh Đức")
    [passkey] = leader.passkeys
    counts = [passkey.sign_count]
    for _ in range(2):
        sign_in(phone)
        phone.wait_for_url(f"{live_server}/leader")
        fresh()
        counts.append(db.session.get(PasskeyCredential, passkey.id).sign_count)
    assert counts[0] < counts[1] < counts[2], counts
    [credential] = original.credentials()
    assert credential["signCount"] == counts[2]
    signed_in_before = audit_count("signed_in")

    # The same key, copied to another device with a counter that went back.
    clone_page = new_page()
    clone = add_authenticator(clone_page)
    clone.add_credential({**credential, "signCount": max(0, counts[2] - 2)})
    sign_in(clone_page)
    expect(clone_page.locator("#sign-in-status")).to_contain_text(REFUSED)
    assert session_of(clone_page)["status"] == 401

    fresh()
    assert db.session.get(PasskeyCredential, passkey.id).sign_count == counts[2]
    assert audit_count("signed_in") == signed_in_before
    failure = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sign_in_failed"))
    assert failure.actor_id == leader.id and "sign count" in failure.data["reason"].lower()


def test_a_revoked_device_loses_its_session_and_is_told_to_wipe(new_page, add_authenticator, live_server):
    officer_phone = new_page()
    add_authenticator(officer_phone)
    redeem(officer_phone, invite(Role.OFFICER, "Vũ Thị Lan"), device_name="Máy của chị Lan")
    officer_phone.wait_for_url(f"{live_server}/app")
    device_id = session_of(officer_phone)["body"]["device"]["id"]

    admin_page = new_page()
    add_authenticator(admin_page)
    redeem(admin_page, invite(Role.ADMIN, "Đỗ Quản Trị"))
    admin_page.wait_for_url(f"{live_server}/admin/people")
    officer_row = admin_page.locator("#user-table tbody tr", has_text="Vũ Thị Lan")
    expect(officer_row).to_contain_text("cán bộ tiếp nhận tại nhà")

    admin_page.get_by_role("link", name="Quản lý thiết bị").click()
    row = admin_page.locator(f"#device-table tr[data-device-id='{device_id}']")
    expect(row).to_contain_text("Vũ Thị Lan")
    row.get_by_role("button", name="Thu hồi").click()
    dialog = admin_page.get_by_role("dialog")
    expect(dialog).to_contain_text("Thu hồi thiết bị “Máy của chị Lan” của Vũ Thị Lan?")
    dialog.get_by_role("button", name="Thu hồi").click()
    status = admin_page.locator("#devices-status")
    expect(status).to_contain_text("Đã thu hồi thiết bị “Máy của chị Lan” của Vũ Thị Lan.")
    # A lost phone is a breach to report (issue 12 point 4): the deadline and the report are offered at once.
    expect(status).to_contain_text("(72 giờ kể từ lúc thu hồi)")
    expect(status.get_by_role("link", name="Xem báo cáo sự cố")).to_have_attribute(
        "href", f"/admin/devices/{device_id}/breach-report")
    expect(row).to_contain_text("Đã thu hồi lúc")
    expect(row.get_by_role("button", name="Thu hồi")).to_have_count(0)

    fresh()
    officer = user_named("Vũ Thị Lan")
    device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
    assert device.revoked_at is not None and device.revoked_by_id == user_named("Đỗ Quản Trị").id
    assert officer.passkeys == []  # the passkey created on that phone is revoked with it

    answer = session_of(officer_phone)
    assert answer["status"] == 401
    assert answer["body"]["wipe_local_data"] is True
    officer_phone.goto("/account/devices")
    officer_phone.wait_for_url(re.compile(r"/sign-in\?next="))


def test_admin_invites_from_the_page_and_the_link_works(new_page, add_authenticator, live_server):
    admin_page = new_page()
    add_authenticator(admin_page)
    redeem(admin_page, invite(Role.ADMIN, "Đỗ Quản Trị"))
    admin_page.wait_for_url(f"{live_server}/admin/people")

    form = admin_page.locator("#invite-form")
    form.get_by_label("Vai trò").select_option("staff")
    form.get_by_role("button", name="Tạo lời mời").click()
    expect(admin_page.locator("#invite-ward-error")).to_have_text("Vai trò này cần mã phường.")
    form.get_by_label("Mã phường").fill(DEMO_AGENCY_CODE)
    form.get_by_label("Họ tên người được mời").fill("Ngô Thị Mai")
    form.get_by_role("button", name="Tạo lời mời").click()
    expect(admin_page.locator("#invite-status")).to_contain_text("Đã tạo lời mời cho Ngô Thị Mai")
    link = admin_page.locator("#invite-result input").input_value()
    assert re.fullmatch(rf"{live_server}/invite/[\w-]+", link), link
    pending = admin_page.locator("#invitation-list > li", has_text="Ngô Thị Mai")
    expect(pending).to_contain_text("công chức Bộ phận Một cửa")

    fresh()
    invitation = db.session.scalar(select(Invitation).where(Invitation.display_name == "Ngô Thị Mai"))
    assert invitation.role is Role.STAFF and invitation.agency.agency_code == DEMO_AGENCY_CODE
    assert invitation.created_by_id == user_named("Đỗ Quản Trị").id

    # A second invitation, revoked from the list: its link no longer works.
    form.get_by_label("Họ tên người được mời").fill("Người mời nhầm")
    form.get_by_role("button", name="Tạo lời mời").click()
    expect(admin_page.locator("#invite-status")).to_contain_text("Người mời nhầm")
    revoked_link = admin_page.locator("#invite-result input").input_value()
    admin_page.locator("#invitation-list > li", has_text="Người mời nhầm").get_by_role("button", name="Thu hồi").click()
    admin_page.get_by_role("dialog").get_by_role("button", name="Thu hồi").click()
    expect(admin_page.locator("#invitations-status")).to_have_text("Đã thu hồi lời mời gửi Người mời nhầm.")
    expect(admin_page.locator("#invitation-list > li", has_text="Người mời nhầm")).to_have_count(0)

    # A recovery link for an existing account.
    citizen_row = admin_page.locator("#user-table tbody tr", has_text="Nguyễn Văn An (demo)")
    citizen_row.get_by_role("button", name="Tạo liên kết khôi phục").click()
    expect(admin_page.locator("#users-status")).to_have_text("Đã tạo liên kết khôi phục cho Nguyễn Văn An (demo).")
    assert "/recover/" in admin_page.locator("#recovery-result input").input_value()

    invitee = new_page()
    add_authenticator(invitee)
    invitee.goto(revoked_link)
    expect(invitee.locator("#link-status")).to_contain_text("Liên kết đã được sử dụng hoặc bị thu hồi.")
    expect(invitee.locator("#link-details")).to_be_hidden()
    invitee.goto(link)
    expect(invitee.locator("#link-summary")).to_have_text(
        "Bạn được mời làm công chức Bộ phận Một cửa của Bộ phận Một cửa – UBND phường Hai Bà Trưng (demo)."
    )
    invitee.get_by_role("button", name=CREATE).click()
    invitee.wait_for_url(f"{live_server}/staff/queue")
    assert session_of(invitee)["body"]["role"] == "staff"
    fresh()
    assert db.session.get(Invitation, invitation.id).redeemed_at is not None


def test_recovery_link_registers_a_new_passkey_for_the_same_account(page, add_authenticator, live_server):
    citizen = demo_user(Role.CITIZEN)
    # The desk recovers only a citizen of its ward's dossiers.
    dossier = make_dossier(State.RECEIVED)
    db.session.add(DossierFollower(dossier_id=dossier.id, user_id=citizen.id, role=FollowRole.OWNER))
    # The passkey on the phone the citizen lost, revoked at the desk: this is a real recovery.
    db.session.add(PasskeyCredential(user_id=citizen.id, credential_id=b"lost phone", public_key=b"-",
                                     name="Điện thoại cũ", revoked_at=utcnow()))
    _, token = services.create_recovery_link(citizen, demo_user(Role.STAFF))
    db.session.commit()
    authenticator = add_authenticator(page)
    page.goto(f"/recover/{token}")
    expect(page.locator("#link-summary")).to_contain_text(
        "Liên kết này giúp Nguyễn Văn An (demo) tạo khóa truy cập mới"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Khôi phục quyền truy cập")
    expect(page).to_have_title(re.compile("^Khôi phục quyền truy cập — "))
    page.get_by_role("button", name=CREATE).click()
    page.wait_for_url(f"{live_server}/my/dossiers")
    assert session_of(page)["body"]["user"]["id"] == citizen.id
    fresh()
    [passkey] = [p for p in db.session.get(User, citizen.id).passkeys if p.revoked_at is None]
    assert b64decode(authenticator.credentials()[0]["credentialId"]) == passkey.credential_id


def test_sign_in_page_in_english_explains_a_phone_without_passkey(page, add_authenticator, live_server):
    page.goto("/language/en?next=/sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    add_authenticator(page)  # a phone with no passkey for this site
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("#sign-in-status")).to_have_text(
        "You cancelled, or the time ran out. Press the button to try again."
    )
    assert session_of(page)["status"] == 401


def test_browsers_without_the_webauthn_json_helpers_still_work(new_page, add_authenticator, live_server):
    """Older phones (iOS before 17.4, older Android WebViews) lack parse*OptionsFromJSON and toJSON."""
    page = new_page()
    page.context.add_init_script(
        "delete PublicKeyCredential.parseCreationOptionsFromJSON;"
        "delete PublicKeyCredential.parseRequestOptionsFromJSON;"
        "delete PublicKeyCredential.prototype.toJSON;"
    )
    add_authenticator(page)
    redeem(page, invite(Role.STAFF, "Trịnh Văn Cũ"))
    page.wait_for_url(f"{live_server}/staff/queue")
    assert page.evaluate("typeof PublicKeyCredential.parseCreationOptionsFromJSON") == "undefined"
    sign_out(page, live_server)
    sign_in(page)
    page.wait_for_url(f"{live_server}/staff/queue")
    session = session_of(page)
    assert session["status"] == 200 and session["body"]["user"]["name"] == "Trịnh Văn Cũ"
    fresh()
    [passkey] = user_named("Trịnh Văn Cũ").passkeys
    assert passkey.sign_count > 0 and passkey.transports == ["internal"]


@pytest.mark.parametrize("role, home", [
    (Role.ADMIN, "/admin/people"), (Role.LEADER, "/leader"), (Role.STAFF, "/staff/queue"),
    (Role.OFFICER, "/app"), (Role.CITIZEN, "/my/dossiers"),
])
def test_each_demo_account_enrols_and_signs_in_where_its_work_is(new_page, add_authenticator, live_server, role, home):
    """The demo accounts' links (``./dev run``, ``flask users enrol``) are a first enrolment, not a recovery; after it,
    and after signing in on another browser with the same passkey, each role is on its own page."""
    user = demo_user(role)
    _, token = services.create_recovery_link(user, None)
    db.session.commit()
    phone = new_page()
    authenticator = add_authenticator(phone)
    phone.goto(f"/recover/{token}")
    expect(phone.locator("#link-summary")).to_have_text(
        f"Liên kết này giúp {user.display_name} tạo khóa truy cập đầu tiên cho tài khoản, "
        "trên điện thoại hoặc máy tính này."
    )
    expect(phone.get_by_role("heading", level=1)).to_have_text("Kích hoạt tài khoản")
    expect(phone).to_have_title(re.compile("^Kích hoạt tài khoản — "))
    phone.get_by_role("button", name=CREATE).click()
    phone.wait_for_url(f"{live_server}{home}")
    assert session_of(phone)["body"]["role"] == role.value

    # The same passkey on another browser (synced, or the computer next to the phone): sign-in lands there too.
    [credential] = authenticator.credentials()
    desk = new_page()
    add_authenticator(desk).add_credential(credential)
    sign_in(desk)
    desk.wait_for_url(f"{live_server}{home}")
    assert session_of(desk)["body"]["user"]["id"] == user.id
    # Signed in, the brand link ("/") leads to the same page.
    desk.goto("/")
    desk.wait_for_url(f"{live_server}{home}")
