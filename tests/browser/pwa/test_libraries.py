"""The shared pure modules in Chromium: diacritics-insensitive search, photo preparation, the outbox schema."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import unicodedata

import pytest
from PIL import Image
from PIL import ImageDraw

from server import ROOT
from server.dossiers import search_text
from tests import parity_cases

pytestmark = pytest.mark.browser

EXIF_ORIENTATION = 0x0112
EXIF_MAKE = 0x010F
EXIF_GPS_IFD = 0x8825


def _fold(text: str) -> str:
    """The Python oracle for search.js's folding: no marks, "đ" as "d", lower case."""
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))
    return " ".join(plain.replace("đ", "d").replace("Đ", "D").lower().split())


# --- search.js ---


SEARCH_JS = """async ({items, code}) => {
    const { fold, matches, search } = await import("/pwa/lib/search.js");
    const names = (query) => search(items, query, ["name_vi", "national_code"]).map((item) => item.name_vi);
    return {
        troCap: names("tro cap"),
        exact: names("tro cap xa hoi hang thang"),
        accented: names("TRỢ CẤP"),
        dangKy: names("dang ky"),
        none: names("giay phep lai xe"),
        byCode: names(code),
        matches: matches("tro cap", "Trợ cấp xã hội hàng tháng"),
        dMatches: matches("duong", "Đường Lê Lợi"),
        folded: fold("  Đính   chính thông tin  "),
        all: names("").length,
    };
}"""


def test_search_ignores_diacritics_and_case(shell_page):
    procedures = json.loads((ROOT / "server/reference/data/catalogue.json").read_text(encoding="utf-8"))["procedures"]
    items = [{"name_vi": p["name_vi"], "national_code": p["national_code"]} for p in procedures]
    with_code = next(p for p in procedures if p["national_code"])
    result = shell_page.evaluate(SEARCH_JS, {"items": items, "code": with_code["national_code"]})
    monthly = ("Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hàng tháng, "
               "hỗ trợ kinh phí chăm sóc, nuôi dưỡng hàng tháng")
    assert result["matches"] is True and result["dMatches"] is True
    assert monthly in result["troCap"]
    assert set(result["troCap"]) == {i["name_vi"] for i in items if {"tro", "cap"} <= set(_fold(i["name_vi"]).split())}
    assert result["exact"][0] == monthly  # the whole phrase ranks first
    assert set(result["accented"]) == set(result["troCap"])
    assert "Đăng ký nhận chăm sóc thay thế cho trẻ em (cá nhân không phải người thân thích)" in result["dangKy"]
    assert result["none"] == []
    assert result["folded"] == "dinh chinh thong tin"
    assert result["all"] == len(items)
    assert result["byCode"] == [with_code["name_vi"]]


def test_fold_is_the_servers(shell_page):
    """The phone's folding is the desk's (server/dossiers/search_text.py), on tests/parity_cases.py's texts: the
    same check as tests/test_parity_search.py under Node, here in the browser the phone runs."""
    texts = parity_cases.fold_texts()
    phone = shell_page.evaluate("""async (texts) => {
        const { fold } = await import("/pwa/lib/search.js");
        return texts.map((text) => fold(text));
    }""", texts)
    mismatches = parity_cases.fold_mismatches(texts, phone, search_text.fold)
    assert mismatches == [], "\n".join(map(repr, mismatches[:40]))


# --- images.js ---


