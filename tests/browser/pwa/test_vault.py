"""Issue 12 points 2 and 3: drafts and the quarantine rest encrypted with the officer's vault key, in Chromium.

What IndexedDB holds is read through the DevTools protocol (``IndexedDB.requestData``), not through the phone. The
vault is unlocked with the virtual authenticator's PRF (``hasPrf``) or, without PRF, with an app PIN.
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from server import pwa_routes
from tests.browser.layout_support import Walk
from tests.browser.layout_support import walk_here
from tests.browser.pwa import offline_support as phone
from tests.browser.pwa.conftest import worker_version
from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.browser.support import VirtualAuthenticator

pytestmark = pytest.mark.browser

OWNER = "Phạm Thị Hồng Nhung"
OWNER_ID = "001189067891"
PHONE = "0987654321"
ADDRESS = "Số 17 ngõ 42 phố Thịnh Hào"
PERSONAL = [OWNER, OWNER_ID, PHONE, ADDRESS, "Hồng Nhung", "67891", "Thịnh Hào"]


def fill_draft(page, seeds=(301,), owner=OWNER, personal_id=OWNER_ID) -> str:
    """A draft with the owner's name, ID, phone and address and photos, left unfinished; returns its uuid."""
    phone.start_capture(page, owner)
    page.get_by_label("Số định danh cá nhân").first.fill(personal_id)
    page.get_by_label("Số điện thoại").first.fill(PHONE)
    page.get_by_label("Địa chỉ").first.fill(ADDRESS)
    camera = page.locator("#documents input[type=file]").first
    for index, seed in enumerate(seeds):
        camera.set_input_files({"name": f"p{seed}.jpg", "mimeType": "image/jpeg", "buffer": phone.photo_bytes(seed)})
        expect(page.locator("#documents .photo-list li")).to_have_count(index + 1)
    expect(page.locator("#draft-saved")).to_have_text("Đã lưu.")
    return page.evaluate("location.hash.split('/')[2]")


def leave_draft(page) -> None:
    """"Để sau": back home from the form, the draft kept."""
    page.get_by_role("button", name="Để sau").click()
    expect(page.locator("#view-home")).to_be_visible()


