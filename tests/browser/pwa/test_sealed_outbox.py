"""Issue 12 point 1 in Chromium: a completed dossier waits on the phone sealed to the server's key.

The raw IndexedDB records (read through CDP, not through the app) hold no name, personal ID, phone, address or
photo byte in clear; Background Sync sends them with no page open; a rotation of the server's key does not strand
what was sealed to the older key; a retired key sends the dossier to the quarantine with the reason.
"""

from __future__ import annotations

import json
import time
from functools import wraps

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server.extensions import db
from server.sealing.envelope import open_envelope
from server.sealing.models import SealingKey
from server.storage import backend
from tests.browser.pwa import offline_support as app_
from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.browser.support import fresh

pytestmark = pytest.mark.browser

OWNER = "Nguyễn Thị Hồng Nhung"
PERSONAL_ID = app_.owner_id(301)
PHONE = "0912345678"  # what capture_dossier types
ADDRESS = "Số 5 ngõ 12 phố Lò Đúc, Hai Bà Trưng"

RECORDS_JS = """async () => {
    const { openOutbox } = await import("/pwa/lib/outbox-db.js");
    const { unlockDossier } = await import("/pwa/lib/locked-store.js");
    const db = await openOutbox();
    const stored = await new Promise((resolve) => {
        const request = db.transaction("dossiers").objectStore("dossiers").getAll();
        request.onsuccess = () => resolve(request.result);
    });
    db.close();
    // As the unlocked app reads them: a quarantined dossier's reason is locked with the vault's key.
    const rows = await Promise.all(stored.map(unlockDossier));
    return rows.map((row) => ({uuid: row.client_uuid, status: row.status, kid: row.sealed ? row.sealed.kid : null,
                               body: row.sealed ? row.sealed.body : null, problem: row.problem || null}));
}"""


def sealed_records(page) -> list[dict]:
    return page.evaluate(RECORDS_JS)


