// The seam where a local-at-rest key plugs in (issue 12 point 2, "the vault"): what the officer must still read
// on this phone after a dossier is sealed (the form, to fix it if the server refuses it) goes through
// protectLocal() and comes back through readLocal(). Nothing else in the app knows how it is protected.
//
// The vault registers its key with useLocalKey({scheme, encrypt, decrypt}) (a data key unwrapped by the passkey's
// PRF or the app PIN, held in memory while the app is unlocked). Until then, the stand-in below is a device key:
// a non-extractable AES-GCM key made once per officer and kept in the outbox database's meta store. It keeps
// personal data out of a dump of IndexedDB's records, but its key material lies in the same browser profile, so
// it does NOT protect a lost phone's disk: the vault's key does.

import { getMeta, setMeta } from "./outbox-flush.js";

const DEVICE_KEY = "local_device_key";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function deviceKey(db, userId) {
  let key = await getMeta(db, userId, DEVICE_KEY);
  if (!key) {
    key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    await setMeta(db, userId, DEVICE_KEY, key);
  }
  return key;
}

const deviceKeyProtection = Object.freeze({
  scheme: "device-key-v1",
  async encrypt(db, userId, bytes) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await deviceKey(db, userId), bytes);
    return { iv, data };
  },
  async decrypt(db, userId, sealed) {
    return crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, await deviceKey(db, userId), sealed.data);
  },
});

const schemes = new Map([[deviceKeyProtection.scheme, deviceKeyProtection]]);
let current = deviceKeyProtection;

/** Protect what is written from now on with `protection` ({scheme, encrypt, decrypt}); older records stay
 *  readable by the scheme they name. */
export function useLocalKey(protection) {
  schemes.set(protection.scheme, protection);
  current = protection;
}

/** `value` (JSON-compatible) protected at rest for `userId`: `{scheme, ...}` to store in place of it. */
export async function protectLocal(db, userId, value) {
  const bytes = encoder.encode(JSON.stringify(value));
  return { scheme: current.scheme, ...(await current.encrypt(db, userId, bytes)) };
}

/** The value protectLocal() protected; rejects when its scheme's key is not available (locked, or erased). */
export async function readLocal(db, userId, protectedValue) {
  const protection = schemes.get(protectedValue && protectedValue.scheme);
  if (!protection) throw new Error(`no key for locally protected data (${protectedValue && protectedValue.scheme})`);
  return JSON.parse(decoder.decode(await protection.decrypt(db, userId, protectedValue)));
}