def assert_nothing_personal_in_clear(page, photos: list[dict], personal=PERSONAL) -> dict:
    """No name, ID, phone or address in the text of any dossier or photo record, and no photo or thumbnail bytes
    (the first JPEG bytes, or 32-byte pieces of the clear photos) in their binary values. Returns the dump."""
    dump = {store: phone.raw_records(page, store) for store in ("dossiers", "photos")}
    text = json.dumps(phone.without_binary(dump), ensure_ascii=False)
    for value in personal:
        assert value not in text, f"{value!r} is stored in clear"
    pieces = [photo[kind][at:at + 64] for photo in photos for kind in ("blob", "thumbnail") if photo[kind]
              for at in (0, len(photo[kind]) // 2 - len(photo[kind]) // 2 % 2, len(photo[kind]) - 64)]
    assert pieces
    for hexed in phone.binary_values(dump):
        assert not hexed.startswith("ffd8ff"), "a JPEG is stored in clear"
        for piece in pieces:
            assert piece not in hexed, "photo bytes are stored in clear"
    return dump


def page_shows_nothing_personal(page) -> None:
    html = page.content()
    for value in PERSONAL:
        assert value not in html, f"{value!r} is on the locked page"


def test_drafts_and_the_quarantine_rest_encrypted_and_read_back(officer_phone):
    page = officer_phone
    draft = fill_draft(page, seeds=(301, 302))
    leave_draft(page)
    # Read back from its locked record: the form and the photos' thumbnails.
    page.goto(f"/app#/capture/{draft}")
    expect(page.get_by_label("Số điện thoại").first).to_have_value(PHONE)
    expect(page.locator("#documents .photo-list li img[src^='blob:']")).to_have_count(2)
    leave_draft(page)
    # A second dossier, completed offline: in the outbox, sealed.
    phone.go_offline(page.context)
    phone.capture_dossier(page, "Đỗ Văn Quang", (303,), personal_id="001089099876")
    phone.go_home(page)
    others = ["Đỗ Văn Quang", "001089099876", "0912345678", "phố Lò Đúc"]
    bookkeeping = {"client_uuid", "user_id", "status", "created_at", "updated_at", "completed_at", "quarantined_at",
                   "attempts", "last_attempt_at", "server_errors"}
    photos = phone.clear_photos(page)
    assert len(photos) == 3
    queued = assert_nothing_personal_in_clear(page, photos, [*PERSONAL, *others])
    by_status = {record["status"]: record for record in queued["dossiers"]}
    assert set(by_status) == {"draft", "queued"}
    # The outbox record keeps in clear only what names no one (outbox-entry.js); its form is the local copy.
    assert set(by_status["queued"]) <= bookkeeping | {"issued", "receipt", "sealed", "local", "problem"}

    # Then refused by the server: the quarantine.
    phone.withdraw_today("tro-cap-huu-tri-xa-hoi")
    phone.go_online(page.context)
    expect(page.locator("#quarantine-list li")).to_have_count(1)
    expect(page.locator("#quarantine-list li")).to_contain_text("Đỗ Văn Quang")
    assert phone.clear_photos(page) == photos
    dump = assert_nothing_personal_in_clear(page, photos, [*PERSONAL, *others])
    by_status.update({record["status"]: record for record in dump["dossiers"]})
    assert {record["status"] for record in dump["dossiers"]} == {"draft", "quarantined"}
    # The draft is locked whole; the quarantined dossier too, but for its sealed envelope and its local copy,
    # protected already (one layer each).
    assert set(by_status["draft"]) <= bookkeeping | {"locked"}
    assert set(by_status["quarantined"]) <= bookkeeping | {"locked", "sealed", "local"}
    for record in by_status.values():
        assert set(record.get("locked") or {"v", "iv", "data"}) == {"v", "iv", "data"}
    for record in (by_status["quarantined"], by_status["queued"]):
        assert record["local"]["scheme"] == "vault-v1"  # the vault's key, not a stand-in
        assert set(record["sealed"]) == {"kid", "body", "photos"}
    for row in queued["photos"] + dump["photos"]:
        assert "blob" not in row and "thumbnail" not in row and "quality" not in row
        assert ("locked" in row) != ("sealed" in row)  # a draft's photo locked, a completed one's sealed

    # The unlocked app reads the quarantined dossier back to fix it.
    page.locator("#quarantine-list li").get_by_role("button", name="Sửa và gửi lại").click()
    expect(page.get_by_label("Họ và tên").first).to_have_value("Đỗ Văn Quang")


def test_the_locked_app_shows_nothing_and_locks_itself_when_idle(officer_phone, app):
    page = officer_phone
    fill_draft(page)
    phone.stop_typing_pin(page)
    # A reload forgets the key: the lock screen, with nothing of the citizen anywhere in the page.
    page.reload()
    expect(page.locator("#view-locked")).to_be_visible()
    expect(page.get_by_role("button", name="Mở khóa")).to_be_visible()
    page_shows_nothing_personal(page)
    phone.unlock_vault(page)
    expect(page.get_by_label("Họ và tên").first).to_have_value(OWNER)  # back on the draft it showed

    # The server shortens the idle time; the phone learns it with the session and locks once left alone.
    app.config["VAULT_LOCK_AFTER_SECONDS"] = 2
    page.reload()
    phone.unlock_vault(page)
    expect(page.get_by_label("Họ và tên").first).to_have_value(OWNER)
    expect(page.locator("#view-locked")).to_be_visible(timeout=30_000)  # nobody touched the phone
    expect(page.locator("#unlock-status")).to_have_text("Ứng dụng đã tự khóa vì không dùng một lúc.")
    page_shows_nothing_personal(page)
    phone.unlock_vault(page)
    expect(page.get_by_label("Họ và tên").first).to_have_value(OWNER)  # back where the officer was


def test_the_sealed_outbox_is_sent_while_the_app_is_locked(officer_phone):
    """Sending needs nothing the vault holds: the lock screen stays, and the server gets the dossier and photos."""
    page = officer_phone
    phone.go_offline(page.context)
    receipt = phone.capture_dossier(page, "Trần Văn Hải", (321, 322), personal_id="001090044556")
    phone.go_home(page)
    photos = phone.phone_photos(page)  # sealed: opened with the server's key
    phone.stop_typing_pin(page)
    page.reload()
    expect(page.locator("body[data-vault='locked']")).to_have_count(1)

    phone.go_online(page.context)
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
    while len(phone.server_dossiers()) < 1:
        assert time.monotonic() < deadline, "the locked app sent nothing"
        page.wait_for_timeout(250)
    phone.wait_until_synced(page, 1)
    expect(page.locator("body[data-vault='locked']")).to_have_count(1)  # nobody unlocked it
    page_shows_nothing_personal(page)
    phone.assert_server_matches([receipt], photos)


def test_unlock_with_the_passkey_prf_offline(new_page):
    page = new_page()
    VirtualAuthenticator(page, hasPrf=True)
    phone.enrol_officer(page, phone.invite_officer())
    page.goto("/app")
    phone.wait_for_controller(page)
    phone.set_up_vault(page, method="passkey")
    phone.wait_for_offline_shell(page)
    phone.download_day(page)
    fill_draft(page)
    leave_draft(page)

    phone.go_offline(page.context)
    page.reload()
    expect(page.get_by_role("button", name="Mở khóa")).to_be_visible()
    expect(page.locator("#unlock-pin-form")).to_be_hidden()
    page_shows_nothing_personal(page)
    phone.unlock_vault(page)
    expect(page.locator("#dossier-list")).to_contain_text(OWNER)
    assert_nothing_personal_in_clear(page, phone.clear_photos(page))


def test_a_passkey_without_prf_falls_back_to_a_pin(new_page):
    page = new_page()
    VirtualAuthenticator(page)  # no PRF
    phone.enrol_officer(page, phone.invite_officer())
    page.goto("/app")
    expect(page.locator("body[data-vault='setup']")).to_have_count(1)
    page.get_by_role("button", name="Dùng khóa truy cập").click()
    expect(page.locator("#vault-setup-status")).to_contain_text("không hỗ trợ")
    expect(page.get_by_label("Mã PIN mới (ít nhất 6 chữ số)")).to_be_focused()
    walk = Walk()  # readable at 320 px and at 200 % text, nothing hidden that shows
    walk_here(page, "vault set-up, PRF refused", walk)
    page.get_by_label("Mã PIN mới (ít nhất 6 chữ số)").fill("12345")
    page.get_by_label("Nhập lại mã PIN").fill("12345")
    page.get_by_role("button", name="Đặt mã PIN").click()
    expect(page.locator("#vault-setup-status")).to_contain_text("ít nhất 6 chữ số")
    phone.set_up_vault(page, pin="135792")
    phone.download_day(page)
    fill_draft(page)

    phone.go_offline(page.context)
    page.reload()
    expect(page.locator("#unlock-passkey")).to_be_hidden()
    walk_here(page, "lock screen, PIN", walk)
    assert (walk.layout, walk.hidden) == ({}, {})
    phone.unlock_vault(page, pin="135792")
    expect(page.locator("#dossier-list")).to_contain_text(OWNER)


def test_wrong_pins_erase_the_locked_data_at_the_limit(officer_phone):
    """The default limit, 5 wrong PINs in a row (the server's VAULT_PIN_TRIES); offline all along."""
    page = officer_phone
    phone.go_offline(page.context)
    queued = phone.capture_dossier(page, "Vũ Thị Lan", (311,), personal_id="001189011223")
    phone.go_home(page)
    fill_draft(page, seeds=(312,))
    leave_draft(page)
    phone.stop_typing_pin(page)
    page.reload()

    pin = page.get_by_label("Mã PIN", exact=True)
    for left in (4, 3, 2, 1):
        pin.fill("000000")
        page.locator("#unlock-with-pin").click()
        expect(page.locator("#unlock-status")).to_have_text(
            f"Mã PIN không đúng. Còn {left} lần thử; sau đó hồ sơ nháp và hồ sơ bị trả lại trên điện thoại sẽ bị xóa.")
    pin.fill("999999")
    page.locator("#unlock-with-pin").click()
    expect(page.locator("body[data-vault='setup']")).to_have_count(1)
    expect(page.locator("#vault-setup-status")).to_contain_text("đã bị xóa")

    dossiers = phone.raw_records(page, "dossiers")
    assert [(d["client_uuid"], d["status"]) for d in dossiers] == [(queued["uuid"], "queued")]
    assert "locked" not in dossiers[0] and "local" not in dossiers[0]  # its form is gone; its sealed body goes on
    meta = [row["name"] for row in phone.raw_records(page, "meta")]
    assert "vault" not in meta
    photos = phone.raw_records(page, "photos")
    assert len(photos) == 1 and "sealed" in photos[0]  # the queued dossier's photo, still to upload, sealed

    phone.set_up_vault(page, pin="111111")  # a new vault, a new key
    phone.go_online(page.context)
    phone.sync_now(page)
    phone.wait_until_synced(page, 1)


def test_an_app_update_keeps_the_locked_records_readable(officer_phone, monkeypatch):
    page = officer_phone
    draft = fill_draft(page)
    leave_draft(page)
    before = phone.raw_records(page, "dossiers")

    monkeypatch.setattr(pwa_routes, "shell_version", lambda: "test-vault-update")
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    update = page.get_by_role("button", name="Cập nhật")
    expect(update).to_be_visible()
    with page.expect_navigation():
        update.click()
    expect(page.locator("body[data-ready='true']")).to_have_count(1)  # unlocked again with the PIN
    assert worker_version(page) == "test-vault-update"
    assert phone.raw_records(page, "dossiers") == before  # untouched by the update
    page.goto(f"/app#/capture/{draft}")
    expect(page.get_by_label("Họ và tên").first).to_have_value(OWNER)
