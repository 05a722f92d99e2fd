/* Configuration of the service worker: a classic script, loaded first by /sw.js with importScripts().
 *
 * VERSION names this build of the app shell. The server replaces the value below when it serves this file
 * (server/pwa_routes.py) with a digest of the files the shell is made of: a deploy that changes any of them
 * therefore changes this file, which is what makes the browser install the new worker; one that changes none of
 * them leaves the phones alone. Keep the line exactly in this form: the server refuses to serve it otherwise.
 */
const VERSION = "dev";

/** Every cache this app creates starts with `${CACHE_PREFIX}-`; other caches of the origin are not ours. */
const CACHE_PREFIX = "motcua";

/** One cache for the precached shell, one for assets met at run time; both die with their version. */
const CACHE_NAMES = Object.freeze({
  shell: `${CACHE_PREFIX}-shell-${VERSION}`,
  assets: `${CACHE_PREFIX}-assets-${VERSION}`,
});

/** The caches this version keeps when it activates; any other `motcua-` cache is a leftover of an old version. */
const EXPECTED_CACHES = Object.freeze(Object.values(CACHE_NAMES));

/** When a cached shell page is in the wrong language, the network gets this many seconds before it is served anyway
 * (a weak 2G/3G link at a door). */
const NAVIGATION_TIMEOUT_SECONDS = 4;
