/* Sending the outbox: photos first, then each dossier, one at a time, oldest first. No user interface here.
 *
 * Loaded like outbox-db.classic.js (which it needs first): by the service worker with importScripts(), for
 * Background Sync while no page is open, and by pages through the ES module ./outbox-flush.js. Defines
 * `self.MotCuaOutboxFlush`.
 *
 * Rules, each answering a way of losing or doubling a dossier:
 * - Nothing authenticating is stored. Every flush starts with GET /api/v1/session: it proves the network really
 *   works (navigator.onLine does not), says whose outbox may be sent (the signed-in officer's only) and gives a
 *   fresh CSRF token.
 * - A dossier's body is frozen when the officer completes it, so a replay is byte-for-byte the same request and the
 *   server answers 200 instead of storing a second copy. Only `device_now` (the phone's clock) is added per try.
 * - Only one flush runs at a time per phone (a Web Lock shared by pages and the worker). A record found in
 *   "sending" when a flush starts was left by a flush that died (closed app, crash): it is simply sent again.
 * - 401 pauses everything until the officer signs in again; 409/422 (and a refused photo) quarantine that dossier
 *   and go on with the next; 429, 5xx or a network failure stop the flush and schedule a retry with back-off.
 * - A server error is "retry later", but not forever: after SERVER_ERROR_LIMIT consecutive 5xx answers to the same
 *   dossier (its photos or its body, the body unchanged), the dossier goes to the quarantine with the reason, so
 *   that a server bug nobody has found yet cannot keep it retrying silently. Any other answer to it (a refused
 *   photo, a 4xx or 2xx to the body) ends the run.
 * - After the server confirms a dossier, its personal data and photos leave the phone; the code, the status and
 *   the receipt stay.
 * - A dossier completed by this version is sealed to the server's key (pwa/app/outbox-entry.js): its body and
 *   photos are sent as the envelopes they are, so sending needs no key and nothing unlocked. One queued by an
 *   older version (clear `payload`, photo `blob`) is sent as before.
 */
