// The outbox database for pages, as an ES module. The code lives in outbox-db.classic.js because the service
// worker must load the very same schema with importScripts(), which cannot read `export` statements.

import "./outbox-db.classic.js";

export const {
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
} = globalThis.MotCuaOutboxDb;