def run_cli(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def current_kid() -> str:
    fresh()
    return db.session.scalars(select(SealingKey.kid).where(SealingKey.retired_at.is_(None))
                              .order_by(SealingKey.created_at.desc())).first()


def wait_for_server_dossiers(count: int) -> None:
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
    while len(app_.server_dossiers()) < count:
        assert time.monotonic() < deadline, f"the server did not get {count} dossiers"
        time.sleep(0.25)


def test_the_outbox_holds_no_personal_data_nor_photo_byte_in_clear(officer_phone):
    page = officer_phone
    app_.go_offline(page.context)
    receipt = app_.capture_dossier(page, OWNER, (301, 302), personal_id=PERSONAL_ID)
    # The receipt at the door still shows the citizen (the page holds them in memory)...
    expect(page.locator("#receipt-applicant")).to_have_text(OWNER)
    app_.wait_until_queued(page, 1)
    photos = app_.phone_photos(page)  # opened with the server's key: the JPEGs the server will store
    assert len(photos) == 2 and all(data.startswith(b"\xff\xd8\xff") for data in photos.values())

    dossiers, stored_photos = app_.raw_records(page, "dossiers"), app_.raw_records(page, "photos")
    assert len(dossiers) == 1 and len(stored_photos) == 2
    text = json.dumps(app_.without_binary(dossiers + stored_photos), ensure_ascii=False)
    assert receipt["code"] in text  # the dump does see the records' contents
    forbidden = [OWNER, "Nguyễn", "Nhung", PERSONAL_ID, PHONE, PHONE[1:], "+84" + PHONE[1:], ADDRESS, "Lò Đúc"]
    for needle in forbidden:
        assert needle not in text, needle
    blobs = [bytes.fromhex(hexed) for hexed in app_.binary_values(dossiers + stored_photos)]
    for needle in forbidden:
        assert not any(needle.encode() in data for data in blobs), needle
    for jpeg in photos.values():
        # No JPEG in any stored binary, and no stretch of these photos' bytes either.
        for data in blobs:
            assert b"\xff\xd8\xff" not in data[:16]
            for start in range(0, len(jpeg) - 32, len(jpeg) // 16):
                assert jpeg[start:start + 32] not in data
    # ...and the receipt shown again from the outbox names no one.
    page.reload()
    expect(page.locator("#receipt-code")).to_have_text(receipt["code"])
    assert OWNER not in page.locator("#receipt").inner_text()

    app_.go_online(page.context)
    app_.sync_now(page)
    app_.wait_until_synced(page, 1)
    app_.assert_server_matches([receipt], photos)


def test_background_sync_sends_a_sealed_dossier_with_no_page_open(officer_phone):
    page = officer_phone
    context = page.context
    app_.go_offline(context)
    receipt = app_.capture_dossier(page, "Tạ Văn Bình", (311, 312), personal_id=app_.owner_id(311))
    app_.wait_until_queued(page, 1)
    [record] = sealed_records(page)
    assert record["kid"] == current_kid() and record["body"]
    photos = app_.phone_photos(page)
    page.close()  # no page, nothing unlocked: the worker has only the sealed envelopes and the session cookie

    app_.go_online(context)
    wait_for_server_dossiers(1)
    app_.assert_server_matches([receipt], photos)


def test_a_dossier_sealed_before_a_rotation_is_accepted_and_new_ones_use_the_new_key(app, officer_phone):
    page = officer_phone
    old_kid = current_kid()
    app_.go_offline(page.context)
    before = app_.capture_dossier(page, "Lê Văn Cường", (321, 322), personal_id=app_.owner_id(321))
    app_.go_home(page)
    app_.wait_until_queued(page, 1)
    photos = app_.phone_photos(page)
    run_cli(app, "sealing", "rotate")
    new_kid = current_kid()
    assert new_kid != old_kid

    app_.go_online(page.context)
    app_.sync_now(page)
    app_.wait_until_synced(page, 1)
    app_.assert_server_matches([before], photos)

    app_.download_day(page)  # the day's download brings the new key
    app_.go_offline(page.context)
    after = app_.capture_dossier(page, "Lê Thị Dung", (323, 324), personal_id=app_.owner_id(323))
    app_.go_home(page)
    queued = [r for r in sealed_records(page) if r["status"] != "synced"]
    assert [r["kid"] for r in queued] == [new_kid]
    photos.update(app_.phone_photos(page))
    app_.go_online(page.context)
    app_.sync_now(page)
    app_.wait_until_synced(page, 2)
    app_.assert_server_matches([before, after], photos)


def test_a_dossier_sealed_to_a_retired_key_waits_in_the_quarantine_with_the_reason(app, officer_phone):
    page = officer_phone
    old_kid = current_kid()
    app_.go_offline(page.context)
    app_.capture_dossier(page, "Phạm Văn Đức", (331, 332), personal_id=app_.owner_id(331))
    app_.go_home(page)
    app_.wait_until_queued(page, 1)
    run_cli(app, "sealing", "rotate")
    run_cli(app, "sealing", "retire", old_kid)

    app_.go_online(page.context)
    app_.sync_now(page)
    expect(page.locator("#quarantine")).to_be_visible()
    [record] = sealed_records(page)
    assert record["status"] == "quarantined" and record["problem"]["type"] == "sealing-key-retired"
    expect(page.locator("#quarantine-list")).to_contain_text(old_kid)
    # Not retried forever: another flush leaves it where it is, and the server never stored it.
    app_.sync_now(page)
    expect(page.locator("body[data-flushing]")).to_have_count(0)
    assert [r["status"] for r in sealed_records(page)] == ["quarantined"]
    assert app_.server_dossiers() == []


def test_the_server_opens_exactly_what_the_phone_sealed(officer_phone):
    """The browser's WebCrypto envelope and the server's `cryptography` agree: the body opens to the dossier."""
    page = officer_phone
    app_.go_offline(page.context)
    receipt = app_.capture_dossier(page, OWNER, (341,), personal_id=PERSONAL_ID)
    app_.wait_until_queued(page, 1)
    [record] = sealed_records(page)
    import base64

    envelope = base64.urlsafe_b64decode(record["body"] + "=" * (-len(record["body"]) % 4))
    fresh()
    body = json.loads(open_envelope(envelope, f"dossier:{record['uuid']}")[0])
    assert body["owner"]["full_name"] == OWNER and body["owner"]["personal_id"] == PERSONAL_ID
    assert body["code"] == receipt["code"]


def test_photos_missing_from_the_servers_store_are_uploaded_again_and_the_dossier_accepted(app, officer_phone):
    """Issue 13 point 1: a photo the server recorded but whose bytes are not in its store (uploaded through another
    app server whose folder this one cannot see) makes the server refuse the dossier with `photos_to_send`; the
    phone, which still holds the photos, uploads them again and the dossier is accepted, each photo in the store."""
    page = officer_phone
    uploads = []
    real_upload = app.view_functions["sync_api.put_attachment"]

    @wraps(real_upload)  # keeps its access rule and contract
    def upload_lost_on_another_host(sha256):
        answer = real_upload(sha256)
        uploads.append(sha256)
        if uploads.count(sha256) == 1:
            backend().delete(sha256)  # stored "on another host": this server's store does not hold it
        return answer

    app.view_functions["sync_api.put_attachment"] = upload_lost_on_another_host
    app_.go_offline(page.context)
    receipt = app_.capture_dossier(page, OWNER, (311, 312), personal_id=PERSONAL_ID)
    app_.wait_until_queued(page, 1)
    photos = app_.phone_photos(page)
    app_.go_online(page.context)
    app_.sync_now(page)
    app_.wait_until_synced(page, 1)
    assert sorted(uploads) == sorted(list(photos) * 2)  # each photo sent twice: once lost, once kept
    app_.assert_server_matches([receipt], photos)
