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

// Dates, moments and phone numbers as a clerk in Viet Nam writes them: the one place for each format on the phone
// (issue 11 point 8). server/web/formats.py writes the same on the server's pages; tests/browser/test_formats.py
// checks that both sides agree. Always in Viet Nam's time, whatever the phone's time zone.
const partsFormat = new Intl.DateTimeFormat("en-GB", {
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  timeZone: "Asia/Ho_Chi_Minh",
});

/** {year, month, day, hour, minute} of a moment in Viet Nam, as zero-padded strings; null when unreadable. */
function localParts(iso) {
  const moment = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(moment.getTime())) return null;
  const parts = {};
  for (const part of partsFormat.formatToParts(moment)) parts[part.type] = part.value;
  return parts;
}

/** The day of a moment as documents date it: "ngày 03 tháng 12 năm 2026" (Vietnamese), "03/12/2026" (English). */
export function legalDate(iso, fallback = "") {
  const parts = iso ? localParts(iso) : null;
  return parts ? t("legal_date", parts) : fallback;
}

/** How long ago still reads as "just now" ("vừa xong"). */
const JUST_NOW_MS = 60_000;

/**
 * An ISO 8601 moment as "12:29, 02/12/2026" (Viet Nam's time); "vừa xong" within the last minute unless
 * `relative` is false; `fallback` when there is none.
 */
export function formatMoment(iso, fallback = "", { relative = true } = {}) {
  if (!iso) return fallback;
  const parts = localParts(iso);
  if (!parts) return String(iso);
  const ago = Date.now() - new Date(iso).getTime();
  if (relative && ago >= -5_000 && ago < JUST_NOW_MS) return t("just_now");
  return `${parts.hour}:${parts.minute}, ${parts.day}/${parts.month}/${parts.year}`;
}

/** An ISO 8601 date or moment as "02/12/2026" (a moment in Viet Nam's time). */
export function formatDay(iso, fallback = "") {
  if (!iso) return fallback;
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) {
    const [year, month, day] = iso.split("-");
    return `${day}/${month}/${year}`;
  }
  const parts = localParts(iso);
  return parts ? `${parts.day}/${parts.month}/${parts.year}` : String(iso);
}

/**
 * The legal way of writing a moment on a statutory form: "9 giờ 30 phút, ngày 09 tháng 03 năm 2026" (as
 * server/forms/content.py time_and_date writes Mẫu 01).
 */
export function legalMoment(iso, fallback = "") {
  const parts = iso ? localParts(iso) : null;
  if (!parts) return fallback;
  return `${Number(parts.hour)} giờ ${parts.minute} phút, ngày ${parts.day} tháng ${parts.month} năm ${parts.year}`;
}

/** A phone number as people read and dial it: 0912 345 678 (mobile), 024 3765 4321 (landline). */
export function formatPhone(raw, fallback = "") {
  if (!raw) return fallback;
  let digits = String(raw).replace(/\D/g, "");
  if (String(raw).trim().startsWith("+84") || (digits.startsWith("84") && [11, 12].includes(digits.length))) {
    digits = `0${digits.slice(2)}`;
  } else if (!digits.startsWith("0")) {
    return String(raw);
  }
  if (digits.length === 10) return `${digits.slice(0, 4)} ${digits.slice(4, 7)} ${digits.slice(7)}`;
  if (digits.length === 11 && digits.startsWith("02")) {
    return `${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`;
  }
  return digits;
}

/** The label of a role ("officer" → "cán bộ tiếp nhận tại nhà"). */
export function roleLabel(role) {
  return role ? t(`role_${role}`) : "";
}
