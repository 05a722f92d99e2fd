// The receipt handed over at the door (Mẫu 01, "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"), drawn on the phone
// with no network: the fields of DOMAIN.md §1.4 B and a QR code of the address where the dossier can be followed.
// After the server confirmed the dossier, the phone keeps no personal data: the receipt then shows only the code,
// the procedure and the dates.

import { el } from "./dom.js";
import { formatMoment, formatPhone, lang, legalDate, legalMoment, t } from "./i18n.js";
import qrcode from "../vendor/qrcode.mjs";

const SVG = "http://www.w3.org/2000/svg";

/**
 * The address printed in the QR code: where the citizen follows the dossier. With the claim token, scanning it
 * also offers to link the dossier to the citizen's account (doorstep onboarding); the token is what proves that
 * the person holds the paper, so the address works with a provisional code too.
 */
export function followUrl(code, claimToken = null) {
  const address = `${window.location.origin}/follow/${encodeURIComponent(code)}`;
  return claimToken ? `${address}?t=${encodeURIComponent(claimToken)}` : address;
}

/** A QR code as an SVG element: one path of dark modules, crisp at any size, no inline style (CSP). */
export function qrSvg(text, label) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const quiet = 4;
  let path = "";
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (qr.isDark(row, col)) path += `M${col + quiet} ${row + quiet}h1v1h-1z`;
    }
  }
  const size = count + quiet * 2;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("class", "qr");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.dataset.text = text;
  svg.dataset.modules = String(count);
  const background = document.createElementNS(SVG, "rect");
  background.setAttribute("width", String(size));
  background.setAttribute("height", String(size));
  background.setAttribute("fill", "#fff");
  const modules = document.createElementNS(SVG, "path");
  modules.setAttribute("d", path);
  modules.setAttribute("fill", "#000");
  svg.append(background, modules);
  return svg;
}

function fact(term, value, id, iso) {
  return [el("dt", {}, term), el("dd", { id, dataset: iso ? { iso } : undefined }, value || "—")];
}

/**
 * A name, an address or an official title as written in Vietnamese, on a receipt shown in any language: marked so
 * that a screen reader reads it with a Vietnamese voice (issue 11 point 6). `language` for a catalogue name that
 * may be English ("en" when the catalogue had one).
 */
function named(text, language = "vi") {
  return text ? el("span", { lang: language || "vi" }, text) : "";
}

/** "15 ngày làm việc": the statutory time of the procedure version the phone downloaded (kept after sync). */
function timeText(receipt) {
  const time = receipt.time;
  if (!time || !time.unit) return "";
  if (time.unit === "same_day") return t("time_same_day");
  if (time.unit === "calendar_days") return t("time_calendar_days", { n: time.value });
  return t("time_working_days", { n: time.value });
}

/**
 * The "Hình thức" and "Số lượng" of a paper, by the rule of server/forms/content.py handed_over_form: a
 * photographed page is a copy ("bản chụp") even when the original was sighted.
 */
export function handedOverForm(doc) {
  if (doc.photos) {
    return [doc.sighted_original ? t("form_photographed_sighted") : t("form_photographed"),
      t("photos_count", { n: doc.photos })];
  }
  const quantity = String(doc.quantity || 1);
  if (doc.sighted_original) return [t("form_sighted_only"), quantity];
  return [doc.copy_type ? t(`copy_type_${doc.copy_type}`) : "", quantity];
}

/** A moment as the receipt writes it: the legal wording of Mẫu 01 in Vietnamese, the clerk's in English. */
function receiptMoment(iso) {
  return lang === "vi" ? legalMoment(iso, "—") : formatMoment(iso, "—", { relative: false });
}

/**
 * What "Đọc to" says for a receipt: the status, the due date and the next step, with the same sentence as the
 * citizen's pages (server/web/officer_messages.py read_aloud_text). Before the sync the dossier is "received".
 */
export function receiptSpeech(record) {
  const receipt = record.receipt || {};
  const server = record.server || {};
  const state = server.state || "received";
  return t("read_aloud_summary", {
    code: server.code || receipt.code || receipt.provisional_code || "",
    state: t(`state_${state}`),
    due: receiptMoment(server.due_at || receipt.due_at),
    next: t(`next_${state}`),
  });
}

/**
 * The heading of Mẫu 01 (server/forms/content.py _header): the receiving agency and the receipt's number, the
 * national motto (each line kept whole, never wrapped) and the place and date. The number is the server's once it
 * issued the receipt, "…/TNHS" until then; the agency and the place are Vietnamese names in any language.
 */
function receiptHeader(record) {
  const receipt = record.receipt || {};
  const issued = (record.server && record.server.receipt_number)
    || (receipt.receipt_series ? `…/${receipt.receipt_series}` : "…");
  const date = legalDate(receipt.received_at, "…");
  return el(
    "header",
    { class: "receipt-header" },
    el("div", { class: "receipt-issuer" },
      el("p", { class: "receipt-agency", lang: "vi" }, (receipt.agency_name || "").toLocaleUpperCase("vi")),
      el("p", { id: "receipt-number" }, t("receipt_number", { number: issued }))),
    el("div", { class: "receipt-motto-block" },
      el("div", { class: "motto", lang: "vi" },
        el("p", { class: "motto-line motto-country" }, t("motto_country")),
        el("p", { class: "motto-line" }, t("motto_words"))),
      el("p", { class: "receipt-place-date", id: "receipt-place-date" },
        ...(receipt.place ? [el("span", { lang: "vi" }, receipt.place), ", "] : []), date)),
  );
}

