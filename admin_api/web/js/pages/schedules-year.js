// A schedule's year view: twelve months of days, each marked open, closed all day, holiday, exception or
// override, by colour AND by a sign the legend explains; a day chosen by mouse or keyboard (arrows, Home/End,
// Page Up/Down) shows its hours and why.
//
// The weekly hours and the exceptions are in the schedule itself; which days are holidays (by the schedule's
// template: country, categories) the API says for the whole window at once (GET /schedules/{key}/days).

import {api} from "../api.js";
import {h} from "../dom.js";
import {lang, t} from "../i18n.js";
import {DAYS, addDays, dayIn, dayKey, hoursText, longDay, monthName, parseHours, weekday,
        weekdayNames, whenText} from "./schedules-time.js";

export const KINDS = ["open", "closed", "holiday", "exception", "override"];
export const SIGNS = {open: "", closed: "–", holiday: "★", exception: "◆", override: "⚑"};
const memory = new Map();  // schedule key → {sig, probes}: the API's answers about holidays, kept between visits

/** The exception that decides a day: one for that date, else a yearly one entered that year or earlier. */
function exceptionFor(schedule, day) {
  const exact = schedule.exceptions.find(e => !e.recurs_yearly && e.date === day);
  if (exact) return exact;
  return schedule.exceptions.find(e => e.recurs_yearly && e.date.slice(5) === day.slice(5) &&
                                       e.date.slice(0, 4) <= day.slice(0, 4)) || null;
}

/** Whether the override covers any of `day` (from today until its end; without an end, from today on). */
function overrideCovers(schedule, day, today, zone) {
  const o = schedule.override;
  if (!o || day < today) return false;
  if (!o.until) return true;
  const until = Date.parse(o.until);
  if (until <= Date.parse(schedule.now.at)) return false;  // over already
  const last = dayIn(until - 1, zone);  // an end at midnight does not touch the day it starts
  return day <= last;
}

