/* How the worker answers requests. A classic script loaded by /sw.js after precache.js.
 *
 * - Shell pages (/app, /offline): the cached copy at once, whatever the network does (a connection that answers
 *   nothing must not hold the officer at the door), refreshed from the network behind it for the next launch.
 *   Only when the cached copy is in another language than the one the visitor chose since (/language/<code>)
 *   does the navigation go to the network first, falling back to the cached copy when the network fails, is too
 *   slow or answers 5xx.
 * - Other navigations: network first, the offline page when it fails. Pages fetched from the network are never
 *   stored: they may show a name or a dossier, and the next person to pick up the phone must not see them. The
 *   shell pages hold no user data (server/pwa_routes.py), which is why they alone may be kept.
 * - Static assets (/static/, /pwa/, /pwa-data/, the manifest): cache first. They are versioned by construction:
 *   the version is a digest of these very files, and each version has its own caches. Pages load scripts and
 *   styles at this version's URLs (/pwa/v/<VERSION>/..., precache.js's versioned()); a request for a plain
 *   /pwa/... or /static/... URL is answered with this version's copy of the same file, which is what the server
 *   would send for it while this version is the one deployed.
 * - /api/ and anything not same-origin or not GET: left to the browser. API data the phone keeps offline goes to
 *   IndexedDB (pwa/lib/outbox-db.js), where it belongs to one user and can be wiped.
 */

const ASSET_PREFIXES = Object.freeze(["/static/", "/pwa/", "/pwa-data/"]);

/** The handler for `request`, or null when the browser should handle it alone. */
function routeRequest(request) {
  if (request.method !== "GET") return null;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return null;
  if (url.pathname.startsWith("/api/")) return null;
  if (request.mode === "navigate") return navigate;
  if (isVersionedAsset(url.pathname)) return cacheFirst;
  return null;
}

function isVersionedAsset(pathname) {
  // The worker's own modules are fetched by importScripts, which the update check compares byte for byte.
  if (pathname.startsWith("/pwa/sw/")) return false;
  return SHELL_URLS.includes(pathname) || ASSET_PREFIXES.some((prefix) => pathname.startsWith(prefix));
}

/**
 * Look in this version's caches only. `caches.match()` would search every cache of the origin, including the
 * next version's while it waits and other apps' caches.
 */
async function matchOwn(request, options = {}) {
  for (const name of EXPECTED_CACHES) {
    const cache = await caches.open(name);
    const found = await cache.match(request, options);
    if (found) return found;
  }
  return undefined;
}

/** Cache first: a cached copy if any, else the network, kept for next time when it is a plain 200. */
async function cacheFirst(event) {
  const { pathname } = new URL(event.request.url);
  const ours = versioned(pathname); // the same file at this version's URL, for a plain /pwa/ or /static/ URL
  const cached = (await matchOwn(event.request)) || (ours !== pathname ? await matchOwn(ours) : undefined);
  if (cached) return cached;
  const response = await fetch(event.request);
  if (response.status === 200 && response.type === "basic") {
    const copy = response.clone();
    event.waitUntil(caches.open(CACHE_NAMES.assets).then((cache) => cache.put(event.request, copy)));
  }
  return response;
}

/** The network's answer for a navigation, through navigation preload when the browser started one. */
async function fromNetwork(event) {
  const preloaded = await event.preloadResponse;
  return preloaded || fetch(event.request);
}

/** Settle with `promise`, or reject after `seconds`. */
function withTimeout(promise, seconds) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Where the worker remembers the language the visitor last chose, so that it can tell a cached shell page in the
 * wrong language (the language cookie is HttpOnly: the worker only sees it go by). Kept in this version's shell
 * cache: after an update the shell is precached again with the cookie of that moment, which is the choice.
 */
const CHOSEN_LANGUAGE_KEY = "/__motcua/chosen-language";
const LANGUAGE_PATH = /^\/language\/([a-z]{2})$/;

async function chosenLanguage() {
  const cache = await caches.open(CACHE_NAMES.shell);
  const remembered = await cache.match(CHOSEN_LANGUAGE_KEY);
  return remembered ? remembered.text() : null;
}

async function rememberLanguage(code) {
  const cache = await caches.open(CACHE_NAMES.shell);
  await cache.put(CHOSEN_LANGUAGE_KEY, new Response(code, { headers: { "Content-Type": "text/plain" } }));
}

/** Whether a cached shell page may be shown as it is: it was rendered in the language chosen last, if any. */
async function isCurrentShell(cached) {
  const chosen = await chosenLanguage();
  return chosen === null || cached.headers.get("Content-Language") === chosen;
}

/**
 * Replace the cached shell page with a fresh one for the next launch, when it is a plain 200 of this very version
 * of the shell. Only a page this version already holds is replaced: whether /app is cached is what tells
 * precache.js that the officer's whole shell is (ensureOfficerShell), so a page must never arrive here alone.
 */
async function keepShellPage(pathname, response) {
  if (response.status !== 200 || response.type !== "basic" || response.redirected) return;
  if (response.headers.get("X-Shell-Version") !== VERSION) return; // a newer deploy's page waits for its worker
  const cache = await caches.open(CACHE_NAMES.shell);
  if (!(await cache.match(pathname, { ignoreVary: true }))) return;
  await cache.put(pathname, response);
}

/** Shell pages from the cache at once (see the top of this file); other pages network first. */
async function navigate(event) {
  const url = new URL(event.request.url);
  const network = fromNetwork(event);
  // The network request goes on after we answered; keep the worker alive for it and never leave it unhandled.
  event.waitUntil(network.then(() => undefined, () => undefined));
  if (SHELL_PAGES.includes(url.pathname)) return navigateToShell(event, url, network);
  try {
    const response = await network;
    const language = url.pathname.match(LANGUAGE_PATH);
    // The server answers the switch with a redirect (opaque to the worker) once it has set the cookie.
    if (language && (response.type === "opaqueredirect" || response.ok)) await rememberLanguage(language[1]);
    return response;
  } catch (error) {
    const offline = await matchOwn(OFFLINE_URL, { ignoreVary: true });
    if (offline) return offline;
    throw error;
  }
}

async function navigateToShell(event, url, network) {
  // ignoreSearch: "/app?visit=12" is the same shell; ignoreVary: the cached copy's Vary (Cookie) is irrelevant.
  const cached = await matchOwn(url.pathname, { ignoreSearch: true, ignoreVary: true });
  if (cached && (await isCurrentShell(cached))) {
    event.waitUntil(network.then((response) => keepShellPage(url.pathname, response), () => undefined));
    return cached;
  }
  try {
    const response = await withTimeout(network, NAVIGATION_TIMEOUT_SECONDS);
    if (response.status < 500) {
      event.waitUntil(keepShellPage(url.pathname, response.clone()).catch(() => undefined));
      return response;
    }
  } catch (error) {
    // Offline, or too slow: the cached shell, even in the other language, is better than nothing.
  }
  if (cached) return cached;
  return network;
}
