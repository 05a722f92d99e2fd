// Drafts, quarantined dossiers and their photos as they rest in IndexedDB: encrypted with the vault's data key
// (./vault.js), AES-256-GCM, a fresh 12-byte IV per write, and the record's store and key as additional data (a
// ciphertext moved onto another record does not decrypt). Pages go through these functions instead of the plain
// get/put of ./outbox-db.js for those records; the service worker never needs them. This module is also the key
// behind ./local-protect.js (registered below), so everything the officer reads back on the phone is under one key.
//
// Two kinds of protection, one per reader (issue 12):
// - what only the server reads, a completed dossier's body and photos, is SEALED to the server's key
//   (../app/outbox-entry.js, ./seal.js): the outbox sends it with nothing unlocked;
// - what the officer reads back is LOCKED with the data key (this module).
// No field gets both.
//
// What is locked, by the dossier's status:
// - draft and quarantined: everything but the bookkeeping the outbox and the status bar read without the key
//   (CLEAR_FIELDS: uuid, user, status, times, attempt counters) and what is already protected (PROTECTED_FIELDS:
//   the sealed envelope, the local copy);
// - queued, sending, synced: nothing more. A sealed outbox record keeps only what names no one in clear (see
//   outbox-entry.js); its form is the `local` copy, protected through local-protect.js with this same key. (A record
//   queued by a version before sealing still has its clear body for the outbox; only its `form` is locked.)
// A photo row keeps in clear its hash (its key: a photo is stored once and uploaded idempotently), size, owner and
// dossiers. While only drafts use it, its bytes, thumbnail and checks are locked here; once its dossier is
// completed, it holds the copy sealed for the server instead (and keeps the locked one only while a draft or a
// quarantined dossier still shows the same page).

import { STATUS, STORES, allForUser, get, put, requestResult, withStores } from "./outbox-db.js";
import { dataKey, dropVault } from "./vault.js";
import { useLocalKey } from "./local-protect.js";

const FORMAT = 1;

/** Dossier fields the outbox and the status bar read with the app locked: never personal data. */
const CLEAR_FIELDS = new Set([
  "client_uuid", "user_id", "status", "created_at", "updated_at", "completed_at", "synced_at", "quarantined_at",
  "attempts", "last_attempt_at", "server_errors", "locked",
]);

/** Dossier fields protected already, which a second layer would only slow down: the envelope sealed for the
 *  server (the phone cannot read it) and the local copy (locked with this module's key, see VAULT_PROTECTION). */
const PROTECTED_FIELDS = new Set(["sealed", "local"]);

/** Statuses where the officer reads and changes the whole dossier (nothing of it is needed to send it). */
export const OFFICER_ONLY = new Set([STATUS.DRAFT, STATUS.QUARANTINED]);

/** Statuses in which the outbox sends the dossier (one queued before sealing is sent with its clear photos). */
const WAITING = new Set([STATUS.QUEUED, STATUS.SENDING]);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function additionalData(store, key) {
  return encoder.encode(`motcua-locked:${store}:${key}`);
}

async function encrypt(userId, store, key, bytes) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: additionalData(store, key) },
    dataKey(userId), bytes);
  return { v: FORMAT, iv, data };
}

async function decrypt(userId, store, key, locked) {
  return crypto.subtle.decrypt({ name: "AES-GCM", iv: locked.iv, additionalData: additionalData(store, key) },
    dataKey(userId), locked.data);
}

/** The vault's key behind local-protect.js: a sealed dossier's local copy (its form and label) is locked as a
 *  draft is. Reading it back needs the app unlocked, like any draft. */
const VAULT_PROTECTION = Object.freeze({
  scheme: "vault-v1",
  encrypt: (db, userId, bytes) => encrypt(userId, "local", "", bytes),
  decrypt: (db, userId, locked) => decrypt(userId, "local", "", locked),
});
useLocalKey(VAULT_PROTECTION);

/** The fields of `record` that rest encrypted, for its status. */
function lockedFieldsOf(record) {
  if (OFFICER_ONLY.has(record.status)) {
    return Object.keys(record).filter((name) => !CLEAR_FIELDS.has(name) && !PROTECTED_FIELDS.has(name));
  }
  return "form" in record ? ["form"] : [];
}

