// A completed dossier enters the outbox sealed (issue 12 point 1). The clear body and photos never reach the
// outbox: the record keeps what the receipt shows and the sync needs, nothing that names the citizen.
//
// What an outbox record keeps in clear, and why:
// - client_uuid, user_id, status, times, attempts: the flush's bookkeeping (the officer's own id, no citizen);
// - issued: the code, provisional code, procedure key, received and due times, the claim token (and its hash),
//   so a dossier fixed after a refusal keeps the code and time the citizen holds on paper, and the receipt's QR
//   code can be drawn again while the officer is still at the door;
// - receipt: what the receipt screen shows once the page has let go of the clear copy (code, procedure name,
//   statutory time, times, the names of the document types, ward and officer); no name, ID, phone or address;
// - sealed: the key id, the body's envelope, the photos' SHA-256 (the upload addresses; a hash reveals nothing of
//   a page, and the server checks each photo against it after opening it).
// The form itself (to fix the dossier if the server refuses it) and its label (code and owner's name, for the
// quarantine's list) are kept only through protectLocal(), i.e. locked with the vault's data key.

import { STATUS, STORES, requestResult, withStores } from "../lib/outbox-db.js";
import { OFFICER_ONLY, getPhoto } from "../lib/locked-store.js";
import { getMeta, setMeta } from "../lib/outbox-flush.js";
import { protectLocal } from "../lib/local-protect.js";
import { importServerKey, sealDossier } from "../lib/seal.js";
import { api } from "./api.js";

export const SEALING_KEY_META = "sealing_key";

/** The phone has no server key to seal to (no day downloaded with this version, and no network). */
export class NoSealingKey extends Error {}

/** Keep the server's current public key (from the day download) for the dossiers completed from now on. */
export function keepSealingKey(db, userId, info) {
  return info ? setMeta(db, userId, SEALING_KEY_META, info) : Promise.resolve();
}

/** The server key to seal to: the one the day download brought, else asked for now (rejects with NoSealingKey
 *  offline). Called before a code is issued, so that a dossier that cannot be sealed takes no code. */
export async function sealingKey(db, userId) {
  const kept = await getMeta(db, userId, SEALING_KEY_META);
  if (kept) return kept;
  try {
    const info = await api("/api/v1/sealing-key");
    await keepSealingKey(db, userId, info);
    return info;
  } catch {
    throw new NoSealingKey("no sealing key on the phone");
  }
}

/** The receipt's facts that name no one (the same list the phone keeps after the server confirms a dossier). */
function impersonalReceipt(receipt) {
  const { label, ...kept } = receipt; // the label joins the code and the owner's name
  return kept;
}

/**
 * Seal `record` (a completed dossier with its clear `payload` and `form`) to `keyInfo` (sealingKey()) and put it in the outbox in place of
 * its draft, photos and all, in one transaction. Resolves with the stored record; `record` itself is untouched
 * (the page shows the receipt from it, in memory only).
 */
export async function enterOutbox(db, record, keyInfo) {
  const server = await importServerKey(keyInfo);
  const hashes = [...new Set(record.payload.documents.map((doc) => doc.sha256).filter(Boolean))];
  // The photos as the unlocked app reads them (locked-store.js opens the locked bytes).
  const rows = (await Promise.all(hashes.map((sha) => getPhoto(db, sha)))).filter(Boolean);
  // A photo sealed for an earlier try of this dossier (it came back from quarantine) is sent as it is.
  const clear = rows.filter((row) => !row.sealed && row.blob).map((row) => ({ sha256: row.sha256, blob: row.blob }));
  const sealed = await sealDossier(server, record.client_uuid, record.payload, clear);
  // The form to fix it if the server refuses it, and the name the quarantine shows it by.
  const local = await protectLocal(db, record.user_id, { form: record.form, label: record.receipt.label });
  const stored = {
    client_uuid: record.client_uuid,
    user_id: record.user_id,
    status: STATUS.QUEUED,
    created_at: record.created_at,
    updated_at: Date.now(),
    completed_at: record.completed_at,
    issued: record.issued,
    receipt: impersonalReceipt(record.receipt),
    sealed: { kid: sealed.kid, body: sealed.body, photos: hashes },
    local,
    problem: null,
  };
  await withStores(db, [STORES.dossiers, STORES.photos], "readwrite", async (stores) => {
    for (const [sha256, envelope] of Object.entries(sealed.photos)) {
      const row = await requestResult(stores.photos.get(sha256));
      if (!row) continue;
      row.sealed = envelope;
      row.size = envelope.size;
      // The sealed copy replaces the locked one, unless another dossier the officer still works on (a draft, or a
      // quarantined one to fix) shows the same page: that one keeps it, locked. Clear bytes (written by a version
      // before the vault) go in any case.
      const others = await Promise.all(row.dossier_uuids.filter((uuid) => uuid !== record.client_uuid)
        .map((uuid) => requestResult(stores.dossiers.get(uuid))));
      if (!others.some((other) => other && OFFICER_ONLY.has(other.status))) delete row.locked;
      delete row.blob;
      delete row.thumbnail;
      await requestResult(stores.photos.put(row));
    }
    await requestResult(stores.dossiers.put(stored));
  });
  return stored;
}