/** One signature block: the role, the note, room to sign, the name. */
function signatureBlock(title, name, id) {
  return el(
    "div",
    { class: "signature", id },
    el("p", { class: "signature-title" }, title),
    el("p", { class: "small" }, t("sign_note")),
    el("p", { class: "signature-name" }, named(name)),
  );
}

/**
 * Fill `root` with the receipt of a dossier record (see capture.js for the record's fields), in the order and
 * with the fields of Mẫu 01 (server/forms/content.py receipt): tests/browser/pwa/test_receipt_agrees.py compares
 * the two field by field.
 */
export function renderReceipt(root, record) {
  const receipt = record.receipt || {};
  const payload = record.payload || null;
  const code = receipt.code || receipt.provisional_code;
  root.replaceChildren();
  const sameDayNoSlip = receipt.same_day && !receipt.citizen_requested_receipt;
  root.append(
    receiptHeader(record),
    el("h1", { id: "receipt-title" }, sameDayNoSlip ? t("receipt_recorded_title") : t("receipt_title")),
  );
  if (sameDayNoSlip) root.append(el("p", { class: "notice" }, t("receipt_same_day_note")));
  if (!receipt.code) root.append(el("p", { class: "notice", id: "receipt-provisional" }, t("receipt_provisional")));
  const facts = el("dl", { class: "facts receipt-facts" });
  facts.append(...fact(receipt.code ? t("dossier_code") : t("provisional_code"), code, "receipt-code"));
  root.append(facts);
  let submitter = null;
  if (payload) {
    const person = payload.submitter || payload.owner;
    submitter = person.full_name;
    if (receipt.agency_name) {
      const [before, after] = t("received_from", { agency: "\u0000" }).split("\u0000");
      root.append(el("p", {}, before, named(receipt.agency_name), after));
    }
    const people = el("dl", { class: "facts receipt-facts" });
    people.append(...fact(t("applicant"), named(person.full_name), "receipt-applicant"));
    if (payload.submitter) people.append(...fact(t("owner"), named(payload.owner.full_name), "receipt-owner"));
    people.append(...fact(t("address"), named(person.address || payload.owner.address), "receipt-address"));
    people.append(...fact(t("phone"), formatPhone(person.phone || payload.owner.phone), "receipt-phone"));
    root.append(people);
  }
  const request = el("dl", { class: "facts receipt-facts" });
  request.append(...fact(t("procedure"), named(receipt.procedure_name, receipt.procedure_name_lang),
    "receipt-procedure"));
  root.append(request);
  if (receipt.documents && receipt.documents.length) {
    root.append(el("h2", {}, t("documents_received")));
    const head = el("tr", {}, [t("doc_number"), t("doc_name"), t("doc_form"), t("doc_quantity")]
      .map((text) => el("th", { scope: "col" }, text)));
    const rows = receipt.documents.map((doc, index) =>
      el("tr", {}, [String(index + 1), named(doc.name, doc.name_lang), ...handedOverForm(doc)]
        .map((cell) => el("td", {}, cell))));
    root.append(el("div", { class: "table-wrap" },
      el("table", { class: "data-table receipt-documents", id: "receipt-documents" },
        el("thead", {}, head), el("tbody", {}, rows))));
  }
  const times = el("dl", { class: "facts receipt-facts" });
  times.append(...fact(t("dossier_sets"), t("dossier_sets_one"), "receipt-sets"));
  times.append(...fact(t("statutory_time"), timeText(receipt), "receipt-time"));
  times.append(...fact(t("received_at"), receiptMoment(receipt.received_at), "receipt-received", receipt.received_at));
  times.append(...fact(t("due_at"), receiptMoment(receipt.due_at), "receipt-due", receipt.due_at));
  const address = payload ? (payload.owner.address || (payload.submitter && payload.submitter.address)) : "";
  let returnPlace = t("return_at_home");
  if (address) {
    const [before, after] = t("return_at_home_address", { address: "\u0000" }).split("\u0000");
    returnPlace = el("span", {}, before, named(address), after);
  }
  times.append(...fact(t("return_place"), returnPlace, "receipt-return"));
  root.append(times);
  if (record.server) {
    root.append(el("p", { class: "status", dataset: { kind: "success" } }, t("receipt_synced")));
  }
  if (receipt.code || receipt.claim_token) {
    const url = followUrl(code, receipt.claim_token);
    root.append(
      el("figure", { class: "receipt-qr" }, qrSvg(url, t("qr_label")), el("figcaption", {}, t("qr_caption"), el("br"), url)),
    );
  }
  // Two blocks side by side (one under the other when narrow), each with room to sign: as on Mẫu 01.
  root.append(el("div", { class: "receipt-signatures", id: "receipt-signatures" },
    signatureBlock(t("signature_submitter"), submitter, "signature-submitter"),
    signatureBlock(t("signature_officer"), receipt.officer_name, "signature-officer")));
}
