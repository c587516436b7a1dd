// The change log: every change, who made it and when, with what changed (before → after, only the fields
// that differ). Filter by who and by what kind of object, sort, pages, export, as every list.

import {h} from "../dom.js";
import {has, locale, t} from "../i18n.js";
import {listView} from "../listview.js";
import {pageHead} from "../views.js";

const RESOURCES = ["account", "admin", "agent", "call", "call_recording", "callback", "device", "device_password",
                   "flow", "flow_draft", "group", "group_member", "number", "presence", "prompt_audio", "queue",
                   "queue_alarm", "queue_member", "recording", "report_schedule", "schedule", "schedule_override",
                   "token", "user", "voicemail_message"];

const word = (prefix, value) => (has(`${prefix}${value}`) ? t(`${prefix}${value}`) : value);

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso
    : d.toLocaleString(locale(), {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
                                  second: "2-digit"});
}

function shown(value) {
  if (value === undefined) return "–";
  if (value === null) return t("audit.empty");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The fields that differ between before and after, as [field, before, after]. */
export function differences(before, after) {
  const plain = v => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!plain(before) || !plain(after)) {
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [["", before, after]];
  }
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.filter(k => JSON.stringify(before[k]) !== JSON.stringify(after[k])).map(k => [k, before[k], after[k]]);
}

function change(entry) {
  const rows = entry.before === null || entry.before === undefined
    ? [[t("audit.created"), undefined, entry.after]]
    : entry.after === null || entry.after === undefined ? [[t("audit.removed"), entry.before, undefined]]
      : differences(entry.before, entry.after);
  if (!rows.length) return h("span", {class: "muted"}, t("audit.no-change"));
  return h("details", {class: "audit-change"}, h("summary", {}, t("audit.show", {count: rows.length})),
    h("table", {class: "diff"},
      h("thead", {}, h("tr", {}, [t("audit.field"), t("audit.before"), t("audit.after")].map(c =>
        h("th", {scope: "col"}, c)))),
      h("tbody", {}, rows.map(([k, b, a]) => h("tr", {},
        h("th", {scope: "row"}, k), h("td", {class: "before"}, shown(b)), h("td", {class: "after"}, shown(a)))))));
}

export async function render(view) {
  view.append(pageHead(t("audit.title")), h("p", {class: "lead"}, t("audit.lead")));
  await listView(view, {
    path: "/audit", label: t("audit.title"), exportName: "audit",
    columns: [
      {key: "at", label: t("audit.at"), cell: e => h("time", {datetime: e.at}, when(e.at))},
      {key: "actor", label: t("audit.actor")},
      {key: "action", label: t("audit.action"), cell: e => word("audit.action-", e.action)},
      {key: "resource", label: t("audit.resource"), cell: e => word("audit.resource-", e.resource)},
      {key: "ref", label: t("audit.ref")},
      {key: "change", label: t("audit.change"), cell: change},
    ],
    filters: [{name: "resource", label: t("audit.resource"),
               options: RESOURCES.map(r => [r, word("audit.resource-", r)])}],
  });
}
