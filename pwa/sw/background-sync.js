/* Background Sync: the browser wakes the worker when connectivity returns, even with the app closed, and the
 * worker sends the outbox itself with the very code the pages use (outbox-flush.classic.js). A classic script
 * loaded by /sw.js after the outbox modules.
 *
 * The flush takes the phone-wide lock, so a page flushing at the same moment makes this one a no-op. When the
 * server could not be reached the promise rejects, which tells the browser to try the sync again later.
 */

async function syncOutbox() {
  const db = await self.MotCuaOutboxDb.openOutbox();
  let outcome;
  try {
    outcome = await self.MotCuaOutboxFlush.flushOutbox(db);
  } finally {
    db.close();
  }
  const windows = await self.clients.matchAll({ type: "window" });
  for (const client of windows) client.postMessage({ type: "outbox-flushed", outcome });
  const { RESULT } = self.MotCuaOutboxFlush;
  if (outcome.result === RESULT.OFFLINE || outcome.result === RESULT.RETRY_LATER) {
    throw new Error(`outbox not sent: ${outcome.result}`);
  }
}

function handleSync(event) {
  if (event.tag === self.MotCuaOutboxFlush.SYNC_TAG) event.waitUntil(syncOutbox());
}
