// Texts for the page modules. The server translates them (Flask-Babel) into the page's language and puts them in
// JSON data blocks: #js-messages (every page) and #page-messages (the page's own). Nothing is translated here.

const messages = {};
for (const id of ["js-messages", "page-messages"]) {
  const block = document.getElementById(id);
  if (block) {
    try {
      Object.assign(messages, JSON.parse(block.textContent));
    } catch (error) {
      console.warn("i18n: unreadable message block", id, error);
    }
  }
}

/** The page's language: "vi" or "en". */
export const lang = document.documentElement.lang === "en" ? "en" : "vi";

/** The translated text `key`, with `{name}` placeholders filled from `values`. */
export function t(key, values = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

const dateFormat = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "vi-VN", {
  dateStyle: "medium",
  timeStyle: "short",
  timeZone: "Asia/Ho_Chi_Minh",
});

/** An ISO 8601 moment as the local date and time of Viet Nam, or `fallback` when there is none. */
export function formatMoment(iso, fallback = "") {
  if (!iso) return fallback;
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : dateFormat.format(moment);
}

/** The label of a role ("officer" → "cán bộ tiếp nhận tại nhà"). */
export function roleLabel(role) {
  return role ? t(`role_${role}`) : "";
}
