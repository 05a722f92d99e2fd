// /invite/<token> and /recover/<token>: say what the link is for, then create a passkey with it.

import { api, safePath } from "./api.js";
import { setBusy, showStatus } from "./dom.js";
import { formatMoment, roleLabel, t } from "./i18n.js";
import { passkeysSupported, registerPasskey } from "./passkeys.js";

const root = document.getElementById("link-page");
const { kind, token } = root.dataset;
const status = document.getElementById("link-status");
const details = document.getElementById("link-details");
const form = document.getElementById("link-form");
const button = document.getElementById("link-button");
const formStatus = document.getElementById("link-form-status");

const infoPath = kind === "invitation" ? "/api/v1/invitations/" : "/api/v1/recovery/";
const startKey = kind === "invitation" ? "invitation_token" : "recovery_token";

async function load() {
  let info;
  try {
    info = await api(infoPath + encodeURIComponent(token));
  } catch (error) {
    showStatus(status, [error.message, error.status === 404 || error.status === 410 ? t("link_unusable") : ""].join(" ").trim(), "error");
    return;
  }
  document.getElementById("link-greeting").textContent = t("greeting", { name: info.display_name });
  let summary;
  if (kind === "recovery") {
    // The same link kind enrols an account that never had a passkey: "recover access" only when it really is one.
    const first = info.first_passkey === true;
    const heading = document.getElementById("link-heading");
    const title = t(first ? "first_passkey_title" : "recovery_title");
    document.title = document.title.replace(heading.textContent, title);
    heading.textContent = title;
    summary = t(first ? "first_passkey_for" : "recovery_for", { name: info.display_name });
  }
  else if (info.ward) summary = t("invited_as", { role: roleLabel(info.role), ward: info.ward.name });
  else summary = t("invited_as_no_ward", { role: roleLabel(info.role) });
  document.getElementById("link-summary").textContent = summary;
  document.getElementById("link-expiry").textContent = t("expires", { moment: formatMoment(info.expires_at) });
  showStatus(status, "");
  details.hidden = false;
  if (!passkeysSupported()) showStatus(formStatus, t("passkey_unsupported"), "error");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  setBusy(button, true);
  showStatus(formStatus, t("passkey_prompt"), "info");
  try {
    const result = await registerPasskey({ [startKey]: token }, { deviceName: form.elements.device_name.value });
    showStatus(formStatus, t("registered"), "success");
    window.location.assign(safePath(result.redirect) || "/");
  } catch (error) {
    showStatus(formStatus, error.message, "error");
    setBusy(button, false);
  }
});

load();