def _camera_photo() -> bytes:
    """A 4000×3000 JPEG as a phone writes it: EXIF with the maker, the position of the house, and the orientation
    of a phone held upright (6: the pixels are stored lying on their side). A red mark in the stored top-left
    corner shows where the picture's top ends up."""
    gradient = Image.linear_gradient("L").resize((4000, 3000))
    image = Image.merge("RGB", (gradient, gradient.rotate(180), gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 600, 600], fill=(255, 0, 0))
    for y in range(800, 2800, 120):  # lines of "text"
        draw.rectangle([700, y, 3600, y + 40], fill=(20, 20, 20))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    exif[EXIF_MAKE] = "PhoneMaker"
    exif[EXIF_GPS_IFD] = {1: "N", 2: (21.0, 1.0, 42.0), 3: "E", 4: (105.0, 50.0, 24.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


PREPARE_JS = """async () => {
    const { preparePhoto } = await import("/pwa/lib/images.js");
    const file = document.getElementById("photo").files[0];
    const started = performance.now();
    const photo = await preparePhoto(file);
    const milliseconds = performance.now() - started;
    const bytes = new Uint8Array(await photo.blob.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return {sha256: photo.sha256, width: photo.width, height: photo.height, size: photo.size, type: photo.blob.type,
            base64: btoa(binary), milliseconds};
}"""


def test_photo_is_resized_upright_stripped_of_exif_and_hashed(shell_page):
    original = _camera_photo()
    source = Image.open(io.BytesIO(original))
    assert source.size == (4000, 3000)
    assert source.getexif().get_ifd(EXIF_GPS_IFD)[2] == (21.0, 1.0, 42.0)  # the test photo does carry a position
    shell_page.evaluate("""() => {
        const input = Object.assign(document.createElement("input"), {type: "file", id: "photo", accept: "image/*"});
        document.body.append(input);
    }""")
    shell_page.set_input_files("#photo", files=[{"name": "so-ho-khau.jpg", "mimeType": "image/jpeg",
                                                 "buffer": original}])
    result = shell_page.evaluate(PREPARE_JS)
    data = base64.b64decode(result["base64"])
    print(f"\nphoto: {len(original)} → {len(data)} bytes in {result['milliseconds']:.0f} ms")

    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert result["size"] == len(data) and result["type"] == "image/jpeg"
    photo = Image.open(io.BytesIO(data))
    assert photo.format == "JPEG"
    # Held upright: 3000×4000 as seen, so 1200×1600 once the long side is 1600.
    assert photo.size == (result["width"], result["height"]) == (1200, 1600)
    assert len(photo.getexif()) == 0
    assert b"Exif\x00\x00" not in data and b"PhoneMaker" not in data
    # The stored top-left corner is the picture's top-right once turned upright.
    red, green, blue = photo.convert("RGB").getpixel((1200 - 60, 60))
    assert red > 200 and green < 60 and blue < 60
    assert len(data) < len(original) / 4


# --- outbox-db.js ---


OUTBOX_JS = """async () => {
    const db_ = await import("/pwa/lib/outbox-db.js");
    const { openOutbox, put, putAll, get, allForUser, dossiersWithStatus, photosOfDossier, deleteUserData,
            wipeAll, STATUS } = db_;
    const db = await openOutbox();
    const schema = {};
    const transaction = db.transaction(db.objectStoreNames, "readonly");
    for (const name of db.objectStoreNames) {
        const store = transaction.objectStore(name);
        const indexes = {};
        for (const index of store.indexNames) {
            const found = store.index(index);
            indexes[index] = {keyPath: found.keyPath, multiEntry: found.multiEntry};
        }
        schema[name] = {keyPath: store.keyPath, indexes};
    }
    const uuid = (n) => `00000000-0000-4000-8000-00000000000${n}`;
    await putAll(db, "dossiers", [
        {client_uuid: uuid(1), user_id: 1, status: STATUS.DRAFT},
        {client_uuid: uuid(2), user_id: 1, status: STATUS.QUEUED},
        {client_uuid: uuid(3), user_id: 2, status: STATUS.QUEUED},
    ]);
    await put(db, "photos", {sha256: "ab".repeat(32), user_id: 1, dossier_uuids: [uuid(1), uuid(2)],
                             blob: new Blob([new Uint8Array([255, 216, 255])], {type: "image/jpeg"})});
    await put(db, "visits", {id: 12, user_id: 1, address: "12 Lê Lợi"});
    await put(db, "visits", {id: 12, user_id: 2, address: "12 Lê Lợi"});
    let refused = null;
    try { await put(db, "dossiers", {client_uuid: uuid(4), status: STATUS.DRAFT}); }
    catch (error) { refused = error.name; }
    const photo = await get(db, "photos", "ab".repeat(32));
    const result = {
        name: db.name, version: db.version, schema, refused,
        statuses: Object.values(STATUS),
        queuedForUser1: (await dossiersWithStatus(db, 1, STATUS.QUEUED)).map((d) => d.client_uuid),
        photosOfDossier2: (await photosOfDossier(db, uuid(2))).map((p) => p.sha256.slice(0, 4)),
        photoBytes: (await photo.blob.arrayBuffer()).byteLength,
        visitsOfUser2: (await allForUser(db, "visits", 2)).length,
    };
    await deleteUserData(db, 1);
    result.afterDeletingUser1 = {
        dossiers: (await allForUser(db, "dossiers", 1)).length + "/" + (await allForUser(db, "dossiers", 2)).length,
        photos: (await allForUser(db, "photos", 1)).length,
        visits: (await allForUser(db, "visits", 1)).length + "/" + (await allForUser(db, "visits", 2)).length,
    };
    await wipeAll(db);
    result.afterWipe = (await allForUser(db, "dossiers", 2)).length;
    db.close();
    return result;
}"""


def test_outbox_schema_and_per_user_helpers(shell_page):
    result = shell_page.evaluate(OUTBOX_JS)
    assert (result["name"], result["version"]) == ("motcua-outbox", 1)
    schema = result["schema"]
    assert schema["dossiers"]["keyPath"] == "client_uuid"
    assert schema["dossiers"]["indexes"] == {
        "by_user": {"keyPath": "user_id", "multiEntry": False},
        "by_status": {"keyPath": "status", "multiEntry": False},
        "by_user_status": {"keyPath": ["user_id", "status"], "multiEntry": False},
    }
    assert schema["photos"]["keyPath"] == "sha256"
    assert schema["photos"]["indexes"]["by_dossier"] == {"keyPath": "dossier_uuids", "multiEntry": True}
    assert {"catalogue", "calendar", "code_blocks", "visits", "meta"} <= set(schema)
    for name in ("catalogue", "calendar", "code_blocks", "visits", "meta"):
        assert schema[name]["keyPath"][0] == "user_id"
    for name, store in schema.items():
        assert "by_user" in store["indexes"], name  # every store can be read and wiped per user
    assert result["statuses"] == ["draft", "queued", "sending", "synced", "quarantined"]
    assert result["refused"] == "TypeError"  # a record without its officer is refused
    assert result["queuedForUser1"] == ["00000000-0000-4000-8000-000000000002"]
    assert result["photosOfDossier2"] == ["abab"]
    assert result["photoBytes"] == 3
    assert result["visitsOfUser2"] == 1
    assert result["afterDeletingUser1"] == {"dossiers": "0/1", "photos": 0, "visits": "0/1"}
    assert result["afterWipe"] == 0


def test_the_worker_loads_the_same_schema(shell_page):
    shell_page.evaluate("""async () => {
        const { openOutbox, put } = await import("/pwa/lib/outbox-db.js");
        const db = await openOutbox();
        await put(db, "meta", {user_id: 5, name: "last_sync", value: "2026-11-23T08:00:00+07:00"});
        db.close();
    }""")
    worker = shell_page.context.service_workers[0]
    seen = worker.evaluate("""async () => {
        const { openOutbox, get, DB_VERSION } = self.MotCuaOutboxDb;
        const db = await openOutbox();
        const record = await get(db, "meta", [5, "last_sync"]);
        db.close();
        return {version: DB_VERSION, value: record.value};
    }""")
    assert seen == {"version": 1, "value": "2026-11-23T08:00:00+07:00"}


# --- outbox-flush: a server error is "retry later", but not forever ---

FLUSH_5XX_JS = """async ({limit}) => {
    const Db = await import("/pwa/lib/outbox-db.js");
    const { flushOutbox, summarize, SERVER_ERROR_LIMIT, RESULT } = await import("/pwa/lib/outbox-flush.js");
    const db = await Db.openOutbox();
    await Db.wipeAll(db);
    const uuid = "00000000-0000-4000-8000-00000000005e";
    const queue = (payload) => Db.put(db, "dossiers", {client_uuid: uuid, user_id: 7, status: "queued",
        completed_at: 1, payload, receipt: {label: "Hồ sơ thử"}});
    let answer = 500;
    const puts = [];
    const fetch = async (path, init) => {
        const json = (status, body) => new Response(JSON.stringify(body), {status,
            headers: {"Content-Type": status >= 400 ? "application/problem+json" : "application/json"}});
        if (path === "/api/v1/session") return json(200, {user: {id: 7}, csrf_token: "t"});
        puts.push(init.method + " " + path);
        if (answer >= 500) return json(answer, {type: "urn:motcua:problem:internal-error", title: "Lỗi hệ thống",
                                                 status: answer});
        if (answer === 429) return json(429, {type: "urn:motcua:problem:too-many-requests", title: "x", status: 429});
        return json(201, {code: "X", state: "received"});
    };
    const flush = () => flushOutbox(db, {fetch, maxServerErrors: limit});
    const status = async () => (await Db.get(db, "dossiers", uuid)).status;
    const out = {defaultLimit: SERVER_ERROR_LIMIT, retryLater: RESULT.RETRY_LATER, runs: []};

    await queue({n: 1});
    for (let i = 0; i < limit - 1; i++) {
        const o = await flush();
        out.runs.push([o.result, await status()]);
    }
    answer = 429;  // any other answer ends the run of server errors
    out.after429 = [(await flush()).result, await status()];
    answer = 503;
    for (let i = 0; i < limit - 1; i++) await flush();
    out.beforeLimit = await status();
    const last = await flush();
    out.atLimit = [last.result, last.quarantined, await status()];
    const [item] = (await summarize(db, 7)).quarantined;
    out.problem = item.problem;

    // The officer fixes it and sends it again: a new count (a changed body counts afresh too).
    await queue({n: 2});
    answer = 500;
    for (let i = 0; i < limit - 1; i++) await flush();
    out.afterResend = await status();
    await queue({n: 3});  // changed body
    await flush();
    out.changedBody = await status();
    answer = 201;
    out.finally = [(await flush()).result, await status()];
    out.puts = puts.length;
    db.close();
    return out;
}"""


def test_outbox_quarantines_a_dossier_after_a_bounded_run_of_server_errors(shell_page):
    """Issue 10.3: a 5xx is "retry later", but the same body failing N times in a row goes to the quarantine with the
    reason, so that an unknown server bug cannot make a phone retry a dossier silently forever."""
    limit = 3
    result = shell_page.evaluate(FLUSH_5XX_JS, {"limit": limit})
    assert result["defaultLimit"] == 5
    assert result["runs"] == [["retry_later", "queued"]] * (limit - 1)
    assert result["after429"] == ["retry_later", "queued"]
    assert result["beforeLimit"] == "queued"  # 429 reset the count: limit - 1 more 5xx are not enough
    assert result["atLimit"] == ["done", 1, "quarantined"]
    problem = result["problem"]
    assert problem["type"] == "server-error-repeated"
    assert problem["status"] == 503 and problem["server_errors"] == limit
    assert problem["title"] == "Lỗi hệ thống"
    assert "3 lần liên tiếp" in problem["detail"]
    assert result["afterResend"] == "queued"
    assert result["changedBody"] == "queued"  # a changed body starts a new count at 1
    assert result["finally"] == ["done", "synced"]


RANKING_JS = """async ({items, queries}) => {
    const { search } = await import("/pwa/lib/search.js");
    const keys = ["name_vi", "name_en", "national_code"];  // the fields the capture form searches (capture.js)
    const firsts = (list) => Object.fromEntries(queries.map((q) => [q, search(list, q, keys, {limit: 8})
        .map((item) => item.key)]));
    return {forward: firsts(items), reversed: firsts([...items].reverse())};
}"""


def test_search_ranks_the_closest_procedure_first_whatever_the_catalogue_order(shell_page):
    """Issue 11.7: a hurried officer taps the first line. "tro cap huu tri" names the pension itself; the funeral
    support merely mentions it, and must come second, in whichever order the catalogue arrives on the phone."""
    procedures = json.loads((ROOT / "server/reference/data/catalogue.json").read_text(encoding="utf-8"))["procedures"]
    items = [{"key": p["key"], "name_vi": p["name_vi"], "name_en": p.get("name_en"),
              "national_code": p["national_code"]} for p in procedures]
    queries = ["tro cap huu tri", "huu tri", "mai tang huu tri", "tro cap xa hoi hang thang", "TRỢ CẤP HƯU TRÍ"]
    result = shell_page.evaluate(RANKING_JS, {"items": items, "queries": queries})
    for order in ("forward", "reversed"):
        found = result[order]
        assert found["tro cap huu tri"][:2] == ["tro-cap-huu-tri-xa-hoi", "ho-tro-mai-tang-huu-tri-xa-hoi"], order
        assert found["huu tri"][0] == "tro-cap-huu-tri-xa-hoi", order
        assert found["TRỢ CẤP HƯU TRÍ"][0] == "tro-cap-huu-tri-xa-hoi", order
        assert found["mai tang huu tri"] == ["ho-tro-mai-tang-huu-tri-xa-hoi"], order
        assert found["tro cap xa hoi hang thang"][0] == "tro-cap-xa-hoi-hang-thang", order
