// Capturing a dossier at the door, with or without network: the procedure, the owner and the submitter, the
// documents and their photos. Every change is written to IndexedDB at once (a draft survives a reload or a closed
// browser). Completing the dossier freezes the body that will be sent, issues the code from the phone's block
// and computes the due date from the downloaded calendar: what the citizen is handed is final.

import { el, clearFieldErrors, showFieldErrors } from "./dom.js";
import { lang, t } from "./i18n.js";
import { takeCode } from "./day.js";
import { NoSealingKey, enterOutbox, sealingKey } from "./outbox-entry.js";
import { STATUS, STORES, detachPhotos, requestResult, withStores } from "../lib/outbox-db.js";
import { getDossier, getPhoto, putDossier, storePhoto } from "../lib/locked-store.js";
import { computeDue, formatLocal, isoDay, toLocal } from "../lib/calendar.js";
import {
  checkDateOfBirth, checkFullName, checkPersonalId, checkPhone, message as findingMessage,
} from "../lib/identity.js";
import { REFUSED, PhotoRefused, preparePhotoOffMainThread, sha256Hex } from "../lib/images.js";
import { search } from "../lib/search.js";

const PERSON_FIELDS = [
  { name: "full_name", type: "text", autocomplete: "name", required: true },
  { name: "personal_id", type: "text", inputmode: "numeric" },
  { name: "date_of_birth", type: "date" },
  { name: "gender", type: "select" },
  { name: "phone", type: "tel", autocomplete: "tel" },
  { name: "address", type: "text", autocomplete: "street-address" },
];

/** A new empty draft for `userId`, optionally for a scheduled visit (its person and procedure filled in). */
export function newDraft(userId, visit = null) {
  const owner = { full_name: "", personal_id: "", date_of_birth: "", gender: "", phone: "", address: "" };
  if (visit) {
    Object.assign(owner, {
      full_name: visit.person.full_name || "",
      personal_id: visit.person.personal_id || "",
      date_of_birth: visit.person.date_of_birth || "",
      phone: visit.phone || visit.person.phone || "",
      address: visit.address || "",
    });
  }
  return {
    client_uuid: crypto.randomUUID(),
    user_id: userId,
    status: STATUS.DRAFT,
    created_at: Date.now(),
    updated_at: Date.now(),
    form: {
      procedure_key: (visit && visit.procedure_key) || "",
      home_visit_id: visit ? visit.id : null,
      owner,
      same_submitter: true,
      submitter: { full_name: "", personal_id: "", date_of_birth: "", gender: "", phone: "", address: "" },
      documents: {},
      citizen_requested_receipt: false,
      competent_agency_code: "", // "": the officer's own ward decides
    },
  };
}

function procedureName(procedure) {
  return lang === "en" && procedure.name_en ? procedure.name_en : procedure.name_vi;
}

function documentName(doc) {
  return lang === "en" && doc.name_en ? doc.name_en : doc.name_vi;
}

/** The language of the name shown for a procedure or a paper: Vietnamese where the catalogue has no English. */
function nameLanguage(item) {
  return lang === "en" && item.name_en ? "en" : "vi";
}

/**
 * The capture form bound to one draft record. `context` gives the database, the day's data (procedures, calendar),
 * identity data (for the ID and phone checks), the officer and callbacks (`onReview(record)` once the form is
 * complete, `onCompleted(record)` once the code is issued).
 *
 * Two steps: the form ("Kiểm tra lại hồ sơ" checks it), then the review (renderReview: the whole dossier once, with
 * a "Sửa" link back to each part of the form), whose confirmation issues the code (complete()).
 */
