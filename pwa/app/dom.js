// Small DOM helpers shared by the page modules: building elements, status messages, field errors, confirmation
// dialogs and copying links. No inline styles and no HTML strings (the CSP forbids the former; the latter invites XSS).

import { t } from "./i18n.js";

/** `el("button", {type: "button", class: "btn", onclick: fn}, "Label")`. Text children are never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/** Show `message` in a status region (`role="status"`): kind "info", "success" or "error". Empty hides it. */
export function showStatus(node, message, kind = "info") {
  node.textContent = message || "";
  node.dataset.kind = kind;
}

/** Move the keyboard focus to a status message (after the control that had it was re-rendered away). */
export function focusStatus(node) {
  if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
  node.focus();
}

/** Move the keyboard focus to the first heading of `container` (a view that replaced another). */
export function focusHeading(container) {
  const heading = container && container.querySelector("h1, h2");
  if (!heading) return;
  if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
  heading.focus();
}

/** Disable a button while its action runs (aria-busy tells assistive technology why). */
export function setBusy(button, busy) {
  button.disabled = busy;
  if (busy) button.setAttribute("aria-busy", "true");
  else button.removeAttribute("aria-busy");
}

/** Remove the field errors shown by `showFieldErrors`. */
export function clearFieldErrors(form) {
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && !id.endsWith("-error"));
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }
}

/**
 * Show each `{field, message}` next to its input (the field's name after `prefix`, e.g. "citizen.phone" → phone).
 * @returns the errors that match no input (to show in the form's summary), and focuses the first invalid input.
 */
export function showFieldErrors(form, errors, prefix = "") {
  const unmatched = [];
  let first = null;
  for (const error of errors) {
    const name = prefix && error.field?.startsWith(prefix) ? error.field.slice(prefix.length) : error.field;
    const input = name ? form.elements.namedItem(name) : null;
    if (!input || !input.id) {
      unmatched.push(error);
      continue;
    }
    const id = `${input.id}-error`;
    let message = document.getElementById(id);
    if (!message) {
      message = el("p", { class: "field-error", id });
      const anchor = input.closest(".field") || input;
      anchor.append(message);
    }
    message.textContent = message.textContent ? `${message.textContent} ${error.message}` : error.message;
    input.setAttribute("aria-invalid", "true");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(id)) input.setAttribute("aria-describedby", [...described, id].join(" "));
    first = first || input;
  }
  if (first) first.focus();
  return unmatched;
}

/**
 * Ask before a consequential action, in an accessible modal dialog (Cancel has the focus).
 * @returns a promise of true when confirmed.
 */
export function confirmDialog(message, confirmLabel) {
  if (typeof HTMLDialogElement !== "function") return Promise.resolve(window.confirm(message));
  const id = `confirm-${Date.now()}`;
  const dialog = el(
    "dialog",
    { class: "confirm-dialog", "aria-labelledby": id },
    el(
      "form",
      { method: "dialog" },
      el("p", { id, class: "confirm-message" }, message),
      el(
        "div",
        { class: "actions" },
        el("button", { type: "submit", value: "cancel", class: "btn btn-secondary", autofocus: true }, t("cancel")),
        el("button", { type: "submit", value: "confirm", class: "btn btn-danger" }, confirmLabel || t("confirm")),
      ),
    ),
  );
  const opener = document.activeElement;
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const confirmed = dialog.returnValue === "confirm";
      dialog.remove();
      if (opener && typeof opener.focus === "function" && opener.isConnected) opener.focus();
      resolve(confirmed);
    });
    dialog.showModal();
  });
}

/** Copy `text` to the clipboard and say so in `statusNode`. */
export async function copyText(text, statusNode, fallbackInput = null) {
  try {
    await navigator.clipboard.writeText(text);
    showStatus(statusNode, t("copied"), "success");
  } catch {
    if (fallbackInput) {
      fallbackInput.focus();
      fallbackInput.select();
    }
    showStatus(statusNode, t("copy_failed"), "error");
  }
}

/** A read-only link with a copy button (invitation and recovery links). */
export function linkBox(label, link, statusNode) {
  const id = `link-${Math.random().toString(36).slice(2)}`;
  const input = el("input", { id, type: "url", value: link, readonly: true, class: "link-output" });
  input.addEventListener("focus", () => input.select());
  return el(
    "div",
    { class: "link-box" },
    el("label", { for: id }, label),
    input,
    el("button", { type: "button", class: "btn btn-secondary", onclick: () => copyText(link, statusNode, input) }, t("copy")),
  );
}
