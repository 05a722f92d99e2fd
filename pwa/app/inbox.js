// /inbox: every notification of the signed-in user (the fallback when push is off), the unread count (also on the
// app icon where the Badging API exists), and turning push on for this phone from a tap.

import { api } from "./api.js";
import { el, setBusy, showStatus } from "./dom.js";
import { formatMoment, t } from "./i18n.js";
import { enablePush, needsHomeScreen, pushSupported, recheckPush } from "./push.js";

const list = document.getElementById("inbox-list");
const count = document.getElementById("inbox-count");
const button = document.getElementById("enable-push");
const status = document.getElementById("push-status");

async function load() {
  const inbox = await api("/api/v1/push/inbox");
  count.textContent = inbox.unread ? t("unread", { n: inbox.unread }) : t("all_read");
  count.dataset.unread = String(inbox.unread);
  if ("setAppBadge" in navigator) {
    (inbox.unread ? navigator.setAppBadge(inbox.unread) : navigator.clearAppBadge()).catch(() => undefined);
  }
  list.replaceChildren(
    ...inbox.messages.map((message) =>
      el("li", { class: message.read_at ? "item" : "item item-unread", dataset: { id: message.id } },
        el("h2", { class: "item-title" }, message.title),
        el("p", {}, message.body),
        el("p", { class: "small" }, formatMoment(message.created_at)),
        message.url ? el("a", { class: "btn btn-secondary", href: message.url, onclick: () => markRead(message) },
          t("open")) : "")),
  );
  if (!inbox.messages.length) list.append(el("li", { class: "hint" }, t("empty")));
}

function markRead(message) {
  if (!message.read_at) api(`/api/v1/push/inbox/${message.id}/read`, { method: "POST" }).catch(() => undefined);
}

// The button both turns push on for this phone and gives the consent to dossier news by push (the notice next to
// it, in the version it names). Push counts as on only with both: a phone subscribed after the consent was
// withdrawn receives nothing (server/consent).
const consentUrl = `/api/v1/me/consents/${encodeURIComponent(button.dataset.purpose)}/push`;

async function consentInForce() {
  const data = await api("/api/v1/me/consents");
  const purpose = data.purposes.find((p) => p.purpose === button.dataset.purpose);
  const push = purpose && purpose.channels.find((c) => c.channel === "push");
  return Boolean(push && push.consent);
}

function showPushState() {
  if (!pushSupported()) {
    button.hidden = true;
    showStatus(status, needsHomeScreen() ? t("push_home_screen") : t("push_unsupported"), "info");
  } else if (Notification.permission === "denied") {
    button.hidden = true;
    showStatus(status, t("push_denied"), "error");
  } else if (Notification.permission === "granted") {
    Promise.all([recheckPush(), consentInForce()]).then(([on, consented]) => {
      if (on && consented) {
        button.hidden = true;
        showStatus(status, t("push_on"), "success");
      } else if (on) {
        showStatus(status, t("push_withdrawn"), "info");
      }
    }).catch(() => undefined);
  }
}

button.addEventListener("click", async () => {
  setBusy(button, true);
  try {
    const permission = await enablePush();
    if (permission === "granted") {
      await api(consentUrl, { method: "PUT", body: { text_version: button.dataset.textVersion } });
      button.hidden = true;
      showStatus(status, t("push_on"), "success");
    } else {
      showStatus(status, t("push_denied"), "error");
    }
  } catch (error) {
    showStatus(status, error.message, "error");
  } finally {
    setBusy(button, false);
  }
});

showPushState();
load().catch((error) => showStatus(count, error.message, "error"));
