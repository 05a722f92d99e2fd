// Where the officer's app stands with the server, as the status bar says it (issue 11, point 4). Three states the
// officer must be able to tell apart by their words, not only by a colour:
//   - offline: the server could not be reached (no network, or no answer within PROBE_TIMEOUT_MS: "lie-fi");
//   - online: the server answered and this officer is signed in;
//   - signed out: the server really answered 401; only then is the officer asked to sign in again.
// "checking" is the moment before the first probe answers at start-up; the app is already usable then.
//
// Not knowing is never "signed out": a phone that cannot reach the server knows nothing about the session, and
// telling the officer it expired (with a sign-in button that cannot work offline) was wrong.

import { t } from "./i18n.js";
import { RESULT } from "../lib/outbox-flush.js";

export const CONNECTION = Object.freeze({
  CHECKING: "checking",
  ONLINE: "online",
  OFFLINE: "offline",
  SIGNED_OUT: "signed_out",
});

/** What a flush's outcome says about the connection; null when it says nothing (another tab was flushing). */
export function connectionAfterFlush(result) {
  switch (result) {
    case RESULT.DONE:
    case RESULT.NOTHING:
    case RESULT.RETRY_LATER: // the server answered (busy, 5xx): the network is there; the flush says the rest
      return CONNECTION.ONLINE;
    case RESULT.SIGNED_OUT:
      return CONNECTION.SIGNED_OUT;
    case RESULT.OFFLINE:
      return CONNECTION.OFFLINE;
    default:
      return null;
  }
}

/** Write `connection` into the status bar's line (its text, and `data-state` for the style and the tests). */
export function showConnection(element, connection) {
  element.dataset.state = connection;
  element.textContent = t(`connection_${connection}`);
}
