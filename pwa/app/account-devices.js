// /account/devices: my devices (the current one marked) and "sign out everywhere".

import { api, forgetCsrfToken, goToSignIn } from "./api.js";
import { confirmDialog, el, setBusy, showStatus } from "./dom.js";
import { formatMoment, t } from "./i18n.js";

const list = document.getElementById("device-list");
const status = document.getElementById("devices-status");
const everywhere = document.getElementById("logout-everywhere");
const everywhereStatus = document.getElementById("everywhere-status");

function deviceItem(device) {
  const title = el("h2", { class: "item-title" }, device.name);
  if (device.current) title.append(" ", el("span", { class: "badge" }, t("this_device")));
  const state = device.revoked_at ? t("revoked_at", { moment: formatMoment(device.revoked_at) }) : t("active");
  return el(
    "li",
    { class: device.revoked_at ? "item item-revoked" : "item", dataset: { deviceId: device.id }, "aria-current": device.current ? "true" : null },
    title,
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, t("user_agent")),
      el("dd", { class: "user-agent" }, device.browser || "—"),
      el("dt", {}, t("registered")),
      el("dd", {}, formatMoment(device.registered_at)),
      el("dt", {}, t("last_seen")),
      el("dd", {}, formatMoment(device.last_seen_at, "—")),
      el("dt", {}, t("state")),
      el("dd", {}, state),
    ),
  );
}

async function load() {
  try {
    const data = await api("/api/v1/me/devices");
    list.replaceChildren(...data.devices.map(deviceItem));
    showStatus(status, data.devices.length ? "" : t("none"), "info");
    list.dataset.loaded = "true";
  } catch (error) {
    if (error.status === 401) goToSignIn();
    else showStatus(status, error.message, "error");
  }
}

everywhere.addEventListener("click", async () => {
  if (!(await confirmDialog(t("everywhere_confirm"), t("everywhere_button")))) return;
  setBusy(everywhere, true);
  try {
    await api("/api/v1/auth/logout-everywhere", { method: "POST" });
    forgetCsrfToken();
    window.location.assign("/sign-in");
  } catch (error) {
    if (error.status === 401) goToSignIn();
    else showStatus(everywhereStatus, error.message, "error");
    setBusy(everywhere, false);
  }
});

load();
