// The officer's vault on this phone (issue 12 point 2): one random data key (AES-256-GCM) that encrypts drafts and
// quarantined dossiers (./locked-store.js). The key never rests in clear: IndexedDB holds it wrapped (AES-KW) by a
// key-encryption key that only the officer can bring back, offline:
//
// - "prf": the passkey's WebAuthn PRF output (the phone's screen lock or fingerprint guards it), through HKDF.
//   Unlocking is a local assertion with the officer's own credential id and the stored PRF salt: no server, no
//   network; the challenge is random and checked by nobody, because the secret is the PRF output, not a signature.
// - "pin": for authenticators without PRF, an app PIN (6+ digits) through PBKDF2-SHA-256 with PIN_ITERATIONS.
//   After `pinTries` wrong PINs in a row (default 5) the locked data is erased (eraseLockedData). The counter is
//   written before each try, so closing the app mid-try does not give a free guess.
//
// Once unwrapped the data key is non-extractable and lives in this module's memory only: a reload, a closed
// browser or lock() forget it. Nothing here touches the network.

import { STORES, get, put, remove } from "./outbox-db.js";

export const METHOD = Object.freeze({ PRF: "prf", PIN: "pin" });

/**
 * PBKDF2-SHA-256 iterations for the PIN. OWASP's 2023 figure for PBKDF2-HMAC-SHA256; bench/unlock.py measured the
 * unlock at 0.29 s median (PBKDF2 and unwrap) on this machine's Chromium at 4x CPU throttling; WebCrypto runs it
 * natively, so a low-end phone may take a few times that. Stored in each vault record, so raising it later leaves
 * older vaults readable.
 */
export const PIN_ITERATIONS = 600_000;
export const PIN_MIN_DIGITS = 6;

/** What the server's session answer may override (`device_policy`), remembered on the phone for offline starts. */
export const DEFAULT_POLICY = Object.freeze({ lockAfterMs: 5 * 60 * 1000, pinTries: 5 });

const VAULT_META = "vault"; // the meta row ([user_id, "vault"]) holding the wrapped key
const HKDF_INFO = new TextEncoder().encode("motcua vault v1: key-encryption key from the passkey PRF");

/** The app is locked: the data key is not in memory. */
export class VaultLocked extends Error {
  constructor() {
    super("the vault is locked");
    this.name = "VaultLocked";
  }
}

/** A wrong PIN; `triesLeft` before the locked data is erased. */
export class WrongPin extends Error {
  constructor(triesLeft) {
    super("wrong PIN");
    this.name = "WrongPin";
    this.triesLeft = triesLeft;
  }
}

/** The last allowed PIN was wrong: the locked data was erased. */
export class VaultErased extends Error {
  constructor() {
    super("too many wrong PINs: the locked data was erased");
    this.name = "VaultErased";
  }
}

/** The passkey gave no PRF output (the authenticator does not support it): use a PIN. */
export class PrfUnavailable extends Error {
  constructor() {
    super("this passkey cannot derive a key (no PRF)");
    this.name = "PrfUnavailable";
  }
}

let session = null; // {userId, key: CryptoKey (non-extractable)} while unlocked

const random = (length) => crypto.getRandomValues(new Uint8Array(length));

/** The data key for `userId`; throws VaultLocked when the app is locked (or unlocked for somebody else). */
export function dataKey(userId) {
  if (!session || (userId !== undefined && session.userId !== userId)) throw new VaultLocked();
  return session.key;
}

export function isUnlocked(userId) {
  return Boolean(session && (userId === undefined || session.userId === userId));
}

/** Forget the data key. */
export function lock() {
  session = null;
}

/** The stored vault of `userId` ({method, wrapped_key, ...}), or null when none was set up on this phone. */
export async function vaultOf(db, userId) {
  const row = await get(db, STORES.meta, [userId, VAULT_META]);
  return row ? row.value : null;
}

function saveVault(db, userId, vault) {
  return put(db, STORES.meta, { user_id: userId, name: VAULT_META, value: vault });
}

/** A PIN the vault accepts: digits only, at least PIN_MIN_DIGITS. */
export function pinAcceptable(pin) {
  return typeof pin === "string" && new RegExp(`^\\d{${PIN_MIN_DIGITS},}$`).test(pin);
}

async function pinKek(pin, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material,
    { name: "AES-KW", length: 256 }, false, ["wrapKey", "unwrapKey"]);
}

async function prfKek(prfOutput, salt) {
  const material = await crypto.subtle.importKey("raw", prfOutput, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt, info: HKDF_INFO }, material,
    { name: "AES-KW", length: 256 }, false, ["wrapKey", "unwrapKey"]);
}

/** A new random data key, wrapped by `kek`; the clear (extractable) one is dropped once wrapped. */
async function newWrappedKey(kek) {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
  return crypto.subtle.wrapKey("raw", key, kek, "AES-KW");
}

