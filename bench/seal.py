"""What sealing a finalised dossier costs on a phone-class CPU (issue 12 point 1). Run: ``.venv/bin/python
bench/seal.py`` (``--runs N``, default 9). Figures only, no assertions on time.

The phone: headless Chromium (/usr/bin/chromium, or CHROMIUM_PATH) with CDP ``Emulation.setCPUThrottlingRate``
4x. The server: the app on a throw-away SQLite database with the demo seed (bench/sync_3g.py's start_server); the
page takes the current sealing key from GET /api/v1/sealing-key.

The dossier: a body of about 850 bytes of JSON (as the photo pipeline's dossiers in bench/sync_3g.py) and 3 photos
of 182,000 bytes each (the pipeline's average at JPEG quality 0.5; random bytes: AES-GCM's cost does not depend on
the content). Each run times, in the page:
1. seal: pwa/lib/seal.js sealDossier (3 + 1 envelopes: ephemeral ECDH P-256, HKDF-SHA-256, AES-256-GCM each);
2. enter the outbox: pwa/app/outbox-entry.js enterOutbox, what "Hoàn tất" waits for: opening the photos locked
   with the vault's data key, the seal, the local copy of the form (local-protect.js, the vault's key) and the one
   IndexedDB transaction that replaces the locked photos by their envelopes.
The server then opens the last run's envelopes (a check that the figures are of real, readable envelopes).

CDP's CPU throttling slows the renderer's main thread; ``--cpu-slowdown 1`` gives the unthrottled figures to compare
with, which shows whether it reaches WebCrypto's work too (it did: 6 ms unthrottled, 35 to 53 ms at 4x, Dec 2026).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CPU_SLOWDOWN = 4
PHOTO_BYTES = 182_000

RUN_JS = """async ({photoBytes, runs}) => {
    const { sealDossier, importServerKey, base64url } = await import("/pwa/lib/seal.js");
    const bytesOf = async (blob) => base64url(new Uint8Array(await blob.arrayBuffer()));
    const { enterOutbox } = await import("/pwa/app/outbox-entry.js");
    const Db = await import("/pwa/lib/outbox-db.js");
    const { storePhoto } = await import("/pwa/lib/locked-store.js");
    const { setUpWithPin } = await import("/pwa/lib/vault.js");
    const info = await (await fetch("/api/v1/sealing-key")).json();
    const server = await importServerKey(info);
    const db = await Db.openOutbox();
    // The vault's data key, in memory as after an unlock (a low PBKDF2 count: the unlock is bench/unlock.py's).
    await setUpWithPin(db, 1, "135792", {iterations: 1000});
    const person = {full_name: "Nguyễn Thị Hồng Nhung", personal_id: "001089012345", date_of_birth: "1941-05-02",
                    gender: "female", phone: "+84912345678", address: "Số 5 ngõ 12 phố Lò Đúc, Hai Bà Trưng"};
    const randomPhoto = () => {
        const bytes = new Uint8Array(photoBytes);
        for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
        return new Blob([bytes], {type: "image/jpeg"});
    };
    const sha256Hex = async (blob) => Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256",
        await blob.arrayBuffer())), (b) => b.toString(16).padStart(2, "0")).join("");
    const out = {seal: [], enter: [], bodyBytes: 0, sealedBytes: 0};
    let last = null;
    for (let run = 0; run < runs; run++) {
        const uuid = crypto.randomUUID();
        const photos = [];
        for (let i = 0; i < 3; i++) {
            const blob = randomPhoto();
            photos.push({sha256: await sha256Hex(blob), blob});
        }
        const payload = {procedure_key: "tro-cap-huu-tri-xa-hoi", received_at: "2026-12-03T09:30:00+07:00",
            code: "000.20.26.H26-261203-0001", provisional_code: null, due_at: "2026-12-17T09:30:00+07:00",
            reception_mode: "home_visit", home_visit_id: null, owner: person, submitter: null,
            documents: photos.map((p, i) => ({required_document_code: `GT${i}`, name: "Tờ khai đề nghị trợ cấp",
                                              sha256: p.sha256, sighted_original: true})),
            citizen_requested_receipt: false, claim_token_sha256: "0".repeat(64)};
        out.bodyBytes = JSON.stringify(payload).length;
        let started = performance.now();
        const sealed = await sealDossier(server, uuid, payload, photos);
        out.seal.push(performance.now() - started);
        out.sealedBytes = sealed.body.length + Object.values(sealed.photos).reduce((s, b) => s + b.size, 0);

        // The real path: photo rows locked as capture.js stores them, then enterOutbox.
        for (const p of photos) {
            await storePhoto(db, 1, uuid, {sha256: p.sha256, blob: p.blob, size: p.blob.size, width: 1600,
                                           height: 1200, thumbnail: p.blob.slice(0, 8000), quality: null});
        }
        const record = {client_uuid: uuid, user_id: 1, status: "queued", created_at: Date.now(),
            completed_at: Date.now(), payload, issued: {code: payload.code}, receipt: {label: "x", code: payload.code},
            form: {owner: person, documents: {}}};
        started = performance.now();
        await enterOutbox(db, record, info);
        out.enter.push(performance.now() - started);
        const stored = await Db.get(db, "dossiers", uuid);
        const photo = await Db.get(db, "photos", photos[0].sha256);
        last = {uuid, body: stored.sealed.body, photoSha: photos[0].sha256,
                photo: await bytesOf(photo.sealed), clear: await bytesOf(photos[0].blob),
                clearLeft: Boolean(photo.blob || photo.locked) || "payload" in stored || "form" in stored};
    }
    await Db.wipeAll(db);
    db.close();
    out.last = last;
    return out;
}"""


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--cpu-slowdown", type=float, default=CPU_SLOWDOWN,
                        help="CDP CPU throttling rate (1 for none: to see how much of the time it slows)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    from sync_3g import CHROMIUM_ARGS
    from sync_3g import start_server

    tmp = tempfile.mkdtemp(prefix="seal-bench-")
    app, base_url, cookie, stop = start_server(tmp)
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium if Path(chromium).exists() else None,
                                                 args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(base_url=base_url)
            context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": base_url,
                                  "httpOnly": True, "sameSite": "Lax"}])
            page = context.new_page()
            page.goto("/offline")
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.cpu_slowdown})
            page.evaluate(RUN_JS, {"photoBytes": PHOTO_BYTES, "runs": 1})  # warm-up: modules, WebCrypto
            out = page.evaluate(RUN_JS, {"photoBytes": PHOTO_BYTES, "runs": args.runs})
            browser.close()
        with app.app_context():
            from server.sealing.envelope import open_envelope

            last = out["last"]
            body = unb64url(last["body"])
            opened = json.loads(open_envelope(body, f"dossier:{last['uuid']}")[0])
            photo = open_envelope(unb64url(last["photo"]), f"photo:{last['photoSha']}")[0]
            assert opened["owner"]["full_name"] == "Nguyễn Thị Hồng Nhung"
            assert photo == unb64url(last["clear"]) and not last["clearLeft"]
    finally:
        stop()

    def figures(values):
        ordered = sorted(values)
        return f"median {statistics.median(ordered):.0f} ms (min {ordered[0]:.0f}, max {ordered[-1]:.0f})"

    clear = out["bodyBytes"] + 3 * PHOTO_BYTES
    print(f"phone: Chromium, CPU {args.cpu_slowdown:g}x slower; dossier: {out['bodyBytes']} bytes of JSON + "
          f"3 photos of {PHOTO_BYTES:,} bytes; {args.runs} runs")
    print(f"  seal (4 envelopes: ECDH P-256 + HKDF + AES-256-GCM each): {figures(out['seal'])}")
    print(f"  enter the outbox (seal + local copy + one IndexedDB transaction): {figures(out['enter'])}")
    print(f"  sealed size: {out['sealedBytes']:,} bytes for {clear:,} in clear "
          f"(+{out['sealedBytes'] - clear} bytes; the body in base64url)")
    print("  the server opened the last run's body and first photo: identical to what was sealed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
