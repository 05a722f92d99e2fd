// The officer's app (/app): who is signed in, the status bar, the outbox flush triggers, and the three views
// (home, capture, receipt) switched by the URL's hash. It must start with no network: everything it shows comes
// from IndexedDB, and the server is asked only to confirm the session, send the outbox and pull changes.
//
// Who the officer is, offline: the last session seen on this phone (id, name, ward) is kept in localStorage. It
// authenticates nothing (the session cookie does); it only says whose drafts and outbox to show.
//
// Issue 12 point 2: drafts and quarantined dossiers rest encrypted (lib/locked-store.js); until the officer unlocks
// the vault (app/vault-screens.js) the app shows the lock screen and nothing of a citizen, while the outbox still
// flushes. Locking clears every view before the key is forgotten.

import { ApiError, api, forgetCsrfToken } from "./api.js";
import { CaptureForm, discardDossier, newDraft } from "./capture.js";
import { CONNECTION, connectionAfterFlush, showConnection } from "./connection.js";
import { downloadDay, loadDay, pullChanges } from "./day.js";
import { confirmDialog, el, focusHeading, setBusy, showStatus } from "./dom.js";
import { formatDay, formatMoment, t } from "./i18n.js";
import { signInWithPasskey } from "./passkeys.js";
import { setUpReadAloud } from "./read-aloud.js";
import { receiptSpeech, renderReceipt } from "./receipt.js";
import { registerServiceWorker } from "./register-sw.js";
import { VaultGate, rememberPolicy } from "./vault-screens.js";
import { STATUS, openOutbox, wipeAll } from "../lib/outbox-db.js";
import { dossiersOf, getDossier, putDossier, relock } from "../lib/locked-store.js";
import { isUnlocked, lock } from "../lib/vault.js";
import { PROBE_TIMEOUT_MS, RESULT, SERVER_ERRORS_SLUG, SYNC_TAG, backoffDelay, flushOutbox, summarize } from "../lib/outbox-flush.js";
import { loadIdentityData } from "../lib/identity.js";
import { readLocal } from "../lib/local-protect.js";

const OFFICER_KEY = "motcua.officer";
/** While items wait and nothing else triggers a flush, try again at least this often. */
const IDLE_RETRY_MS = 60_000;

const $ = (id) => document.getElementById(id);

const state = {
  db: null,
  officer: null, // {id, name, role, ward}
  signedIn: false,
  connection: CONNECTION.CHECKING, // what the status bar says (connection.js)
  day: { procedures: [], visits: [], calendar: null, meta: null },
  identity: null,
  capture: null,
  timer: null,
  failures: 0,
  flushing: null,
  flushAgain: false, // a flush was asked for while one was in flight
  receiptRecord: null, // the dossier whose receipt is on screen, for "Đọc to"
  completed: null, // the dossier just completed, clear, in memory only: its receipt shows the citizen's details
  shown: null, // the view and hash on screen, to tell a view change from a redraw
  gate: null, // the vault's screens (vault-screens.js)
};

/** Whether the signed-in officer's vault is open: only then may a view show a citizen's data. */
function unlocked() {
  return Boolean(state.officer) && isUnlocked(state.officer.id);
}

function rememberedOfficer() {
  try {
    return JSON.parse(localStorage.getItem(OFFICER_KEY) || "null");
  } catch {
    return null;
  }
}

function remember(session) {
  const officer = { id: session.user.id, name: session.user.name, role: session.role, ward: session.ward };
  localStorage.setItem(OFFICER_KEY, JSON.stringify(officer));
  return officer;
}

/** Ask the server who is signed in. Returns "signed_in", "signed_out", "wiped" or "offline" (no answer within
 *  PROBE_TIMEOUT_MS included: on "lie-fi" the request would otherwise never end). */
