// Reports and statistics (F-09, F-16, A-05): a period (today … last month, or from–to) and a queue or number;
// charts where a person would rather look than read (calls per hour, how long callers waited, the service level
// per queue and per day against the queue's target), each with the same figures in a table under it; the queue
// and service-level report and the call specification of a number (the dialled numbers hidden on request) as
// tables with their XLSX export; and the reports mailed on a schedule (reports-schedules.js).

import {api, apiUrl, clearProblems, problemText, showProblem} from "../api.js";
import {field, h, loadStyle, uid} from "../dom.js";
import {formatDuration, formatNumber, loadPart, locale, t} from "../i18n.js";
import {current, replaceQuery} from "../router.js";
import {pageHead} from "../views.js";
import {PERIODS, calendar, names, outcomeText, zoned} from "./calls-shared.js";
import {barChart, figureTable} from "./reports-chart.js";
import {schedules} from "./reports-schedules.js";

const DEFAULT_TARGET = 80;  // percent: the usual "80/20" when a queue has no service-level alarm
const STACK = ["answered", "missed", "other"];
const SPEC_ROWS = 200;  // rows shown of a call specification; the export has them all

const two = n => String(n).padStart(2, "0");
const pct = n => (n === null || n === undefined ? "–" : `${formatNumber(n, {maximumFractionDigits: 1})} %`);
const dur = n => (n === null || n === undefined ? "–" : formatDuration(n));

/** "2026-11-30" + days, as a date of the calendar (no time zone involved). */
function addDays(day, days) {
  const [y, m, d] = day.split("-").map(Number);
  const at = new Date(Date.UTC(y, m - 1, d + days));
  return `${at.getUTCFullYear()}-${two(at.getUTCMonth() + 1)}-${two(at.getUTCDate())}`;
}

function stackSeries() {
  return STACK.map(key => ({key, label: t(`reports.${key}`)}));
}

