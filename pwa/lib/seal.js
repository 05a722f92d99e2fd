// Sealing a finalised dossier for the server (issue 12 point 1): WebCrypto only, no library.
//
// Each item (the dossier's body, each photo) gets its own envelope: an ephemeral ECDH P-256 key agrees a secret
// with the server's public key, HKDF-SHA-256 turns it into an AES-256-GCM key, and AES-GCM encrypts. The phone
// forgets the ephemeral private key at once, so once sealed, not even the phone can read the item back: only the
// server, which holds the private key of `kid`. Sending needs nothing secret, which is why the service worker can
// send a sealed dossier with no page open and nothing unlocked.
//
// The bytes are those server/sealing/envelope.py opens (its docstring is the format's definition):
//   "MCS1" | len(kid) | kid | ephemeral public key (65 bytes, uncompressed) | IV (12) | ciphertext + tag (16)
// HKDF: salt = the ephemeral public key, info = INFO_PREFIX + kid. AES-GCM associated data: the header, then the
// context ("dossier:<uuid>" or "photo:<sha256>"), so an envelope opens only as what it was sealed as.

const MAGIC = new Uint8Array([0x4d, 0x43, 0x53, 0x31]); // "MCS1"
const INFO_PREFIX = "motcua-seal-v1 ECDH-P256 HKDF-SHA256 A256GCM kid=";
export const SEALED_MEDIA_TYPE = "application/vnd.motcua.sealed";
const encoder = new TextEncoder();

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** base64url without padding, as the server's SealedDossier schema takes it. */
export function base64url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The server's key as the day download (or GET /api/v1/sealing-key) gives it, ready to seal to:
 * `{kid, key: CryptoKey}`.
 */
export async function importServerKey(info) {
  if (!info || !info.kid || !info.jwk) throw new TypeError("no sealing key: download the day first");
  const { x, y } = info.jwk;
  const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x, y, ext: true },
    { name: "ECDH", namedCurve: "P-256" }, false, []);
  return { kid: info.kid, key };
}

/** Seal `plaintext` (bytes) for `context` to the server key `server`; resolves with the envelope's bytes. */
export async function sealBytes(server, plaintext, context) {
  const ephemeral = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const point = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
  const secret = await crypto.subtle.deriveBits({ name: "ECDH", public: server.key }, ephemeral.privateKey, 256);
  const kid = encoder.encode(server.kid);
  const hkdf = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
  const aesKey = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: point, info: concat(encoder.encode(INFO_PREFIX), kid) },
    hkdf, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const header = concat(MAGIC, new Uint8Array([kid.length]), kid, point, iv);
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: concat(header, encoder.encode(context)) }, aesKey, plaintext);
  return concat(header, new Uint8Array(ciphertext));
}

/**
 * Seal a finalised dossier: its body (what PUT /api/v1/dossiers/<uuid> takes) and each photo's bytes.
 * @param photos `[{sha256, blob}]` the photos to seal (those already sealed are left out by the caller).
 * @returns `{kid, body: base64url string, photos: {sha256: Blob}}`
 */
export async function sealDossier(server, clientUuid, payload, photos) {
  const body = await sealBytes(server, encoder.encode(JSON.stringify(payload)), `dossier:${clientUuid}`);
  const sealedPhotos = {};
  for (const photo of photos) {
    const bytes = new Uint8Array(await photo.blob.arrayBuffer());
    sealedPhotos[photo.sha256] = new Blob([await sealBytes(server, bytes, `photo:${photo.sha256}`)],
      { type: SEALED_MEDIA_TYPE });
  }
  return { kid: server.kid, body: base64url(body), photos: sealedPhotos };
}