async function checkSession() {
  try {
    const session = await api("/api/v1/session", { timeoutMs: PROBE_TIMEOUT_MS });
    if (session.role !== "officer" && session.role !== "staff" && session.role !== "leader") {
      state.signedIn = false;
      setConnection(CONNECTION.SIGNED_OUT);
      return "signed_out";
    }
    const previous = state.officer;
    state.officer = remember(session);
    state.signedIn = true;
    rememberPolicy(session.device_policy);
    if (state.gate) state.gate.policyChanged();
    setConnection(CONNECTION.ONLINE);
    if (previous && previous.id !== state.officer.id) {
      // Another officer on this phone: their own vault, their own data.
      await loadOfficerData();
      if (state.gate) await state.gate.lock();
    }
    return "signed_in";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      state.signedIn = false;
      setConnection(CONNECTION.SIGNED_OUT);
      return error.problem.wipe_local_data ? "wiped" : "signed_out";
    }
    // Not reached, or not in time; a 5xx is an answer, but not one that says anything about the session.
    setConnection(error instanceof ApiError && error.status ? CONNECTION.ONLINE : CONNECTION.OFFLINE);
    return "offline";
  }
}

/** Say where the app stands with the server; the sign-in notice only for a real 401 (connection.js). */
function setConnection(connection) {
  if (!connection) return;
  state.connection = connection;
  showConnection($("connection"), connection);
  $("signed-out").hidden = connection !== CONNECTION.SIGNED_OUT || !state.officer;
}

async function loadOfficerData() {
  state.day = await loadDay(state.db, state.officer.id);
  if (state.capture) Object.assign(state.capture.context, { day: state.day, officer: state.officer });
}

// --- the status bar -------------------------------------------------------------------------------------------

/** The bar sticks to the top: the page's scroll padding follows its height (static/css/app.css, --sticky-top), so
 * that the focused field is never scrolled under it (WCAG 2.2 2.4.11). */
function keepFocusClearOfTheBar() {
  const bar = $("sync-bar");
  const follow = () => document.documentElement.style.setProperty("--sticky-top", `${bar.offsetHeight}px`);
  if (typeof ResizeObserver === "function") new ResizeObserver(follow).observe(bar);
  follow();
}

function megabytes(bytes) {
  return (bytes / 1_000_000).toLocaleString(document.documentElement.lang || "vi", { maximumFractionDigits: 1 });
}

function age(milliseconds) {
  const minutes = Math.max(0, Math.round(milliseconds / 60_000));
  if (minutes < 60) return t("age_minutes", { n: minutes });
  return t("age_hours", { n: Math.round(minutes / 6) / 10 });
}

async function refreshStatus() {
  const officer = state.officer; // may be wiped while this runs: keep whose status this is
  if (!officer) return null;
  const summary = await summarize(state.db, officer.id);
  if (state.officer !== officer) return null;
  $("sync-bar").hidden = false;
  $("sync-summary").textContent = summary.waiting
    ? t("waiting_summary", { n: summary.waiting, mb: megabytes(summary.bytes), age: age(Date.now() - summary.oldestCompletedAt) })
    : t("nothing_waiting");
  $("sync-last").textContent = summary.lastSync
    ? t("last_sync", { when: formatMoment(new Date(summary.lastSync).toISOString()) })
    : t("never_synced");
  $("sync-bar").dataset.waiting = String(summary.waiting);
  if (unlocked()) {
    const records = await dossiersOf(state.db, officer.id);
    await showQuarantine(summary.quarantined, records);
    showDossiers(records);
  }
  return summary;
}

/** The quarantine's title of a dossier: its code and its owner. A sealed dossier's outbox record names no one:
 *  the owner's name comes from its local copy (readLocal, the vault's key). */
async function quarantineLabel(record) {
  if (record.local) {
    try {
      const { label } = await readLocal(state.db, record.user_id, record.local);
      if (label) return label;
    } catch {
      // unreadable (erased key): the code and procedure still name it
    }
  }
  const issued = record.issued || {};
  const owner = record.form && record.form.owner ? record.form.owner.full_name.trim() : "";
  return (record.receipt && record.receipt.label) || [issued.code || issued.provisional_code, owner].filter(Boolean).join(" — ");
}

