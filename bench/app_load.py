"""How fast the officer's app is usable on a cheap phone, and what a citizen's phone downloads after scanning the
receipt's QR code (issue 11). Run: ``.venv/bin/python bench/app_load.py``. Figures only, no assertions on time.

The phone: headless Chromium (/usr/bin/chromium, or CHROMIUM_PATH) with CDP ``Emulation.setCPUThrottlingRate`` 4x
and ``Network.emulateNetworkConditions`` set to the figures DevTools uses for its "Fast 3G" preset (the default) or
"Slow 3G" (``--profile slow-3g``), see NETWORK_PROFILES. The server: the app on a throw-away SQLite database with
the demo seed, served by waitress, the demo officer signed in by the test-only session mechanism (the same
start_server as bench/sync_3g.py).

What it prints, for the officer on /app (three runs by default, ``--runs N``; the median and every run):
1. cold load: a phone that never opened the app (no service worker, nothing cached, signed in);
2. installed reload: the service worker controls the page and holds the shell, the day is downloaded;
3. offline reload: the same, with the network cut (the pages' and the worker's requests);
4. lie-fi reload: the same, with a server that accepts every request and never answers (the worker gives the
   cached shell at once, the app's probe gives up after PROBE_TIMEOUT_MS).
Each is the time from the start of the navigation until the main button ("Nhập hồ sơ mới") works, i.e. until the
app says it is ready (``body[data-ready]``, set once its handlers are wired), and until a tap on it has opened the
capture form.

And for a citizen: the bytes and files a fresh phone downloads when it opens /follow/<code> (what the QR code
opens), until the service worker has installed. ``--compare-with REF`` (default ``main``; ``""`` to skip) measures
the same with the worker's precache list of that git revision (pwa/sw/precache.js from ``git show``), i.e. before
issue 11 point 9 when REF is older than it.

Caveat: CDP's network emulation applies to the page's own requests. The service worker is another target and its
own fetches (the precache, and the refresh of the cached /app behind the navigation) are not
throttled; the CPU throttling applies to the page's renderer, where the app's start-up runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# Playwright must see the service worker's own requests (to count the precache, and to cut or hang them). Read by
# its driver when it starts: set before sync_playwright() runs.
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")

CPU_SLOWDOWN = 4

#: DevTools' presets (front_end/core/sdk/NetworkManager.ts): bytes per second and latency in ms.
NETWORK_PROFILES = {
    "fast-3g": {"downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9, "uploadThroughput": 750 * 1000 / 8 * 0.9,
                "latency": 150 * 3.75},
    "slow-3g": {"downloadThroughput": 500 * 1000 / 8 * 0.8, "uploadThroughput": 500 * 1000 / 8 * 0.8,
                "latency": 400 * 5},
}

MAIN_BUTTON = "Nhập hồ sơ mới"
FOLLOW_CODE = "000.20.26.H26-261127-0042"  # any code: the page a scan opens is the same until digits are given
READY_MS_JS = "() => Math.round(performance.now())"  # since the navigation started (the page's time origin)


def throttle(context, page, profile: str):
    """4x CPU and the 3G profile on this page (a CDP session of its own, kept for the page's life)."""
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **NETWORK_PROFILES[profile]})
    return cdp


def time_main_button(page) -> tuple[int, int]:
    """(ms until the app is ready, ms until a tap on the main button has opened the capture form), both from the
    start of the navigation that just happened."""
    page.wait_for_selector("body[data-ready='true']", state="attached")
    ready = page.evaluate(READY_MS_JS)
    page.get_by_role("button", name=MAIN_BUTTON).click()
    page.wait_for_selector("#view-capture", state="visible")
    tapped = page.evaluate(READY_MS_JS)
    return ready, tapped


