// What the calls and the reports pages share: the tenant's calendar (the named periods by the server's clock and
// the tenant's time zone), times shown in that time zone, the names of users and queues, how a call ended in
// words, and a confirmation dialog for what cannot be undone.

import {api} from "../api.js";
import {h} from "../dom.js";
import {locale, t} from "../i18n.js";

export const OUTCOMES = ["answered", "abandoned", "voicemail", "callback", "overflowed", "ended"];
export const PERIODS = ["today", "yesterday", "this_week", "last_week", "this_month", "last_month"];

/** {now, timezone, periods: {today: {from, to}, …}} by the server's clock; null when it cannot be read. */
export function calendar() {
  return api("/statistics/periods").catch(() => null);
}

/** Formatters for instants in the tenant's time zone (the browser's when unknown). */
export function zoned(timeZone) {
  const zone = timeZone ? {timeZone} : {};
  const valid = iso => { const d = new Date(iso); return Number.isNaN(d.getTime()) ? null : d; };
  const fmt = options => iso => {
    const d = iso && valid(iso);
    return d ? d.toLocaleString(locale(), {...zone, ...options}) : "";
  };
  const dayOf = iso => { const d = iso && valid(iso); return d ? d.toLocaleDateString("sv-SE", zone) : ""; };
  return {
    time: fmt({hour: "2-digit", minute: "2-digit"}),
    seconds: fmt({hour: "2-digit", minute: "2-digit", second: "2-digit"}),
    date: fmt({day: "numeric", month: "short", year: "numeric"}),
    dateTime: fmt({day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"}),
    day: dayOf,  // "2026-11-24"
  };
}

/** The tenant's users and queues by key, for showing names instead of keys. */
export async function names() {
  const [users, queues] = await Promise.all([
    api("/users", {query: {per_page: 500, sort: "name"}}).then(r => r.items).catch(() => []),
    api("/queues", {query: {per_page: 500, sort: "name"}}).then(r => r.items).catch(() => []),
  ]);
  const userNames = new Map(users.map(u => [u.key, u.name]));
  const queueNames = new Map(queues.map(q => [q.key, q.name]));
  return {
    users, queues,
    user: key => (key ? userNames.get(key) || key : ""),
    queue: key => (key ? queueNames.get(key) || key : ""),
  };
}

/** How a call ended, in words. */
export function outcomeText(outcome) {
  return OUTCOMES.includes(outcome) ? t(`calls.outcome-${outcome}`) : outcome || "";
}

export function outcomeBadge(outcome) {
  return h("span", {class: `outcome outcome-${outcome}`}, outcomeText(outcome));
}