async function showQuarantine(summaryItems, records) {
  const byUuid = new Map(records.map((record) => [record.client_uuid, record]));
  const items = await Promise.all(summaryItems.map(async (item) => {
    const record = byUuid.get(item.client_uuid);
    return record ? { ...item, label: await quarantineLabel(record), problem: record.problem || item.problem } : item;
  }));
  $("quarantine").hidden = items.length === 0;
  $("quarantine-list").replaceChildren(
    ...items.map((item) => {
      const problem = item.problem || {};
      const detail = problem.type === SERVER_ERRORS_SLUG
        ? t("quarantine_server_errors", { count: problem.server_errors, status: problem.status })
        : problem.detail;
      const reasons = [detail, ...(problem.errors || []).map((e) => e.message)].filter(Boolean);
      return el("li", { class: "item", dataset: { uuid: item.client_uuid } },
        el("h3", { class: "item-title", lang: item.label ? "vi" : null }, item.label), // the code and the owner's name
        el("p", {}, el("strong", {}, problem.title || ""), " ", reasons.join(" ")),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "btn btn-primary", onclick: () => fixQuarantined(item.client_uuid) },
            t("fix_and_resend")),
          el("button", { type: "button", class: "btn btn-danger", onclick: () => discardQuarantined(item) },
            t("discard"))));
    }),
  );
}

async function fixQuarantined(uuid) {
  const record = await getDossier(state.db, uuid);
  if (record.local) {
    // A sealed dossier: the phone cannot open what it sent; the form comes back from its local copy.
    ({ form: record.form } = await readLocal(state.db, record.user_id, record.local));
    delete record.local;
  }
  record.status = STATUS.DRAFT;
  await putDossier(state.db, record);
  window.location.hash = `#/capture/${uuid}`;
}

async function discardQuarantined(item) {
  if (!(await confirmDialog(t("confirm_discard", { label: item.label }), t("discard")))) return;
  await discardDossier(state.db, item.client_uuid);
  await refreshStatus();
}

const STATUS_LABELS = {
  [STATUS.DRAFT]: "status_draft",
  [STATUS.QUEUED]: "status_queued",
  [STATUS.SENDING]: "status_sending",
  [STATUS.SYNCED]: "status_synced",
  [STATUS.QUARANTINED]: "status_quarantined",
};

function showDossiers(all) {
  const records = [...all];
  records.sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0));
  $("dossier-list").replaceChildren(
    ...records.filter((r) => r.status !== STATUS.QUARANTINED).map((record) => {
      const title = record.receipt ? record.receipt.label || record.receipt.code : (record.form.owner.full_name || t("untitled_draft"));
      // A title with the owner's name is Vietnamese whatever the app's language (a code alone has no language).
      const withName = record.receipt ? Boolean(record.receipt.label) : Boolean(record.form.owner.full_name);
      const action = record.status === STATUS.DRAFT
        ? el("a", { class: "btn btn-secondary", href: `#/capture/${record.client_uuid}` }, t("continue_draft"))
        : el("a", { class: "btn btn-secondary", href: `#/receipt/${record.client_uuid}` }, t("show_receipt"));
      return el("li", { class: "item", dataset: { uuid: record.client_uuid, status: record.status } },
        el("h3", { class: "item-title", lang: withName ? "vi" : null }, title),
        el("p", {}, el("span", { class: "badge" }, t(STATUS_LABELS[record.status])),
          record.server && record.server.state ? ` ${t("server_state", { state: t(`state_${record.server.state}`) })}` : ""),
        action);
    }),
  );
}

/** "09:30, 14/12/2026" (or the date alone): when the desk told the citizen the officer comes. */
function visitWhen(visit) {
  const date = formatDay(visit.planned_for);
  return t("visit_when", { when: visit.planned_time ? `${visit.planned_time}, ${date}` : date });
}