export async function render(view, {session}) {
  await Promise.all([loadPart("calls"), loadStyle("calls")]);
  view.append(pageHead(t("reports.title")));
  if (!session.me.rights.includes("reports")) {
    view.append(h("section", {class: "panel notice"}, h("p", {}, t("reports.no-right"))));
    return null;
  }
  const [cal, who, numbers] = await Promise.all([calendar(), names(),
    api("/numbers", {query: {per_page: 500}}).then(r => r.items).catch(() => [])]);
  const zone = zoned(cal && cal.timezone);
  const today = cal ? zone.day(cal.now) : zoned(null).day(new Date().toISOString());
  let stops = [];

  // --- the choice: period, queue, number, service-level time ---------------------------------------------
  const q = Object.fromEntries(current().query);
  const period = h("select", {id: uid("period"), name: "period"},
    [...PERIODS, "custom"].map(p => h("option", {value: p, selected: (q.period || "today") === p},
                                      p === "custom" ? t("reports.period-custom") : t(`calls.period-${p}`))));
  const from = h("input", {id: uid("from"), name: "from", type: "date", value: q.from || today});
  const to = h("input", {id: uid("to"), name: "to", type: "date", value: q.to || today});
  const queue = h("select", {id: uid("queue"), name: "queue"}, h("option", {value: ""}, t("reports.all-queues")),
    who.queues.map(x => h("option", {value: x.key, selected: q.queue === x.key}, x.name)));
  const number = h("select", {id: uid("number"), name: "number"}, h("option", {value: ""}, t("reports.all-numbers")),
    numbers.map(n => h("option", {value: n.number, selected: q.number === n.number},
                       n.label ? `${n.number} (${n.label})` : n.number)));
  const sl = h("input", {id: uid("sl"), name: "service_level_s", type: "number", min: "1", max: "3600",
                         value: q.sl || "20", inputmode: "numeric"});
  const custom = h("div", {class: "custom-period"}, field(t("reports.from"), from), field(t("reports.to"), to));
  const form = h("form", {class: "panel report-choice", novalidate: true, "aria-label": t("reports.choice")},
    h("div", {class: "choice-fields"}, field(t("reports.period"), period), custom, field(t("reports.queue"), queue),
      field(t("reports.number"), number), field(t("reports.sl"), sl, t("reports.sl-hint"))),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("reports.show"))),
    h("p", {class: "form-error", role: "alert", tabindex: "-1", hidden: true}));
  const showing = h("p", {class: "showing", role: "status"});
  const results = h("div", {class: "report-results"});
  view.append(form, showing, results, await schedules({numbers, zone}));

  const toggleCustom = () => { custom.hidden = period.value !== "custom"; };
  toggleCustom();
  period.addEventListener("change", () => { toggleCustom(); if (period.value !== "custom") apply(); });
  queue.addEventListener("change", () => apply());
  number.addEventListener("change", () => apply());
  form.addEventListener("submit", e => { e.preventDefault(); apply(); });

  function choice() {
    const c = {period: period.value, queue: queue.value, number: number.value, sl: sl.value.trim() || "20"};
    if (c.period === "custom") Object.assign(c, {from: from.value, to: to.value});
    return c;
  }

  function span(c) {
    if (c.period !== "custom") {
      const p = cal && cal.periods[c.period];
      return p ? {from: p.from, to: p.to} : {from: undefined, to: undefined};
    }
    // the tenant's own calendar days (no offset: the API reads them in the tenant's time zone)
    return {from: c.from ? `${c.from}T00:00` : "", to: c.to ? `${addDays(c.to, 1)}T00:00` : ""};
  }

  async function apply() {
    const c = choice();
    replaceQuery({period: c.period, from: c.from, to: c.to, queue: c.queue || undefined,
                  number: c.number || undefined, sl: c.sl === "20" ? undefined : c.sl});
    clearProblems(form);
    for (const stop of stops) stop();
    stops = [];
    const {from: start, to: end} = span(c);
    const base = {from: start, to: end, service_level_s: c.sl};
    results.setAttribute("aria-busy", "true");
    try {
      const [hours, report] = await Promise.all([
        api("/statistics/hours", {query: {...base, queue: c.queue || undefined, number: c.number || undefined}}),
        api("/reports/queues", {query: base})]);
      const shownQueues = report.queues.filter(x => !c.queue || x.queue === c.queue);
      const targets = await queueTargets(shownQueues.map(x => x.queue));
      showing.textContent = t("reports.showing", {from: zone.date(hours.from),
        to: zone.date(new Date(Date.parse(hours.to) - 1).toISOString()),
        what: [c.queue ? who.queue(c.queue) : null, c.number || null].filter(Boolean).join(", ") ||
          t("reports.everything")});
      results.replaceChildren(
        summary(hours),
        perHour(hours, stops),
        waits(hours, stops),
        serviceLevel(report, shownQueues, targets, {who, stops}),
        queueTable(report, shownQueues, targets, {who, base}),
        specification({number: c.number, base, zone, who}));
    } catch (err) {
      showProblem(form, err);
      results.replaceChildren();
      showing.textContent = "";
    } finally {
      results.removeAttribute("aria-busy");
    }
  }

  await apply();
  return () => { for (const stop of stops) stop(); };
}

/** Each queue's service-level target: its enabled "service level below" alarm, else the usual 80 %. */
async function queueTargets(keys) {
  const out = new Map();
  await Promise.all(keys.map(async key => {
    let found = null;
    try {
      const alarms = await api(`/queues/${encodeURIComponent(key)}/alarms`,
                               {query: {metric: "service_level_below", enabled: true, per_page: 100}});
      found = alarms.items.length ? Math.max(...alarms.items.map(a => a.threshold)) : null;
    } catch { /* a queue no longer configured: the usual target */ }
    out.set(key, {value: found === null ? DEFAULT_TARGET : found, own: found !== null});
  }));
  return out;
}

// --- the parts of the report -------------------------------------------------------------------------------

function section(title, ...children) {
  const id = uid("report");
  return {id, element: h("section", {class: "panel report-part", "aria-labelledby": id},
                         h("h2", {id}, title), ...children)};
}

