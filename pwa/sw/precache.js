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

/**
 * The URL under which this version's pages load a script, module or stylesheet: "/pwa/app/x.js" becomes
 * "/pwa/v/<VERSION>/app/x.js" (the same rule as asset_url() in server/pwa_routes.py). Such a URL names content
 * that never changes, so HTTP caches keep it for a year; the modules' relative imports stay in the same version.
 * Icons and data keep their plain URLs (the manifest and the notifications name them).
 */
function versioned(url) {
  return url.replace(/^\/(pwa|static)\/(?!v\/)/, `/$1/v/${VERSION}/`);
}

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
  versioned("/static/css/app.css"),
  versioned("/pwa/app/register-sw.js"),
  "/pwa/icons/icon-192.png",
]);

const OFFICER_URLS = Object.freeze([
  OFFICER_APP_URL,
  versioned("/pwa/app/officer.js"),
  versioned("/pwa/app/connection.js"),
  versioned("/pwa/app/capture.js"),
  versioned("/pwa/app/outbox-entry.js"),
  versioned("/pwa/app/day.js"),
  versioned("/pwa/app/receipt.js"),
  versioned("/pwa/app/read-aloud.js"),
  versioned("/pwa/app/api.js"),
  versioned("/pwa/app/dom.js"),
  versioned("/pwa/app/i18n.js"),
  versioned("/pwa/app/passkeys.js"),
  versioned("/pwa/app/vault-screens.js"), // issue 12 point 2: the vault and its locked store
  versioned("/pwa/lib/vault.js"),
  versioned("/pwa/lib/locked-store.js"),
  versioned("/pwa/lib/outbox-flush.js"),
  versioned("/pwa/lib/outbox-flush.classic.js"),
  versioned("/pwa/vendor/qrcode.mjs"),
  versioned("/pwa/lib/calendar.js"),
  versioned("/pwa/lib/codes.js"), // day.js gives the codes of the reserved block with it
  versioned("/pwa/lib/identity.js"),
  versioned("/pwa/lib/images.js"),
  versioned("/pwa/lib/photo-worker.js"), // images.js starts it to prepare photos off the main thread (issue 11.5)
  versioned("/pwa/lib/outbox-db.js"),
  versioned("/pwa/lib/outbox-db.classic.js"),
  versioned("/pwa/lib/search.js"),
  versioned("/pwa/lib/seal.js"),
  versioned("/pwa/lib/local-protect.js"),
  "/pwa/icons/icon-512.png",
  "/pwa/icons/maskable-512.png",
  "/pwa-data/id_place_codes.json",
  "/pwa-data/phone_vn.json",
]);

/** Everything the worker may precache. */
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