function showDay() {
  if (!unlocked()) return; // the visits name citizens
  const meta = state.day.meta;
  $("day-freshness").textContent = meta
    ? t("day_fresh", { when: formatMoment(new Date(meta.downloaded_at).toISOString()), age: age(Date.now() - meta.downloaded_at) })
    : t("day_missing");
  $("visit-list").replaceChildren(
    ...state.day.visits.map((visit) => {
      const procedure = state.day.procedures.find((p) => p.key === visit.procedure_key);
      return el("li", { class: "item" },
        el("h4", { class: "item-title" }, visit.person.full_name),
        visit.planned_for ? el("p", { class: "visit-when" }, visitWhen(visit)) : "",
        el("p", {}, visit.address || ""),
        el("p", {}, visit.phone || ""),
        procedure ? el("p", {}, procedure.name_vi) : "",
        el("button", { type: "button", class: "btn btn-primary", onclick: () => startDraft(visit) }, t("capture_for_visit")));
    }),
  );
  if (!state.day.visits.length) $("visit-list").append(el("li", { class: "hint" }, t("no_visits")));
}

// --- flushing -------------------------------------------------------------------------------------------------

/** Send the outbox now (one flush at a time), then show the outcome and plan the next try. */
function flush(reason) {
  if (!state.db || !state.officer) return Promise.resolve(null);
  if (state.flushing) {
    // An "online" event (or a tap) during a try that is failing must not be lost: try again once this one ends.
    state.flushAgain = true;
    return state.flushing;
  }
  document.body.dataset.flushing = "yes"; // for tests: a try is in flight
  state.flushing = (async () => {
    clearTimeout(state.timer);
    let outcome;
    try {
      outcome = await flushOutbox(state.db);
    } catch (error) {
      console.error("flush failed", reason, error);
      outcome = { result: RESULT.RETRY_LATER, retryInMs: null };
    }
    await afterFlush(outcome);
    return outcome;
  })().finally(() => {
    state.flushing = null;
    delete document.body.dataset.flushing;
    if (state.flushAgain) {
      state.flushAgain = false;
      flush("again");
    }
  });
  return state.flushing;
}

async function afterFlush(outcome) {
  if (outcome.result === RESULT.WIPED) {
    await wiped();
    return;
  }
  if (outcome.result === RESULT.SIGNED_OUT) {
    state.signedIn = false;
  } else if (outcome.userId) {
    state.signedIn = true;
  }
  setConnection(connectionAfterFlush(outcome.result));
  if (outcome.result === RESULT.DONE || outcome.result === RESULT.NOTHING) {
    state.failures = 0;
    try {
      if (state.officer && (await pullChanges(state.db, state.officer.id)) && unlocked()) {
        await loadOfficerData();
        showDay();
      }
    } catch (error) {
      // Changes come again with the next flush; the outbox is what matters.
    }
  } else if (outcome.result !== RESULT.BUSY) {
    state.failures += 1;
  }
  // A dossier the flush quarantined came back with its receipt and reason in clear: lock them at once.
  if (unlocked() && outcome.quarantined) await relock(state.db, state.officer.id);
  const summary = await refreshStatus();
  if (outcome.sent) await redrawReceipt();
  // BUSY says nothing about the outbox: the flush holding the lock (most often the worker's Background Sync, which
  // posts its outcome here when it ends) is the one that learns what happened, and plans the next try.
  if (outcome.result !== RESULT.BUSY) document.body.dataset.lastFlush = outcome.result;
  // Offline with nothing waiting, probe again all the same (with the back-off): the "online" event may come
  // before the network really works, and the status bar must not say "no network" once it does.
  const probeAgain = summary && (summary.waiting || state.connection === CONNECTION.OFFLINE);
  clearTimeout(state.timer);
  if (probeAgain && outcome.result !== RESULT.SIGNED_OUT) {
    const delay = outcome.retryInMs ?? (outcome.result === RESULT.OFFLINE ? backoffDelay(state.failures) : IDLE_RETRY_MS);
    state.timer = setTimeout(() => flush("timer"), delay);
  }
}

