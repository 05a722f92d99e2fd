// /admin/devices: every officer's device, with revocation (after confirming); a revoked one shows the deadline
// to notify the authority of the breach and links its report.

import { api, goToSignIn } from "./api.js";
import { confirmDialog, el, focusStatus, setBusy, showStatus } from "./dom.js";
import { formatMoment, t } from "./i18n.js";

const table = document.getElementById("device-table");
const status = document.getElementById("devices-status");

const COLUMNS = ["col_device", "col_owner", "col_user_agent", "col_registered", "col_last_seen", "col_state", "col_actions"];

function refused(error) {
  if (error.status === 401) goToSignIn();
  else showStatus(status, error.message, "error");
}

/** A lost phone is a breach to report within the legal hours of its revocation (server/breach). */
function deadlineText(report) {
  return t("report_due", { moment: formatMoment(report.notification_due_at, "", { relative: false }), hours: report.hours });
}

function reportLink(report) {
  return el("a", { href: report.url, class: "breach-report-link" }, t("report_link"));
}

function deviceRow(device) {
  const nameId = `device-${device.id}-name`;
  const owner = device.user ? device.user.name : "—";
  let action = "—";
  if (!device.revoked_at) {
    action = el("button", { type: "button", class: "btn btn-danger", "aria-describedby": nameId }, t("revoke"));
    action.addEventListener("click", async () => {
      const names = { device: device.name, owner };
      if (!(await confirmDialog(t("revoke_confirm", names), t("revoke")))) return;
      setBusy(action, true);
      try {
        const revoked = await api(`/api/v1/admin/devices/${encodeURIComponent(device.id)}/revoke`, { method: "POST" });
        await load();
        showStatus(status, `${t("revoked", names)} ${deadlineText(revoked.breach_report)}`, "success");
        status.append(" ", reportLink(revoked.breach_report));
        focusStatus(status);
      } catch (error) {
        refused(error);
        setBusy(action, false);
      }
    });
  }
  const state = device.revoked_at
    ? el("span", {}, t("revoked_at", { moment: formatMoment(device.revoked_at) }), el("br"),
      deadlineText(device.breach_report), " ", reportLink(device.breach_report))
    : t("active");
  const [, , ua, registered, seen, stateLabel, actions] = COLUMNS.map((key) => t(key));
  return el(
    "tr",
    { dataset: { deviceId: device.id }, class: device.revoked_at ? "row-revoked" : null },
    el("th", { scope: "row", id: nameId, "data-label": t("col_device"), lang: "vi" }, device.name), // named by its officer
    el("td", { "data-label": t("col_owner"), lang: device.user ? "vi" : null }, owner),
    el("td", { "data-label": ua, class: "user-agent" }, device.browser || "—"),
    el("td", { "data-label": registered }, formatMoment(device.registered_at)),
    el("td", { "data-label": seen }, formatMoment(device.last_seen_at, "—")),
    el("td", { "data-label": stateLabel }, state),
    el("td", { "data-label": actions }, action),
  );
}

async function load() {
  try {
    const data = await api("/api/v1/admin/devices");
    table.tHead.replaceChildren(el("tr", {}, ...COLUMNS.map((key) => el("th", { scope: "col" }, t(key)))));
    table.tBodies[0].replaceChildren(...data.devices.map(deviceRow));
    if (!data.devices.length) showStatus(status, t("none"), "info");
    else if (!["success", "error"].includes(status.dataset.kind)) showStatus(status, "");
    table.dataset.loaded = "true";
  } catch (error) {
    refused(error);
  }
}

load();
