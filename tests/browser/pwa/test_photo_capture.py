"""Photos the officer can trust (issue 11.5) and the review before the code is issued (issue 11.7), in Chromium.

A file that is not a photo is refused by its document, visibly; every photo shows as a thumbnail; a blurred or a
dark photo is flagged to be taken again; and the heavy work of preparing a photo runs in a worker.
"""

from __future__ import annotations

import base64
import re

import pytest
from PIL import Image
from PIL import ImageFilter
from playwright.sync_api import expect

from tests.browser.pwa import offline_support as app

pytestmark = pytest.mark.browser

BLOB_URL = re.compile(r"^blob:")

#: Not a photo: the first bytes of a PDF, as a scanner app would save a page.
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def page_of_text(size=(3000, 2250), seed=7) -> Image.Image:
    """A printed page photographed in good light, at the size of a camera photo."""
    return app.text_page(seed, size)


def jpeg(image: Image.Image) -> bytes:
    return app.jpeg_bytes(image)


def sharp_photo() -> bytes:
    return jpeg(page_of_text())


def blurred_photo() -> bytes:
    """The same page, shaken: a Gaussian blur of 8 px at 3000 px (about 4 px once resized to 1600)."""
    return jpeg(page_of_text().filter(ImageFilter.GaussianBlur(8)))


