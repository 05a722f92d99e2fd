"""Driving the officer's offline app in Chromium, and reading what the server stored, for the capture tests."""

from __future__ import annotations

import hashlib
import io
import random
import time
from datetime import datetime
from datetime import timedelta

from PIL import Image
from PIL import ImageDraw
from playwright.sync_api import expect
from sqlalchemy import select

from server.auth import services
from server.auth.models import Role
from server.calendar.workdays import to_local
from server.dossiers.models import Attachment
from server.dossiers.models import Dossier
from server.dossiers.models import DossierDocument
from server.extensions import db
from server.reference.models import Procedure
from server.sealing.envelope import open_envelope
from server.storage import backend
from server.types import utcnow
from tests.browser.support import SLOW_MACHINE_TIMEOUT_S
from tests.browser.support import VirtualAuthenticator
from tests.browser.support import fresh
from tests.helpers import demo_agency
from tests.helpers import demo_user

PROCEDURE_QUERY = "tro cap huu tri"  # typed without diacritics on purpose
PROCEDURE_NAME = "Thực hiện, điều chỉnh, thôi hưởng trợ cấp hưu trí xã hội"  # key tro-cap-huu-tri-xa-hoi
OWNER_ID = "001089012345"


def owner_id(seed: int) -> str:
    """A personal ID of its own for each owner captured in one test: one ID typed with two different names is a
    PERSON_MISMATCH flag on the second dossier (server/dossiers/sync.py)."""
    return f"0010890{seed:05d}"


def invite_officer(name: str = "Cán bộ thử nghiệm") -> str:
    _, token = services.create_invitation(Role.OFFICER, demo_agency(), name, demo_user(Role.ADMIN))
    db.session.commit()
    return token


def enrol_officer(page, token: str) -> None:
    """Redeem an invitation on this page (its virtual authenticator creates the passkey): the phone is registered."""
    page.goto(f"/invite/{token}")
    expect(page.locator("#link-details")).to_be_visible()
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(lambda url: "/invite/" not in url)


def text_page(seed: int, size=(1800, 1300)) -> Image.Image:
    """A page of random 'text' lines unlike any other seed's, photographed in good light; the lines scale with the
    page's width (1800 px: lines 14 px high, 38 px apart)."""
    rng = random.Random(seed)
    unit = size[0] / 1800
    image = Image.new("RGB", size, (245, 243, 236))
    draw = ImageDraw.Draw(image)
    for row in range(round(60 * unit), size[1] - round(60 * unit), round(38 * unit)):
        x = round(80 * unit)
        while x < size[0] - 160 * unit:
            width = round(rng.randint(30, 140) * unit)
            draw.rectangle([x, row, x + width, row + round(14 * unit)], fill=(rng.randint(0, 60),) * 3)
            x += width + round(rng.randint(12, 30) * unit)
    return image


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photo_bytes(seed: int, size=(1800, 1300)) -> bytes:
    """A JPEG of text_page(seed) (the phone re-encodes it)."""
    return jpeg_bytes(text_page(seed, size))


def _cut_worker(route) -> None:
    if route.request.service_worker is not None:
        route.abort("internetdisconnected")
    else:
        route.fallback()


def go_offline(context) -> None:
    """Cut the network of the pages and of the service worker.

    ``set_offline`` alone does not reach a service worker that Chromium starts while the context is offline (one
    woken for Background Sync, say): its requests went through in our runs. Aborting the worker's requests too
    makes the cut real for everyone.
    """
    context.set_offline(True)
    context.route("**/*", _cut_worker)


def go_online(context) -> None:
    context.unroute("**/*", _cut_worker)
    context.set_offline(False)


# --- the vault (issue 12 point 2) ------------------------------------------------------------------------------

#: The app PIN the test officers choose (the vault needs 6 digits or more).
TEST_PIN = "246810"


