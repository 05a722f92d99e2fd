// The officer's day on the phone: one download before leaving (visits, catalogue, calendar, code blocks), then
// only what changed. Everything lands in IndexedDB under the officer's user id (pwa/lib/outbox-db.js).

import { api } from "./api.js";
import { STORES, allForUser, putAll, requestResult, withStores } from "../lib/outbox-db.js";
import { getMeta, setMeta } from "../lib/outbox-flush.js";
import { WorkCalendar } from "../lib/calendar.js";
import { formatCode } from "../lib/codes.js";
import { keepSealingKey } from "./outbox-entry.js";

/** Download the whole day. Code blocks already on the phone keep their counter: a code is never issued twice. */
export async function downloadDay(db, userId) {
  const day = await api("/api/v1/sync/day", { method: "POST" });
  await storeDay(db, userId, day);
  return day;
}

async function storeDay(db, userId, day) {
  const mine = (rows) => rows.map((row) => ({ ...row, user_id: userId }));
  await withStores(db, [STORES.catalogue, STORES.visits], "readwrite", async (stores) => {
    // Replace, not merge: a procedure or visit that disappeared from the server must disappear here too.
    for (const name of [STORES.catalogue, STORES.visits]) {
      const keys = await requestResult(stores[name].index("by_user").getAllKeys(userId));
      await Promise.all(keys.map((key) => requestResult(stores[name].delete(key))));
    }
    await Promise.all(mine(day.catalogue.procedures).map((row) => requestResult(stores.catalogue.put(row))));
    await Promise.all(mine(day.visits).map((row) => requestResult(stores.visits.put(row))));
  });
  await putAll(db, STORES.calendar, [{ ...day.calendar, user_id: userId }]);
  await withStores(db, STORES.codeBlocks, "readwrite", async (stores) => {
    for (const block of day.code_blocks) {
      const existing = await requestResult(stores.code_blocks.get([userId, block.day]));
      const sameBlock = existing && existing.first === block.first && existing.last === block.last;
      const next = sameBlock ? existing.next : block.first;
      await requestResult(stores.code_blocks.put({ ...block, user_id: userId, next }));
    }
  });
  await keepSealingKey(db, userId, day.sealing_key); // after a rotation, new dossiers seal to the new key
  await setMeta(db, userId, "day", {
    downloaded_at: Date.now(),
    cursor: day.cursor,
    catalogue_version: day.catalogue.version,
    calendar_version: day.calendar.version,
    receipt_series: day.receipt_series || null, // the "TNHS" of the receipt's "Số: 12/TNHS"
    wards: day.wards || [], // the province's wards a dossier may be for, the officer's own first
  });
}

/**
 * Pull what changed since the last download or pull: visits, the status of dossiers already sent, and whether
 * the catalogue or calendar moved (then the whole day is downloaded again).
 * @returns true when something changed on the phone.
 */
export async function pullChanges(db, userId) {
  const day = await getMeta(db, userId, "day");
  if (!day || !day.cursor) return false;
  const changes = await api(`/api/v1/sync/changes?cursor=${encodeURIComponent(day.cursor)}`);
  if (changes.catalogue_version !== day.catalogue_version || changes.calendar_version !== day.calendar_version) {
    await downloadDay(db, userId);
    return true;
  }
  let removed = 0;
  await withStores(db, [STORES.visits, STORES.dossiers], "readwrite", async (stores) => {
    for (const visit of changes.visits) {
      // A visit the desk cancelled (or one already done) leaves the officer's list.
      if (CLOSED_VISIT_STATUSES.includes(visit.status)) await requestResult(stores.visits.delete([userId, visit.id]));
      else await requestResult(stores.visits.put({ ...visit, user_id: userId }));
    }
    if (Array.isArray(changes.open_visit_ids)) {
      // So does one the desk gave to another officer: it never shows up as "changed" for this one.
      const open = new Set(changes.open_visit_ids);
      const held = await requestResult(stores.visits.index("by_user").getAll(userId));
      for (const visit of held) {
        if (open.has(visit.id)) continue;
        await requestResult(stores.visits.delete([userId, visit.id]));
        removed += 1;
      }
    }
    for (const update of changes.dossiers) {
      const record = await requestResult(stores.dossiers.get(update.client_uuid));
      if (!record || record.user_id !== userId || !record.server) continue;
      record.server = { ...record.server, state: update.state, national_status: update.national_status,
        due_at: update.due_at, code: update.code };
      await requestResult(stores.dossiers.put(record));
    }
  });
  await setMeta(db, userId, "day", { ...day, cursor: changes.cursor, pulled_at: Date.now() });
  return changes.visits.length > 0 || changes.dossiers.length > 0 || removed > 0;
}

const CLOSED_VISIT_STATUSES = Object.freeze(["cancelled", "done"]);

/** Visits in the order of the day: by date and time, unscheduled requests last. */
function byAppointment(a, b) {
  const key = (visit) => `${visit.planned_for || "9999-12-31"}T${visit.planned_time || "99:99"}`;
  return key(a).localeCompare(key(b)) || a.id - b.id;
}

/** What the phone holds for the day: procedures, visits, the calendar and when it was fetched. */
export async function loadDay(db, userId) {
  const [procedures, visits, calendars, meta] = await Promise.all([
    allForUser(db, STORES.catalogue, userId),
    allForUser(db, STORES.visits, userId),
    allForUser(db, STORES.calendar, userId),
    getMeta(db, userId, "day"),
  ]);
  procedures.sort((a, b) => a.name_vi.localeCompare(b.name_vi, "vi"));
  visits.sort(byAppointment);
  const calendar = calendars.length ? new WorkCalendar(calendars) : null;
  return { procedures, visits, calendar, calendars, meta: meta || null };
}

/**
 * Take the next code of the phone's block for `day` ("YYYY-MM-DD"), in one transaction so that two tabs never
 * take the same number. Returns null when no block is left for that day.
 */
export function takeCode(db, userId, day) {
  return withStores(db, STORES.codeBlocks, "readwrite", async (stores) => {
    const block = await requestResult(stores.code_blocks.get([userId, day]));
    if (!block || block.next > block.last) return null;
    const number = block.next;
    block.next = number + 1;
    await requestResult(stores.code_blocks.put(block));
    return formatCode(block.pattern, block.agency_code, day, number);
  });
}
