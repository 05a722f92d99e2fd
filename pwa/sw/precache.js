/* The app shell and the worker's lifecycle: what is cached at install, what activation cleans up, and the
 * "skip-waiting" message. A classic script loaded by /sw.js after config.js.
 *
 * Nothing here touches IndexedDB: the outbox (unsent dossiers and photos) lives there and must survive every
 * deploy, so an update only ever replaces caches.
 */

/** Pages the worker can show without network. They carry no user data and no CSRF token (see pwa_routes.py). */
const SHELL_PAGES = Object.freeze(["/app", "/offline"]);

/** The fallback for any other page while offline. */
const OFFLINE_URL = "/offline";

/** Everything the officer's app needs offline, fetched afresh for each version. */
const SHELL_URLS = Object.freeze([
  ...SHELL_PAGES,
  "/manifest.webmanifest",
  "/static/css/app.css",
  "/pwa/app/register-sw.js",
  "/pwa/app/officer.js",
  "/pwa/app/capture.js",
  "/pwa/app/day.js",
  "/pwa/app/receipt.js",
  "/pwa/app/read-aloud.js",
  "/pwa/app/api.js",
  "/pwa/app/dom.js",
  "/pwa/app/i18n.js",
  "/pwa/app/passkeys.js",
  "/pwa/lib/outbox-flush.js",
  "/pwa/lib/outbox-flush.classic.js",
  "/pwa/vendor/qrcode.mjs",
  "/pwa/lib/calendar.js",
  "/pwa/lib/identity.js",
  "/pwa/lib/images.js",
  "/pwa/lib/photo-worker.js", // images.js starts it to prepare photos off the main thread (issue 11.5)
  "/pwa/lib/outbox-db.js",
  "/pwa/lib/outbox-db.classic.js",
  "/pwa/lib/search.js",
  "/pwa/icons/icon-192.png",
  "/pwa/icons/icon-512.png",
  "/pwa/icons/maskable-512.png",
  "/pwa-data/id_place_codes.json",
  "/pwa-data/phone_vn.json",
]);

/**
 * Fill this version's shell cache. All files are fetched before any is stored, and a single failure fails the
 * install: a half-cached shell would break offline at the worst moment, while a failed install simply keeps the
 * current version and is retried at the next update check.
 */
async function precacheShell() {
  const responses = await Promise.all(
    SHELL_URLS.map(async (url) => {
      // "reload" skips the HTTP cache: the files must be this version's, not whatever the browser kept.
      const response = await fetch(new Request(url, { cache: "reload", credentials: "same-origin" }));
      if (!response.ok) throw new Error(`precache: ${url} answered ${response.status}`);
      // A redirected response cannot answer a navigation; a shell URL that redirects is a server bug.
      if (response.redirected) throw new Error(`precache: ${url} was redirected to ${response.url}`);
      return [url, response];
    }),
  );
  const cache = await caches.open(CACHE_NAMES.shell);
  await Promise.all(responses.map(([url, response]) => cache.put(url, response)));
}

/** Delete the caches of older versions: only ours (prefixed), never another app's caches on this origin. */
async function deleteStaleCaches() {
  const names = await caches.keys();
  const stale = names.filter((name) => name.startsWith(`${CACHE_PREFIX}-`) && !EXPECTED_CACHES.includes(name));
  await Promise.all(stale.map((name) => caches.delete(name)));
  return stale;
}

/** Activation: clean up, let navigations start while the worker boots, and take control of open pages. */
async function activateShell() {
  await deleteStaleCaches();
  if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
  // Only on first install does this change anything visible: an update activates after the user tapped
  // "Cập nhật", and the page that asked reloads itself.
  await self.clients.claim();
}

/**
 * Messages from pages. `skip-waiting` (a string or `{type: "skip-waiting"}`) activates a waiting version: it is
 * sent only when the officer taps "Cập nhật", never automatically, so a capture in progress is not swapped to new
 * code underneath. `version` answers the running version, for the pages and the tests.
 */
function handleMessage(event) {
  const type = typeof event.data === "string" ? event.data : event.data && event.data.type;
  if (type === "skip-waiting") {
    event.waitUntil(self.skipWaiting());
  } else if (type === "version" && event.source) {
    event.source.postMessage({ type: "version", version: VERSION });
  }
}
