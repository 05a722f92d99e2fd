"""What the officer's vault costs on a phone-class CPU (issue 12 point 2). Run: ``.venv/bin/python bench/unlock.py``.
Figures only, no assertions on time.

In headless Chromium (/usr/bin/chromium, or CHROMIUM_PATH) with CDP ``Emulation.setCPUThrottlingRate`` 4x, on a
page of the app (served by the same throw-away server as bench/sync_3g.py), calling pwa/lib/vault.js and
pwa/lib/locked-store.js directly:

1. PIN: setting the vault up, and unlocking it (PBKDF2-SHA-256 with vault.js PIN_ITERATIONS, then AES-KW unwrap);
2. PRF: unlocking with a passkey of a CDP virtual authenticator with ``hasPrf`` (the assertion, HKDF, AES-KW);
   the virtual authenticator answers at once, a real one adds the officer's fingerprint or screen-lock time;
3. reading back a draft with 3 photos (about 1600 px JPEGs, as images.js prepares them) once unlocked: the
   dossier and the three photos with their thumbnails, decrypted; and the same records read in clear, for the
   difference encryption makes. Writing them locked is timed too.

Caveat: CDP's CPU throttling slows the renderer's JavaScript; WebCrypto's PBKDF2 and AES run in Chromium's native
code, partly off the main thread, so the PIN figure is closer to a desktop's than to a phone's. On a real low-end
phone expect PBKDF2 to take 3 to 5 times as long (published PBKDF2-SHA-256 rates of phone CPUs).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

from PIL import Image
from PIL import ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CPU_SLOWDOWN = 4

#: Runs in the page: each figure in milliseconds (performance.now()).
BENCH_JS = """async ({photos, runs}) => {
    const vault = await import("/pwa/lib/vault.js");
    const store = await import("/pwa/lib/locked-store.js");
    const Db = await import("/pwa/lib/outbox-db.js");
    const db = await Db.openOutbox({name: "bench-vault-" + Math.random()});
    const times = {pin_set_up: [], pin_unlock: [], prf_set_up: [], prf_unlock: [], draft_write_locked: [],
                   draft_read_locked: [], draft_read_clear: []};
    const time = async (name, work) => {
        const start = performance.now();
        await work();
        times[name].push(performance.now() - start);
    };
    const fromHex = (hex) => new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
    const prepared = await Promise.all(photos.map(async (photo, index) => {
        const blob = new Blob([fromHex(photo.jpeg)], {type: "image/jpeg"});
        const thumbnail = new Blob([fromHex(photo.thumbnail)], {type: "image/jpeg"});
        const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
        const sha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
        return {sha256, blob, thumbnail, size: blob.size, width: 1600, height: 1200,
                quality: {blurred: false, dark: false}};
    }));
    const draft = (uuid) => ({client_uuid: uuid, user_id: 1, status: Db.STATUS.DRAFT, created_at: Date.now(),
        updated_at: Date.now(), form: {procedure_key: "tro-cap-huu-tri-xa-hoi", home_visit_id: null,
        owner: {full_name: "Nguyễn Thị Bình", personal_id: "001189012345", date_of_birth: "1950-01-02",
                gender: "female", phone: "0912345678", address: "Số 5 ngõ 12 phố Lò Đúc"},
        same_submitter: true, submitter: {}, documents: {"CCCD": {ticked: true, sighted_original: true,
        photos: prepared.map((p) => p.sha256)}}, citizen_requested_receipt: false}});

    // A passkey with PRF on the virtual authenticator (the server plays no part in the PRF).
    await navigator.credentials.create({publicKey: {
        rp: {name: "bench", id: location.hostname}, user: {id: crypto.getRandomValues(new Uint8Array(16)),
        name: "bench", displayName: "bench"}, challenge: crypto.getRandomValues(new Uint8Array(32)),
        pubKeyCredParams: [{type: "public-key", alg: -7}], authenticatorSelection: {residentKey: "required",
        userVerification: "required"}, extensions: {prf: {}}}});

    for (let run = 0; run < runs; run += 1) {
        await time("pin_set_up", () => vault.setUpWithPin(db, 1, "246810"));
        vault.lock();
        await time("pin_unlock", () => vault.unlockWithPin(db, 1, "246810", {erase: async () => undefined}));
        await time("prf_set_up", () => vault.setUpWithPasskey(db, 2));
        vault.lock();
        await time("prf_unlock", () => vault.unlockWithPasskey(db, 2));
        vault.lock();
        await vault.unlockWithPin(db, 1, "246810", {erase: async () => undefined});
        const uuid = crypto.randomUUID();
        await time("draft_write_locked", async () => {
            for (const photo of prepared) await store.storePhoto(db, 1, uuid, photo);
            await store.putDossier(db, draft(uuid));
        });
        await time("draft_read_locked", async () => {
            const record = await store.getDossier(db, uuid);
            for (const sha of record.form.documents.CCCD.photos) {
                const photo = await store.getPhoto(db, sha);
                await photo.blob.arrayBuffer();
                await photo.thumbnail.arrayBuffer();
            }
        });
        // The same draft and photos as they rested before issue 12, read the same way.
        const clearUuid = crypto.randomUUID();
        await Db.put(db, "dossiers", draft(clearUuid));
        for (const photo of prepared) {
            await Db.put(db, "photos", {...photo, sha256: photo.sha256 + "-clear", user_id: 1,
                                        dossier_uuids: [clearUuid]});
        }
        await time("draft_read_clear", async () => {
            const record = await Db.get(db, "dossiers", clearUuid);
            for (const sha of record.form.documents.CCCD.photos) {
                const photo = await Db.get(db, "photos", sha + "-clear");
                await photo.blob.arrayBuffer();
                await photo.thumbnail.arrayBuffer();
            }
        });
        await Db.wipeAll(db);
    }
    db.close();
    return {times, iterations: vault.PIN_ITERATIONS, bytes: prepared.reduce((n, p) => n + p.size, 0)};
}"""


def photo(seed: int) -> dict[str, str]:
    """A JPEG of a page of 'text' about as images.js prepares it (1600 x 1200, quality 0.85) and its thumbnail."""
    rng = random.Random(seed)
    image = Image.new("RGB", (1600, 1200), (245, 243, 236))
    draw = ImageDraw.Draw(image)
    for row in range(60, 1140, 34):
        x = 70
        while x < 1480:
            width = rng.randint(30, 140)
            draw.rectangle([x, row, x + width, row + 13], fill=(rng.randint(0, 60),) * 3)
            x += width + rng.randint(12, 30)
    full, thumb = io.BytesIO(), io.BytesIO()
    image.save(full, "JPEG", quality=85)
    image.resize((320, 240)).save(thumb, "JPEG", quality=70)
    return {"jpeg": full.getvalue().hex(), "thumbnail": thumb.getvalue().hex()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    from sync_3g import start_server

    from tests.browser.support import VirtualAuthenticator

    with tempfile.TemporaryDirectory() as tmp:
        _app, base_url, _cookie, stop = start_server(tmp)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"), headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run"])
                page = browser.new_context(base_url=base_url).new_page()
                page.goto("/healthz")
                VirtualAuthenticator(page, hasPrf=True)
                cdp = page.context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
                result = page.evaluate(BENCH_JS, {"photos": [photo(seed) for seed in (1, 2, 3)], "runs": args.runs})
                browser.close()
        finally:
            stop()

    print(f"Vault on Chromium at {CPU_SLOWDOWN}x CPU throttling, {args.runs} runs, median (min-max) in ms")
    print(f"PIN: PBKDF2-SHA-256, {result['iterations']:,} iterations; draft: 3 photos, "
          f"{result['bytes'] / 1000:.0f} kB with their thumbnails apart")
    labels = {
        "pin_set_up": "PIN: set up (new key, PBKDF2, wrap)",
        "pin_unlock": "PIN: unlock (PBKDF2, unwrap)",
        "prf_set_up": "PRF: set up (assertion, HKDF, wrap)",
        "prf_unlock": "PRF: unlock (assertion, HKDF, unwrap)",
        "draft_write_locked": "draft + 3 photos: write, locked",
        "draft_read_locked": "draft + 3 photos: read back, locked",
        "draft_read_clear": "draft + 3 photos: read back, in clear",
    }
    for name, label in labels.items():
        values = result["times"][name]
        print(f"  {label:42} {statistics.median(values):8.1f}  ({min(values):.1f}-{max(values):.1f})")


if __name__ == "__main__":
    main()