def officer_runs(browser, app, base_url: str, cookie: dict, profile: str) -> dict[str, list[tuple[int, int]]]:
    from tests.browser.pwa.offline_support import go_offline
    from tests.browser.pwa.offline_support import go_online

    context = browser.new_context(base_url=base_url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(120_000)
    context.add_cookies([cookie])
    page = context.new_page()
    throttle(context, page, profile)
    results = {}
    try:
        page.goto("/app")
        page.wait_for_selector("body[data-ready='true']", state="attached")
        results["cold load (ready)"] = page.evaluate(READY_MS_JS)
        # Before the tap can open a form the phone needs the day (procedures) and the worker its shell.
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.wait_for_selector("body[data-offline-ready='true']", state="attached")
        page.get_by_role("button", name="Tải dữ liệu trong ngày").click()
        page.wait_for_selector("#day-status:has-text('Đã tải xong')")

        page.goto("/app#/")
        results["installed reload"] = reload_and_time(page)
        go_offline(context)
        results["offline reload"] = reload_and_time(page)
        go_online(context)
        results["lie-fi reload"] = lie_fi_reload(app, page)
    finally:
        context.close()
    return results


def reload_and_time(page) -> tuple[int, int]:
    page.evaluate("location.hash = '#/'")
    page.reload()
    return time_main_button(page)


def lie_fi_reload(app, page) -> tuple[int, int]:
    """Reload while the server accepts every connection and answers none. Done on the server side: Playwright's
    routes do not see the navigation preload request the browser makes for /app, so they cannot hang everything."""
    answer = threading.Event()
    wsgi_app = app.wsgi_app

    def never_answer(environ, start_response):
        answer.wait()  # until the run is over; then the request is answered as usual
        return wsgi_app(environ, start_response)

    app.wsgi_app = never_answer
    try:
        return reload_and_time(page)
    finally:
        app.wsgi_app = wsgi_app
        answer.set()


def old_precache(ref: str) -> str | None:
    """pwa/sw/precache.js at git revision ``ref``, or None when git cannot give it."""
    try:
        return subprocess.run(["git", "show", f"{ref}:pwa/sw/precache.js"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def citizen_scan(browser, base_url: str, profile: str, precache_source: str | None = None):
    """A fresh phone opens /follow/<code> and waits for the service worker: the Downloads it made."""
    from tests.browser.support import Downloads

    context = browser.new_context(base_url=base_url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(120_000)
    if precache_source is not None:
        context.route("**/pwa/sw/precache.js", lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=precache_source))
    downloads = Downloads(context)
    page = context.new_page()
    throttle(context, page, profile)
    try:
        page.goto(f"/follow/{FOLLOW_CODE}")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    return downloads


def print_officer(all_runs: list[dict]) -> None:
    cold = [run["cold load (ready)"] for run in all_runs]
    print(f"  cold load, app ready:      median {statistics.median(cold):6.0f} ms   runs {cold}")
    for name in ("installed reload", "offline reload", "lie-fi reload"):
        ready = [run[name][0] for run in all_runs]
        tapped = [run[name][1] for run in all_runs]
        print(f"  {name + ', app ready:':27} median {statistics.median(ready):6.0f} ms   runs {ready}")
        print(f"  {name + ', form opened:':27} median {statistics.median(tapped):6.0f} ms   runs {tapped}")


def print_downloads(label: str, downloads) -> None:
    # Modules are loaded at the shell version's URLs (/pwa/v/<version>/app/officer.js): matched by their ending.
    officer = sorted(path for path in downloads.files
                     if path == "/app" or path.endswith(("/app/officer.js", "/app/capture.js", "/vendor/qrcode.mjs")))
    print(f"  {label}: {len(downloads.files)} files, {downloads.total:,} bytes"
          f" (officer's app among them: {', '.join(officer) or 'none'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(NETWORK_PROFILES), default="fast-3g")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare-with", default="main", help="git revision whose precache list to measure too")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    from sync_3g import CHROMIUM_ARGS
    from sync_3g import start_server

    tmp = tempfile.mkdtemp(prefix="app-load-")
    app, base_url, cookie, stop = start_server(tmp)
    session_cookie = {"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": base_url,
                      "httpOnly": True, "sameSite": "Lax"}
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    profile = NETWORK_PROFILES[args.profile]
    print(f"phone: Chromium, CPU {CPU_SLOWDOWN}x slower, DevTools' {args.profile} profile "
          f"({profile['downloadThroughput'] * 8 / 1000:.0f} kbit/s down, {profile['uploadThroughput'] * 8 / 1000:.0f}"
          f" kbit/s up, {profile['latency']:.0f} ms latency)")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium if Path(chromium).exists() else None,
                                                 args=CHROMIUM_ARGS, headless=True)
            print(f"officer, /app, until the main button works ({args.runs} runs):")
            runs = [officer_runs(browser, app, base_url, session_cookie, args.profile) for _ in range(args.runs)]
            print_officer(runs)
            print("citizen, /follow/<code> on a fresh phone, until the service worker is installed:")
            print_downloads("this tree", citizen_scan(browser, base_url, args.profile))
            if args.compare_with:
                source = old_precache(args.compare_with)
                if source is None:
                    print(f"  ({args.compare_with}: no pwa/sw/precache.js from git, not measured)")
                else:
                    print_downloads(f"precache list of {args.compare_with}",
                                    citizen_scan(browser, base_url, args.profile, source))
            browser.close()
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