def set_up_vault(page, method: str = "pin", pin: str = TEST_PIN) -> None:
    """On the vault's set-up screen (first use of /app on this phone): protect the data with the passkey's PRF
    (``method="passkey"``) or with ``pin``; returns once the app is open."""
    expect(page.locator("body[data-vault='setup']")).to_have_count(1)
    if method == "passkey":  # by ids: the handler also runs on English pages
        page.locator("#vault-use-passkey").click()
    else:
        page.locator("#vault-new-pin").fill(pin)
        page.locator("#vault-new-pin-again").fill(pin)
        page.locator("#vault-set-pin").click()
    expect(page.locator("body[data-vault='open'][data-ready='true']")).to_have_count(1)


def unlock_vault(page, pin: str = TEST_PIN) -> None:
    """On the lock screen: unlock with the PIN or the passkey, whichever this phone's vault uses."""
    expect(page.locator("body[data-vault='locked']")).to_have_count(1)
    if page.locator("#unlock-pin-form").is_visible():
        page.locator("#unlock-pin").fill(pin)  # by id: the handler also runs on English pages
        page.locator("#unlock-with-pin").click()
    else:
        page.locator("#unlock-passkey").click()
    expect(page.locator("body[data-vault='open'][data-ready='true']")).to_have_count(1)


def _set_up_with_test_pin(page) -> None:
    set_up_vault(page)


def type_pin_when_asked(page) -> None:
    """The officer of most tests: whenever the app asks (first use, a reload, a relaunch, the idle lock), they set
    up or unlock the vault with TEST_PIN. Playwright runs these handlers before each action and assertion that
    meets the vault's screen, so tests written before the vault run with it on, unchanged."""
    if getattr(page, "_types_test_pin", False):
        return
    page._types_test_pin = True
    page.add_locator_handler(page.locator("#view-vault-setup"), lambda: _set_up_with_test_pin(page))
    page.add_locator_handler(page.locator("#view-locked"), lambda: unlock_vault(page))


def stop_typing_pin(page) -> None:
    """Undo type_pin_when_asked (a test that drives the vault's screens itself)."""
    page.remove_locator_handler(page.locator("#view-vault-setup"))
    page.remove_locator_handler(page.locator("#view-locked"))
    page._types_test_pin = False


def set_up_officer(page) -> None:
    """Give the page a passkey authenticator, enrol a new officer on it, open the app (setting up the vault with
    TEST_PIN, then typing it whenever asked) and download the day."""
    VirtualAuthenticator(page)
    type_pin_when_asked(page)
    enrol_officer(page, invite_officer())
    open_app(page)
    wait_for_controller(page)
    wait_for_offline_shell(page)
    download_day(page)


def capture_several(page, owners: list[str], first_seed: int) -> list[dict]:
    """Capture one dossier per owner, two photos each; returns their receipts."""
    receipts = []
    for index, owner in enumerate(owners):
        seeds = (first_seed + 2 * index, first_seed + 2 * index + 1)
        receipts.append(capture_dossier(page, owner, seeds, personal_id=owner_id(seeds[0])))
        go_home(page)
    return receipts


def open_app(page) -> None:
    """Open /app and wait until it is ready; the officer sets up or unlocks the vault with TEST_PIN when asked
    (type_pin_when_asked)."""
    type_pin_when_asked(page)
    page.goto("/app")
    expect(page.locator("body[data-ready='true']")).to_have_count(1)


def wait_for_controller(page) -> None:
    from tests.browser.pwa.conftest import wait_for_controller as wait

    wait(page)


def wait_for_offline_shell(page) -> None:
    from tests.browser.pwa.conftest import wait_for_offline_shell as wait

    wait(page)


def download_day(page) -> None:
    page.get_by_role("button", name="Tải dữ liệu trong ngày").click()
    expect(page.locator("#day-status")).to_contain_text("Đã tải xong")


def start_capture(page, owner: str, query: str = PROCEDURE_QUERY, procedure: str = PROCEDURE_NAME) -> None:
    """Open a new dossier, find the procedure by typing ``query`` and pick ``procedure``, name the owner."""
    page.get_by_role("button", name="Nhập hồ sơ mới").click()
    expect(page.locator("#view-capture")).to_be_visible()
    page.get_by_role("textbox", name="Tìm thủ tục").fill(query)
    page.locator("#procedure-results label", has_text=procedure).first.click()
    page.get_by_label("Họ và tên").first.fill(owner)


