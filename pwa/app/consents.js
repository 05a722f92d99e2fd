// /account/consents: each purpose's notice and, per channel, whether the account consents, with a button to give
// or withdraw it (withdrawal stops the channel at once, server/consent); then the history of every consent. Zalo
// and SMS (offered once the ward configured them) write to a mobile number: only the one the desk checked as the
// citizen's (server/consent/services.py verified_phone), prefilled here; without one, the page says to ask the desk.
// When the desk records a new number, consenting with it replaces the old one.

import { ApiError, api, goToSignIn } from "./api.js";
import { clearFieldErrors, confirmDialog, el, focusStatus, setBusy, showFieldErrors, showStatus } from "./dom.js";
import { formatMoment, formatPhone, t } from "./i18n.js";
import { enablePush, pushSupported } from "./push.js";

const container = document.getElementById("purposes");
const status = document.getElementById("consents-status");
const history = document.getElementById("history-table");
const PHONE_CHANNELS = ["zalo", "sms"];
let suggestedPhone = null;

function refused(error) {
  if (error.status === 401) goToSignIn();
  else showStatus(status, error.message, "error");
}

/** Giving push consent also turns push on for this phone, from the same tap (the browser asks permission). */
async function pushOnThisPhone() {
  if (!pushSupported() || Notification.permission === "denied") return false;
  try {
    return (await enablePush()) === "granted";
  } catch {
    return false;
  }
}

/** The mobile number field of a Zalo or SMS consent, in its own small form (Enter submits it). */
function phoneForm(id, value, label, onSubmit) {
  const input = el("input", { type: "tel", id: `${id}-phone`, name: "address", inputmode: "tel", autocomplete: "tel",
    required: "", maxlength: "40", value: value ? formatPhone(value) : "", "aria-describedby": `${id}-phone-hint` });
  const button = el("button", { type: "submit", class: "btn btn-primary" }, label);
  const form = el("form", { class: "consent-phone", novalidate: "" },
    el("div", { class: "field" },
      el("label", { for: `${id}-phone` }, t("phone_label")),
      el("p", { class: "hint", id: `${id}-phone-hint` }, t("phone_hint")),
      input),
    button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    onSubmit(form, button, input.value.trim());
  });
  return form;
}

function channelRow(purpose, channel) {
  const id = `consent-${purpose.purpose}-${channel.channel}`;
  const state = el("p", { class: "small", id: `${id}-state` });
  const row = el("li", { class: "item", dataset: { purpose: purpose.purpose, channel: channel.channel } },
    el("h3", { class: "item-title", id: `${id}-name` }, channel.name), state);
  if (!channel.available) {
    state.textContent = t("unavailable");
    return row;
  }
  const given = channel.consent;
  const needsPhone = PHONE_CHANNELS.includes(channel.channel);
  state.textContent = given
    ? t("given", { moment: formatMoment(given.given_at), version: given.text_version })
    : t("not_given");
  if (given && given.address) state.textContent += ` ${t("given_phone", { phone: formatPhone(given.address) })}`;
  const url = `/api/v1/me/consents/${encodeURIComponent(purpose.purpose)}/${encodeURIComponent(channel.channel)}`;

  async function giveConsent(form, button, address) {
    setBusy(button, true);
    try {
      const phoneOn = channel.channel === "push" ? await pushOnThisPhone() : true;
      const body = { text_version: purpose.text_version };
      if (needsPhone) body.address = address;
      await api(url, { method: "PUT", body });
      await load();
      showStatus(status, phoneOn ? t("given_done") : `${t("given_done")} ${t("push_off_here")}`, "success");
      focusStatus(status);
    } catch (error) {
      setBusy(button, false);
      if (form && error instanceof ApiError && error.fieldErrors.length) showFieldErrors(form, error.fieldErrors);
      else refused(error);
    }
  }

  if (!given && needsPhone) {
    row.append(suggestedPhone ? phoneForm(id, suggestedPhone, t("give"), giveConsent)
      : el("p", { class: "hint", id: `${id}-ask-desk` }, t("phone_ask_desk")));
    return row;
  }
  const button = el("button", { type: "button", class: given ? "btn btn-danger" : "btn btn-primary",
    "aria-describedby": `${id}-name ${id}-state` }, given ? t("withdraw") : t("give"));
  button.addEventListener("click", async () => {
    if (!given) {
      await giveConsent(null, button, null);
      return;
    }
    if (!(await confirmDialog(t("withdraw_confirm", { purpose: purpose.title, channel: channel.name }), t("withdraw")))) return;
    setBusy(button, true);
    try {
      await api(url, { method: "DELETE" });
      await load();
      showStatus(status, t("withdrawn_done"), "success");
      focusStatus(status);
    } catch (error) {
      refused(error);
      setBusy(button, false);
    }
  });
  row.append(button);
  if (given && needsPhone && suggestedPhone && formatPhone(given.address) !== formatPhone(suggestedPhone)) {
    // The desk checked another number since: giving the consent again with it ends the one for the old number.
    row.append(el("details", { class: "change-phone" }, el("summary", {}, t("change_phone")),
      phoneForm(`${id}-new`, suggestedPhone, t("use_phone"), giveConsent)));
  }
  return row;
}

function purposeSection(purpose) {
  const headingId = `purpose-${purpose.purpose}`;
  return el("section", { class: "panel", "aria-labelledby": headingId, dataset: { purpose: purpose.purpose } },
    el("h2", { id: headingId }, purpose.title),
    el("p", {}, purpose.notice),
    el("p", { class: "small" }, t("version", { version: purpose.text_version })),
    el("ul", { class: "item-list" }, ...purpose.channels.map((channel) => channelRow(purpose, channel))));
}

function historyTable(data) {
  const names = Object.fromEntries(data.purposes.flatMap((p) => p.channels.map((c) => [c.channel, c.name])));
  const columns = ["col_purpose", "col_channel", "col_version", "col_given", "col_withdrawn"];
  history.tHead.replaceChildren(el("tr", {}, ...columns.map((key) => el("th", { scope: "col" }, t(key)))));
  const rows = data.history.map((item) => el("tr", { dataset: { purpose: item.purpose, channel: item.channel || "" } },
    el("th", { scope: "row", "data-label": t("col_purpose") }, item.title),
    el("td", { "data-label": t("col_channel") }, item.channel ? names[item.channel] || item.channel : "—"),
    el("td", { "data-label": t("col_version") }, item.text_version),
    el("td", { "data-label": t("col_given") }, formatMoment(item.given_at)),
    el("td", { "data-label": t("col_withdrawn") }, item.withdrawn_at ? formatMoment(item.withdrawn_at) : t("in_force"))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: String(columns.length) }, t("no_history"))));
  history.tBodies[0].replaceChildren(...rows);
}

async function load() {
  try {
    const data = await api("/api/v1/me/consents");
    suggestedPhone = data.suggested_phone || null;
    container.replaceChildren(...data.purposes.map(purposeSection));
    historyTable(data);
    if (!["success", "error"].includes(status.dataset.kind)) showStatus(status, "");
    container.dataset.loaded = "true";
  } catch (error) {
    refused(error);
  }
}

load();
