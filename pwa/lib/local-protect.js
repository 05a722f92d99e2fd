// The seam where the local-at-rest key plugs in: what the officer must still read on this phone after a dossier
// is sealed for the server (its form, to fix it if the server refuses it, and the name the quarantine shows it by)
// goes through protectLocal() and comes back through readLocal(). Nothing else in the app knows how it is
// protected.
//
// The key is the vault's (issue 12 point 2): ./locked-store.js registers it with useLocalKey({scheme, encrypt,
// decrypt}) when it loads, so protectLocal() encrypts with the officer's data key (held in memory only while the
// app is unlocked) exactly as the drafts and the quarantine are. There is no stand-in key: a dossier can only be
// completed with the app unlocked (the lock screen stands in front of the capture pages), and protectLocal() with no
// key registered or the app locked rejects instead of writing anything in clear.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const schemes = new Map();
let current = null;

/** Protect what is written from now on with `protection` ({scheme, encrypt(db, userId, bytes) → {…},
 *  decrypt(db, userId, protected) → bytes}); records written under another registered scheme stay readable. */
export function useLocalKey(protection) {
  schemes.set(protection.scheme, protection);
  current = protection;
}

/** `value` (JSON-compatible) protected at rest for `userId`: `{scheme, ...}` to store in place of it. */
export async function protectLocal(db, userId, value) {
  if (!current) throw new Error("no local key registered (pwa/lib/locked-store.js not loaded)");
  const bytes = encoder.encode(JSON.stringify(value));
  return { scheme: current.scheme, ...(await current.encrypt(db, userId, bytes)) };
}

/** The value protectLocal() protected; rejects when its scheme's key is not available (locked, or erased). */
export async function readLocal(db, userId, protectedValue) {
  const protection = schemes.get(protectedValue && protectedValue.scheme);
  if (!protection) throw new Error(`no key for locally protected data (${protectedValue && protectedValue.scheme})`);
  return JSON.parse(decoder.decode(await protection.decrypt(db, userId, protectedValue)));
}