export class CaptureForm {
  constructor(form, context) {
    this.form = form;
    this.context = context;
    this.record = null;
    this.saving = Promise.resolve();
    this.search = form.querySelector("#procedure-search");
    this.results = form.querySelector("#procedure-results");
    this.chosen = form.querySelector("#procedure-chosen");
    this.documents = form.querySelector("#documents");
    this.errors = form.querySelector("#capture-errors");
    this.savedNote = document.getElementById("draft-saved");
    // Files refused for a document since the form was opened, by document code: shown by that document until the
    // officer adds a photo to it again. Not saved: there is nothing of them to keep.
    this.refusals = {};
    // Object URLs of the thumbnails on screen, revoked when the list is drawn again (each holds its blob).
    this.thumbnailUrls = [];
    for (const fieldset of form.querySelectorAll("fieldset[data-person]")) this.buildPerson(fieldset);
    form.addEventListener("input", (event) => this.changed(event));
    form.addEventListener("change", (event) => this.changed(event));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.review();
    });
    this.search.addEventListener("input", () => this.showResults());
  }

  buildPerson(fieldset) {
    const who = fieldset.dataset.person;
    for (const field of PERSON_FIELDS) {
      const id = `${who}-${field.name}`;
      const label = el("label", { for: id }, t(`field_${field.name}`),
        field.required ? el("span", { class: "required" }, ` (${t("required")})`) : "");
      let input;
      if (field.type === "select") {
        input = el("select", { id, name: `${who}.${field.name}` },
          el("option", { value: "" }, "—"),
          el("option", { value: "male" }, t("gender_male")),
          el("option", { value: "female" }, t("gender_female")));
      } else {
        input = el("input", { id, name: `${who}.${field.name}`, type: field.type, autocomplete: field.autocomplete,
          inputmode: field.inputmode });
      }
      fieldset.append(el("div", { class: "field" }, label, input));
    }
  }

  /** Show a draft (a new one or one from IndexedDB) in the form. */
  open(record, serverErrors = []) {
    this.record = record;
    const form = this.record.form;
    clearFieldErrors(this.form);
    this.errors.hidden = true;
    this.refusals = {};
    for (const who of ["owner", "submitter"]) {
      for (const field of PERSON_FIELDS) {
        this.form.elements.namedItem(`${who}.${field.name}`).value = form[who][field.name] || "";
      }
    }
    this.form.elements.namedItem("same_submitter").checked = form.same_submitter;
    this.showSubmitter(!form.same_submitter);
    this.form.elements.namedItem("citizen_requested_receipt").checked = Boolean(form.citizen_requested_receipt);
    this.showWards();
    this.search.value = "";
    this.showProcedure();
    this.showResults();
    if (serverErrors.length) this.showErrors(serverErrors);
  }

  /** Forget the dossier on screen and empty the form (the app is locking: nothing of the citizen stays). */
  close() {
    this.record = null;
    this.form.reset();
    this.refusals = {};
    for (const url of this.thumbnailUrls) URL.revokeObjectURL(url);
    this.thumbnailUrls = [];
    clearFieldErrors(this.form);
    this.errors.replaceChildren();
    this.errors.hidden = true;
    this.documents.replaceChildren();
    this.results.replaceChildren();
    this.chosen.textContent = "";
    this.savedNote.textContent = "";
  }

  /** The submitter's fields exist only when the submitter is someone else: hidden, and disabled so that they are
   * neither reached with the Tab key nor part of the form's data. */
  showSubmitter(shown) {
    const fieldset = this.form.querySelector('[data-person="submitter"]');
    fieldset.hidden = !shown;
    fieldset.disabled = !shown;
  }

  /** The wards the dossier may be for (the day download's, the officer's own first and chosen by default). */
  wards() {
    return (this.context.day.meta && this.context.day.meta.wards) || [];
  }

  showWards() {
    const select = this.form.elements.namedItem("competent_agency_code");
    const chosen = this.record.form.competent_agency_code || "";
    select.replaceChildren(...this.wards().map((ward, index) =>
      el("option", { value: index ? ward.agency_code : "", selected: index ? ward.agency_code === chosen : !chosen },
        lang === "en" && ward.name_en ? ward.name_en : ward.name_vi)));
  }

  /** The ward chosen for a ward-level procedure; null for the officer's own ward or a department's procedure. */
  competentWard(procedure) {
    const code = this.record.form.competent_agency_code;
    if (!code || !procedure || procedure.competent_agency_code) return null;
    return this.wards().find((ward) => ward.agency_code === code) || null;
  }

  procedure() {
    return this.context.day.procedures.find((p) => p.key === this.record.form.procedure_key) || null;
  }

  showResults() {
    const procedures = this.context.day.procedures;
    const found = search(procedures, this.search.value, ["name_vi", "name_en", "national_code"], { limit: 8 });
    this.results.replaceChildren(
      ...found.map((procedure) =>
        el("label", { class: "choice" },
          el("input", { type: "radio", name: "procedure_choice", value: procedure.key,
            checked: procedure.key === this.record.form.procedure_key }),
          el("span", { lang: nameLanguage(procedure) }, procedureName(procedure)))),
    );
    if (!procedures.length) this.results.append(el("p", { class: "hint" }, t("no_catalogue")));
  }

  showProcedure() {
    const procedure = this.procedure();
    this.chosen.textContent = procedure ? t("procedure_chosen", { name: procedureName(procedure) }) : "";
    this.form.elements.namedItem("procedure_key").value = procedure ? procedure.key : "";
    const sameDay = procedure && procedure.time.unit === "same_day";
    this.form.querySelector("#receipt-request-field").hidden = !sameDay;
    // A department's procedure is decided by the department whatever ward: no choice to offer.
    this.form.querySelector("#competent-ward-field").hidden =
      !procedure || Boolean(procedure.competent_agency_code) || this.wards().length < 2;
    this.showDocuments();
  }

  showDocuments() {
    const procedure = this.procedure();
    this.documents.replaceChildren();
    if (!procedure) {
      this.documents.append(el("p", { class: "hint" }, t("choose_procedure_first")));
      return;
    }
    procedure.required_documents.forEach((doc, index) => {
      const state = this.record.form.documents[doc.code] || { ticked: false, sighted_original: false, photos: [] };
      const base = `doc-${index}`;
      const photos = el("ul", { class: "photo-list", id: `${base}-photos` },
        state.photos.map((sha, number) => el("li", { dataset: { sha } },
          el("img", { class: "photo-thumbnail", alt: t("photo_alt", { n: number + 1, name: documentName(doc) }),
            width: 160, height: 120 }),
          el("span", { class: "photo-label" }, t("photo_short", { sha: sha.slice(0, 8) })),
          el("p", { class: "photo-warning", hidden: true }),
          el("button", { type: "button", class: "btn btn-secondary", dataset: { removePhoto: sha, doc: doc.code } },
            t("remove_photo")))));
      const refused = this.refusals[doc.code] || [];
      const refusal = el("div", { class: "field-error photo-refused", id: `${base}-refused`, hidden: !refused.length },
        refused.map((text) => el("p", {}, text)));
      this.documents.append(el("div", { class: "document", dataset: { doc: doc.code } },
        el("div", { class: "field field-checkbox" },
          el("input", { type: "checkbox", id: `${base}-ticked`, name: `doc.${doc.code}.ticked`, checked: state.ticked }),
          el("label", { for: `${base}-ticked` }, documentName(doc),
            doc.mandatory ? el("span", { class: "required" }, ` (${t("required")})`) : "")),
        el("div", { class: "field field-checkbox" },
          el("input", { type: "checkbox", id: `${base}-sighted`, name: `doc.${doc.code}.sighted_original`,
            checked: state.sighted_original }),
          el("label", { for: `${base}-sighted` }, t("sighted_original"))),
        el("div", { class: "field" },
          el("label", { for: `${base}-camera`, class: "btn btn-secondary" }, t("take_photo")),
          el("input", { type: "file", id: `${base}-camera`, class: "visually-hidden", accept: "image/*",
            capture: "environment", multiple: true, dataset: { photoFor: doc.code },
            "aria-describedby": `${base}-refused`, onchange: (event) => this.photosChosen(doc.code, event.target) })),
        refusal,
        photos));
    });
    for (const button of this.documents.querySelectorAll("[data-remove-photo]")) {
      button.addEventListener("click", () => this.removePhoto(button.dataset.doc, button.dataset.removePhoto));
    }
    this.showThumbnails(this.documents);
  }

  /**
   * Fill the thumbnails and warnings of the photos listed under `root` from IndexedDB (the small JPEG each photo
   * keeps; an older photo without one shows itself). The previous list's object URLs are revoked first.
   */
  async showThumbnails(root) {
    for (const url of this.thumbnailUrls) URL.revokeObjectURL(url);
    this.thumbnailUrls = [];
    for (const item of root.querySelectorAll(".photo-list li[data-sha]")) {
      const row = await getPhoto(this.context.db, item.dataset.sha);
      // A photo sealed for the server (a dossier back from quarantine) has no image left the phone can show.
      if (!row || !item.isConnected || !(row.thumbnail || row.blob)) continue;
      const url = URL.createObjectURL(row.thumbnail || row.blob);
      this.thumbnailUrls.push(url);
      item.querySelector("img").src = url;
      const warnings = photoWarnings(row.quality);
      const warning = item.querySelector(".photo-warning");
      warning.textContent = warnings.join(" ");
      warning.hidden = !warnings.length;
      item.classList.toggle("photo-retake", warnings.length > 0);
    }
  }

  /** Read the form into the draft and save it. Photos arrive here too (file inputs fire "change"). */
  changed(event) {
    if (!this.record) return;
    const target = event.target;
    if (target.dataset && target.dataset.photoFor) return; // the camera input's own listener (photosChosen)
    if (target.name === "procedure_search") return;
    const form = this.record.form;
    if (target.name === "procedure_choice") {
      form.procedure_key = target.value;
      this.showProcedure();
    } else if (target.name === "same_submitter") {
      form.same_submitter = target.checked;
      this.showSubmitter(!target.checked);
    } else if (target.name === "citizen_requested_receipt") {
      form.citizen_requested_receipt = target.checked;
    } else if (target.name === "competent_agency_code") {
      form.competent_agency_code = target.value;
    } else if (target.name && target.name.startsWith("doc.")) {
      const [, code, key] = target.name.split(".");
      const state = form.documents[code] || { ticked: false, sighted_original: false, photos: [] };
      state[key] = target.checked;
      form.documents[code] = state;
    } else if (target.name && /^(owner|submitter)\./.test(target.name)) {
      const [who, field] = target.name.split(".");
      form[who][field] = target.value;
    } else {
      return;
    }
    this.save();
  }

  /** Save the draft; saves are chained so that an older state never overwrites a newer one. */
  save() {
    const snapshot = structuredClone(this.record);
    snapshot.updated_at = Date.now();
    this.saving = this.saving.then(() => putDossier(this.context.db, snapshot)).then(
      () => {
        this.savedNote.textContent = t("draft_saved");
      },
      (error) => {
        this.savedNote.textContent = t("draft_not_saved", { error: String(error) });
      },
    );
    return this.saving;
  }

  /**
   * Photos chosen with a document's camera. Listened to on the input itself, not through the form: the officer may
   * open the camera again while an earlier photo is prepared, and when that one is ready the list is drawn again
   * and the input replaced; the photo taken then arrives on the input no longer in the page, and must still count.
   */
  photosChosen(docCode, input) {
    this.addPhotos(docCode, [...input.files]).finally(() => {
      input.value = "";
    });
  }

  /**
   * Prepare and keep the photos chosen for a document. A file that is not a readable image (a PDF, say) is refused
   * by the document, in words: nothing is stored for it and it does not tick the document.
   */
  async addPhotos(docCode, files) {
    const form = this.record.form;
    // Registered at once: a second photo chosen while the first is still being prepared adds to the same list
    // (two lists made apart would keep only the last one's photos).
    const state = form.documents[docCode] || { ticked: false, sighted_original: false, photos: [] };
    form.documents[docCode] = state;
    const refused = [];
    let kept = 0;
    this.savedNote.textContent = t("photo_preparing");
    for (const file of files) {
      let prepared;
      try {
        prepared = await preparePhotoOffMainThread(file);
      } catch (error) {
        const reason = error instanceof PhotoRefused ? error.reason : REFUSED.UNREADABLE;
        refused.push(t(reason === REFUSED.NOT_AN_IMAGE ? "photo_not_an_image" : "photo_unreadable_named",
          { name: file.name || "" }));
        continue;
      }
      await this.storePhoto(prepared);
      if (!state.photos.includes(prepared.sha256)) state.photos.push(prepared.sha256);
      kept++;
    }
    this.refusals[docCode] = refused;
    if (kept) {
      // A photographed document is received: its box is ticked for the officer.
      state.ticked = true;
      form.documents[docCode] = state;
      await this.save();
    }
    this.showDocuments();
    if (refused.length) {
      this.savedNote.textContent = refused.join(" ");
      // The message stands by the document (and in the status line): bring it into view.
      this.form.querySelector(`[data-doc="${CSS.escape(docCode)}"] .photo-refused`)?.scrollIntoView({ block: "center" });
    }
  }

  /** Keep a prepared photo under its hash, locked (locked-store.js); the same page twice gains this dossier. */
  storePhoto(prepared) {
    return storePhoto(this.context.db, this.record.user_id, this.record.client_uuid, prepared);
  }

  async removePhoto(docCode, sha256) {
    const state = this.record.form.documents[docCode];
    if (!state) return;
    state.photos = state.photos.filter((sha) => sha !== sha256);
    await releasePhotos(this.context.db, this.record.client_uuid, [sha256]);
    await this.save();
    this.showDocuments();
  }

  /** Field errors of the form as it stands (the same rules as the server's, in JavaScript). */
  validate() {
    const form = this.record.form;
    const errors = [];
    const add = (field, text) => errors.push({ field, message: text });
    const procedure = this.procedure();
    if (!procedure) add("procedure_search", t("error_procedure"));
    const people = form.same_submitter ? ["owner"] : ["owner", "submitter"];
    for (const who of people) {
      const person = form[who];
      const name = checkFullName(person.full_name);
      if (!name.ok) add(`${who}.full_name`, findingMessage(name.findings[0], lang));
      for (const finding of checkDateOfBirth(person.date_of_birth)) add(`${who}.date_of_birth`, findingMessage(finding, lang));
      const identity = this.context.identity;
      if (person.personal_id.trim() && identity) {
        const checked = checkPersonalId(person.personal_id, identity, {
          dateOfBirth: person.date_of_birth || undefined, gender: person.gender || undefined });
        for (const finding of checked.findings.filter((f) => f.severity === "error")) {
          add(`${who}.personal_id`, findingMessage(finding, lang));
        }
      }
      if (person.phone.trim() && identity) {
        const checked = checkPhone(person.phone, identity);
        for (const finding of checked.findings.filter((f) => f.severity === "error")) {
          add(`${who}.phone`, findingMessage(finding, lang));
        }
      }
    }
    if (procedure) {
      for (const doc of procedure.required_documents) {
        const state = form.documents[doc.code];
        if (doc.mandatory && !(state && state.ticked)) {
          add(`doc.${doc.code}.ticked`, t("error_document", { name: documentName(doc) }));
        }
      }
    }
    return errors;
  }

  showErrors(errors) {
    clearFieldErrors(this.form);
    const unmatched = showFieldErrors(this.form, errors);
    this.errors.replaceChildren(el("p", {}, t("error_summary")),
      el("ul", {}, errors.map((error) => el("li", {}, error.message))));
    this.errors.hidden = false;
    if (unmatched.length === errors.length) this.errors.focus();
  }

  /** The form's button: show what is missing, or go on to the review when nothing is. */
  async review() {
    await this.saving;
    const errors = this.validate();
    if (errors.length) {
      this.showErrors(errors);
      return;
    }
    this.context.onReview(this.record);
  }

  /**
   * The whole dossier as it will be issued, in `root`: the procedure, the owner, the submitter, the documents with
   * their thumbnails and the return of the result, each with a "Sửa" link to its part of the form
   * (#/capture/<uuid>/<step>, see the data-step attributes of templates/officer/shell.html). Returns false, drawing
   * nothing, when the form is not complete.
   */
  renderReview(root) {
    const form = this.record.form;
    const procedure = this.procedure();
    // A review opened by its address (a reload) for a form that is no longer complete: back to the form.
    if (!procedure || this.validate().length) return false;
    const edit = (step, what) => el("a", { class: "review-edit", href: `#/capture/${this.record.client_uuid}/${step}` },
      t("review_edit"), el("span", { class: "visually-hidden" }, ` ${what}`));
    const part = (step, title, ...content) => el("section", { class: "review-part", dataset: { step } },
      el("div", { class: "review-head" }, el("h2", {}, title), edit(step, title)), ...content);
    const facts = (pairs) => el("dl", { class: "facts" },
      pairs.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value || "—")]));
    const person = (data) => facts(PERSON_FIELDS.map((field) => [t(`field_${field.name}`),
      field.name === "gender" && data.gender ? t(`gender_${data.gender}`) : data[field.name]]));
    const documents = procedure.required_documents.map((doc) => {
      const state = form.documents[doc.code] || { ticked: false, sighted_original: false, photos: [] };
      const marks = [state.ticked ? t("review_received") : t("review_not_received")];
      if (state.sighted_original) marks.push(t("sighted_original"));
      if (state.photos.length) marks.push(t("photos_count", { n: state.photos.length }));
      return el("li", { class: "review-document" }, el("p", {}, el("strong", {}, documentName(doc)), ` — ${marks.join(", ")}`),
        el("ul", { class: "photo-list" }, state.photos.map((sha, number) => el("li", { dataset: { sha } },
          el("img", { class: "photo-thumbnail", alt: t("photo_alt", { n: number + 1, name: documentName(doc) }),
            width: 160, height: 120 }),
          el("p", { class: "photo-warning", hidden: true })))));
    });
    const sameDay = procedure.time.unit === "same_day";
    const delivery = [[t("return_place"), t("return_at_home")]];
    if (sameDay) delivery.push([t("review_receipt_requested"), form.citizen_requested_receipt ? t("yes") : t("no")]);
    root.replaceChildren(
      part("procedure", t("procedure"), el("p", { class: "chosen" }, procedureName(procedure)),
        this.competentWard(procedure) ? facts([[t("review_competent_ward"), this.competentWard(procedure).name_vi]])
          : ""),
      part("owner", t("owner"), person(form.owner)),
      part("submitter", t("applicant"), form.same_submitter ? el("p", {}, t("review_same_submitter"))
        : person(form.submitter)),
      part("documents", t("documents_received"), el("ul", { class: "item-list" }, documents)),
      part("delivery", t("review_delivery"), facts(delivery)),
    );
    this.showThumbnails(root);
    return true;
  }

  /** Bring a part of the form into view and focus it (a "Sửa" link of the review). */
  focusStep(step) {
    const target = this.form.querySelector(`[data-step="${CSS.escape(step)}"]`);
    if (!target) return;
    const shown = target.hidden ? this.form.querySelector('[data-step="documents"]') : target;
    shown.scrollIntoView({ block: "start" });
    shown.focus({ preventScroll: true });
  }

  /**
   * Freeze the dossier: code, due date, the body to send; then hand it to the outbox. Returns false (the reasons
   * shown on the form) when it cannot be issued.
   */
  async complete() {
    await this.saving;
    const errors = this.validate();
    if (errors.length) {
      this.showErrors(errors);
      return false;
    }
    const { db, officer } = this.context;
    const procedure = this.procedure();
    const record = this.record;
    let keyInfo;
    try {
      keyInfo = await sealingKey(db, record.user_id);
    } catch (error) {
      if (!(error instanceof NoSealingKey)) throw error;
      this.showErrors([{ field: "", message: t("error_no_sealing_key") }]);
      return false;
    }
    // A dossier sent back from quarantine keeps what the citizen already holds: its code and time of receipt.
    // Only when the officer had to change the procedure is the due date computed again (and a new slip given).
    let issued = record.issued || (await this.issue(procedure));
    if (!issued) return false;
    if (issued.procedure_key !== procedure.key) {
      const dueAt = this.dueDate(issued.received_at, procedure);
      if (!dueAt) return false;
      issued = { ...issued, procedure_key: procedure.key, due_at: dueAt };
    }
    const form = record.form;
    const person = (data) => ({
      full_name: data.full_name.trim(),
      personal_id: data.personal_id.replace(/[\s.-]+/g, "") || null,
      date_of_birth: data.date_of_birth || null,
      gender: data.gender || null,
      phone: data.phone.trim() || null,
      address: data.address.trim() || null,
    });
    const documents = [];
    const receiptDocuments = [];
    for (const doc of procedure.required_documents) {
      const state = form.documents[doc.code];
      if (!state || !state.ticked) continue;
      const shas = state.photos.length ? state.photos : [null];
      for (const sha of shas) {
        documents.push({ required_document_code: doc.code, name: doc.name_vi, sha256: sha,
          sighted_original: Boolean(state.sighted_original) });
      }
      receiptDocuments.push({ name: documentName(doc), name_lang: nameLanguage(doc),
        sighted_original: Boolean(state.sighted_original),
        photos: state.photos.length, copy_type: doc.copy_type, quantity: doc.quantity || 1 });
    }
    record.payload = {
      procedure_key: procedure.key,
      received_at: issued.received_at,
      code: issued.code,
      provisional_code: issued.provisional_code,
      due_at: issued.due_at,
      reception_mode: "home_visit",
      home_visit_id: form.home_visit_id,
      owner: person(form.owner),
      submitter: form.same_submitter ? null : person(form.submitter),
      documents,
      citizen_requested_receipt: Boolean(form.citizen_requested_receipt),
      claim_token_sha256: issued.claim_token_sha256,
    };
    const ward = this.competentWard(procedure);
    if (ward) record.payload.competent_agency_code = ward.agency_code; // absent: the receiving ward, as before
    record.issued = issued;
    record.receipt = {
      label: `${issued.code || issued.provisional_code} — ${form.owner.full_name.trim()}`,
      code: issued.code,
      provisional_code: issued.provisional_code,
      procedure_name: procedureName(procedure),
      procedure_name_lang: nameLanguage(procedure),
      // The statutory time of the procedure version the phone downloaded (the one the due date was computed on).
      time: procedure.time,
      version_id: procedure.version_id,
      same_day: procedure.time.unit === "same_day",
      citizen_requested_receipt: Boolean(form.citizen_requested_receipt),
      received_at: issued.received_at,
      due_at: issued.due_at,
      // As Mẫu 01 writes them whatever the app's language: the ward's legal name and where its papers are dated.
      agency_name: officer.ward ? officer.ward.legal_name || officer.ward.name : "",
      place: officer.ward ? officer.ward.place || "" : "",
      receipt_series: (this.context.day.meta && this.context.day.meta.receipt_series) || null,
      officer_name: officer.name,
      documents: receiptDocuments,
      claim_token: issued.claim_token,
    };
    record.status = STATUS.QUEUED;
    record.completed_at = record.completed_at || Date.now();
    record.problem = null;
    await enterOutbox(db, record, keyInfo); // sealed: the outbox never holds the clear body or photos
    this.context.onCompleted(record);
    return true;
  }

  /** The due date on the phone's calendar, or null (with the reason shown) when the calendar does not cover it. */
  dueDate(receivedAt, procedure) {
    try {
      return computeDue(receivedAt, procedure.time.value, procedure.time.unit, this.context.day.calendar,
        procedure.time.same_day_cutoff ? { cutoff: procedure.time.same_day_cutoff } : {});
    } catch (error) {
      this.showErrors([{ field: "", message: t("error_no_calendar") }]);
      return null;
    }
  }

  /** Issue the final code (or a provisional one) and the due date, at the moment of receipt. */
  async issue(procedure) {
    const { db, day } = this.context;
    if (!day.calendar) {
      this.showErrors([{ field: "", message: t("error_no_calendar") }]);
      return null;
    }
    const local = toLocal(new Date());
    const receivedAt = formatLocal(local.day, Math.floor(local.micros / 1e6) * 1e6);
    const dueAt = this.dueDate(receivedAt, procedure);
    if (!dueAt) return null;
    const code = await takeCode(db, this.record.user_id, isoDay(local.day));
    const claimToken = newClaimToken();
    return {
      procedure_key: procedure.key,
      received_at: receivedAt,
      due_at: dueAt,
      code,
      provisional_code: code ? null : `TAM-${this.record.client_uuid.slice(0, 8).toUpperCase()}`,
      claim_token: claimToken,
      claim_token_sha256: await sha256Hex(new TextEncoder().encode(claimToken)),
    };
  }
}

