/* The app shell and the worker's lifecycle: what is cached at install, what activation cleans up, and the
 * messages from the pages. A classic script loaded by /sw.js after config.js.
 *
 * Nothing here touches IndexedDB: the outbox (unsent dossiers and photos) lives there and must survive every
 * deploy, so an update only ever replaces caches.
 */

/** Pages the worker can show without network. They carry no user data and no CSRF token (see pwa_routes.py). */
const SHELL_PAGES = Object.freeze(["/app", "/offline"]);

/** The fallback for any other page while offline. */
const OFFLINE_URL = "/offline";

/** The officer's app: the page whose visit makes this phone an officer's phone (see wantsOfficerShell). */
const OFFICER_APP_URL = "/app";

/*
 * What is precached depends on whose phone this is (issue 11, point 9). Every page registers the same worker (one
 * scope, one version, one update flow), but a citizen who scans the QR code on a receipt must not download the
 * officer's whole app in the background: that is most of the bytes, on the citizen's own data plan.
 *
 * - COMMON_URLS, on every phone: the offline page and what it needs.
 * - OFFICER_URLS, on an officer's phone only: everything /app needs to open and capture with no network.
 * Both go into the one shell cache of the version (CACHE_NAMES.shell), so that an update replaces it whole.
 */
const COMMON_URLS = Object.freeze([
  OFFLINE_URL,
  "/manifest.webmanifest",
  "/static/css/app.css",
  "/pwa/app/register-sw.js",
  "/pwa/icons/icon-192.png",
]);

const OFFICER_URLS = Object.freeze([
  OFFICER_APP_URL,
  "/pwa/app/officer.js",
  "/pwa/app/connection.js",
  "/pwa/app/capture.js",
  "/pwa/app/outbox-entry.js",
  "/pwa/app/day.js",
  "/pwa/app/receipt.js",
  "/pwa/app/read-aloud.js",
  "/pwa/app/api.js",
  "/pwa/app/dom.js",
  "/pwa/app/i18n.js",
  "/pwa/app/passkeys.js",
  "/pwa/app/vault-screens.js", // issue 12 point 2: the vault and its locked store
  "/pwa/lib/vault.js",
  "/pwa/lib/locked-store.js",
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
  "/pwa/lib/seal.js",
  "/pwa/lib/local-protect.js",
  "/pwa/icons/icon-512.png",
  "/pwa/icons/maskable-512.png",
  "/pwa-data/id_place_codes.json",
  "/pwa-data/phone_vn.json",
]);

/** Everything the worker may precache (for the fetch handler: these are versioned assets). */
const SHELL_URLS = Object.freeze([...COMMON_URLS, ...OFFICER_URLS]);

/**
 * Whether this phone is an officer's: the officer's app is open in a tab (the first install is started by /app
 * itself, or by a page opened next to it), or the version being replaced had the officer's shell (an update).
 * A phone that opens /app later, after a citizen page installed the worker, gets the officer's shell then
 * (ensureOfficerShell, which /app asks for).
 */
async function wantsOfficerShell() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (windows.some((client) => new URL(client.url).pathname === OFFICER_APP_URL)) return true;
  for (const name of await caches.keys()) {
    if (name.startsWith(`${CACHE_PREFIX}-shell-`) && name !== CACHE_NAMES.shell) {
      if (await (await caches.open(name)).match(OFFICER_APP_URL, { ignoreVary: true })) return true;
    }
  }
  return false;
}

/** Install: the common files, and the officer's app on an officer's phone. */
async function precacheShell() {
  const officer = await wantsOfficerShell();
  await precache(officer ? SHELL_URLS : COMMON_URLS);
}

/** Asked by /app (the "officer-shell" message): fetch the officer's shell if this version does not have it yet,
 *  on a phone whose worker was installed by another page (the enrolment page, a citizen's page). Once it is done,
 *  /app opens with no network. */
async function ensureOfficerShell() {
  const cache = await caches.open(CACHE_NAMES.shell);
  if (await cache.match(OFFICER_APP_URL, { ignoreVary: true })) return;
  await precache(OFFICER_URLS);
}

/**
 * Fill this version's shell cache with `urls`. All files are fetched before any is stored, and a single failure
 * fails the whole: a half-cached shell would break offline at the worst moment, while a failed install simply
 * keeps the current version and is retried at the next update check.
 */
async function precache(urls) {
  const responses = await Promise.all(
    urls.map(async (url) => {
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
 * code underneath. `version` answers the running version, for the pages and the tests. `officer-shell` (sent by
 * /app) makes sure the officer's shell is cached, then answers `{type: "officer-shell", ready}`.
 */
function handleMessage(event) {
  const type = typeof event.data === "string" ? event.data : event.data && event.data.type;
  if (type === "skip-waiting") {
    event.waitUntil(self.skipWaiting());
  } else if (type === "version" && event.source) {
    event.source.postMessage({ type: "version", version: VERSION });
  } else if (type === "officer-shell" && event.source) {
    const source = event.source;
    event.waitUntil(
      ensureOfficerShell().then(
        () => source.postMessage({ type: "officer-shell", ready: true }),
        (error) => source.postMessage({ type: "officer-shell", ready: false, reason: String(error) }),
      ),
    );
  }
}