/** A receipt on screen may have just got its official code (it had a provisional one) or its server status. */
async function redrawReceipt() {
  if (document.body.dataset.screen === "receipt") await route();
}

async function wiped() {
  lock();
  if (state.db) await wipeAll(state.db);
  localStorage.removeItem(OFFICER_KEY);
  state.officer = null;
  state.signedIn = false;
  $("sync-bar").hidden = true;
  $("signed-out").hidden = true;
  $("quarantine").hidden = true;
  showView("welcome");
  showStatus($("app-status"), t("device_wiped"), "error");
}

async function askBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.ready;
    if (registration && "sync" in registration) await registration.sync.register(SYNC_TAG);
  } catch {
    // Background Sync is missing (Firefox, Safari) or refused: the page's own triggers remain.
  }
}

// --- views ----------------------------------------------------------------------------------------------------

function showView(name) {
  for (const view of document.querySelectorAll("main [data-view]")) view.hidden = view.dataset.view !== name;
  document.body.dataset.screen = name; // for tests and print styles
  // A new view (or another dossier in the same view) is a new page to a screen reader and a keyboard: its heading
  // takes the focus, as a page load would. Not on the first view (the page just loaded), nor when a view is only
  // redrawn in place (a receipt getting its official code), which must not pull the focus away.
  const shown = `${name} ${window.location.hash}`;
  if (state.shown && state.shown !== shown) focusHeading(document.querySelector(`main [data-view="${name}"]`));
  state.shown = shown;
}

async function route() {
  const officer = state.officer;
  if (!officer) {
    showView("welcome");
    return;
  }
  if (!unlocked()) return; // the lock screen stays; the hash is kept for after the unlock
  const [, view, uuid, step] = (window.location.hash || "#/").split("/");
  if ((view === "capture" || view === "review") && uuid) {
    const record = await getDossier(state.db, uuid);
    if (record && record.user_id === officer.id && record.status === STATUS.DRAFT) {
      state.capture.open(record, (record.problem && record.problem.errors) || []);
      if (view === "review") {
        if (state.capture.renderReview($("review"))) {
          showView("review");
          return;
        }
        history.replaceState(null, "", `#/capture/${uuid}`); // not complete any more: the form it is
      }
      showView("capture");
      if (step) state.capture.focusStep(step); // a "Sửa" link of the review
      return;
    }
  }
  if (view === "receipt" && uuid) {
    const record = await getDossier(state.db, uuid);
    if (record && record.user_id === officer.id && record.receipt) {
      const hadFocus = $("receipt").contains(document.activeElement); // a redraw replaces the focused heading
      // Just completed: the citizen is at the door, and the page still holds the names and address in memory
      // (the outbox has only the sealed body). A reload or another view lets go of them.
      const fresh = state.completed && state.completed.client_uuid === uuid ? state.completed : null;
      const shown = fresh ? { ...record, payload: fresh.payload } : record;
      renderReceipt($("receipt"), shown);
      state.receiptRecord = shown;
      showView("receipt");
      if (hadFocus) focusHeading($("view-receipt"));
      return;
    }
  }
  state.completed = null;
  showView("home");
  showDay();
  await refreshStatus();
}

async function startDraft(visit = null) {
  if (!state.day.procedures.length) {
    showStatus($("day-status"), t("day_missing"), "error");
    return;
  }
  const draft = newDraft(state.officer.id, visit);
  await putDossier(state.db, draft);
  window.location.hash = `#/capture/${draft.client_uuid}`;
}

async function downloadTheDay() {
  const button = $("download-day");
  setBusy(button, true);
  showStatus($("day-status"), t("day_downloading"), "info");
  try {
    if (!state.signedIn && (await checkSession()) !== "signed_in") throw new ApiError(401, { title: t("sign_in_first") });
    await downloadDay(state.db, state.officer.id);
    await loadOfficerData();
    showDay();
    showStatus($("day-status"), t("day_downloaded"), "success");
    // Ask the browser not to evict the outbox under storage pressure (a tap is the best moment to ask).
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => false);
  } catch (error) {
    if (error instanceof ApiError && error.problem.wipe_local_data) await wiped();
    else showStatus($("day-status"), error.message, "error");
  } finally {
    setBusy(button, false);
  }
}

