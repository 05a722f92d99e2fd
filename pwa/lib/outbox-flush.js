// Sending the outbox, for pages, as an ES module. The code lives in outbox-flush.classic.js because the service
// worker runs the very same flush for Background Sync and loads it with importScripts().

import "./outbox-db.classic.js";
import "./outbox-flush.classic.js";

export const {
  RESULT, BACKOFF, LOCK_NAME, SYNC_TAG, SERVER_ERROR_LIMIT, SERVER_ERRORS_SLUG, PROBE_TIMEOUT_MS, backoffDelay,
  flushOutbox, summarize, getMeta, setMeta,
} =
  globalThis.MotCuaOutboxFlush;
