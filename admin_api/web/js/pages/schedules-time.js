// Dates and clock times in a schedule's own time zone (not the browser's): the calendar days of a year view, the
// wall-clock time of an instant there, the instant of a wall-clock time there (for ?at= and an override's end), and
// the opening hours as the API writes them ("08:00-12:00,12:45-17:00").

import {locale, t} from "../i18n.js";

const formats = new Map();

function partsFormat(zone) {
  if (!formats.has(zone)) {
    formats.set(zone, new Intl.DateTimeFormat("en-GB", {timeZone: zone, hourCycle: "h23", year: "numeric",
      month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric"}));
  }
  return formats.get(zone);
}

/** The wall clock in `zone` at the instant `ms`: {year, month (1–12), day, hour, minute, second}. */
export function wallClock(ms, zone) {
  const out = {};
  for (const p of partsFormat(zone).formatToParts(new Date(ms))) {
    if (p.type !== "literal" && p.type !== "dayPeriod") out[p.type] = Number(p.value);
  }
  return {year: out.year, month: out.month, day: out.day, hour: out.hour % 24, minute: out.minute,
          second: out.second};
}

/** Minutes `zone` is ahead of UTC at the instant `ms`. */
export function offsetMinutes(ms, zone) {
  const whole = Math.floor(ms / 1000) * 1000;
  const w = wallClock(whole, zone);
  return Math.round((Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole) / 60000);
}

/** The instant (ms) at which the wall clock in `zone` shows this date and time (the later one in a repeated hour
 * is not asked for: opening hours are not set in the night of a clock change). */
export function instantOf(day, minutes, zone) {
  const [y, m, d] = day.split("-").map(Number);
  const guess = Date.UTC(y, m - 1, d, Math.floor(minutes / 60), minutes % 60);
  let ms = guess - offsetMinutes(guess, zone) * 60000;
  const second = offsetMinutes(ms, zone);
  ms = guess - second * 60000;
  return ms;
}

const two = v => String(v).padStart(2, "0");

/** "2026-11-24T13:00:00+01:00": the instant as the wall clock in `zone` shows it, with the zone's offset. */
export function isoIn(ms, zone) {
  const w = wallClock(ms, zone);
  const off = offsetMinutes(ms, zone);
  const sign = off < 0 ? "-" : "+";
  return `${w.year}-${two(w.month)}-${two(w.day)}T${two(w.hour)}:${two(w.minute)}:${two(w.second)}` +
    `${sign}${two(Math.floor(Math.abs(off) / 60))}:${two(Math.abs(off) % 60)}`;
}

/** "2026-11-24": the calendar day in `zone` at the instant `ms`. */
export function dayIn(ms, zone) {
  const w = wallClock(ms, zone);
  return dayKey(w.year, w.month, w.day);
}

export function dayKey(year, month, day) {
  const d = new Date(Date.UTC(year, month - 1, day));  // normalises day 0, day 32…
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
}

export function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  return dayKey(y, m, d + n);
}

/** 0 = Monday … 6 = Sunday, as the API's weekly hours count. */
export function weekday(day) {
  const [y, m, d] = day.split("-").map(Number);
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
}

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const dateFormats = new Map();  // one formatter per language and style: a year view formats hundreds of days

function dateFormat(options) {
  const id = `${locale()} ${JSON.stringify(options)}`;
  if (!dateFormats.has(id)) dateFormats.set(id, new Intl.DateTimeFormat(locale(), {timeZone: "UTC", ...options}));
  return dateFormats.get(id);
}

function noonOf(day) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d, 12));
}

/** "tisdag 24 november 2026" (a calendar day, whatever the browser's zone). */
export function longDay(day) {
  return dateFormat({weekday: "long", day: "numeric", month: "long", year: "numeric"}).format(noonOf(day));
}

/** "tis 1 dec" */
export function shortDay(day) {
  return dateFormat({weekday: "short", day: "numeric", month: "short"}).format(noonOf(day));
}

export function monthName(year, month) {
  return dateFormat({month: "long", year: "numeric"}).format(new Date(Date.UTC(year, month - 1, 15)));
}

/** Monday first: the weekday names, [narrow, long]. */
export function weekdayNames() {
  return DAYS.map((_, i) => {
    const d = new Date(Date.UTC(2024, 0, 1 + i, 12));  // 1 January 2024 was a Monday
    return [dateFormat({weekday: "narrow"}).format(d), dateFormat({weekday: "long"}).format(d)];
  });
}

export function clock(minutes) {
  return `${two(Math.floor(minutes / 60))}:${two(minutes % 60)}`;
}

/** "08:00-12:00,12:45-17:00" → [[480, 720], [765, 1020]]; nothing readable → []. */
export function parseHours(text) {
  const out = [];
  for (const part of String(text || "").split(",")) {
    const m = part.match(/^\s*(\d{1,2}):(\d{2})\s*[-–—]\s*(\d{1,2}):(\d{2})\s*$/);
    if (m) out.push([Number(m[1]) * 60 + Number(m[2]), Number(m[3]) * 60 + Number(m[4])]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** Opening hours for people: "08:00–12:00, 12:45–17:00", or "stängt" for none. */
export function hoursText(text) {
  const spans = parseHours(text);
  return spans.length ? spans.map(([a, b]) => `${clock(a)}–${clock(b)}`).join(", ") : t("schedules.closed-lc");
}

/** When an instant is, said from `today` (both in the schedule's zone): "13:00 idag", "08:00 i morgon",
 * "midnatt", "mån 30 nov 08:00". */
export function whenText(ms, zone, today) {
  const day = dayIn(ms, zone);
  const w = wallClock(ms, zone);
  const time = clock(w.hour * 60 + w.minute);
  if (day === addDays(today, 1) && w.hour === 0 && w.minute === 0) return t("schedules.midnight");
  if (day === today) return t("schedules.when-today", {time});
  if (day === addDays(today, 1)) return t("schedules.when-tomorrow", {time});
  return t("schedules.when-day", {day: shortDay(day), time});
}
