/* The phone's IndexedDB database ("motcua-outbox"): the outbox of captured dossiers and their photos, and the
 * reference data downloaded for a day offline. Schema, upgrade function and small promise helpers; no network.
 *
 * Loaded two ways, which is why it has no import/export statements: the service worker runs it as a classic
 * script (importScripts), and pages import it through the ES module ./outbox-db.js. Either way it defines
 * `self.MotCuaOutboxDb`.
 *
 * Every record carries the `user_id` of the officer who created it, and every store can be read by user: several
 * officers may share a phone, each sees only their own work, and a revoked device can wipe everybody's data.
 * The database is a separate file from the caches: deploying a new app version never touches it.
 */
(function (scope) {
  "use strict";

  const DB_NAME = "motcua-outbox";
  const DB_VERSION = 1;

  /** Where a captured dossier is on its way to the server. */
  const STATUS = Object.freeze({
    DRAFT: "draft", // being filled in; saved at every change
    QUEUED: "queued", // complete, waiting for a connection
    SENDING: "sending", // a request is in flight (back to queued if the app died meanwhile)
    SYNCED: "synced", // the server stored it; only the code, status and receipt are kept
    QUARANTINED: "quarantined", // the server refused it (422/409); waits for the officer with the reason
  });

  const STORES = Object.freeze({
    dossiers: "dossiers",
    photos: "photos",
    catalogue: "catalogue",
    calendar: "calendar",
    codeBlocks: "code_blocks",
    visits: "visits",
    meta: "meta",
  });

  /** Reference stores: keyed by the user and the server's own natural key, so a new download replaces rows. */
  const REFERENCE_KEYS = Object.freeze({
    catalogue: "key", // procedure key
    calendar: "from", // first day of a published calendar range
    code_blocks: "day", // one block of codes per phone and day
    visits: "id", // home-visit id
    meta: "name", // small facts: last download, sync cursor, last successful sync
  });

  /**
   * Create or migrate the schema. Called inside the versionchange transaction with the version the phone had
   * (0 for a new database). Each version adds its own `if (oldVersion < N)` block; a store that may hold unsent
   * dossiers or photos is never deleted, only migrated record by record.
   */
  function upgrade(db, oldVersion) {
    if (oldVersion < 1) {
      const dossiers = db.createObjectStore(STORES.dossiers, { keyPath: "client_uuid" });
      dossiers.createIndex("by_user", "user_id");
      dossiers.createIndex("by_status", "status");
      dossiers.createIndex("by_user_status", ["user_id", "status"]);

      // Keyed by content: a photo is stored once even if attached to several dossiers (`dossier_uuids`).
      const photos = db.createObjectStore(STORES.photos, { keyPath: "sha256" });
      photos.createIndex("by_dossier", "dossier_uuids", { multiEntry: true });
      photos.createIndex("by_user", "user_id");

      for (const [name, key] of Object.entries(REFERENCE_KEYS)) {
        const store = db.createObjectStore(name, { keyPath: ["user_id", key] });
        store.createIndex("by_user", "user_id");
      }
    }
  }

  /** A promise of an IDBRequest's result. */
  function requestResult(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  /** A promise that settles when a transaction commits (or rejects when it fails or is aborted). */
  function transactionDone(transaction) {
    return new Promise((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new DOMException("Transaction aborted", "AbortError"));
    });
  }

  /**
   * Open (and create or upgrade) the database.
   * @param {{name?: string, factory?: IDBFactory, onBlocked?: Function}} options another name or factory (tests),
   *   and what to do while an old tab blocks an upgrade.
   */
  function openOutbox(options = {}) {
    const factory = options.factory || scope.indexedDB;
    const request = factory.open(options.name || DB_NAME, DB_VERSION);
    request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
    return new Promise((resolve, reject) => {
      request.onsuccess = () => {
        const db = request.result;
        // Another tab or the worker of a newer version wants to upgrade: let it, rather than block it forever.
        db.onversionchange = () => db.close();
        resolve(db);
      };
      request.onerror = () => reject(request.error);
      // An older tab that ignores versionchange holds the database: the open waits; tell the page so it can say so.
      request.onblocked = () => {
        if (typeof options.onBlocked === "function") options.onBlocked();
      };
    });
  }

  /**
   * Run `work(stores)` in one transaction over `storeNames` and resolve with its result once committed.
   * `work` receives the object stores by name; it must only issue IndexedDB requests (awaiting anything else
   * lets the transaction commit early). It may return a promise of request results.
   */
  async function withStores(db, storeNames, mode, work) {
    const names = Array.isArray(storeNames) ? storeNames : [storeNames];
    const transaction = db.transaction(names, mode);
    const done = transactionDone(transaction);
    const stores = Object.fromEntries(names.map((name) => [name, transaction.objectStore(name)]));
    let result;
    try {
      result = await work(stores, transaction);
    } catch (error) {
      try {
        transaction.abort();
      } catch (ignored) {
        // already finished
      }
      done.catch(() => undefined);
      throw error;
    }
    await done;
    return result;
  }

  function requireUser(record) {
    if (record === null || typeof record !== "object" || record.user_id === undefined || record.user_id === null) {
      throw new TypeError("every record must carry the user_id of the signed-in officer");
    }
  }

  /** Store `record` (insert or replace); it must carry `user_id`. Resolves with its key. */
  function put(db, storeName, record) {
    requireUser(record);
    return withStores(db, storeName, "readwrite", (stores) => requestResult(stores[storeName].put(record)));
  }

  /** Store several records in one transaction (a day download is all or nothing). */
  function putAll(db, storeName, records) {
    records.forEach(requireUser);
    return withStores(db, storeName, "readwrite", (stores) =>
      Promise.all(records.map((record) => requestResult(stores[storeName].put(record)))),
    );
  }

  /** The record under `key`, or undefined. */
  function get(db, storeName, key) {
    return withStores(db, storeName, "readonly", (stores) => requestResult(stores[storeName].get(key)));
  }

  /** Delete the record under `key`. */
  function remove(db, storeName, key) {
    return withStores(db, storeName, "readwrite", (stores) => requestResult(stores[storeName].delete(key)));
  }

  /** All records of one user in a store. */
  function allForUser(db, storeName, userId) {
    return withStores(db, storeName, "readonly", (stores) =>
      requestResult(stores[storeName].index("by_user").getAll(userId)),
    );
  }

  /** One user's dossiers in a status (for example every queued one, oldest first by key order of the index). */
  function dossiersWithStatus(db, userId, status) {
    return withStores(db, STORES.dossiers, "readonly", (stores) =>
      requestResult(stores.dossiers.index("by_user_status").getAll([userId, status])),
    );
  }

  /** The photos attached to a dossier. */
  function photosOfDossier(db, clientUuid) {
    return withStores(db, STORES.photos, "readonly", (stores) =>
      requestResult(stores.photos.index("by_dossier").getAll(clientUuid)),
    );
  }

  /**
   * Inside a transaction on the photos store: detach photos from a dossier and delete each one no other dossier
   * uses (a photo is stored once, even when two dossiers share it).
   */
  async function detachPhotos(photoStore, clientUuid, hashes) {
    for (const sha256 of hashes) {
      const row = await requestResult(photoStore.get(sha256));
      if (!row) continue;
      row.dossier_uuids = (row.dossier_uuids || []).filter((uuid) => uuid !== clientUuid);
      if (row.dossier_uuids.length) await requestResult(photoStore.put(row));
      else await requestResult(photoStore.delete(sha256));
    }
  }

  /** Delete everything one user has on this phone (all stores, one transaction). */
  function deleteUserData(db, userId) {
    const names = Object.values(STORES);
    return withStores(db, names, "readwrite", (stores) =>
      Promise.all(
        names.map((name) =>
          requestResult(stores[name].index("by_user").getAllKeys(userId)).then((keys) =>
            Promise.all(keys.map((key) => requestResult(stores[name].delete(key)))),
          ),
        ),
      ),
    );
  }

  /** Empty every store, for every user: what a revoked device does at its next contact with the server. */
  function wipeAll(db) {
    const names = Object.values(STORES);
    return withStores(db, names, "readwrite", (stores) =>
      Promise.all(names.map((name) => requestResult(stores[name].clear()))),
    );
  }

  scope.MotCuaOutboxDb = Object.freeze({
    DB_NAME,
    DB_VERSION,
    STATUS,
    STORES,
    upgrade,
    openOutbox,
    requestResult,
    transactionDone,
    withStores,
    put,
    putAll,
    get,
    remove,
    allForUser,
    dossiersWithStatus,
    photosOfDossier,
    detachPhotos,
    deleteUserData,
    wipeAll,
  });
})(typeof self !== "undefined" ? self : globalThis);
