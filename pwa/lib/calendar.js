// Working days and due dates on the phone: the rules of server/calendar/workdays.py, applied to the calendar the
// server publishes (GET /api/v1/calendar?from=...&to=..., or the "calendar" of the day download). The receipt
// given at the door must show the date the server will compute at sync, so this mirrors the Python line by line:
//
// * A working day is Monday to Friday unless it is a day off, plus any Saturday or Sunday declared a working day.
// * Working days: the clock starts at the receipt moment moved into office hours (before opening → opening;
//   lunch → afternoon opening; after closing or on a day off → the next working day's opening); the due time is
//   the same clock time N working days later.
// * Calendar days: N days later at the same clock time, moved forward off days off.
// * Same day: closing time of the day of receipt, or of the next working day when received at or after the
//   cut-off hour (15:00) or on a day off.
//
// Viet Nam has kept UTC+7 without daylight saving since 1975, so times are computed in a fixed offset and never
// with the phone's own time zone (which may be set to anything). Days are integers (days since 1970-01-01) and
// clock times are integers (microseconds since midnight): exact arithmetic, the same precision as Python.

export const UNITS = Object.freeze({
  WORKING_DAYS: "working_days",
  CALENDAR_DAYS: "calendar_days",
  SAME_DAY: "same_day",
});

const VN_OFFSET_MICROS = 7 * 3600 * 1e6;
const MICROS_PER_DAY = 86400 * 1e6;
const MS_PER_DAY = 86400 * 1000;
/** Like the server: a calendar never needs to look further than this for the next working day. */
const MAX_SEARCH_DAYS = 60;
const DEFAULT_OFFICE_HOURS = ["07:00", "11:30", "13:30", "17:00"];
const DEFAULT_CUTOFF = "15:00";

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const CLOCK = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/;
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/i;

/** "2026-02-12" → day number. */
export function dayNumber(iso) {
  const match = ISO_DAY.exec(iso);
  if (!match) throw new RangeError(`not a date (YYYY-MM-DD): ${iso}`);
  const [year, month, day] = match.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day);
  if (new Date(ms).getUTCDate() !== day || month < 1 || month > 12) throw new RangeError(`no such date: ${iso}`);
  return ms / MS_PER_DAY;
}

