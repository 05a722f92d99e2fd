/* How the worker answers requests. A classic script loaded by /sw.js after precache.js.
 *
 * - Navigations: network first. A shell page (/app, /offline) falls back to its cached copy when the network
 *   fails, is too slow or the server answers 5xx; any other page falls back to the offline page. Pages fetched
 *   from the network are never stored: they may show a name or a dossier, and the next person to pick up the
 *   phone must not see them.
 * - Static assets (/static/, /pwa/, /pwa-data/, the manifest): cache first. They are versioned by construction:
 *   the version is a digest of these very files, and each version has its own caches.
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
  const cached = await matchOwn(event.request);
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

/** Network first for pages; the cached shell page or the offline page when the network cannot answer. */
async function navigate(event) {
  const url = new URL(event.request.url);
  const network = fromNetwork(event);
  // The network request goes on after a timeout; keep the worker alive for it and never leave it unhandled.
  event.waitUntil(network.then(() => undefined, () => undefined));
  if (SHELL_PAGES.includes(url.pathname)) {
    try {
      const response = await withTimeout(network, NAVIGATION_TIMEOUT_SECONDS);
      if (response.status < 500) return response;
    } catch (error) {
      // Offline, or too slow: the cached shell is the answer.
    }
    // ignoreSearch: "/app?visit=12" is the same shell; ignoreVary: the cached copy's Vary (Cookie) is irrelevant.
    const cached = await matchOwn(url.pathname, { ignoreSearch: true, ignoreVary: true });
    if (cached) return cached;
    return network;
  }
  try {
    return await network;
  } catch (error) {
    const offline = await matchOwn(OFFLINE_URL, { ignoreVary: true });
    if (offline) return offline;
    throw error;
  }
}