/** The warnings a photo's checks call for (images.js assessPhoto), in words; none for a good photo. */
export function photoWarnings(quality) {
  if (!quality) return [];
  const warnings = [];
  if (quality.blurred) warnings.push(t("photo_blurred"));
  if (quality.dark) warnings.push(t("photo_dark"));
  return warnings;
}

/**
 * The claim token printed in the receipt's QR code: 26 characters of base32 (130 random bits). Whoever scans the
 * paper can link the dossier to their account (server/citizen/claims.py); the server only ever gets its SHA-256.
 * 256 is a multiple of 32, so taking each byte modulo 32 keeps every character equally likely.
 */
export function newClaimToken() {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  return Array.from(crypto.getRandomValues(new Uint8Array(26)), (byte) => alphabet[byte % 32]).join("");
}

/** Detach photos from a dossier; a photo no other dossier uses is deleted. */
export function releasePhotos(db, clientUuid, hashes) {
  return withStores(db, STORES.photos, "readwrite", (stores) => detachPhotos(stores.photos, clientUuid, hashes));
}

/** Delete a dossier and the photos only it used (a discarded draft or quarantined dossier). */
export async function discardDossier(db, clientUuid) {
  const record = await getDossier(db, clientUuid);
  if (!record) return;
  const hashes = Object.values((record.form && record.form.documents) || {}).flatMap((doc) => doc.photos || [])
    .concat((record.sealed && record.sealed.photos) || []);
  await releasePhotos(db, clientUuid, hashes);
  await withStores(db, STORES.dossiers, "readwrite", (stores) => requestResult(stores.dossiers.delete(clientUuid)));
}
