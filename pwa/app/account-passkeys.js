// /account/passkeys: my passkeys (rename, revoke after confirming), and adding one on this device.

import { api, goToSignIn } from "./api.js";
import { confirmDialog, el, focusStatus, setBusy, showStatus } from "./dom.js";
import { formatMoment, t } from "./i18n.js";
import { registerPasskey } from "./passkeys.js";

const list = document.getElementById("passkey-list");
const status = document.getElementById("passkeys-status");
const addForm = document.getElementById("add-passkey-form");
const addButton = document.getElementById("add-passkey-button");
const addStatus = document.getElementById("add-status");

function failed(error, where = status) {
  if (error.status === 401) {
    goToSignIn();
    return;
  }
  showStatus(where, error.message, "error");
}

function passkeyItem(passkey) {
  const titleId = `passkey-${passkey.id}-name`;
  const inputId = `passkey-${passkey.id}-rename`;
  const input = el("input", { id: inputId, name: "name", type: "text", maxlength: 120, required: true, value: passkey.name });
  const saveButton = el("button", { type: "submit", class: "btn btn-secondary", "aria-describedby": titleId }, t("rename"));
  const renameForm = el(
    "form",
    { class: "inline-form", novalidate: true },
    el("div", { class: "field" }, el("label", { for: inputId }, t("new_name")), input),
    saveButton,
  );
  renameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) {
      showStatus(status, t("name_required"), "error");
      input.focus();
      return;
    }
    setBusy(saveButton, true);
    try {
      const saved = await api(`/api/v1/me/passkeys/${passkey.id}`, { method: "PATCH", body: { name } });
      showStatus(status, t("renamed", { name: saved.name }), "success");
      await load();
      focusStatus(status);
    } catch (error) {
      failed(error);
      setBusy(saveButton, false);
    }
  });

  const revokeButton = el("button", { type: "button", class: "btn btn-danger", "aria-describedby": titleId }, t("revoke"));
  revokeButton.addEventListener("click", async () => {
    if (!(await confirmDialog(t("revoke_confirm", { name: passkey.name }), t("revoke")))) return;
    setBusy(revokeButton, true);
    try {
      await api(`/api/v1/me/passkeys/${passkey.id}`, { method: "DELETE" });
      showStatus(status, t("revoked", { name: passkey.name }), "success");
      await load();
      focusStatus(status);
    } catch (error) {
      failed(error); // 409: the last passkey cannot be revoked; the server says why
      setBusy(revokeButton, false);
    }
  });

  return el(
    "li",
    { class: "item", dataset: { passkeyId: passkey.id } },
    el("h2", { class: "item-title", id: titleId }, passkey.name),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, t("created")),
      el("dd", {}, formatMoment(passkey.created_at)),
      el("dt", {}, t("last_used")),
      el("dd", {}, formatMoment(passkey.last_used_at, t("never"))),
    ),
    renameForm,
    el("div", { class: "actions" }, revokeButton),
  );
}

async function load() {
  let data;
  try {
    data = await api("/api/v1/me/passkeys");
  } catch (error) {
    failed(error);
    return;
  }
  list.replaceChildren(...data.passkeys.map(passkeyItem));
  if (!data.passkeys.length) showStatus(status, t("none"), "info");
  else if (status.dataset.kind !== "success" && status.dataset.kind !== "error") showStatus(status, "");
  list.dataset.loaded = "true";
}

addForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  setBusy(addButton, true);
  showStatus(addStatus, t("passkey_prompt"), "info");
  try {
    await registerPasskey({}, { passkeyName: addForm.elements.passkey_name.value });
    addForm.reset();
    showStatus(addStatus, t("added"), "success");
    await load();
  } catch (error) {
    failed(error, addStatus);
  } finally {
    setBusy(addButton, false);
  }
});

load();
