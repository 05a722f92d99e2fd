"""How long preparing a 12 MP photo blocks the page, on the main thread and in the photo worker
(run: .venv/bin/python bench/photo_main_thread.py).

Issue 11.5: at 4x CPU throttling the page froze for 0.6 to 0.9 s while a photo was prepared. This prints, in one
run of headless Chromium with CDP ``Emulation.setCPUThrottlingRate`` 4x, for the same camera shot (the 4000x3000
JPEG of bench/sync_3g.py, EXIF orientation 6):

- ``old main thread``: pwa/lib/images.js as it was before the worker (``--old-rev``, read with ``git show``);
- ``main thread now``: today's ``preparePhoto`` on the page's thread (the fallback where the browser has no
  OffscreenCanvas in workers), which also measures the photo and draws its thumbnail;
- ``worker``: ``preparePhotoOffMainThread``, as the capture form calls it.

For each: the longest main-thread block, two ways (the longest Long Task, PerformanceObserver "longtask", which only
reports blocks over 50 ms; and the longest gap between the ticks of a 10 ms timer), the total time and the bytes of
the prepared photo. Each path runs ``--runs`` times in turn; the first worker run includes starting the worker.
Figures only, no assertion on time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sync_3g  # noqa: E402  (the camera shot and the served app, shared with the sync bench)

ROOT = sync_3g.ROOT
#: The last commit before photos moved to a worker (issue 11.5).
OLD_REV = "a9af440"
OLD_MODULE_URL = "/pwa/lib/images-before-worker.js"  # served by the bench itself, from git

WATCH_JS = """() => {
    window.benchLongTasks = [];
    new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.benchLongTasks.push(entry.duration);
    }).observe({type: "longtask", buffered: true});
}"""

#: Prepare the file the camera input holds with one path, watching the main thread meanwhile.
RUN_JS = """async ({path, oldUrl}) => {
    const now = await import("/pwa/lib/images.js");
    const prepare = path === "old" ? (await import(oldUrl)).preparePhoto
        : path === "main" ? now.preparePhoto : now.preparePhotoOffMainThread;
    const file = document.getElementById("camera").files[0];
    const before = {...now.preparedBy};
    await new Promise((resolve) => setTimeout(resolve, 300));  // let earlier work settle
    window.benchLongTasks.length = 0;
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
        const at = performance.now();
        longestGap = Math.max(longestGap, at - last);
        last = at;
    }, 10);
    const started = performance.now();
    const photo = await prepare(file);
    const elapsed = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));  // the last tick and Long Task entries
    clearInterval(ticker);
    longestGap = Math.max(longestGap, performance.now() - last);
    return {elapsed, longestGap, longestTask: Math.max(0, ...window.benchLongTasks),
            longTasks: window.benchLongTasks.length, size: photo.size, sha256: photo.sha256,
            width: photo.width, height: photo.height,
            byWorker: now.preparedBy.worker - before.worker, byMain: now.preparedBy.mainThread - before.mainThread};
}"""


def old_module(rev: str) -> str | None:
    """images.js at ``rev``, or None where git or the commit is not at hand."""
    try:
        return subprocess.run(["git", "show", f"{rev}:pwa/lib/images.js"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each path (default 3)")
    parser.add_argument("--throttle", type=float, default=4, help="CPU slow-down factor (default 4)")
    parser.add_argument("--old-rev", default=OLD_REV, help=f"commit of the old images.js (default {OLD_REV})")
    args = parser.parse_args()
    shot = sync_3g.Camera().shot(0)
    print(f"camera shot: 4000x3000 JPEG, {len(shot)} bytes; CPU throttled {args.throttle:g}x")
    old = old_module(args.old_rev)
    if old is None:
        print(f"(images.js at {args.old_rev} not found: the old path is left out)")
    tmp = tempfile.mkdtemp(prefix="motcua-bench-photo-")
    try:
        return run(args, shot, old, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, shot: bytes, old: str | None, tmp: str) -> int:
    from playwright.sync_api import sync_playwright

    _app, base_url, _cookie, stop = sync_3g.start_server(tmp)
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    results: dict[str, list[dict]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium if Path(chromium).exists() else None,
                                                 args=sync_3g.CHROMIUM_ARGS, headless=True)
            context = browser.new_context(base_url=base_url, locale="vi-VN", service_workers="block")
            page = context.new_page()
            if old is not None:
                page.route(f"**{OLD_MODULE_URL}", lambda route: route.fulfill(
                    status=200, content_type="text/javascript", body=old))
            page.goto("/offline")  # a page of the app that does nothing of its own meanwhile
            page.evaluate(sync_3g.ADD_CAMERA_INPUT_JS)
            page.evaluate(WATCH_JS)
            page.set_input_files("#camera", files=[{"name": "IMG_0000.jpg", "mimeType": "image/jpeg",
                                                    "buffer": shot}])
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
            paths = (["old"] if old is not None else []) + ["main", "worker"]
            for _ in range(args.runs):
                for path in paths:
                    results.setdefault(path, []).append(page.evaluate(RUN_JS, {"path": path,
                                                                              "oldUrl": OLD_MODULE_URL}))
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
            browser.close()
    finally:
        stop()
    labels = {"old": f"old main thread ({args.old_rev})", "main": "main thread now", "worker": "worker"}
    print(f"{'path':<28} {'longest block (gap)':>20} {'longest long task':>18} {'total':>9} {'bytes':>8}")
    for path, runs in results.items():
        gap = max(r["longestGap"] for r in runs)
        task = max(r["longestTask"] for r in runs)
        total = statistics.median(r["elapsed"] for r in runs)
        sizes = sorted({r["size"] for r in runs})
        print(f"{labels[path]:<28} {gap:>17.0f} ms {task:>15.0f} ms {total:>6.0f} ms {'/'.join(map(str, sizes)):>8}")
        print(f"{'':<28} runs: " + ", ".join(f"gap {r['longestGap']:.0f} / task {r['longestTask']:.0f} ms"
                                               for r in runs))
    problems = []
    if any(r["byWorker"] != 1 for r in results["worker"]):
        problems.append("the worker path was not prepared by the worker")
    if "old" in results and max(r["size"] for r in results["worker"]) > min(r["size"] for r in results["old"]):
        problems.append("the worker's photo is larger than the old path's")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
