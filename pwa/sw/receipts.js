/* Delivery receipts: the worker tells the server that a notification was shown, then opened. A classic script
 * loaded by /sw.js after outbox-db.classic.js (whose promise helpers it uses) and before push.js.
 *
 * A receipt carries only the token the push payload brought for its delivery (server/push/receipts.py): no
 * cookie, no CSRF token. The citizen may have been signed out since the push came, and the receipt still counts;
 * `credentials: "omit"` also keeps a background request from extending anyone's session.
 *
 * A receipt that cannot be sent now (offline, the server down, 5xx, 429) waits in its own IndexedDB database and
 * goes at the next chance: the next push, the worker's activation, a page opening (register-sw.js sends
 * "flush-receipts"), and Background Sync where it exists (Chromium). A success or a definitive refusal (another
 * 4xx: a token the server does not know) removes it; the server ignores a replay, so sending twice is harmless.
 * Its own database rather than a store of the outbox: nothing here is personal or per officer, and opening it
 * never waits on an outbox upgrade held by an old tab.
 */

const RECEIPTS_DB_NAME = "motcua-receipts";
const RECEIPTS_DB_VERSION = 1;
const RECEIPTS_STORE = "pending";
const RECEIPTS_URL = "/api/v1/push/receipts";
const RECEIPTS_SYNC_TAG = "motcua-receipts";
/** How long one receipt request may take before it counts as "not sent now" (a weak link at a door). */
const RECEIPT_TIMEOUT_MS = 8000;

function openReceipts() {
  const request = indexedDB.open(RECEIPTS_DB_NAME, RECEIPTS_DB_VERSION);
  request.onupgradeneeded = () => {
    // One record per delivery and event ("<token>:shown"): keeping a receipt twice sends it once.
    request.result.createObjectStore(RECEIPTS_STORE, { keyPath: "key" });
  };
  return self.MotCuaOutboxDb.requestResult(request);
}

async function withReceipts(mode, work) {
  const db = await openReceipts();
  try {
    return await self.MotCuaOutboxDb.withStores(db, RECEIPTS_STORE, mode, (stores) => work(stores[RECEIPTS_STORE]));
  } finally {
    db.close();
  }
}

/** Whether the server's answer ends the receipt's life: sent (2xx), or refused for good (4xx but 408 and 429). */
function receiptSettled(status) {
  return (status >= 200 && status < 300) || (status >= 400 && status < 500 && status !== 408 && status !== 429);
}

/** POST one receipt; resolves with true when it is settled, false when it must be tried again later. */
async function postReceipt(receipt) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), RECEIPT_TIMEOUT_MS);
  try {
    const response = await fetch(RECEIPTS_URL, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ receipt: receipt.token, event: receipt.event, at: receipt.at }),
      signal: controller.signal,
    });
    return receiptSettled(response.status);
  } catch {
    return false; // offline, or no answer in time
  } finally {
    clearTimeout(timer);
  }
}

/** Keep a receipt for later, and ask for a Background Sync where the browser has it. */
async function keepReceipt(receipt) {
  await withReceipts("readwrite", (store) =>
    self.MotCuaOutboxDb.requestResult(store.put({ key: `${receipt.token}:${receipt.event}`, ...receipt })),
  );
  if (self.registration.sync) {
    await self.registration.sync.register(RECEIPTS_SYNC_TAG).catch(() => undefined);
  }
}

/** Report `event` ("shown" or "opened") of the delivery whose token is `token`: now, or later from the queue. */
async function reportReceipt(token, event) {
  if (typeof token !== "string" || !token) return false;
  const receipt = { token, event, at: Date.now() };
  if (await postReceipt(receipt)) return true;
  await keepReceipt(receipt);
  return false;
}

/** Send every receipt that waits; resolves with how many are still waiting (0: all settled). */
async function flushReceipts() {
  const waiting = await withReceipts("readonly", (store) => self.MotCuaOutboxDb.requestResult(store.getAll()));
  let left = 0;
  for (const receipt of waiting) {
    if (await postReceipt(receipt)) {
      await withReceipts("readwrite", (store) => self.MotCuaOutboxDb.requestResult(store.delete(receipt.key)));
    } else {
      left += 1;
    }
  }
  return left;
}

/** For the sync event: a rejection tells the browser to try again later. */
async function syncReceipts() {
  const left = await flushReceipts();
  if (left) throw new Error(`${left} receipts not sent yet`);
}

/** Never let a failed flush (IndexedDB unavailable, say) break the event that triggered it. */
function flushReceiptsQuietly() {
  return flushReceipts().catch((error) => {
    console.warn("receipts not flushed:", error);
    return -1;
  });
}

/** Background Sync (Chromium): the browser says the network is back. */
function handleReceiptsSync(event) {
  if (event.tag === RECEIPTS_SYNC_TAG) event.waitUntil(syncReceipts());
}

/** A page opened (register-sw.js): send what waits, then answer `{type: "receipts-flushed", left}`. */
function handleReceiptsMessage(event) {
  const type = event.data && event.data.type;
  if (type !== "flush-receipts") return;
  const source = event.source;
  event.waitUntil(
    flushReceiptsQuietly().then((left) => {
      if (source) source.postMessage({ type: "receipts-flushed", left });
    }),
  );
}