def capture_dossier(page, owner: str, seeds: tuple[int, ...], personal_id: str | None = OWNER_ID,
                    competent_ward: str | None = None) -> dict:
    """Capture one dossier through the form and return what the receipt shows: {uuid, code, due, provisional}.
    ``competent_ward``: the name of the ward it is for, chosen in "Hồ sơ thuộc thẩm quyền của" (else the own)."""
    start_capture(page, owner)
    if competent_ward:
        page.get_by_label("Hồ sơ thuộc thẩm quyền của").select_option(label=competent_ward)
    if personal_id:
        page.get_by_label("Số định danh cá nhân").first.fill(personal_id)
    page.get_by_label("Số điện thoại").first.fill("0912345678")
    page.get_by_label("Địa chỉ").first.fill("Số 5 ngõ 12 phố Lò Đúc, Hai Bà Trưng")
    cameras = page.locator("#documents input[type=file]")
    for index, seed in enumerate(seeds):
        camera = cameras.nth(index % cameras.count())
        camera.set_input_files({"name": f"photo-{seed}.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes(seed)})
        expect(page.locator("#documents .photo-list li")).to_have_count(index + 1)
    for box in page.locator("#documents input[name$='.ticked']").all():
        box.check()
    finish_capture(page)
    uuid = page.evaluate("location.hash.split('/')[2]")
    return {
        "uuid": uuid,
        "code": page.locator("#receipt-code").inner_text().strip(),
        "due": page.locator("#receipt-due").get_attribute("data-iso"),
        "provisional": page.locator("#receipt-provisional").count() > 0,
    }


# Issue 11.7: the form's button opens the review ("check your answers"); only its confirmation issues the code.
def review_capture(page) -> None:
    """Press the form's button: the review opens, or the form shows what is missing."""
    page.get_by_role("button", name="Kiểm tra lại hồ sơ").click()


def finish_capture(page) -> None:
    """From a filled form: open the review, confirm, and wait for the receipt."""
    review_capture(page)
    expect(page.locator("#view-review")).to_be_visible()
    page.get_by_role("button", name="Hoàn tất và cấp giấy hẹn").click()
    expect(page.locator("#view-receipt")).to_be_visible()


def go_home(page) -> None:
    page.get_by_role("button", name="Về màn hình chính").click()
    expect(page.locator("#view-home")).to_be_visible()


OUTBOX_JS = """async () => {
    const { openOutbox } = await import("/pwa/lib/outbox-db.js");
    const db = await openOutbox();
    const read = (store) => new Promise((resolve, reject) => {
        const request = db.transaction(store).objectStore(store).getAll();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
    });
    // Read as the app reads them while unlocked (lib/locked-store.js); what the key locks stays hidden otherwise.
    // The page's own copy (it loads /pwa/v/<version>/...): another copy would hold another, locked vault.
    const pageModules = document.querySelector("script[src$='/app/register-sw.js']").src;
    const { unlockDossier } = await import(new URL("../lib/locked-store.js", pageModules));
    const readable = (record) => unlockDossier(record).catch(() => record);
    const dossiers = await Promise.all((await read("dossiers")).map(readable));
    const photos = await read("photos");
    db.close();
    return {
        dossiers: dossiers.map((d) => ({uuid: d.client_uuid, status: d.status, payload: d.payload || null,
                                        problem: d.problem || null, receipt: d.receipt || null,
                                        has_form: Boolean(d.form)})),
        photos: photos.map((p) => ({sha256: p.sha256, size: p.size, uploaded: Boolean(p.uploaded)})),
    };
}"""

PHOTO_BYTES_JS = """async (sha) => {
    const { openOutbox, get } = await import("/pwa/lib/outbox-db.js");
    const db = await openOutbox();
    // The page's own copy (it loads /pwa/v/<version>/...): another copy would hold another, locked vault.
    const pageModules = document.querySelector("script[src$='/app/register-sw.js']").src;
    const { getPhoto } = await import(new URL("../lib/locked-store.js", pageModules));
    const stored = await get(db, "photos", sha);
    const photo = stored.sealed || stored.blob ? stored : await getPhoto(db, sha);  // the outbox's, or the locked one
    db.close();
    return {sealed: Boolean(photo.sealed),
            bytes: Array.from(new Uint8Array(await (photo.sealed || photo.blob).arrayBuffer()))};
}"""


def outbox(page) -> dict:
    return page.evaluate(OUTBOX_JS)


def statuses(page) -> list[str]:
    return sorted(d["status"] for d in outbox(page)["dossiers"])


def wait_until_queued(page, count: int) -> None:
    """Until the phone holds ``count`` dossiers, all waiting to be sent. An app opened offline still tries to send
    (and fails): on a slow machine a dossier may be read as "sending" mid-try, so wait for the try to end."""
    deadline = time.monotonic() + SLOW_MACHINE_TIMEOUT_S
    while statuses(page) != ["queued"] * count:
        assert time.monotonic() < deadline, f"not {count} queued dossiers: {statuses(page)}"
        page.wait_for_timeout(200)


def sync_now(page) -> None:
    page.get_by_role("button", name="Đồng bộ ngay").click()


def wait_until_synced(page, count: int, timeout_s: float = SLOW_MACHINE_TIMEOUT_S) -> None:
    """Until the phone holds exactly ``count`` confirmed dossiers (polled: IndexedDB answers asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        synced = [d for d in outbox(page)["dossiers"] if d["status"] == "synced"]
        if len(synced) == count:
            return
        assert time.monotonic() < deadline, f"{len(synced)} of {count} dossiers confirmed: {statuses(page)}"
        page.wait_for_timeout(200)


def server_dossiers() -> list[Dossier]:
    fresh()
    return list(db.session.scalars(select(Dossier).order_by(Dossier.id)))


def server_attachments() -> dict[str, bytes]:
    """Every stored photo's bytes by hash, checking that the bytes match the hash they are stored under.

    The statutory forms the server issues itself (the receipt slip's PDF, server/forms/) are left out: they are
    attachments too, but no phone sent them."""
    fresh()
    found = {}
    # (sha256 not null: a form still waiting for its PDF has none, and NOT IN a list holding a NULL is never true)
    issued = select(DossierDocument.sha256).where(DossierDocument.form_key.is_not(None),
                                                  DossierDocument.sha256.is_not(None))
    for attachment in db.session.scalars(select(Attachment).where(Attachment.sha256.not_in(issued))):
        data = backend().read(attachment.sha256)
        assert hashlib.sha256(data).hexdigest() == attachment.sha256
        found[attachment.sha256] = data
    return found


def withdraw_today(key: str) -> None:
    """Make a procedure not in force today on the server (as if a new decision replaced it from tomorrow)."""
    fresh()
    procedure = db.session.scalar(select(Procedure).where(Procedure.key == key))
    tomorrow = to_local(utcnow()).date() + timedelta(days=1)
    for version in procedure.versions:
        version.effective_from, version.effective_to = tomorrow, None
    db.session.commit()


def assert_server_matches(receipts: list[dict], photos: dict[str, bytes]) -> None:
    """Exactly these dossiers (code and due date as on the receipts) and exactly these photos, byte for byte."""
    stored = server_dossiers()
    assert sorted(str(d.client_uuid) for d in stored) == sorted(r["uuid"] for r in receipts)
    by_uuid = {str(d.client_uuid): d for d in stored}
    for receipt in receipts:
        dossier = by_uuid[receipt["uuid"]]
        assert dossier.code == receipt["code"]
        assert to_local(dossier.due_at) == datetime.fromisoformat(receipt["due"])
        assert [f.kind.value for f in dossier.flags] == []
    assert server_attachments() == photos


def phone_photos(page) -> dict[str, bytes]:
    """The photos waiting on the phone, by hash. The phone keeps a completed dossier's photos sealed to the server:
    the test opens them with the server's key, as the server will, to compare them byte for byte."""
    photos = {}
    fresh()
    for row in outbox(page)["photos"]:
        held = page.evaluate(PHOTO_BYTES_JS, row["sha256"])
        data = bytes(held["bytes"])
        photos[row["sha256"]] = open_envelope(data, f"photo:{row['sha256']}")[0] if held["sealed"] else data
    return photos


# --- what IndexedDB really holds (issue 12 point 3) --------------------------------------------------------------

#: Run on a record read through CDP: the record with every Blob and binary value as {"blob"|"bytes": hex}.
_SERIALIZE_RECORD_JS = """async function () {
    const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const walk = async (value) => {
        if (value instanceof Blob) return {blob: hex(new Uint8Array(await value.arrayBuffer()))};
        if (value instanceof ArrayBuffer) return {bytes: hex(new Uint8Array(value))};
        if (ArrayBuffer.isView(value)) {
            return {bytes: hex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))};
        }
        if (Array.isArray(value)) return Promise.all(value.map(walk));
        if (value && typeof value === "object") {
            const out = {};
            for (const [key, item] of Object.entries(value)) out[key] = await walk(item);
            return out;
        }
        return value;
    };
    return walk(this);
}"""


def raw_records(page, store: str, database: str = "motcua-outbox") -> list[dict]:
    """Every record of an object store as IndexedDB holds it, read by the browser's DevTools protocol
    (``IndexedDB.requestData``), not by the app's code: what a thief copying the phone's profile would get."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("IndexedDB.enable")
        origin = page.evaluate("location.origin")
        entries = cdp.send("IndexedDB.requestData", {
            "securityOrigin": origin, "databaseName": database, "objectStoreName": store,
            "skipCount": 0, "pageSize": 1000,
        })["objectStoreDataEntries"]
        records = []
        for entry in entries:
            answer = cdp.send("Runtime.callFunctionOn", {
                "objectId": entry["value"]["objectId"], "functionDeclaration": _SERIALIZE_RECORD_JS,
                "awaitPromise": True, "returnByValue": True,
            })
            records.append(answer["result"]["value"])
        return records
    finally:
        cdp.detach()


def binary_values(value) -> list[str]:
    """The hex of every binary value (Blob, ArrayBuffer, typed array) inside a raw_records record."""
    if isinstance(value, dict):
        if set(value) in ({"blob"}, {"bytes"}):
            return [next(iter(value.values()))]
        return [hexed for item in value.values() for hexed in binary_values(item)]
    if isinstance(value, list):
        return [hexed for item in value for hexed in binary_values(item)]
    return []


def without_binary(value):
    """A raw_records record with each binary value replaced by its length (to search its text)."""
    if isinstance(value, dict):
        if set(value) in ({"blob"}, {"bytes"}):
            return f"<{len(next(iter(value.values()))) // 2} bytes>"
        return {key: without_binary(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_binary(item) for item in value]
    return value


CLEAR_PHOTOS_JS = """async () => {
    // The page's own copy (it loads /pwa/v/<version>/...): another copy would hold another, locked vault.
    const pageModules = document.querySelector("script[src$='/app/register-sw.js']").src;
    const { getPhoto } = await import(new URL("../lib/locked-store.js", pageModules));
    const { openOutbox, allForUser } = await import("/pwa/lib/outbox-db.js");
    const db = await openOutbox();
    const officer = JSON.parse(localStorage.getItem("motcua.officer"));
    const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const out = [];
    for (const row of await allForUser(db, "photos", officer.id)) {
        const photo = await getPhoto(db, row.sha256);
        out.push({sha256: row.sha256,
                  blob: photo.blob ? hex(new Uint8Array(await photo.blob.arrayBuffer())) : "",
                  thumbnail: photo.thumbnail ? hex(new Uint8Array(await photo.thumbnail.arrayBuffer())) : "",
                  sealed: row.sealed ? hex(new Uint8Array(await row.sealed.arrayBuffer())) : ""});
    }
    db.close();
    return out;
}"""


def clear_photos(page) -> list[dict]:
    """The phone's photos in clear ({sha256, blob, thumbnail} in hex): a locked photo as the unlocked app reads it,
    one sealed for the server (and no longer locked) opened with the server's key, as the server will."""
    photos = page.evaluate(CLEAR_PHOTOS_JS)
    fresh()
    for photo in photos:
        sealed = photo.pop("sealed")
        if sealed and not photo["blob"]:
            photo["blob"] = open_envelope(bytes.fromhex(sealed), f"photo:{photo['sha256']}")[0].hex()
    return photos