function summary(hours) {
  const x = hours.total;
  const stat = (label, value, cls) => h("div", {class: ["stat", cls]}, h("span", {class: "label"}, label),
                                         h("span", {class: "value"}, value));
  return h("div", {class: "stats report-stats"},
    stat(t("reports.calls"), formatNumber(x.calls)), stat(t("reports.answered"), formatNumber(x.answered), "ok"),
    stat(t("reports.missed"), formatNumber(x.missed), "bad"), stat(t("reports.other"), formatNumber(x.other)),
    stat(t("reports.avg-wait"), dur(x.avg_wait_s)), stat(t("reports.longest-wait"), dur(x.longest_wait_s)));
}

function chartWith(part, chart, table, stops) {
  const note = uid("note");
  const drawn = barChart({...chart, labelledBy: part.id, describedBy: note});
  stops.push(drawn.stop);
  part.element.append(h("p", {class: "hint", id: note}, chart.note || t("reports.same-in-table")), drawn.element,
                      table);
  return part.element;
}

function perHour(hours, stops) {
  const busy = hours.hours.filter(x => x.calls);
  const part = section(t("reports.per-hour"));
  if (!busy.length) { part.element.append(h("p", {class: "empty"}, t("reports.no-calls"))); return part.element; }
  // office hours at least, and every hour that had calls
  const first = Math.min(7, busy[0].hour), last = Math.max(18, busy[busy.length - 1].hour);
  const shown = hours.hours.filter(x => x.hour >= first && x.hour <= last);
  const byHour = new Map(hours.hours.map(x => [String(x.hour), x]));
  const hourName = hour => `${two(hour)}–${two((hour + 1) % 24)}`;
  const head = [t("reports.hour"), ...STACK.map(k => t(`reports.${k}`)), t("reports.total"), t("reports.avg-wait"),
                t("reports.longest-wait")];
  const cells = x => [formatNumber(x.answered), formatNumber(x.missed), formatNumber(x.other), formatNumber(x.calls),
                      dur(x.avg_wait_s), dur(x.longest_wait_s)];
  return chartWith(part, {
    categories: shown.map(x => ({key: String(x.hour), label: two(x.hour), long: hourName(x.hour)})),
    series: stackSeries(), value: (hour, key) => byHour.get(hour)[key], format: n => formatNumber(n),
    note: t("reports.per-hour-note"),
  }, figureTable({caption: t("reports.per-hour"), head,
                  rows: busy.map(x => ({key: String(x.hour), cells: [hourName(x.hour), ...cells(x)]})),
                  foot: [t("reports.total"), ...cells(hours.total)]}), stops);
}

/** A wait bucket in words: "0–10 s", "30 s–1 min", "1–2 min", "> 5 min". */
function waitName(b) {
  const unit = n => (n >= 60 ? [n / 60, "min"] : [n, "s"]);
  const [a, au] = unit(b.from_s);
  if (b.to_s === null) return t("reports.wait-over", {time: `${a} ${au}`});
  const [z, zu] = unit(b.to_s);
  return au === zu ? `${a}–${z} ${zu}` : `${a} ${au}–${z} ${zu}`;
}

function waits(hours, stops) {
  const part = section(t("reports.waits"));
  const buckets = hours.waits.map(b => ({...b, other: b.calls - b.answered - b.missed}));
  if (!buckets.some(b => b.calls)) {
    part.element.append(h("p", {class: "empty"}, t("reports.no-waits")));
    return part.element;
  }
  const byKey = new Map(buckets.map(b => [String(b.from_s), b]));
  const head = [t("reports.wait"), ...STACK.map(k => t(`reports.${k}`)), t("reports.total")];
  const figures = b => [b.answered, b.missed, b.other, b.calls].map(n => formatNumber(n));
  const sum = {answered: 0, missed: 0, other: 0, calls: 0};
  for (const b of buckets) for (const k of Object.keys(sum)) sum[k] += b[k];
  // the chart has every bucket; the table the buckets with calls, and the total
  const table = figureTable({caption: t("reports.waits"), head, foot: [t("reports.total"), ...figures(sum)],
    rows: buckets.filter(b => b.calls).map(b => ({key: String(b.from_s), cells: [waitName(b), ...figures(b)]}))});
  return chartWith(part, {
    categories: buckets.map(b => ({key: String(b.from_s), label: waitName(b), long: waitName(b)})),
    series: stackSeries(), value: (key, x) => byKey.get(key)[x], format: n => formatNumber(n),
    note: t("reports.waits-note"),
  }, table, stops);
}