async function signInAgain() {
  const button = $("sign-in-again");
  setBusy(button, true);
  showStatus($("sign-in-status"), t("passkey_prompt"), "info");
  try {
    await signInWithPasskey();
    forgetCsrfToken();
    await checkSession();
    showStatus($("sign-in-status"), "", "info");
    await loadOfficerData();
    await route();
    await flush("signed-in");
  } catch (error) {
    showStatus($("sign-in-status"), error.message, "error");
  } finally {
    setBusy(button, false);
  }
}

function wireEvents() {
  $("sync-now").addEventListener("click", async () => {
    const button = $("sync-now");
    setBusy(button, true);
    showStatus($("app-status"), t("syncing"), "info");
    const outcome = await flush("button");
    setBusy(button, false);
    showStatus($("app-status"), outcome ? t(`result_${outcome.result}`) : "", outcome && outcome.result === RESULT.DONE ? "success" : "info");
  });
  $("download-day").addEventListener("click", downloadTheDay);
  $("new-dossier").addEventListener("click", () => startDraft());
  $("sign-in-again").addEventListener("click", signInAgain);
  $("back-home").addEventListener("click", () => {
    window.location.hash = "#/";
  });
  $("discard-draft").addEventListener("click", async () => {
    const record = state.capture.record;
    if (!record || !(await confirmDialog(t("confirm_discard_draft"), t("discard")))) return;
    await discardDossier(state.db, record.client_uuid);
    window.location.hash = "#/";
  });
  // The review's confirmation issues the code; what stops it (no calendar, say) is shown on the form.
  $("confirm-dossier").addEventListener("click", async () => {
    const button = $("confirm-dossier");
    setBusy(button, true);
    try {
      if (!(await state.capture.complete())) {
        history.replaceState(null, "", `#/capture/${state.capture.record.client_uuid}`);
        showView("capture");
      }
    } finally {
      setBusy(button, false);
    }
  });
  $("review-back").addEventListener("click", () => {
    window.location.hash = `#/capture/${state.capture.record.client_uuid}`;
  });
  $("receipt-done").addEventListener("click", () => {
    window.location.hash = "#/";
  });
  $("print-receipt").addEventListener("click", () => window.print());
  setUpReadAloud($("read-receipt"), () => (state.receiptRecord ? receiptSpeech(state.receiptRecord) : ""));
  window.addEventListener("hashchange", () => route());
  window.addEventListener("online", () => flush("online"));
  // The browser is sure when there is no network at all (it is not when it says there is one: the flush probes).
  window.addEventListener("offline", () => setConnection(CONNECTION.OFFLINE));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") flush("visible");
  });
  window.addEventListener("motcua:wipe-local-data", () => wiped());
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (!event.data || event.data.type !== "outbox-flushed") return;
    // The worker's Background Sync may be the one that learnt this phone was revoked (and erased the outbox).
    // A worker of the previous version (until it is replaced) posts only the result.
    const outcome = event.data.outcome || { result: event.data.result, retryInMs: null };
    if (outcome.result === RESULT.WIPED) {
      wiped();
      return;
    }
    // The worker cannot seal what it wrote back (a receipt, a quarantine reason): lock at once. Then its outcome is
    // this page's, as if the page had flushed: the status, the back-off timer after a 503 or a lost answer (else the
    // page would wait for its idle retry, and the browser minutes for its next sync). A flush of the page's own,
    // begun since, brings a newer outcome.
    const relocked = unlocked() ? relock(state.db, state.officer.id) : Promise.resolve();
    relocked.then(() => (state.flushing || !state.officer ? refreshStatus().then(redrawReceipt) : afterFlush(outcome)));
  });
}