/** The dossier as it rests: its personal fields moved, with those already locked, into `locked`. */
async function lockDossier(record) {
  const fields = lockedFieldsOf(record);
  if (!fields.length) return record;
  const secret = record.locked ? await openDossierSecret(record) : {};
  const stored = {};
  for (const [name, value] of Object.entries(record)) {
    if (fields.includes(name)) secret[name] = value;
    else if (name !== "locked") stored[name] = value;
  }
  stored.locked = await encrypt(record.user_id, STORES.dossiers, record.client_uuid,
    encoder.encode(JSON.stringify(secret)));
  return stored;
}

async function openDossierSecret(stored) {
  const bytes = await decrypt(stored.user_id, STORES.dossiers, stored.client_uuid, stored.locked);
  return JSON.parse(decoder.decode(bytes));
}

/** The dossier as the app uses it (throws VaultLocked when it holds locked fields and the app is locked). */
export async function unlockDossier(stored) {
  if (!stored || !stored.locked) return stored;
  const { locked, ...clear } = stored;
  return { ...clear, ...(await openDossierSecret(stored)) };
}

/** Store a dossier (insert or replace), its personal data locked. */
export async function putDossier(db, record) {
  return put(db, STORES.dossiers, await lockDossier(record));
}

/** The dossier under `uuid`, readable, or undefined. */
export async function getDossier(db, uuid) {
  return unlockDossier(await get(db, STORES.dossiers, uuid));
}

/** Every dossier of `userId`, readable. */
export async function dossiersOf(db, userId) {
  return Promise.all((await allForUser(db, STORES.dossiers, userId)).map(unlockDossier));
}

// --- photos ---------------------------------------------------------------------------------------------------

/** What a photo row locks: its bytes, its thumbnail and its checks, in one ciphertext (a small JSON head first). */
async function lockPhotoContent(userId, sha256, { blob, thumbnail, quality, width, height }) {
  const image = new Uint8Array(await blob.arrayBuffer());
  const thumb = thumbnail ? new Uint8Array(await thumbnail.arrayBuffer()) : new Uint8Array(0);
  const head = encoder.encode(JSON.stringify({
    quality: quality || null, width, height, image: [blob.type, image.length],
    thumbnail: thumbnail ? [thumbnail.type, thumb.length] : null,
  }));
  const packed = new Uint8Array(4 + head.length + thumb.length + image.length);
  new DataView(packed.buffer).setUint32(0, head.length);
  packed.set(head, 4);
  packed.set(thumb, 4 + head.length);
  packed.set(image, 4 + head.length + thumb.length);
  return encrypt(userId, STORES.photos, sha256, packed);
}

/** A photo row's locked content: {blob, thumbnail, quality, width, height}. */
async function unlockPhotoContent(row) {
  const packed = new Uint8Array(await decrypt(row.user_id, STORES.photos, row.sha256, row.locked));
  const headLength = new DataView(packed.buffer).getUint32(0);
  const head = JSON.parse(decoder.decode(packed.subarray(4, 4 + headLength)));
  let at = 4 + headLength;
  let thumbnail = null;
  if (head.thumbnail) {
    thumbnail = new Blob([packed.subarray(at, at + head.thumbnail[1])], { type: head.thumbnail[0] });
    at += head.thumbnail[1];
  }
  const blob = new Blob([packed.subarray(at, at + head.image[1])], { type: head.image[0] });
  return { blob, thumbnail, quality: head.quality, width: head.width, height: head.height };
}

/** A photo row, readable (`blob`, `thumbnail`, `quality`), or undefined. */
export async function getPhoto(db, sha256) {
  const row = await get(db, STORES.photos, sha256);
  if (!row || !row.locked) return row;
  const { locked, ...clear } = row;
  return { ...clear, ...(await unlockPhotoContent(row)) };
}