function serviceLevel(report, shown, targets, {who, stops}) {
  const wrap = h("div", {class: "report-pair"});
  const part = section(t("reports.sl-per-queue"));
  const target = key => (targets.get(key) || {value: DEFAULT_TARGET}).value;
  const targetText = key => ((targets.get(key) || {}).own ? pct(target(key))
    : `${pct(target(key))} ${t("reports.target-usual")}`);
  if (!shown.length) {
    part.element.append(h("p", {class: "empty"}, t("reports.no-queue-calls")));
    return part.element;
  }
  const byQueue = new Map(shown.map(x => [x.queue, x]));
  wrap.append(chartWith(part, {
    categories: shown.map(x => ({key: x.queue, label: who.queue(x.queue), long: who.queue(x.queue)})),
    series: [{key: "sl", label: t("reports.sl-within", {s: report.service_level_s})}],
    value: (key) => byQueue.get(key).service_level_pct, format: n => `${formatNumber(n)} %`, max: 100,
    target: {label: t("reports.target"), value: target},
  }, figureTable({caption: t("reports.sl-per-queue"),
                  head: [t("reports.queue"), t("reports.sl-short"), t("reports.target"),
                         t("reports.within", {s: report.service_level_s}), t("reports.offered")],
                  rows: shown.map(x => ({key: x.queue, cells: [who.queue(x.queue), pct(x.service_level_pct),
                    targetText(x.queue), formatNumber(x.answered_within_sl), formatNumber(x.offered)]}))}), stops));
  // per day, when the period has more than one
  const days = [...new Set(report.days.map(d => d.day))];
  if (days.length > 1) {
    const keys = shown.map(x => x.queue);
    const cell = new Map(report.days.map(d => [`${d.day} ${d.queue}`, d]));
    const dayName = d => new Date(`${d}T12:00:00Z`).toLocaleDateString(locale(), {day: "numeric", month: "short",
                                                                                 timeZone: "UTC"});
    const daily = section(t("reports.sl-per-day"));
    const same = keys.every(k => target(k) === target(keys[0]));
    wrap.append(chartWith(daily, {
      categories: days.map(d => ({key: d, label: dayName(d), long: d})),
      series: keys.map((k, i) => ({key: `q${i}`, label: who.queue(k)})),
      value: (day, s) => { const k = keys[Number(s.slice(1))]; const d = cell.get(`${day} ${k}`);
                           return d ? d.service_level_pct : null; },
      stacked: false, format: n => `${formatNumber(n)} %`, max: 100,
      target: same ? {label: t("reports.target"), value: () => target(keys[0])} : undefined,
    }, figureTable({caption: t("reports.sl-per-day"), head: [t("reports.day"), ...keys.map(k => who.queue(k))],
                    rows: days.map(d => ({key: d, cells: [d, ...keys.map(k => {
                      const x = cell.get(`${d} ${k}`); return x ? pct(x.service_level_pct) : "–"; })]}))}), stops));
  }
  return wrap;
}