/**
 * Issue 11 point 9: the worker precaches the officer's shell only on an officer's phone, and this page is how it
 * knows (a phone whose worker a citizen's or the enrolment page installed has only the common files). The body's
 * `data-offline-ready` says when /app would open with no network ("true"), for the tests and bench/app_load.py.
 */
async function askForOfficerShell() {
  const container = navigator.serviceWorker;
  if (!container) return;
  container.addEventListener("message", (event) => {
    if (event.data && event.data.type === "officer-shell") document.body.dataset.offlineReady = String(event.data.ready);
  });
  container.startMessages();
  const registration = await container.ready;
  registration.active.postMessage({ type: "officer-shell" });
}

async function start() {
  registerServiceWorker();
  keepFocusClearOfTheBar();
  askForOfficerShell().catch((error) => console.warn("officer shell not cached:", error));
  state.db = await openOutbox({ onBlocked: () => showStatus($("app-status"), t("db_blocked"), "error") });
  state.officer = rememberedOfficer();
  // Issue 11 point 4: the app starts from what the phone holds, whatever the network; the server's answer about
  // the session arrives when it arrives (or the probe times out) and only updates the status bar.
  setConnection(navigator.onLine ? CONNECTION.CHECKING : CONNECTION.OFFLINE);
  const session = checkSession();
  if (!state.officer) {
    // Nobody used the app on this phone yet: only the server can say who this is.
    if ((await session) === "wiped") {
      await wiped();
      return;
    }
    if (!state.officer) {
      showView("welcome");
      return;
    }
  }
  $("officer-name").textContent = state.officer.name;
  const shownId = state.officer.id;
  try {
    state.identity = await loadIdentityData();
  } catch {
    state.identity = null; // the checks run again on the server
  }
  await loadOfficerData();
  state.capture = new CaptureForm($("capture-form"), {
    db: state.db,
    day: state.day,
    identity: state.identity,
    officer: state.officer,
    onReview: (record) => {
      window.location.hash = `#/review/${record.client_uuid}`;
    },
    onCompleted: async (record) => {
      state.completed = record;
      window.location.hash = `#/receipt/${record.client_uuid}`;
      askBackgroundSync();
      flush("completed");
    },
  });
  wireEvents();
  state.gate = new VaultGate({ db: state.db, showView, onUnlocked: vaultOpened, beforeLock: clearPersonalViews });
  await state.gate.ask(state.officer.id);
  session.then((result) => afterStartupProbe(result, shownId));
}

/** The vault is open: lock what an older version or the outbox left in clear, then show the app. */
async function vaultOpened() {
  await relock(state.db, state.officer.id);
  await loadOfficerData();
  await route();
  document.body.dataset.ready = "true";
}

/** Before the lock: save what is being typed, then remove every citizen's data from the page. */
async function clearPersonalViews() {
  if (state.capture) {
    await state.capture.saving;
    state.capture.close();
  }
  state.receiptRecord = null;
  state.completed = null; // the just-completed dossier's clear copy
  state.day = { ...state.day, visits: [] };
  for (const id of ["review", "receipt", "dossier-list", "visit-list", "quarantine-list"]) $(id).replaceChildren();
  $("quarantine").hidden = true;
  showStatus($("app-status"), "", "info");
}

/** The start-up probe answered (or timed out): a revoked phone is wiped; another officer's session shows theirs
 *  (`shownId`: the officer whose name the header shows). */
async function afterStartupProbe(session, shownId) {
  if (session === "wiped") {
    await wiped();
    return;
  }
  if (state.officer && state.officer.id !== shownId) {
    $("officer-name").textContent = state.officer.name;
    await route();
  }
  flush("open");
}

start().catch((error) => {
  console.error(error);
  showStatus($("app-status"), t("error_generic"), "error");
});

// Tests and the service worker's "flush" message reach the flush through this (no global state otherwise).
export { flush };