/**
 * Keep a prepared photo (images.js preparePhotoOffMainThread) for dossier `uuid`, locked; a photo already stored
 * (the same page twice) gains this dossier. Encrypted before the transaction opens: awaiting WebCrypto inside it
 * would let IndexedDB commit it early.
 */
export async function storePhoto(db, userId, uuid, prepared) {
  const locked = await lockPhotoContent(userId, prepared.sha256, prepared);
  return withStores(db, STORES.photos, "readwrite", async (stores) => {
    const existing = await requestResult(stores.photos.get(prepared.sha256));
    const row = existing || {
      sha256: prepared.sha256, user_id: userId, locked, media_type: "image/jpeg", size: prepared.size,
      dossier_uuids: [], uploaded: false, created_at: Date.now(),
    };
    if (!row.dossier_uuids.includes(uuid)) row.dossier_uuids.push(uuid);
    await requestResult(stores.photos.put(row));
  });
}

// --- keeping it locked ----------------------------------------------------------------------------------------

/**
 * Lock what rests in clear although it should not, for `userId` (the app is unlocked): records written before the
 * vault existed (an app update), a dossier the outbox quarantined (its receipt and reason came back in clear from
 * the flush, which has no key), and clear photo bytes no unsealed waiting dossier needs any more (a dossier queued
 * by a version before sealing is sent with its clear photos; they are locked once it is sent). Called at every
 * unlock and after every flush.
 */
export async function relock(db, userId) {
  const dossiers = await allForUser(db, STORES.dossiers, userId);
  const sentInClear = new Set(); // waiting dossiers queued before sealing
  for (const stored of dossiers) {
    if (WAITING.has(stored.status) && !stored.sealed) sentInClear.add(stored.client_uuid);
    const clear = lockedFieldsOf(stored);
    if (clear.length) await putDossier(db, await unlockDossier(stored));
  }
  for (const row of await allForUser(db, STORES.photos, userId)) {
    if (!row.blob && !row.thumbnail) continue; // locked, sealed, or both: nothing in clear
    if (!row.sealed && !row.uploaded && (row.dossier_uuids || []).some((uuid) => sentInClear.has(uuid))) continue;
    const content = row.locked ? null : await lockPhotoContent(userId, row.sha256, row);
    await withStores(db, STORES.photos, "readwrite", async (stores) => {
      const current = await requestResult(stores.photos.get(row.sha256));
      if (!current) return;
      const { blob, thumbnail, quality, width, height, ...kept } = current;
      await requestResult(stores.photos.put({ ...kept, locked: current.locked || content }));
    });
  }
}

/**
 * The last allowed PIN was wrong: erase what only the officer could read. Drafts and quarantined dossiers go with
 * the photos only they used, and the wrapped key; a dossier waiting to be sent or already sent stays (its sealed
 * body is the outbox's, and the citizen holds its receipt) but loses its local copy, which nobody can read any more.
 */
export async function eraseLockedData(db, userId) {
  const dossiers = await allForUser(db, STORES.dossiers, userId);
  const erased = new Set(dossiers.filter((d) => OFFICER_ONLY.has(d.status)).map((d) => d.client_uuid));
  await withStores(db, [STORES.dossiers, STORES.photos], "readwrite", async (stores) => {
    for (const stored of dossiers) {
      if (erased.has(stored.client_uuid)) {
        await requestResult(stores.dossiers.delete(stored.client_uuid));
      } else if (stored.locked || stored.local) {
        const { locked, local, ...kept } = stored;
        await requestResult(stores.dossiers.put(kept));
      }
    }
    for (const row of await requestResult(stores.photos.index("by_user").getAll(userId))) {
      const users = (row.dossier_uuids || []).filter((uuid) => !erased.has(uuid));
      // What is left to send is the sealed copy (or, queued before sealing, the clear one); the locked one goes.
      if (!users.length || !(row.sealed || row.blob)) await requestResult(stores.photos.delete(row.sha256));
      else if (users.length !== row.dossier_uuids.length || row.locked) {
        const { locked, ...kept } = row;
        await requestResult(stores.photos.put({ ...kept, dossier_uuids: users }));
      }
    }
  });
  await dropVault(db, userId);
}