(function (scope) {
  "use strict";

  const Db = scope.MotCuaOutboxDb;
  const { STATUS, STORES } = Db;
  const LOCK_NAME = "motcua-outbox-flush";
  /** The Background Sync tag the page registers and the worker answers (pwa/sw/background-sync.js). */
  const SYNC_TAG = "motcua-outbox";
  const PROBLEM = "urn:motcua:problem:";
  const SEALED_MEDIA_TYPE = "application/vnd.motcua.sealed"; // as pwa/lib/seal.js

  /** Back-off between automatic retries while items wait: 5 s doubling up to 5 min, with ±50 % jitter. */
  const BACKOFF = Object.freeze({ baseMs: 5000, capMs: 5 * 60 * 1000 });

  /** How long a probe of the server (GET /api/v1/session) may wait for an answer before the phone counts itself
   *  offline. On "lie-fi" (a link that connects and then answers nothing) a probe without a bound never ends: the
   *  app would never say "no network" and the flush lock would stay held. The pages' own probe uses it too
   *  (pwa/app/officer.js). Uploads have no such bound: a photo on 3G may honestly take longer. */
  const PROBE_TIMEOUT_MS = 5000;

  /** Consecutive 5xx answers for one unchanged dossier after which it is quarantined (flushOutbox's option
   *  `maxServerErrors` overrides it). */
  const SERVER_ERROR_LIMIT = 5;

  /** The quarantine reason (problem slug) of a dossier the server kept failing on. */
  const SERVER_ERRORS_SLUG = "server-error-repeated";

  /** What a flush ended with. */
  const RESULT = Object.freeze({
    DONE: "done", // everything that could be sent was sent (quarantined items excepted)
    NOTHING: "nothing", // nothing waited
    OFFLINE: "offline", // the probe or a request did not reach the server
    SIGNED_OUT: "signed_out", // 401: the outbox is paused until the officer signs in
    RETRY_LATER: "retry_later", // 429 or 5xx: the server asked for patience
    WIPED: "wiped", // the device was revoked: the outbox was erased
    BUSY: "busy", // another flush (another tab or the worker) is running
  });

  /** The delay before retry number `failures` (1, 2, ...): capped and jittered so phones do not retry in step. */
  function backoffDelay(failures, random = Math.random) {
    const exponential = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** Math.max(0, failures - 1));
    return Math.round(exponential * (0.5 + random() * 0.5));
  }

  class NetworkError extends Error {}

  /** fetch that throws NetworkError when the server cannot be reached, and gives back status and problem.
   *  `timeoutMs` (probes only) aborts a request that is not answered in time, which counts as unreachable. */
  async function call(fetchImpl, path, init, timeoutMs = null) {
    const controller = timeoutMs ? new AbortController() : null;
    const timer = controller && setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await answerOf(fetchImpl, path, { ...init, ...(controller ? { signal: controller.signal } : {}) });
    } finally {
      clearTimeout(timer);
    }
  }

  async function answerOf(fetchImpl, path, init) {
    let response;
    try {
      response = await fetchImpl(path, { credentials: "same-origin", cache: "no-store", ...init });
    } catch (error) {
      throw new NetworkError(String(error));
    }
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("json")) {
      try {
        data = await response.json();
      } catch {
        data = null; // a truncated or timed-out body (the connection dropped): treated like a network failure below
        if (response.ok) throw new NetworkError("truncated response");
      }
    }
    return { status: response.status, data, retryAfter: response.headers.get("Retry-After") };
  }

  /** The flush's probe: who is signed in, if the server answers within PROBE_TIMEOUT_MS. */
  function probeSession(fetchImpl) {
    return call(fetchImpl, "/api/v1/session", { headers: { Accept: "application/json" } }, PROBE_TIMEOUT_MS);
  }

  function slug(problem) {
    const type = (problem && problem.type) || "";
    return type.startsWith(PROBLEM) ? type.slice(PROBLEM.length) : type;
  }

  /** A problem as the quarantine keeps it: what the officer needs to fix it, no more. */
  function keptProblem(status, data) {
    const problem = data || {};
    return {
      status,
      type: slug(problem),
      title: problem.title || `HTTP ${status}`,
      detail: problem.detail || "",
      errors: Array.isArray(problem.errors) ? problem.errors : [],
    };
  }

  async function getMeta(db, userId, name) {
    const row = await Db.get(db, STORES.meta, [userId, name]);
    return row ? row.value : undefined;
  }

  function setMeta(db, userId, name, value) {
    return Db.put(db, STORES.meta, { user_id: userId, name, value });
  }

  /** Queued (and stale "sending") dossiers of a user, oldest completed first. */
  async function waitingDossiers(db, userId) {
    const queued = await Db.dossiersWithStatus(db, userId, STATUS.QUEUED);
    const sending = await Db.dossiersWithStatus(db, userId, STATUS.SENDING);
    return [...sending, ...queued].sort((a, b) => (a.completed_at || 0) - (b.completed_at || 0));
  }

  /** The distinct photo hashes a dossier refers to, in order. */
  function photoHashes(dossier) {
    if (dossier.sealed) return dossier.sealed.photos;
    const hashes = (dossier.payload.documents || []).map((doc) => doc.sha256).filter(Boolean);
    return [...new Set(hashes)];
  }

  /** Update a dossier record in place (read, change, write in one transaction). */
  function updateDossier(db, clientUuid, change) {
    return Db.withStores(db, STORES.dossiers, "readwrite", async (stores) => {
      const record = await Db.requestResult(stores.dossiers.get(clientUuid));
      if (!record) return undefined;
      change(record);
      record.updated_at = Date.now();
      await Db.requestResult(stores.dossiers.put(record));
      return record;
    });
  }

  /**
   * The server stored the dossier: keep the code, the status and the receipt; drop personal data and photos
   * (a photo shared with a dossier still waiting stays until that one is confirmed too).
   */
  function markSynced(db, dossier, server) {
    return Db.withStores(db, [STORES.dossiers, STORES.photos], "readwrite", async (stores) => {
      const hashes = photoHashes(dossier);
      await Db.detachPhotos(stores.photos, dossier.client_uuid, hashes);
      const receipt = dossier.receipt || {};
      const kept = {
        client_uuid: dossier.client_uuid,
        user_id: dossier.user_id,
        status: STATUS.SYNCED,
        created_at: dossier.created_at,
        completed_at: dossier.completed_at,
        synced_at: Date.now(),
        updated_at: Date.now(),
        receipt: {
          code: server.code || receipt.code || null,
          provisional_code: receipt.provisional_code || null,
          procedure_name: receipt.procedure_name || null,
          procedure_name_lang: receipt.procedure_name_lang || null,
          received_at: receipt.received_at || null,
          due_at: receipt.due_at || null,
          // Not personal data, and the officer may still be at the door when the dossier syncs: the redrawn QR
          // code must still let the citizen claim the dossier. The token is spent at its first use anyway.
          claim_token: receipt.claim_token || null,
          // What the receipt (Mẫu 01) still shows once the citizen's data is gone: none of it is personal data.
          time: receipt.time || null,
          version_id: receipt.version_id || null,
          same_day: Boolean(receipt.same_day),
          citizen_requested_receipt: Boolean(receipt.citizen_requested_receipt),
          agency_name: receipt.agency_name || null,
          place: receipt.place || null,
          receipt_series: receipt.receipt_series || null,
          officer_name: receipt.officer_name || null,
          documents: receipt.documents || [],
        },
        server: {
          code: server.code,
          state: server.state,
          national_status: server.national_status,
          due_at: server.due_at,
          receipt_number: server.receipt_number || null,
          photo_hashes: hashes,
          flags: (server.flags || []).map((flag) => flag.kind),
        },
      };
      await Db.requestResult(stores.dossiers.put(kept));
      return kept;
    });
  }

  function quarantine(db, clientUuid, problem) {
    return updateDossier(db, clientUuid, (record) => {
      record.status = STATUS.QUARANTINED;
      record.problem = problem;
      record.quarantined_at = Date.now();
      record.server_errors = null; // sent again after a fix, it starts a new count
    });
  }

  /** A short fingerprint of a dossier's frozen body (FNV-1a over its JSON): "the same body" across flushes. */
  function bodyFingerprint(dossier) {
    const text = JSON.stringify((dossier.sealed && dossier.sealed.body) || dossier.payload || {});
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i += 1) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return `${text.length}:${hash.toString(16)}`;
  }

  /**
   * Count a 5xx answer for this dossier; returns the count of consecutive ones for its current body (a changed
   * body starts again at 1).
   */
  async function countServerError(db, dossier) {
    const body = bodyFingerprint(dossier);
    const record = await updateDossier(db, dossier.client_uuid, (row) => {
      const previous = row.server_errors && row.server_errors.body === body ? row.server_errors.count : 0;
      row.server_errors = { body, count: previous + 1 };
    });
    return record ? record.server_errors.count : 1;
  }

  /** Any answer but a 5xx ends a run of server errors. */
  function resetServerErrors(db, dossier) {
    return updateDossier(db, dossier.client_uuid, (row) => {
      if (row.server_errors) row.server_errors = null;
    });
  }

  /**
   * A 5xx for `dossier`: "retry later" (null), or, at the limit, the problem to quarantine it with.
   */
  async function serverErrorVerdict(db, ctx, dossier, status, data) {
    if (status < 500) {
      await resetServerErrors(db, dossier);
      return null;
    }
    const count = await countServerError(db, dossier);
    if (count < ctx.maxServerErrors) return null;
    const problem = keptProblem(status, data);
    return {
      ...problem,
      type: SERVER_ERRORS_SLUG,
      server_errors: count,
      last_type: problem.type,
      // The officer's screen shows its own translation of this reason (by type); this is the fallback.
      detail: `Máy chủ báo lỗi ${count} lần liên tiếp (HTTP ${status}) với hồ sơ này; hồ sơ được giữ lại trên máy.`,
    };
  }

  /** Outcome of one step: null to go on, or the reason to stop the flush. */
  function stopFor(status, data) {
    if (status === 401) return data && data.wipe_local_data ? RESULT.WIPED : RESULT.SIGNED_OUT;
    if (status === 429 || status >= 500) return RESULT.RETRY_LATER;
    return null;
  }

  /**
   * Send one dossier: its photos the server does not have yet, then its body. When the server refuses the body
   * because it cannot use some of its photos (`photos_to_send`: a photo it has no record of, or whose bytes are not
   * in its file store, e.g. uploaded through another server whose disk it cannot see), the phone still holding
   * them uploads them again and sends the body once more; a second such refusal quarantines the dossier.
   * @returns {{stop: string|null, retryAfter?: string}} stop is a RESULT that ends the flush, or null.
   */
  async function sendDossier(db, ctx, dossier) {
    await updateDossier(db, dossier.client_uuid, (record) => {
      record.status = STATUS.SENDING;
      record.attempts = (record.attempts || 0) + 1;
      record.last_attempt_at = Date.now();
    });
    for (let tries = 1; ; tries += 1) {
      const photos = await sendPhotos(db, ctx, dossier);
      if (photos) return photos;
      const deviceNow = new Date(ctx.now()).toISOString();
      const body = dossier.sealed
        ? { sealed: dossier.sealed.body, device_now: deviceNow }
        : { ...dossier.payload, device_now: deviceNow };
      const answer = await ctx.write(
        `/api/v1/dossiers/${dossier.client_uuid}`,
        "PUT",
        JSON.stringify(body),
        "application/json",
      );
      if (answer.status === 200 || answer.status === 201) {
        await markSynced(db, dossier, answer.data || {});
        return { stop: null, synced: true };
      }
      if (answer.status === 422 && tries === 1 && (await forgetUploads(db, dossier, answer.data))) continue;
      return refused(db, ctx, dossier, answer);
    }
  }

  /** Upload the dossier's photos not confirmed yet; null when all are there, else what sendDossier returns. */
  async function sendPhotos(db, ctx, dossier) {
    for (const sha256 of photoHashes(dossier)) {
      const photo = await Db.get(db, STORES.photos, sha256);
      if (!photo || photo.uploaded) continue; // confirmed earlier (shared photo, or a flush cut after it)
      const answer = photo.sealed
        ? await ctx.write(`/api/v1/attachments/${sha256}`, "PUT", photo.sealed, SEALED_MEDIA_TYPE)
        : await ctx.write(`/api/v1/attachments/${sha256}`, "PUT", photo.blob, photo.media_type);
      if (answer.status === 200 || answer.status === 201) {
        await setUploaded(db, [sha256], true);
        continue;
      }
      return refused(db, ctx, dossier, answer);
    }
    return null;
  }

  /** Mark photos as confirmed by the server (true) or to be sent again (false). */
  function setUploaded(db, hashes, uploaded) {
    return Db.withStores(db, STORES.photos, "readwrite", async (stores) => {
      for (const sha256 of hashes) {
        const row = await Db.requestResult(stores.photos.get(sha256));
        if (row) {
          row.uploaded = uploaded;
          await Db.requestResult(stores.photos.put(row));
        }
      }
    });
  }

  /**
   * The server refused the body for photos it cannot use (`photos_to_send`): mark those of this dossier that the
   * phone still holds as not uploaded. True when there is something to send again.
   */
  async function forgetUploads(db, dossier, problem) {
    const asked = new Set((problem && Array.isArray(problem.photos_to_send) && problem.photos_to_send) || []);
    const held = [];
    for (const sha256 of photoHashes(dossier).filter((hash) => asked.has(hash))) {
      const photo = await Db.get(db, STORES.photos, sha256);
      if (photo && (photo.sealed || photo.blob)) held.push(sha256);
    }
    if (held.length === 0 || held.length < asked.size) return false; // a photo it cannot send: quarantine
    await setUploaded(db, held, false);
    return true;
  }

  /** Any answer but a success, to a photo or to the body: retry later, stop, or quarantine the dossier. */
  async function refused(db, ctx, dossier, answer) {
    const given = await serverErrorVerdict(db, ctx, dossier, answer.status, answer.data);
    if (given) {
      await quarantine(db, dossier.client_uuid, given);
      return { stop: null, quarantined: true };
    }
    const stop = stopFor(answer.status, answer.data);
    if (stop) return { stop, retryAfter: answer.retryAfter };
    await quarantine(db, dossier.client_uuid, keptProblem(answer.status, answer.data));
    return { stop: null, quarantined: true };
  }

  /** Put a dossier left in "sending" back in the queue (the flush that owned it stopped). */
  function requeue(db, clientUuid) {
    return updateDossier(db, clientUuid, (record) => {
      if (record.status === STATUS.SENDING) record.status = STATUS.QUEUED;
    });
  }

  async function recordFailure(db, userId, result, retryAfter, ctx) {
    const failures = ((await getMeta(db, userId, "failures")) || 0) + 1;
    let delay = backoffDelay(failures, ctx.random);
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds > 0) delay = Math.max(delay, seconds * 1000);
    await setMeta(db, userId, "failures", failures);
    await setMeta(db, userId, "next_attempt_at", ctx.now() + delay);
    await setMeta(db, userId, "last_result", { result, at: ctx.now() });
    return delay;
  }

  /**
   * Send what waits, for whoever the server says is signed in.
   *
   * @param db an open outbox database (Db.openOutbox()).
   * @param options `fetch` (default: the global one), `now` and `random` (tests), `onProgress(summary)`,
   *   `maxServerErrors` (default SERVER_ERROR_LIMIT).
   * @returns `{result, userId, sent, quarantined, retryInMs}`.
   */
  async function flushUnlocked(db, options = {}) {
    const fetchImpl = options.fetch || scope.fetch.bind(scope);
    const now = options.now || Date.now;
    const random = options.random || Math.random;
    const outcome = { result: RESULT.NOTHING, userId: null, sent: 0, quarantined: 0, retryInMs: null };

    let session;
    try {
      session = await probeSession(fetchImpl);
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      outcome.result = RESULT.OFFLINE;
      return outcome;
    }
    if (session.status === 401) {
      if (session.data && session.data.wipe_local_data) {
        await Db.wipeAll(db);
        outcome.result = RESULT.WIPED;
      } else {
        outcome.result = RESULT.SIGNED_OUT;
      }
      return outcome;
    }
    if (session.status !== 200 || !session.data || !session.data.user) {
      outcome.result = session.status === 429 || session.status >= 500 ? RESULT.RETRY_LATER : RESULT.OFFLINE;
      return outcome;
    }
    const userId = session.data.user.id;
    outcome.userId = userId;
    let csrfToken = session.data.csrf_token;

    const ctx = {
      now,
      random,
      maxServerErrors: options.maxServerErrors || SERVER_ERROR_LIMIT,
      async write(path, method, body, contentType) {
        const send = () =>
          call(fetchImpl, path, {
            method,
            body,
            headers: { "Content-Type": contentType, Accept: "application/json", "X-CSRFToken": csrfToken },
          });
        let answer = await send();
        if (answer.status === 400 && slug(answer.data) === "csrf") {
          // The token expired mid-flush (a long flush on a slow link): take a fresh one, once.
          const again = await probeSession(fetchImpl);
          if (again.status !== 200) return again;
          csrfToken = again.data.csrf_token;
          answer = await send();
        }
        return answer;
      },
    };

    const waiting = await waitingDossiers(db, userId);
    if (waiting.length === 0) {
      await setMeta(db, userId, "last_sync", now());
      await setMeta(db, userId, "failures", 0);
      await setMeta(db, userId, "next_attempt_at", null);
      return outcome;
    }
    for (const dossier of waiting) {
      let step;
      try {
        step = await sendDossier(db, ctx, dossier);
      } catch (error) {
        await requeue(db, dossier.client_uuid);
        if (!(error instanceof NetworkError)) throw error;
        outcome.result = RESULT.OFFLINE;
        outcome.retryInMs = await recordFailure(db, userId, outcome.result, null, ctx);
        return outcome;
      }
      if (step.synced) outcome.sent += 1;
      if (step.quarantined) outcome.quarantined += 1;
      if (step.stop) {
        await requeue(db, dossier.client_uuid);
        outcome.result = step.stop;
        if (step.stop === RESULT.WIPED) {
          await Db.wipeAll(db);
        } else if (step.stop === RESULT.RETRY_LATER) {
          outcome.retryInMs = await recordFailure(db, userId, step.stop, step.retryAfter, ctx);
        }
        return outcome;
      }
      if (typeof options.onProgress === "function") options.onProgress(outcome);
    }
    outcome.result = RESULT.DONE;
    await setMeta(db, userId, "last_sync", now());
    await setMeta(db, userId, "failures", 0);
    await setMeta(db, userId, "next_attempt_at", null);
    await setMeta(db, userId, "last_result", { result: outcome.result, at: now() });
    return outcome;
  }

  /** flushUnlocked under the phone-wide lock: a second caller gets BUSY instead of sending the same items. */
  function flushOutbox(db, options = {}) {
    const locks = scope.navigator && scope.navigator.locks;
    if (!locks) return flushUnlocked(db, options);
    return locks.request(LOCK_NAME, { ifAvailable: true }, (lock) => {
      if (!lock) return { result: RESULT.BUSY, userId: null, sent: 0, quarantined: 0, retryInMs: null };
      return flushUnlocked(db, options);
    });
  }

  /** A dossier's name in lists: its code (a sealed dossier's receipt names no one; an older one's label does). */
  function receiptLabel(receipt) {
    if (!receipt) return "";
    return receipt.label || [receipt.code || receipt.provisional_code, receipt.procedure_name].filter(Boolean).join(" — ");
  }

  /**
   * What the status bar shows for one user: waiting dossiers and their megabytes, the oldest, the last
   * successful sync, drafts, and the quarantine with its reasons.
   */
  async function summarize(db, userId) {
    const dossiers = await Db.allForUser(db, STORES.dossiers, userId);
    const photos = await Db.allForUser(db, STORES.photos, userId);
    const waiting = dossiers.filter((d) => d.status === STATUS.QUEUED || d.status === STATUS.SENDING);
    const waitingIds = new Set(waiting.map((d) => d.client_uuid));
    let bytes = 0;
    for (const photo of photos) {
      if (!photo.uploaded && (photo.dossier_uuids || []).some((uuid) => waitingIds.has(uuid))) bytes += photo.size;
    }
    for (const dossier of waiting) {
      bytes += dossier.sealed ? dossier.sealed.body.length : JSON.stringify(dossier.payload || {}).length;
    }
    const oldest = waiting.reduce((min, d) => Math.min(min, d.completed_at || Infinity), Infinity);
    return {
      waiting: waiting.length,
      bytes,
      oldestCompletedAt: Number.isFinite(oldest) ? oldest : null,
      drafts: dossiers.filter((d) => d.status === STATUS.DRAFT).length,
      synced: dossiers.filter((d) => d.status === STATUS.SYNCED).length,
      quarantined: dossiers
        .filter((d) => d.status === STATUS.QUARANTINED)
        .map((d) => ({ client_uuid: d.client_uuid, label: receiptLabel(d.receipt), problem: d.problem })),
      lastSync: (await getMeta(db, userId, "last_sync")) || null,
      nextAttemptAt: (await getMeta(db, userId, "next_attempt_at")) || null,
    };
  }

  scope.MotCuaOutboxFlush = Object.freeze({
    RESULT,
    BACKOFF,
    LOCK_NAME,
    SYNC_TAG,
    SERVER_ERROR_LIMIT,
    SERVER_ERRORS_SLUG,
    PROBE_TIMEOUT_MS,
    backoffDelay,
    flushOutbox,
    summarize,
    getMeta,
    setMeta,
  });
})(typeof self !== "undefined" ? self : globalThis);
