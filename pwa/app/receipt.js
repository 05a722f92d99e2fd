// The receipt handed over at the door (Mẫu 01, "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"), drawn on the phone
// with no network: the fields of DOMAIN.md §1.4 B and a QR code of the address where the dossier can be followed.
// After the server confirmed the dossier, the phone keeps no personal data: the receipt then shows only the code,
// the procedure and the dates.

import { el } from "./dom.js";
import { formatMoment, t } from "./i18n.js";
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

function timeText(receipt) {
  const time = receipt.time || {};
  if (time.unit === "same_day") return t("time_same_day");
  if (time.unit === "calendar_days") return t("time_calendar_days", { n: time.value });
  return t("time_working_days", { n: time.value });
}

/** Fill `root` with the receipt of a dossier record (see capture.js for the record's fields). */
export function renderReceipt(root, record) {
  const receipt = record.receipt || {};
  const payload = record.payload || null;
  const code = receipt.code || receipt.provisional_code;
  root.replaceChildren();
  const sameDayNoSlip = receipt.same_day && !receipt.citizen_requested_receipt;
  root.append(
    el("p", { class: "receipt-agency" }, receipt.agency_name || ""),
    el("h1", { id: "receipt-title" }, sameDayNoSlip ? t("receipt_recorded_title") : t("receipt_title")),
  );
  if (sameDayNoSlip) root.append(el("p", { class: "notice" }, t("receipt_same_day_note")));
  if (!receipt.code) root.append(el("p", { class: "notice", id: "receipt-provisional" }, t("receipt_provisional")));
  const facts = el("dl", { class: "facts receipt-facts" });
  facts.append(...fact(receipt.code ? t("dossier_code") : t("provisional_code"), code, "receipt-code"));
  facts.append(...fact(t("procedure"), receipt.procedure_name));
  if (payload) {
    const person = payload.submitter || payload.owner;
    facts.append(...fact(t("applicant"), person.full_name, "receipt-applicant"));
    if (payload.submitter) facts.append(...fact(t("owner"), payload.owner.full_name));
    facts.append(...fact(t("address"), person.address || payload.owner.address));
    facts.append(...fact(t("phone"), person.phone || payload.owner.phone));
  }
  facts.append(...fact(t("statutory_time"), timeText(receipt)));
  facts.append(...fact(t("received_at"), formatMoment(receipt.received_at), "receipt-received", receipt.received_at));
  facts.append(...fact(t("due_at"), formatMoment(receipt.due_at), "receipt-due", receipt.due_at));
  facts.append(...fact(t("return_place"), t("return_at_home")));
  facts.append(...fact(t("received_by"), receipt.officer_name));
  root.append(facts);
  if (payload && receipt.documents && receipt.documents.length) {
    root.append(el("h2", {}, t("documents_received")));
    root.append(
      el(
        "ol",
        { class: "receipt-documents" },
        receipt.documents.map((doc) =>
          el("li", {}, `${doc.name} — ${doc.sighted_original ? t("sighted_original") : t("copy")}` +
            (doc.photos ? ` (${t("photos_count", { n: doc.photos })})` : "")),
        ),
      ),
    );
  }
  if (record.server) {
    root.append(el("p", { class: "status", dataset: { kind: "success" } }, t("receipt_synced")));
  }
  if (receipt.code || receipt.claim_token) {
    const url = followUrl(code, receipt.claim_token);
    root.append(
      el("figure", { class: "receipt-qr" }, qrSvg(url, t("qr_label")), el("figcaption", {}, t("qr_caption"), el("br"), url)),
    );
  }
  root.append(el("p", { class: "receipt-signatures" }, t("signatures")));
}
