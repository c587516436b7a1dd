// Schedules (öppettider): the list with each schedule's state now, and one schedule's page: its state now with the
// one-click override, the year view, and its weekly hours, exceptions, holidays, name and time zone.

import {api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {listView} from "../listview.js";
import {href} from "../router.js";
import {pageHead} from "../views.js";
import {exceptionsPanel, generalPanel, holidaysPanel, weeklyPanel} from "./schedules-edit.js";
import {overridePanel, stateAfter, stateSentence} from "./schedules-override.js";
import {yearView} from "./schedules-year.js";

const STATES = ["open", "closed", "holiday"];
const REFRESH_MS = 60_000;  // the state now follows the clock, also without a change

/** A zone the browser knows (an unknown one is the API's to refuse; the page then counts in UTC). */
function zoneOf(s) {
  try {
    new Intl.DateTimeFormat("en", {timeZone: s.timezone});
    return s.timezone;
  } catch {
    return "UTC";
  }
}

function stateBadge(state, overridden) {
  return h("span", {class: `state-badge s-${state}`}, h("span", {class: "dot", "aria-hidden": "true"}),
           t(`schedules.state-${state}`), overridden ? ` (${t("schedules.overridden")})` : "");
}

/** The sentence about now (the override and its end, or the next change), read for each row. */
function nowCell(row) {
  const cell = h("span", {class: "now-sentence"}, "…");
  api(`/schedules/${encodeURIComponent(row.key)}`)
    .then(async s => { cell.textContent = stateSentence(s, zoneOf(s), await stateAfter(row.key, s)); })
    .catch(() => { cell.textContent = "–"; });
  return cell;
}

export async function render(view) {
  view.classList.add("schedules-page");
  view.append(pageHead(t("schedules.title")), h("p", {class: "lead"}, t("schedules.lead")));
  await listView(view, {
    path: "/schedules", label: t("schedules.title"), exportName: "schedules",
    columns: [
      {key: "name", label: t("schedules.name"),
       cell: s => h("a", {href: href(`/schedules/${encodeURIComponent(s.key)}`)}, s.name)},
      {key: "key", label: t("schedules.key")},
      {key: "state", label: t("schedules.state"), cell: s => stateBadge(s.state, s.overridden)},
      {key: "reason", label: t("schedules.now-column"), cell: nowCell},
      {key: "timezone", label: t("schedules.timezone")},
    ],
    filters: [{name: "state", label: t("schedules.state"), options: STATES.map(s => [s, t(`schedules.state-${s}`)])}],
  });
}

export async function renderOne(view, {params, session}) {
  view.classList.add("schedules-page");
  const key = params.key;
  const path = `/schedules/${encodeURIComponent(key)}`;
  const first = await api(path);
  const canEdit = session.me.rights.includes("flows");
  const title = pageHead(first.name);
  let timer = null, closed = false;

  async function changed(answer) {
    const next = answer && answer.now ? answer : await api(path);
    const after = await stateAfter(key, next);
    if (!closed) apply(next, after);
  }

  const year = yearView(key);
  const override = overridePanel(key, {canEdit, changed});
  const options = {canEdit, saved: changed};

  function apply(s, after) {
    const zone = zoneOf(s);
    title.querySelector("h1").textContent = s.name;
    override.update(s, zone, after);
    year.update(s, zone);
  }

  view.append(h("p", {class: "crumbs"}, h("a", {href: href("/schedules")}, t("schedules.back"))), title,
    h("p", {class: "lead", hidden: canEdit}, t("schedules.read-only")),
    h("div", {class: "schedule-top"}, override.element, year.element),
    h("div", {class: "schedule-settings"}, weeklyPanel(key, first, options), exceptionsPanel(key, first, options),
      holidaysPanel(key, first, options), generalPanel(key, first, options)));
  apply(first, await stateAfter(key, first));
  timer = setInterval(() => { changed(null).catch(() => { /* the next one may answer */ }); }, REFRESH_MS);
  return () => { closed = true; clearInterval(timer); year.stop(); };
}