def dark_photo() -> bytes:
    """The page in a dark room with no flash: every level scaled down to about a tenth, plus sensor noise."""
    dim = page_of_text().point(lambda level: level // 10)
    noise = Image.effect_noise(dim.size, 6).convert("RGB")
    return jpeg(Image.blend(dim, noise, 0.1))


def as_file(name: str, data: bytes, mime: str = "image/jpeg") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def photo_rows(page) -> list[dict]:
    return page.evaluate("""async () => {
        const { openOutbox } = await import("/pwa/lib/outbox-db.js");
        const db = await openOutbox();
        const rows = await new Promise((resolve, reject) => {
            const request = db.transaction("photos").objectStore("photos").getAll();
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
        });
        // As the unlocked app reads them (the thumbnail and the checks rest encrypted: lib/locked-store.js).
        // The page's own copy (it loads /pwa/v/<version>/...): another copy would hold another, locked vault.
        const pageModules = document.querySelector("script[src$='/app/register-sw.js']").src;
        const { getPhoto } = await import(new URL("../lib/locked-store.js", pageModules));
        const read = await Promise.all(rows.map((row) => getPhoto(db, row.sha256)));
        db.close();
        return read.map((row) => ({sha256: row.sha256, quality: row.quality || null,
                                   thumbnail: row.thumbnail ? row.thumbnail.size : 0, size: row.size}));
    }""")


#: How the page's own copy of lib/images.js prepared its photos (its counters; another URL is another copy).
PREPARED_BY_JS = """async () => {
    const pageModules = document.querySelector("script[src$='/app/register-sw.js']").src;
    return {...(await import(new URL("../lib/images.js", pageModules))).preparedBy};
}"""


def dossier_rows(page) -> list[dict]:
    """The phone's dossiers as stored: status, the form's documents, whether a code was issued."""
    return page.evaluate("""async () => {
        const { openOutbox } = await import("/pwa/lib/outbox-db.js");
        const db = await openOutbox();
        const rows = await new Promise((resolve) => {
            const request = db.transaction("dossiers").objectStore("dossiers").getAll();
            request.onsuccess = () => resolve(request.result);
        });
        // The page's own copy (it loads /pwa/v/<version>/...): another copy would hold another, locked vault.
        const pageModules = document.querySelector("script[src$='/app/register-sw.js']").src;
        const { unlockDossier } = await import(new URL("../lib/locked-store.js", pageModules));
        const read = await Promise.all(rows.map(unlockDossier));
        db.close();
        return read.map((row) => ({status: row.status, documents: row.form.documents, issued: Boolean(row.issued)}));
    }""")


def draft_documents(page) -> dict:
    [draft] = [d for d in dossier_rows(page) if d["status"] == "draft"]
    return draft["documents"]


def first_document(page, owner: str):
    """Offline, a new dossier for `owner`: its first document and that document's camera input."""
    app.go_offline(page.context)
    app.start_capture(page, owner)
    document = page.locator("#documents .document").first
    return document, document.locator("input[type=file]")


def test_a_pdf_or_an_unreadable_file_chosen_as_a_photo_is_refused_by_its_document(officer_phone):
    page = officer_phone
    document, camera = first_document(page, "Trương Thị Mai")
    box = document.locator("input[name$='.ticked']")

    camera.set_input_files(as_file("so-ho-khau.pdf", PDF, "application/pdf"))
    refused = document.locator(".photo-refused")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("“so-ho-khau.pdf” không phải là ảnh")
    expect(box).not_to_be_checked()
    expect(page.locator("#draft-saved")).to_contain_text("không phải là ảnh")
    expect(page.locator("#draft-saved")).not_to_have_text("Đã lưu.")
    expect(document.locator(".photo-list li")).to_have_count(0)
    assert photo_rows(page) == []
    assert not any(state.get("ticked") for state in draft_documents(page).values())

    # A file that claims to be a JPEG but is not one: refused the same way, in its own words.
    camera.set_input_files(as_file("anh.jpg", b"\xff\xd8\xff\xe0 not really a jpeg"))
    expect(refused).to_contain_text("Không đọc được ảnh “anh.jpg”")
    expect(refused).not_to_contain_text("so-ho-khau.pdf")
    expect(box).not_to_be_checked()
    assert photo_rows(page) == []

    # A real photo is kept: the message goes, the box is ticked, the photo shows.
    camera.set_input_files(as_file("trang-1.jpg", app.photo_bytes(5)))
    expect(document.locator(".photo-list li")).to_have_count(1)
    expect(refused).to_be_hidden()
    expect(box).to_be_checked()
    expect(page.locator("#draft-saved")).to_have_text("Đã lưu.")
    assert len(photo_rows(page)) == 1


def test_a_photo_taken_while_the_list_is_drawn_again_is_not_lost(officer_phone):
    """The officer opens the camera again while the first photo is still being prepared; when it is ready, the list
    of photos is drawn again and the camera's input replaced. The second photo arrives on the input that was open,
    no longer in the page: it must be kept all the same."""
    page = officer_phone
    document, camera = first_document(page, "Lò Văn Pằng")
    opened = camera.element_handle()  # the camera opened before the list is drawn again
    camera.set_input_files(as_file("trang-1.jpg", app.photo_bytes(61)))
    expect(document.locator(".photo-list li")).to_have_count(1)
    assert not opened.evaluate("(input) => input.isConnected")  # drawn again: the open camera's input is gone
    opened.set_input_files(as_file("trang-2.jpg", app.photo_bytes(62)))
    expect(page.locator("#documents .document").first.locator(".photo-list li")).to_have_count(2)
    assert len(photo_rows(page)) == 2


def test_photos_show_as_thumbnails_and_a_blurred_or_dark_one_is_to_be_taken_again(officer_phone):
    page = officer_phone
    document, camera = first_document(page, "Phùng Văn Nam")
    shots = [("sharp.jpg", sharp_photo()), ("blurred.jpg", blurred_photo()), ("dark.jpg", dark_photo())]
    for count, (name, data) in enumerate(shots, start=1):
        camera.set_input_files(as_file(name, data))
        expect(document.locator(".photo-list li")).to_have_count(count)
    items = document.locator(".photo-list li")
    for index in range(3):
        thumbnail = items.nth(index).locator("img.photo-thumbnail")
        expect(thumbnail).to_have_attribute("src", BLOB_URL)
        expect(thumbnail).to_have_attribute("alt", re.compile(rf"^Ảnh {index + 1} của \S"))
        # Decoded and drawn small: the thumbnail is a picture, not a broken image.
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
        assert thumbnail.evaluate("(img) => img.naturalWidth") <= 320
        assert thumbnail.bounding_box()["width"] <= 200
    sharp, blurred, dark = (items.nth(i).locator(".photo-warning") for i in range(3))
    expect(blurred).to_be_visible()
    expect(blurred).to_contain_text("Ảnh bị mờ")
    expect(dark).to_be_visible()
    expect(dark).to_contain_text("Ảnh quá tối")
    expect(sharp).to_be_hidden()
    expect(blurred).not_to_contain_text("quá tối")
    expect(dark).not_to_contain_text("bị mờ")
    rows = {row["sha256"]: row for row in photo_rows(page)}
    order = [items.nth(i).get_attribute("data-sha") for i in range(3)]
    for (name, _), sha in zip(shots, order, strict=True):
        quality = rows[sha]["quality"]
        print(f"\n{name}: sharpness {quality['sharpness']}, mean luminance {quality['meanLuminance']}, "
              f"near-black {quality['darkShare']:.0%}; photo {rows[sha]['size']} B, "
              f"thumbnail {rows[sha]['thumbnail']} B")
        assert 0 < rows[sha]["thumbnail"] < min(25_000, rows[sha]["size"] / 2)  # small, for the screen only
    # The capture form prepared them in the photo worker, not on the page's thread.
    assert page.evaluate(PREPARED_BY_JS) == {"worker": 3, "mainThread": 0}
    # The pages every other capture test photographs are judged good too.
    camera = page.locator("#documents .document").nth(1).locator("input[type=file]")
    camera.set_input_files(as_file("page.jpg", app.photo_bytes(9)))
    later = page.locator("#documents .document").nth(1).locator(".photo-list li")
    expect(later).to_have_count(1)
    expect(later.locator("img")).to_have_attribute("src", BLOB_URL)
    expect(later.locator(".photo-warning")).to_be_hidden()


PREPARE_BOTH_JS = """async () => {
    const images = await import("/pwa/lib/images.js");
    const file = document.getElementById("photo").files[0];
    const before = {...images.preparedBy};
    const inWorker = await images.preparePhotoOffMainThread(file);
    const afterWorker = {...images.preparedBy};
    const here = await images.preparePhoto(file);
    const bytes = async (blob) => Array.from(new Uint8Array(await blob.arrayBuffer()));
    return {before, afterWorker, worker: {sha256: inWorker.sha256, size: inWorker.size, width: inWorker.width,
                                          height: inWorker.height, quality: inWorker.quality},
            main: {sha256: here.sha256, size: here.size, width: here.width, height: here.height},
            workerBytes: (await bytes(inWorker.blob)).length};
}"""


def camera_photo_12mp() -> bytes:
    """A 4000×3000 page of text, as a 12-megapixel phone camera writes it."""
    return jpeg(page_of_text((4000, 3000), seed=12))


def test_a_12_mp_photo_is_prepared_in_the_worker_with_no_more_bytes_than_on_the_main_thread(shell_page):
    page = shell_page
    page.evaluate("""() => document.body.append(Object.assign(document.createElement("input"),
                                                            {type: "file", id: "photo", accept: "image/*"}))""")
    original = camera_photo_12mp()
    page.set_input_files("#photo", files=[as_file("page.jpg", original)])
    result = page.evaluate(PREPARE_BOTH_JS)
    print(f"\n12 MP photo {len(original)} B: worker {result['worker']['size']} B, main thread "
          f"{result['main']['size']} B")
    assert result["afterWorker"]["worker"] == result["before"]["worker"] + 1
    assert result["afterWorker"]["mainThread"] == result["before"]["mainThread"]  # the page did not encode it
    assert (result["worker"]["width"], result["worker"]["height"]) == (1600, 1200)
    assert result["worker"]["size"] == result["workerBytes"] <= result["main"]["size"]
    assert result["worker"]["quality"]["blurred"] is False and result["worker"]["quality"]["dark"] is False


def test_a_refused_file_is_refused_by_the_worker_without_falling_back(shell_page):
    """A PDF is refused in the worker itself: the page does not try it a second time on the main thread."""
    page = shell_page
    outcome = page.evaluate("""async (pdf) => {
        const images = await import("/pwa/lib/images.js");
        const file = new File([Uint8Array.from(atob(pdf), (c) => c.charCodeAt(0))], "a.pdf",
                              {type: "application/pdf"});
        const before = {...images.preparedBy};
        try { await images.preparePhotoOffMainThread(file); return "kept"; }
        catch (error) { return [error.name, error.reason, images.preparedBy.mainThread - before.mainThread]; }
    }""", base64.b64encode(PDF).decode())
    assert outcome == ["PhotoRefused", "not_an_image", 0]


def test_the_review_shows_the_whole_dossier_and_issues_the_code_only_when_confirmed(officer_phone):
    """Issue 11.7: after the form, one view shows the whole dossier with a "Sửa" link back to each part."""
    page = officer_phone
    app.go_offline(page.context)
    app.start_capture(page, "Bùi Thị Ngọc")
    page.get_by_label("Số định danh cá nhân").first.fill(app.owner_id(77))
    page.get_by_label("Số điện thoại").first.fill("0912345678")
    page.get_by_label("Địa chỉ").first.fill("Số 7 phố Huế, Hai Bà Trưng")
    page.locator("#documents input[type=file]").first.set_input_files(as_file("p.jpg", app.photo_bytes(77)))
    expect(page.locator("#documents .photo-list li")).to_have_count(1)
    for box in page.locator("#documents input[name$='.ticked']").all():
        box.check()

    app.review_capture(page)
    review = page.locator("#view-review")
    expect(review).to_be_visible()
    expect(page.locator("#view-capture")).to_be_hidden()
    for text in (app.PROCEDURE_NAME, "Bùi Thị Ngọc", app.owner_id(77), "0912345678", "Số 7 phố Huế, Hai Bà Trưng",
                 "Chính là chủ hồ sơ", "Tại nhà", "1 ảnh"):
        expect(review).to_contain_text(text)
    expect(review.locator("img.photo-thumbnail")).to_have_count(1)
    expect(review.locator("img.photo-thumbnail")).to_have_attribute("src", BLOB_URL)
    edits = review.get_by_role("link", name="Sửa")
    expect(edits).to_have_count(5)
    assert app.statuses(page) == ["draft"]  # nothing issued yet
    assert [row["issued"] for row in dossier_rows(page)] == [False]
    page.reload()  # offline: the review comes back from the phone's own data
    expect(page.locator("body[data-ready='true']")).to_have_count(1)
    expect(review).to_be_visible()
    expect(review).to_contain_text("Bùi Thị Ngọc")

    # "Sửa" on the owner goes back to that part of the form, focused.
    review.get_by_role("link", name="Sửa Chủ hồ sơ").click()
    expect(page.locator("#view-capture")).to_be_visible()
    expect(page.locator("#capture-form [data-step='owner']")).to_be_focused()
    page.get_by_label("Họ và tên").first.fill("Bùi Thị Ngọc Anh")
    app.review_capture(page)
    expect(review).to_contain_text("Bùi Thị Ngọc Anh")

    page.get_by_role("button", name="Hoàn tất và cấp giấy hẹn").click()
    expect(page.locator("#view-receipt")).to_be_visible()
    expect(page.locator("#receipt")).to_contain_text("Bùi Thị Ngọc Anh")
    expect(page.locator("#receipt-code")).not_to_be_empty()
    assert app.statuses(page) == ["queued"]