/** Unwrap the data key as a non-extractable AES-GCM key; AES-KW's integrity check fails on a wrong KEK. */
function unwrap(wrapped, kek) {
  return crypto.subtle.unwrapKey("raw", wrapped, kek, "AES-KW", { name: "AES-GCM", length: 256 }, false,
    ["encrypt", "decrypt"]);
}

/**
 * A local PRF assertion: the officer's passkey evaluates its PRF on `prfSalt`. `credentialId` limits it to that
 * passkey (unlocking); without it the phone offers its passkeys for this site (setting up).
 * @returns {{output: ArrayBuffer, credentialId: ArrayBuffer}}
 */
async function prfAssertion(prfSalt, { credentialId = null, rpId = null } = {}) {
  const publicKey = {
    challenge: random(32),
    userVerification: "required",
    timeout: 120_000,
    extensions: { prf: { eval: { first: prfSalt } } },
  };
  if (rpId) publicKey.rpId = rpId;
  if (credentialId) publicKey.allowCredentials = [{ type: "public-key", id: credentialId }];
  const credential = await navigator.credentials.get({ publicKey });
  const results = credential && credential.getClientExtensionResults().prf;
  const output = results && results.results && results.results.first;
  if (!output) throw new PrfUnavailable();
  return { output, credentialId: credential.rawId };
}

/**
 * Set up the vault with the officer's passkey. Throws PrfUnavailable when the authenticator has no PRF (then
 * offer a PIN), or the WebAuthn error when the officer cancels.
 */
export async function setUpWithPasskey(db, userId, { rpId = null } = {}) {
  const prfSalt = random(32);
  const kekSalt = random(16);
  const { output, credentialId } = await prfAssertion(prfSalt, { rpId });
  const kek = await prfKek(output, kekSalt);
  const vault = {
    version: 1, method: METHOD.PRF, wrapped_key: await newWrappedKey(kek), prf_salt: prfSalt, kek_salt: kekSalt,
    credential_id: credentialId, rp_id: rpId, created_at: Date.now(),
  };
  session = { userId, key: await unwrap(vault.wrapped_key, kek) };
  await saveVault(db, userId, vault);
}

/** Set up the vault with an app PIN (pinAcceptable). */
export async function setUpWithPin(db, userId, pin, { iterations = PIN_ITERATIONS } = {}) {
  if (!pinAcceptable(pin)) throw new TypeError("the PIN must have at least 6 digits");
  const kekSalt = random(16);
  const kek = await pinKek(pin, kekSalt, iterations);
  const vault = {
    version: 1, method: METHOD.PIN, wrapped_key: await newWrappedKey(kek), kek_salt: kekSalt, iterations,
    failed_tries: 0, created_at: Date.now(),
  };
  session = { userId, key: await unwrap(vault.wrapped_key, kek) };
  await saveVault(db, userId, vault);
}

/** Unlock with the passkey the vault was set up with (offline: the assertion never leaves the phone). */
export async function unlockWithPasskey(db, userId) {
  const vault = await vaultOf(db, userId);
  if (!vault || vault.method !== METHOD.PRF) throw new TypeError("no passkey vault for this officer");
  const { output } = await prfAssertion(vault.prf_salt, { credentialId: vault.credential_id, rpId: vault.rp_id });
  session = { userId, key: await unwrap(vault.wrapped_key, await prfKek(output, vault.kek_salt)) };
}

/**
 * Unlock with the PIN. A wrong one throws WrongPin (with the tries left); the `pinTries`-th wrong one in a row
 * erases the locked data (`erase(db, userId)`, see locked-store.js) and throws VaultErased.
 */
export async function unlockWithPin(db, userId, pin, { pinTries = DEFAULT_POLICY.pinTries, erase }) {
  const vault = await vaultOf(db, userId);
  if (!vault || vault.method !== METHOD.PIN) throw new TypeError("no PIN vault for this officer");
  // Counted before the try: a try cut short (the app closed while PBKDF2 runs) still counts.
  const failed = (vault.failed_tries || 0) + 1;
  await saveVault(db, userId, { ...vault, failed_tries: failed });
  let key;
  try {
    key = await unwrap(vault.wrapped_key, await pinKek(String(pin), vault.kek_salt, vault.iterations));
  } catch (error) {
    if (error && error.name !== "OperationError") throw error;
    if (failed >= pinTries) {
      lock();
      await erase(db, userId);
      throw new VaultErased();
    }
    throw new WrongPin(pinTries - failed);
  }
  await saveVault(db, userId, { ...vault, failed_tries: 0 });
  session = { userId, key };
}

/** Forget the vault of `userId` (the wrapped key): what eraseLockedData calls last. */
export async function dropVault(db, userId) {
  lock();
  await remove(db, STORES.meta, [userId, VAULT_META]);
}

/** Whether this browser can try the passkey route at all (WebAuthn present). Only the assertion tells about PRF. */
export function passkeyVaultPossible() {
  return Boolean(window.isSecureContext && window.PublicKeyCredential && navigator.credentials);
}
