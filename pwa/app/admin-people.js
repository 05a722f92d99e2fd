// /admin/people: invite officers, staff, leaders and administrators; pending invitations; accounts and recovery links.

import { ApiError, api, goToSignIn } from "./api.js";
import { clearFieldErrors, confirmDialog, el, focusStatus, linkBox, setBusy, showFieldErrors, showStatus } from "./dom.js";
import { formatMoment, roleLabel, t } from "./i18n.js";
import { qrSvg } from "./receipt.js";

const inviteForm = document.getElementById("invite-form");
const inviteButton = document.getElementById("invite-button");
const inviteStatus = document.getElementById("invite-status");
const inviteSummary = document.getElementById("invite-summary");
const inviteResult = document.getElementById("invite-result");
const invitationList = document.getElementById("invitation-list");
const invitationsStatus = document.getElementById("invitations-status");
const userTable = document.getElementById("user-table");
const usersStatus = document.getElementById("users-status");
const recoveryResult = document.getElementById("recovery-result");

function refused(error, where) {
  if (error.status === 401) goToSignIn();
  else showStatus(where, error.message, "error");
}

function cell(label, ...content) {
  return el("td", { "data-label": label }, ...content);
}

// --- invitations -------------------------------------------------------------------------------------------

function pending(invitation) {
  return !invitation.redeemed_at && !invitation.revoked_at && new Date(invitation.expires_at) > new Date();
}

function invitationItem(invitation) {
  const titleId = `invitation-${invitation.id}-name`;
  const revokeButton = el("button", { type: "button", class: "btn btn-danger", "aria-describedby": titleId }, t("revoke"));
  revokeButton.addEventListener("click", async () => {
    const name = invitation.display_name;
    if (!(await confirmDialog(t("revoke_invitation_confirm", { name }), t("revoke")))) return;
    setBusy(revokeButton, true);
    try {
      await api(`/api/v1/admin/invitations/${invitation.id}`, { method: "DELETE" });
      showStatus(invitationsStatus, t("invitation_revoked", { name }), "success");
      await loadInvitations();
      focusStatus(invitationsStatus);
    } catch (error) {
      refused(error, invitationsStatus);
      setBusy(revokeButton, false);
    }
  });
  return el(
    "li",
    { class: "item", dataset: { invitationId: invitation.id } },
    el("h3", { class: "item-title", id: titleId }, invitation.display_name),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, t("col_role")),
      el("dd", {}, roleLabel(invitation.role)),
      el("dt", {}, t("col_ward")),
      el("dd", {}, invitation.ward ? `${invitation.ward.name} (${invitation.ward.agency_code})` : "—"),
      el("dt", {}, t("col_created")),
      el("dd", {}, formatMoment(invitation.created_at)),
      el("dt", {}, t("col_expires")),
      el("dd", {}, formatMoment(invitation.expires_at)),
    ),
    el("div", { class: "actions" }, revokeButton),
  );
}

async function loadInvitations() {
  try {
    const data = await api("/api/v1/admin/invitations");
    const waiting = data.invitations.filter(pending);
    invitationList.replaceChildren(...waiting.map(invitationItem));
    if (!waiting.length) showStatus(invitationsStatus, t("no_invitations"), "info");
    else if (!["success", "error"].includes(invitationsStatus.dataset.kind)) showStatus(invitationsStatus, "");
    invitationList.dataset.loaded = "true";
  } catch (error) {
    refused(error, invitationsStatus);
  }
}

function inviteErrors(role, agencyCode, name) {
  const errors = [];
  if (!name) errors.push({ field: "display_name", message: t("required_name") });
  if (role !== "admin" && !agencyCode) errors.push({ field: "agency_code", message: t("required_ward") });
  return errors;
}

inviteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFieldErrors(inviteForm);
  inviteSummary.hidden = true;
  inviteResult.replaceChildren();
  showStatus(inviteStatus, "");
  const role = inviteForm.elements.role.value;
  const agencyCode = inviteForm.elements.agency_code.value.trim();
  const name = inviteForm.elements.display_name.value.trim();
  const errors = inviteErrors(role, agencyCode, name);
  if (errors.length) {
    inviteSummary.textContent = t("fix_fields");
    inviteSummary.hidden = false;
    showFieldErrors(inviteForm, errors);
    return;
  }
  setBusy(inviteButton, true);
  try {
    const body = { role, display_name: name, agency_code: role === "admin" ? null : agencyCode };
    const invitation = await api("/api/v1/admin/invitations", { method: "POST", body });
    showStatus(inviteStatus, t("invitation_created", { name: invitation.display_name }), "success");
    const label = t("invitation_link", { name: invitation.display_name, moment: formatMoment(invitation.expires_at) });
    // The link to send, and the same link as a QR code for a phone in the room (issue 11 point 8).
    const qr = el("figure", { class: "receipt-qr", id: "invitation-qr" },
      qrSvg(invitation.link, t("invitation_qr_label", { name: invitation.display_name })),
      el("figcaption", {}, t("invitation_qr")));
    inviteResult.replaceChildren(linkBox(label, invitation.link, inviteStatus), qr);
    inviteForm.elements.display_name.value = "";
    await loadInvitations();
  } catch (error) {
    if (error instanceof ApiError && error.fieldErrors.length) {
      const unmatched = showFieldErrors(inviteForm, error.fieldErrors);
      inviteSummary.textContent = [error.message, ...unmatched.map((item) => `${item.field}: ${item.message}`)].join(" ");
      inviteSummary.hidden = false;
    } else {
      refused(error, inviteStatus);
    }
  } finally {
    setBusy(inviteButton, false);
  }
});

// --- users and recovery links ------------------------------------------------------------------------------

function userRow(user) {
  const nameId = `user-${user.id}-name`;
  const recoveryButton = el("button", { type: "button", class: "btn btn-secondary", "aria-describedby": nameId }, t("recovery_button"));
  recoveryButton.addEventListener("click", async () => {
    setBusy(recoveryButton, true);
    try {
      const answer = await api(`/api/v1/users/${user.id}/recovery-link`, { method: "POST" });
      showStatus(usersStatus, t("recovery_created", { name: user.name }), "success");
      const box = linkBox(t("recovery_link", { name: user.name, moment: formatMoment(answer.expires_at) }), answer.link, usersStatus);
      recoveryResult.replaceChildren(box);
      box.querySelector("input").focus();
    } catch (error) {
      refused(error, usersStatus);
    } finally {
      setBusy(recoveryButton, false);
    }
  });
  return el(
    "tr",
    { dataset: { userId: user.id } },
    el("th", { scope: "row", id: nameId, "data-label": t("col_name"), lang: "vi" }, user.name), // a Vietnamese name
    cell(t("col_role"), roleLabel(user.role)),
    cell(t("col_ward"), user.ward ? user.ward.name : "—"),
    cell(t("col_state"), user.active ? t("active") : t("inactive")),
    cell(t("col_passkeys"), String(user.passkey_count)),
    cell(t("col_actions"), el("div", { class: "actions" }, recoveryButton,
      el("a", { href: `/admin/users/${user.id}`, "aria-describedby": nameId }, t("edit_user")))),
  );
}

async function loadUsers() {
  try {
    const data = await api("/api/v1/admin/users");
    const head = el("tr", {}, ...["col_name", "col_role", "col_ward", "col_state", "col_passkeys", "col_actions"].map(
      (key) => el("th", { scope: "col" }, t(key)),
    ));
    userTable.tHead.replaceChildren(head);
    userTable.tBodies[0].replaceChildren(...data.users.map(userRow));
    showStatus(usersStatus, data.users.length ? "" : t("no_users"), "info");
    userTable.dataset.loaded = "true";
  } catch (error) {
    refused(error, usersStatus);
  }
}

loadInvitations();
loadUsers();