/** Day number → "2026-02-12". */
export function isoDay(day) {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Monday = 0 … Sunday = 6, like Python's date.weekday() (1 January 1970 was a Thursday). */
export function weekday(day) {
  return (((day + 3) % 7) + 7) % 7;
}

function fraction(digits) {
  return digits ? Number(digits.padEnd(6, "0")) : 0;
}

/** "13:30" (or "13:30:15.5") → microseconds since midnight. */
export function parseClock(text) {
  const match = CLOCK.exec(text);
  if (!match) throw new RangeError(`not a clock time (HH:MM): ${text}`);
  const [hours, minutes, seconds = 0] = match.slice(1, 4).map((part) => Number(part || 0));
  if (hours > 23 || minutes > 59 || seconds > 59) throw new RangeError(`no such time: ${text}`);
  return ((hours * 60 + minutes) * 60 + seconds) * 1e6 + fraction(match[4]);
}

/**
 * A moment as Vietnamese local time `{day, micros}`. Accepts an ISO 8601 string with its offset
 * ("2026-02-12T10:00:00+07:00", "...Z") or a Date. A string without offset is refused, as the server refuses it:
 * its meaning would be a guess.
 */
export function toLocal(moment) {
  let utcMicros;
  if (moment instanceof Date) {
    if (Number.isNaN(moment.getTime())) throw new RangeError("invalid Date");
    utcMicros = moment.getTime() * 1000;
  } else {
    const match = INSTANT.exec(String(moment));
    if (!match) throw new RangeError(`not an ISO 8601 date-time: ${moment}`);
    if (!match[8] && !match[9]) throw new RangeError("a time zone is required (for example +07:00)");
    const dayCount = dayNumber(`${match[1]}-${match[2]}-${match[3]}`);
    const [hours, minutes, seconds] = [match[4], match[5], match[6] || 0].map(Number);
    if (hours > 23 || minutes > 59 || seconds > 59) throw new RangeError(`no such time: ${moment}`);
    let offsetMinutes = 0;
    if (match[9]) {
      offsetMinutes = (Number(match[10]) * 60 + Number(match[11])) * (match[9] === "-" ? -1 : 1);
    }
    utcMicros =
      dayCount * MICROS_PER_DAY +
      ((hours * 60 + minutes - offsetMinutes) * 60 + seconds) * 1e6 +
      fraction(match[7]);
  }
  const local = utcMicros + VN_OFFSET_MICROS;
  const localDay = Math.floor(local / MICROS_PER_DAY);
  return { day: localDay, micros: local - localDay * MICROS_PER_DAY };
}

/** `{day, micros}` in Vietnamese time → the ISO string Python's isoformat() gives ("…T17:00:00+07:00"). */
export function formatLocal(day, micros) {
  const pad = (value, width = 2) => String(value).padStart(width, "0");
  const totalSeconds = Math.floor(micros / 1e6);
  const rest = micros - totalSeconds * 1e6;
  const clock = `${pad(Math.floor(totalSeconds / 3600))}:${pad(Math.floor(totalSeconds / 60) % 60)}:${pad(totalSeconds % 60)}`;
  return `${isoDay(day)}T${clock}${rest ? `.${pad(rest, 6)}` : ""}+07:00`;
}

/**
 * Which days are worked, built from one or several published calendars (the JSON of GET /api/v1/calendar).
 *
 * Unlike the server, which can compute any year, the phone knows only the ranges it downloaded: asking about a day
 * outside them throws a RangeError instead of guessing, so an outdated phone says "update the calendar" rather
 * than printing a wrong date on a receipt.
 */
export class WorkCalendar {
  /**
   * @param published one published calendar or an array of them (merged).
   * @param options `officeHours` (four "HH:MM") and `sameDayCutoff` ("HH:MM") to override the published ones
   *   (an agency's own hours, a procedure's own cut-off).
   */
  constructor(published, options = {}) {
    const parts = Array.isArray(published) ? published : [published];
    if (!parts.length) throw new RangeError("no calendar");
    this.daysOff = new Set();
    this.workingWeekendDays = new Set();
    let ranges = [];
    this.versions = [];
    for (const part of parts) {
      // The same filters as the server's WorkCalendar: a weekend "day off" and a weekday "working day" mean nothing.
      for (const iso of part.non_working_days || []) {
        const day = dayNumber(iso);
        if (weekday(day) < 5) this.daysOff.add(day);
      }
      for (const iso of part.working_weekend_days || []) {
        const day = dayNumber(iso);
        if (weekday(day) >= 5) this.workingWeekendDays.add(day);
      }
      // A calendar without bounds (an old download) cannot be checked for coverage: trust it, as before.
      if (part.from && part.to && ranges) ranges.push([dayNumber(part.from), dayNumber(part.to)]);
      else ranges = null;
      if (part.version) this.versions.push(part.version);
    }
    this.ranges = ranges;
    const first = parts[0];
    const hours = options.officeHours || first.office_hours || DEFAULT_OFFICE_HOURS;
    if (hours.length !== 4) throw new RangeError("office hours are four times: open, lunch, reopen, close");
    const [amOpen, amClose, pmOpen, pmClose] = hours.map(parseClock);
    this.officeHours = { amOpen, amClose, pmOpen, pmClose };
    this.sameDayCutoff = parseClock(options.sameDayCutoff || first.same_day_cutoff || DEFAULT_CUTOFF);
  }

  /** True when the calendar knows `day` (a day number). */
  covers(day) {
    return this.ranges === null || this.ranges.some(([from, to]) => from <= day && day <= to);
  }

  /** True when `day` (a day number or "YYYY-MM-DD") is a civil-service working day. */
  isWorkingDay(day) {
    const number = typeof day === "string" ? dayNumber(day) : day;
    if (!this.covers(number)) {
      throw new RangeError(`the downloaded calendar does not cover ${isoDay(number)}; download it again`);
    }
    if (weekday(number) >= 5) return this.workingWeekendDays.has(number);
    return !this.daysOff.has(number);
  }

  /** The first working day strictly after `day`. */
  nextWorkingDay(day) {
    for (let offset = 1; offset <= MAX_SEARCH_DAYS; offset += 1) {
      if (this.isWorkingDay(day + offset)) return day + offset;
    }
    throw new RangeError(`no working day within ${MAX_SEARCH_DAYS} days after ${isoDay(day)}`);
  }

  /** The working day `count` working days after `day` (`day` itself when count is 0). */
  addWorkingDays(day, count) {
    let result = day;
    for (let i = 0; i < count; i += 1) result = this.nextWorkingDay(result);
    return result;
  }
}

/** When the working-day clock starts for something received at `moment`: `{day, micros}` moved into office hours. */
export function clockStart(moment, calendar) {
  const { day, micros } = toLocal(moment);
  const hours = calendar.officeHours;
  if (calendar.isWorkingDay(day)) {
    if (micros < hours.amOpen) return { day, micros: hours.amOpen };
    if (hours.amClose <= micros && micros < hours.pmOpen) return { day, micros: hours.pmOpen };
    if (micros < hours.pmClose) return { day, micros };
  }
  return { day: calendar.nextWorkingDay(day), micros: hours.amOpen };
}

/**
 * The due time (ngày hẹn trả) of something received at `start` with a processing time of `amount` `unit`, as
 * the ISO string the server's `due_at` has ("2026-02-26T09:15:00+07:00").
 *
 * @param start ISO 8601 string with an offset, or a Date (the phone's clock at receipt).
 * @param options `cutoff` ("HH:MM"): a procedure's own same-day cut-off instead of the calendar's.
 * @throws RangeError for a negative amount, a start without offset, or a day outside the downloaded calendar.
 */
export function computeDue(start, amount, unit, calendar, options = {}) {
  if (!Number.isInteger(amount)) throw new TypeError("amount must be an integer");
  if (amount < 0) throw new RangeError("amount must not be negative");
  const local = toLocal(start);
  if (unit === UNITS.WORKING_DAYS) {
    const begin = clockStart(start, calendar);
    return formatLocal(calendar.addWorkingDays(begin.day, amount), begin.micros);
  }
  if (unit === UNITS.CALENDAR_DAYS) {
    let day = local.day + amount;
    while (!calendar.isWorkingDay(day)) day += 1;
    return formatLocal(day, local.micros);
  }
  if (unit === UNITS.SAME_DAY) {
    const cutoff = options.cutoff ? parseClock(options.cutoff) : calendar.sameDayCutoff;
    let day = local.day;
    if (local.micros >= cutoff || !calendar.isWorkingDay(day)) day = calendar.nextWorkingDay(day);
    return formatLocal(day, calendar.officeHours.pmClose);
  }
  throw new RangeError(`unknown unit ${unit}`);
}
