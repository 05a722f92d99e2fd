/* The service worker's entry point: it loads the modules and wires the events, nothing else (STYLE.md §12).
 *
 * Classic scripts through importScripts(), not a module worker: module service workers are too new for many of
 * the officers' phones. The logic lives in /pwa/sw/*.js; /pwa/lib/outbox-db.classic.js is the IndexedDB schema
 * shared with the pages. Served at /sw.js so that its scope is the whole site (server/pwa_routes.py).
 */
importScripts(
  "/pwa/sw/config.js",
  "/pwa/lib/outbox-db.classic.js",
  "/pwa/lib/outbox-flush.classic.js",
  "/pwa/sw/precache.js",
  "/pwa/sw/strategies.js",
  "/pwa/sw/background-sync.js",
  "/pwa/sw/receipts.js",
  "/pwa/sw/push.js",
);

// A new version installs its shell, then waits: it takes over only when the officer taps "Cập nhật".
self.addEventListener("install", (event) => event.waitUntil(precacheShell()));

// Receipts kept while offline go at activation too (after the shell: a failed flush never fails activation).
self.addEventListener("activate", (event) => event.waitUntil(activateShell().then(flushReceiptsQuietly)));

self.addEventListener("fetch", (event) => {
  const handle = routeRequest(event.request);
  if (handle) event.respondWith(handle(event));
});

self.addEventListener("message", handleMessage);
// A page at launch asks the worker to send the receipts it kept ("flush-receipts").
self.addEventListener("message", handleReceiptsMessage);

// The outbox is sent from here when the browser says the network is back (Chromium; other browsers rely on the
// page's own triggers).
self.addEventListener("sync", handleSync);
self.addEventListener("sync", handleReceiptsSync);

// Web Push: always show a notification and report it shown; a tap opens the dossier and reports it opened.
self.addEventListener("push", handlePush);
self.addEventListener("notificationclick", handleNotificationClick);
