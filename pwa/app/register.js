// /register: a citizen's form (checked by the server with the shared identity rules), then a new passkey.

import { ApiError, safePath } from "./api.js";
import { clearFieldErrors, setBusy, showFieldErrors, showStatus } from "./dom.js";
import { t } from "./i18n.js";
import { passkeysSupported, registerPasskey } from "./passkeys.js";

const form = document.getElementById("register-form");
const button = document.getElementById("register-button");
const status = document.getElementById("register-status");
const summary = document.getElementById("register-summary");

if (!passkeysSupported()) showStatus(status, t("passkey_unsupported"), "error");

function showSummary(message) {
  summary.textContent = message || "";
  summary.hidden = !message;
}

function localErrors() {
  const errors = [];
  if (!form.elements.full_name.value.trim()) errors.push({ field: "full_name", message: t("required_full_name") });
  if (!form.elements.phone.value.trim()) errors.push({ field: "phone", message: t("required_phone") });
  if (!form.elements.consent.checked) errors.push({ field: "consent", message: t("required_consent") });
  return errors;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFieldErrors(form);
  showSummary("");
  showStatus(status, "");
  const errors = localErrors();
  if (errors.length) {
    showSummary(t("fix_fields"));
    showFieldErrors(form, errors);
    return;
  }
  const citizen = {
    full_name: form.elements.full_name.value.trim(),
    phone: form.elements.phone.value.trim(),
    consent: true,
    consent_version: form.dataset.consentVersion,
  };
  const personalId = form.elements.personal_id.value.trim();
  if (personalId) citizen.personal_id = personalId;

  setBusy(button, true);
  showStatus(status, t("passkey_prompt"), "info");
  try {
    const start = { citizen };
    // From a receipt's QR code or a relative's invitation: the new account follows that dossier.
    if (form.dataset.claimToken) start.claim_token = form.dataset.claimToken;
    const result = await registerPasskey(start);
    showStatus(status, t("registered"), "success");
    window.location.assign(safePath(result.redirect) || "/");
  } catch (error) {
    setBusy(button, false);
    showStatus(status, "");
    if (error instanceof ApiError && error.fieldErrors.length) {
      const unmatched = showFieldErrors(form, error.fieldErrors, "citizen.");
      const extra = unmatched.map((item) => item.message).join(" ");
      showSummary([error.message, extra].filter(Boolean).join(" "));
      if (unmatched.length === error.fieldErrors.length) summary.focus();
    } else {
      showStatus(status, error.message, "error");
    }
  }
});
