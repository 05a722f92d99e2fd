// Passkey ceremonies (WebAuthn) against the JSON API: options from the server, the phone's authenticator in the
// middle, the credential's JSON back to the server. Uses the browser's JSON helpers when it has them
// (parseCreationOptionsFromJSON, credential.toJSON) and base64url conversions otherwise (older Safari, Android).

import { api, forgetCsrfToken } from "./api.js";
import { t } from "./i18n.js";

/** A ceremony that did not happen on the phone (cancelled, timed out, unsupported): `message` is ready to show. */
export class CeremonyError extends Error {
  constructor(message, reason) {
    super(message);
    this.name = "CeremonyError";
    this.reason = reason;
  }
}

/** Whether this browser can use passkeys here (a secure context with WebAuthn). */
export function passkeysSupported() {
  return Boolean(window.isSecureContext && window.PublicKeyCredential && navigator.credentials);
}

function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function descriptors(list) {
  return (list || []).map((item) => ({ ...item, id: fromBase64url(item.id) }));
}

function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return { ...json, challenge: fromBase64url(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const source = credential.response;
  const response = { clientDataJSON: toBase64url(source.clientDataJSON) };
  if (source.attestationObject) {
    response.attestationObject = toBase64url(source.attestationObject);
    response.transports = typeof source.getTransports === "function" ? source.getTransports() : [];
  } else {
    response.authenticatorData = toBase64url(source.authenticatorData);
    response.signature = toBase64url(source.signature);
    if (source.userHandle) response.userHandle = toBase64url(source.userHandle);
  }
  const json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  if (credential.authenticatorAttachment) json.authenticatorAttachment = credential.authenticatorAttachment;
  return json;
}

function ceremonyFailure(error) {
  switch (error && error.name) {
    case "NotAllowedError": // cancelled, timed out, or no passkey for this site on the phone
    case "AbortError":
      return new CeremonyError(t("passkey_cancelled"), "cancelled");
    case "InvalidStateError": // an excluded credential: this phone already holds a passkey of this account
      return new CeremonyError(t("passkey_exists"), "exists");
    case "SecurityError":
      return new CeremonyError(t("passkey_insecure"), "insecure");
    case "NotSupportedError":
      return new CeremonyError(t("passkey_unsupported"), "unsupported");
    default:
      console.error("passkey ceremony failed", error);
      return new CeremonyError(t("error_generic"), "unknown");
  }
}

function requireSupport() {
  if (!passkeysSupported()) throw new CeremonyError(t("passkey_unsupported"), "unsupported");
}

/**
 * Create a passkey and register it; the server signs the user in.
 * @param start exactly one of {invitation_token}, {recovery_token}, {citizen: {...}}, or {} when signed in.
 * @param extra {passkeyName, deviceName}, both optional.
 * @returns the server's answer: {user, role, redirect}.
 * @throws ApiError (refused by the server, with field errors) or CeremonyError (nothing created on the phone).
 */
export async function registerPasskey(start, { passkeyName, deviceName } = {}) {
  requireSupport();
  const { publicKey } = await api("/api/v1/auth/register/options", { method: "POST", body: start });
  let credential;
  try {
    const options = creationOptions(publicKey);
    // Ask the authenticator to enable its PRF for this passkey (CTAP2 hmac-secret is decided at creation): the
    // officer's vault derives its key from it (lib/vault.js). An authenticator without PRF simply ignores it.
    options.extensions = { ...(options.extensions || {}), prf: {} };
    credential = await navigator.credentials.create({ publicKey: options });
  } catch (error) {
    throw ceremonyFailure(error);
  }
  if (!credential) throw new CeremonyError(t("passkey_cancelled"), "cancelled");
  const body = { credential: credentialJSON(credential) };
  if (passkeyName && passkeyName.trim()) body.passkey_name = passkeyName.trim();
  if (deviceName && deviceName.trim()) body.device_name = deviceName.trim();
  const result = await api("/api/v1/auth/register/verify", { method: "POST", body });
  forgetCsrfToken(); // the session was renewed
  return result;
}

/**
 * Sign in with a discoverable passkey: no user name, the phone offers the passkeys it holds for this site.
 * @returns the server's answer: {user, role, redirect}.
 * @throws ApiError (e.g. 401 sign-in-failed: unknown, revoked or cloned passkey) or CeremonyError.
 */
export async function signInWithPasskey({ deviceName } = {}) {
  requireSupport();
  const { publicKey } = await api("/api/v1/auth/login/options", { method: "POST" });
  let credential;
  try {
    credential = await navigator.credentials.get({ publicKey: requestOptions(publicKey) });
  } catch (error) {
    throw ceremonyFailure(error);
  }
  if (!credential) throw new CeremonyError(t("passkey_cancelled"), "cancelled");
  const body = { credential: credentialJSON(credential) };
  if (deviceName && deviceName.trim()) body.device_name = deviceName.trim();
  const result = await api("/api/v1/auth/login/verify", { method: "POST", body });
  forgetCsrfToken();
  return result;
}
