// The JSON API from the pages: CSRF header on every write, JSON in and out, RFC 9457 problems as ApiError.
// Problem titles, details and field messages arrive already in the user's language (the `lang` cookie).

import { lang, t } from "./i18n.js";

const PROBLEM = "urn:motcua:problem:";

/** A refused or failed API call. `message` is ready to show; `problem` is the server's problem document. */
export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    let message = problem.detail || problem.title || t("error_generic");
    if (status === 429 && retryAfter) message = `${message} ${t("retry_after", { seconds: retryAfter })}`;
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** The problem's slug (`urn:motcua:problem:sign-in-failed` → `sign-in-failed`). */
  get slug() {
    const type = this.problem.type || "";
    return type.startsWith(PROBLEM) ? type.slice(PROBLEM.length) : type;
  }

  /** Field errors: `[{field, code, message}]`. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

let csrfToken = null;

/** A CSRF token for this browser's session, fetched when needed and never stored beyond the page. */
export async function csrf() {
  if (!csrfToken) {
    const data = await api("/api/v1/csrf-token");
    csrfToken = data.csrf_token;
  }
  return csrfToken;
}

/** Forget the token: signing in or out starts a new session, whose token differs. */
export function forgetCsrfToken() {
  csrfToken = null;
}

async function readProblem(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {
      // fall through: a broken body is reported as a generic problem
    }
  }
  return { title: t("error_generic"), status: response.status };
}

/**
 * Call the API. Writes carry `X-CSRFToken` and a JSON body (`{}` when none is given).
 * `timeoutMs`: give up when the server has not answered by then (a probe on "lie-fi"), as if it were unreachable.
 * @returns the parsed JSON answer, or null for 204.
 * @throws ApiError (status 0 when the server could not be reached, or not in time).
 */
export async function api(path, { method = "GET", body, retryOnCsrf = true, timeoutMs = null } = {}) {
  if (!timeoutMs) return call(path, { method, body, retryOnCsrf });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await call(path, { method, body, retryOnCsrf, signal: controller.signal });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(0, { title: t("error_network") }); // the body was cut off by the timeout
  } finally {
    clearTimeout(timer);
  }
}

async function call(path, { method, body, retryOnCsrf, signal }) {
  const write = !["GET", "HEAD"].includes(method);
  // The API answers in the page's language, even on a phone set to another one (no `lang` cookie yet).
  const headers = { Accept: "application/json", "Accept-Language": lang };
  if (write) {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = await csrf();
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: write ? JSON.stringify(body ?? {}) : undefined,
      signal,
    });
  } catch {
    throw new ApiError(0, { title: t("error_network") });
  }
  if (response.ok) {
    if (response.status === 204) return null;
    return (response.headers.get("Content-Type") || "").includes("json") ? response.json() : null;
  }
  const problem = await readProblem(response);
  if (write && retryOnCsrf && response.status === 400 && problem.type === `${PROBLEM}csrf`) {
    csrfToken = null; // expired or from a session that ended: fetch a fresh one and try once more
    return call(path, { method, body, retryOnCsrf: false, signal });
  }
  if (response.status === 401 && problem.wipe_local_data) {
    // This device was revoked: modules that keep data on the phone listen and erase it.
    window.dispatchEvent(new CustomEvent("motcua:wipe-local-data", { detail: problem }));
  }
  throw new ApiError(response.status, problem, response.headers.get("Retry-After"));
}

/** `target` when it is a path on this site (no scheme, host, `//` or `/\`), else null: no open redirect. */
export function safePath(target) {
  if (typeof target !== "string" || !target.startsWith("/") || target.startsWith("//") || target.startsWith("/\\")) {
    return null;
  }
  try {
    const url = new URL(target, window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : null;
  } catch {
    return null;
  }
}

/** Send the visitor to the sign-in page, to come back here afterwards. */
export function goToSignIn() {
  const here = window.location.pathname + window.location.search;
  window.location.assign(`/sign-in?next=${encodeURIComponent(here)}`);
}
