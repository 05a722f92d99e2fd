// /sign-in: one button, a discoverable-passkey sign-in, then `next` (same-site only) or where the server says.

import { ApiError, safePath } from "./api.js";
import { setBusy, showStatus } from "./dom.js";
import { t } from "./i18n.js";
import { passkeysSupported, signInWithPasskey } from "./passkeys.js";

const root = document.getElementById("sign-in");
const button = document.getElementById("sign-in-button");
const status = document.getElementById("sign-in-status");

if (!passkeysSupported()) {
  showStatus(status, t("passkey_unsupported"), "error");
}

button.addEventListener("click", async () => {
  setBusy(button, true);
  showStatus(status, t("passkey_prompt"), "info");
  try {
    const result = await signInWithPasskey();
    showStatus(status, t("signed_in"), "success");
    window.location.assign(safePath(root.dataset.next) || safePath(result.redirect) || "/");
  } catch (error) {
    let message = error.message;
    if (error instanceof ApiError && error.status === 401) message = `${message} ${t("sign_in_help")}`;
    showStatus(status, message, "error");
    setBusy(button, false);
  }
});