function queueTable(report, shown, targets, {who, base}) {
  const part = section(t("reports.queue-report"));
  const xlsx = h("a", {class: "button", download: "queues.xlsx",
                       href: apiUrl("/reports/queues", {...base, format: "xlsx"})}, t("list.export-xlsx"));
  part.element.querySelector("h2").after(h("p", {class: "hint"}, t("reports.queue-report-hint")),
                                          h("div", {class: "export"}, xlsx));
  const head = [t("reports.queue"), t("reports.offered"), t("reports.answered"), t("reports.abandoned"),
                t("reports.overflowed"), t("reports.callbacks"), t("reports.voicemail"),
                t("reports.within", {s: report.service_level_s}), t("reports.sl-short"), t("reports.target"),
                t("reports.avg-wait"), t("reports.longest-wait"), t("reports.avg-talk"), t("reports.avg-wrapup")];
  const row = x => [formatNumber(x.offered), formatNumber(x.answered), formatNumber(x.abandoned),
                    formatNumber(x.overflowed), formatNumber(x.callbacks), formatNumber(x.voicemail || 0),
                    formatNumber(x.answered_within_sl), pct(x.service_level_pct)];
  const times = x => [dur(x.avg_wait_s), dur(x.longest_wait_s), dur(x.avg_talk_s), dur(x.avg_wrapup_s)];
  if (!shown.length) {
    part.element.append(h("p", {class: "empty"}, t("reports.no-queue-calls")));
    return part.element;
  }
  part.element.append(figureTable({caption: t("reports.queue-report"), head, rows: shown.map(x => ({key: x.queue,
    cells: [who.queue(x.queue), ...row(x), pct((targets.get(x.queue) || {value: DEFAULT_TARGET}).value),
            ...times(x)]}))}));
  const days = report.days.filter(d => shown.some(x => x.queue === d.queue));
  if (days.length) {
    const dayHead = [t("reports.day"), ...head.slice(0, 9)];
    part.element.append(h("details", {class: "per-day"}, h("summary", {}, t("reports.per-day")),
      figureTable({caption: t("reports.per-day"), head: dayHead, rows: days.map(d => ({key: `${d.day} ${d.queue}`,
        cells: [d.day, who.queue(d.queue), ...row(d)]}))})));
  }
  return part.element;
}

function specification({number, base, zone, who}) {
  const part = section(t("reports.spec"));
  part.element.append(h("p", {class: "hint"}, t("reports.spec-hint")));
  if (!number) { part.element.append(h("p", {class: "empty"}, t("reports.spec-choose"))); return part.element; }
  const hide = h("input", {type: "checkbox", id: uid("hide"), name: "hide_dialled"});
  const xlsx = h("a", {class: "button", download: `calls-${number}.xlsx`}, t("list.export-xlsx"));
  const box = h("div", {class: "spec-body"}, h("p", {class: "loading"}, t("common.loading")));
  part.element.append(h("div", {class: "spec-tools"},
    h("label", {class: "check", for: hide.id}, hide, t("reports.hide-dialled")), h("div", {class: "export"}, xlsx)),
  box);

  async function load() {
    const query = {...base, number, hide_dialled: hide.checked ? "true" : undefined};
    xlsx.href = apiUrl("/reports/calls", {...query, format: "xlsx", service_level_s: undefined});
    try {
      const spec = await api("/reports/calls", {query: {...query, service_level_s: undefined}});
      if (!spec.calls.length) { box.replaceChildren(h("p", {class: "empty"}, t("reports.no-calls"))); return; }
      const head = [t("reports.when"), t("reports.direction"), t("calls.caller"), t("calls.to"),
                    t("calls.answered-by"), t("calls.wait"), t("calls.talk"), t("calls.outcome")];
      box.replaceChildren(...(spec.total > SPEC_ROWS
        ? [h("p", {class: "hint"}, t("reports.spec-more", {n: SPEC_ROWS, total: spec.total}))] : []),
        figureTable({caption: t("reports.spec"), head, rows: spec.calls.slice(0, SPEC_ROWS).map(x => ({key: x.call_id,
          cells: [zone.dateTime(x.entered_at), t(`reports.direction-${x.direction}`),
                  h("span", {class: "number"}, x.caller), h("span", {class: "number dialled"}, x.dialled),
                  who.user(x.answered_by) || "–", dur(x.wait_s), dur(x.talk_s), outcomeText(x.outcome)]}))}));
    } catch (err) {
      box.replaceChildren(h("p", {class: "error", role: "alert"}, problemText(err)));
    }
  }
  hide.addEventListener("change", load);
  load();
  return part.element;
}