export function yearView(key) {
  let schedule = null, zone = "UTC", today = "";
  let start = "";          // the first day of the first month shown
  let selected = "";
  let probing = null;      // AbortController of the holiday look-ups running
  let probes = new Map();  // day → {holiday, name}
  let shownDetail = "";
  const cells = new Map();   // day → its button

  const range = h("span", {class: "year-range", "aria-live": "polite"});
  const earlier = h("button", {type: "button"}, h("span", {"aria-hidden": "true"}, "‹ "), t("schedules.earlier"));
  const later = h("button", {type: "button"}, t("schedules.later"), h("span", {"aria-hidden": "true"}, " ›"));
  const toToday = h("button", {type: "button"}, t("schedules.to-today"));
  const months = h("div", {class: "year-months"});
  const detail = h("section", {class: "day-detail", "aria-live": "polite", "aria-labelledby": "day-detail-title"});
  const status = h("p", {class: "year-status", role: "status"});
  const body = h("div", {class: "year-body"}, months, detail);
  const element = h("section", {class: "panel year", "aria-labelledby": "year-title", dataset: {ready: "false"}},
    h("div", {class: "card-head"}, h("h2", {id: "year-title"}, t("schedules.year")),
      h("div", {class: "actions year-nav"}, earlier, range, later, toToday)),
    h("p", {class: "hint"}, t("schedules.year-hint")), legend(), status,
    body);

  // beside the months on a wide screen; on a narrow one right under the month of the chosen day
  const narrow = window.matchMedia("(max-width: 1100px)");
  const place = () => {
    const month = narrow.matches && cells.has(selected) ? cells.get(selected).closest("table.month") : null;
    if (month && month.nextElementSibling !== detail) month.after(detail);
    else if (!month && detail.parentElement !== body) body.append(detail);
  };
  narrow.addEventListener("change", place);

  earlier.addEventListener("click", () => move(-12));
  later.addEventListener("click", () => move(12));
  toToday.addEventListener("click", () => { selected = today; start = `${today.slice(0, 7)}-01`; build(); });
  months.addEventListener("keydown", keys);

  function move(n) {
    const [y, m] = start.split("-").map(Number);
    start = dayKey(y, m + n, 1);
    const [sy, sm, sd] = selected.split("-").map(Number);
    selected = dayKey(sy, sm + n, sd);
    build();
  }

  function lastDay() {
    const [y, m] = start.split("-").map(Number);
    return dayKey(y, m + 12, 0);
  }

  /** What a day is, from the schedule and the API's answer about holidays. */
  function dayOf(day) {
    const exc = exceptionFor(schedule, day);
    const probe = probes.get(day);
    let base;
    if (exc) {
      const closedHoliday = exc.holiday && !parseHours(exc.hours).length;
      base = {kind: closedHoliday ? "holiday" : "exception", hours: exc.hours, exception: exc};
    } else if (probe && probe.holiday) {
      base = {kind: "holiday", hours: "", name: probe.name};
    } else {
      const hours = schedule.weekly[DAYS[weekday(day)]] || "";
      base = {kind: parseHours(hours).length ? "open" : "closed", hours};
    }
    base.overridden = overrideCovers(schedule, day, today, zone);
    return base;
  }

  function kindOf(d) { return d.overridden ? "override" : d.kind; }

  function label(day, d) {
    return `${longDay(day)}: ${t(`schedules.kind-${kindOf(d)}`)}` +
      (d.kind === "open" || d.kind === "exception" ? `, ${hoursText(d.hours)}` : "") +
      (d.name ? `, ${d.name}` : "") + (d.exception && d.exception.name ? `, ${d.exception.name}` : "");
  }

  function build() {
    const first = start, last = lastDay();
    range.textContent = t("schedules.range", {from: monthName(...first.split("-").slice(0, 2).map(Number)),
                                              to: monthName(...last.split("-").slice(0, 2).map(Number))});
    if (selected < first || selected > last) selected = first <= today && today <= last ? today : first;
    cells.clear();
    const names = weekdayNames();
    const grids = [];
    for (let i = 0; i < 12; i += 1) {
      const [y, m] = first.split("-").map(Number);
      const monthStart = dayKey(y, m + i, 1);
      const [my, mm] = monthStart.split("-").map(Number);
      const days = Number(dayKey(my, mm + 1, 0).slice(8));
      const rows = [];
      let row = Array.from({length: weekday(monthStart)}, () => h("td", {class: "pad"}));
      for (let n = 1; n <= days; n += 1) {
        const day = dayKey(my, mm, n);
        const button = h("button", {type: "button", class: "day", tabindex: "-1", dataset: {date: day}},
          h("span", {class: "num"}, String(n)), h("span", {class: "sign", "aria-hidden": "true"}));
        button.addEventListener("click", () => choose(day, false));
        cells.set(day, button);
        row.push(h("td", {}, button));
        if (row.length === 7) { rows.push(h("tr", {}, row)); row = []; }
      }
      if (row.length) rows.push(h("tr", {}, row, Array.from({length: 7 - row.length}, () => h("td", {class: "pad"}))));
      grids.push(h("table", {class: "month"}, h("caption", {}, monthName(my, mm)),
        h("thead", {}, h("tr", {}, names.map(([narrow, long]) => h("th", {scope: "col", abbr: long},
          h("span", {"aria-hidden": "true"}, narrow), h("span", {class: "sr-only"}, long))))),
        h("tbody", {}, rows)));
    }
    months.replaceChildren(...grids);
    paint();
    probe();
  }

  function paint() {
    for (const [day, button] of cells) {
      const d = dayOf(day);
      const kind = kindOf(d);
      button.className = ["day", `k-${kind}`, day < today && "past", day === selected && "chosen"].filter(Boolean)
        .join(" ");
      button.dataset.kind = kind;
      button.querySelector(".sign").textContent = SIGNS[kind];
      button.setAttribute("aria-label", label(day, d));
      button.setAttribute("aria-pressed", String(day === selected));
      button.tabIndex = day === selected ? 0 : -1;
      if (day === today) button.setAttribute("aria-current", "date");
      else button.removeAttribute("aria-current");
    }
    showDetail();
  }

  function choose(day, focus) {
    const previous = cells.get(selected);
    selected = day;
    if (previous) {
      previous.classList.remove("chosen");
      previous.setAttribute("aria-pressed", "false");
      previous.tabIndex = -1;
    }
    const button = cells.get(day);
    button.classList.add("chosen");
    button.setAttribute("aria-pressed", "true");
    button.tabIndex = 0;
    if (focus) button.focus();
    showDetail();
  }

  function keys(event) {
    const button = event.target.closest("button.day");
    if (!button) return;
    const day = button.dataset.date;
    const [y, m, d] = day.split("-").map(Number);
    const moves = {
      ArrowLeft: () => addDays(day, -1), ArrowRight: () => addDays(day, 1),
      ArrowUp: () => addDays(day, -7), ArrowDown: () => addDays(day, 7),
      Home: () => addDays(day, -weekday(day)), End: () => addDays(day, 6 - weekday(day)),
      PageUp: () => clampDay(y, m - 1, d), PageDown: () => clampDay(y, m + 1, d),
    };
    if (!moves[event.key]) return;
    event.preventDefault();
    const next = moves[event.key]();
    if (cells.has(next)) choose(next, true);
  }

  function clampDay(y, m, d) {
    const last = Number(dayKey(y, m + 1, 0).slice(8));
    return dayKey(y, m, Math.min(d, last));
  }

  function showDetail() {
    const day = selected;
    const d = dayOf(day);
    const kind = kindOf(d);
    const shown = JSON.stringify([day, d, schedule.override, lang()]);
    place();
    if (shown === shownDetail) return;  // the region is read out when it changes: only when it does
    shownDetail = shown;
    const lines = [];
    if (d.overridden) lines.push(h("p", {class: "why"}, overrideLine()));
    if (d.kind === "holiday") {
      lines.push(h("p", {}, t("schedules.closed-all-day")));
      lines.push(h("p", {class: "why"}, d.exception
        ? t("schedules.why-exception-holiday", {name: d.exception.name || d.exception.date})
        : t("schedules.why-holiday", {name: d.name || "–"})));
    } else if (d.kind === "exception") {
      lines.push(h("p", {}, parseHours(d.hours).length ? t("schedules.open-hours", {hours: hoursText(d.hours)})
        : t("schedules.closed-all-day")));
      lines.push(h("p", {class: "why"}, t(d.exception.recurs_yearly ? "schedules.why-exception-yearly"
        : "schedules.why-exception", {name: d.exception.name || t("schedules.no-name")})));
    } else {
      const dayName = weekdayNames()[weekday(day)][1];
      lines.push(h("p", {}, d.kind === "open" ? t("schedules.open-hours", {hours: hoursText(d.hours)})
        : t("schedules.closed-all-day")));
      lines.push(h("p", {class: "why"}, d.kind === "open" ? t("schedules.why-weekly", {day: dayName})
        : t("schedules.why-no-hours", {day: dayName})));
    }
    detail.replaceChildren(
      h("h3", {id: "day-detail-title"}, longDay(day), day === today ? ` (${t("schedules.today")})` : ""),
      h("p", {class: `kind-line k-${kind}`}, h("span", {class: "swatch", "aria-hidden": "true"}, SIGNS[kind]),
        h("strong", {}, t(`schedules.kind-${kind}`))), ...lines);
  }

  function overrideLine() {
    const o = schedule.override;
    const state = t(`schedules.state-${o.state}`);
    if (!o.until) return t("schedules.override-forever", {state});
    return t("schedules.override-until", {state, when: whenText(Date.parse(o.until), zone, today)});
  }

  /** Ask the API which days of the window are holidays (GET /schedules/{key}/days: the schedule's own plan, no
   * override), once per window and schedule; kept for the next visit. */
  async function probe() {
    const sig = JSON.stringify([zone, schedule.holidays, schedule.exceptions]);
    if (!memory.has(key) || memory.get(key).sig !== sig) memory.set(key, {sig, probes: new Map()});
    probes = memory.get(key).probes;
    if (probing) probing.abort();
    const from = start, to = lastDay();
    if (!schedule.holidays || probes.has(from) && probes.has(to)) { paint(); done(); return; }
    const controller = new AbortController();
    probing = controller;
    element.dataset.ready = "false";
    status.textContent = t("schedules.reading-holidays");
    let answer;
    try {
      answer = await api(`/schedules/${encodeURIComponent(key)}/days`, {query: {from, to}, signal: controller.signal});
    } catch (err) {
      if (err && err.name === "AbortError") return;
      status.textContent = t("schedules.holidays-failed");
      return;
    }
    if (controller.signal.aborted) return;
    for (const d of answer.days) {
      const names = d.holidays.map(x => (lang() === "en" ? x.name : x.native));
      probes.set(d.date, {holiday: d.holidays.length > 0 && d.kind === "holiday", name: names.join(", ")});
    }
    probing = null;
    paint();
    done();
  }

  function done() {
    status.textContent = "";
    element.dataset.ready = "true";
  }

  return {
    element,
    /** Show (again) for this schedule as the API answered it now. */
    update(next, zoneNow) {
      const first = !schedule;
      schedule = next;
      zone = zoneNow;
      today = dayIn(Date.parse(next.now.at), zone);
      if (first) {
        start = `${today.slice(0, 7)}-01`;
        selected = today;
        build();
      } else {
        probe();
      }
    },
    stop() {
      if (probing) probing.abort();
      narrow.removeEventListener("change", place);
    },
  };
}

function legend() {
  return h("ul", {class: "legend", "aria-label": t("schedules.legend")},
    KINDS.map(kind => h("li", {class: `k-${kind}`}, h("span", {class: "swatch", "aria-hidden": "true"}, SIGNS[kind]),
                        t(`schedules.kind-${kind}`))),
    h("li", {class: "today-key"}, h("span", {class: "swatch", "aria-hidden": "true"}), t("schedules.today-key")));
}
