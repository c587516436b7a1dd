// Schedules (öppettider): the list with each schedule's state now, and one schedule's page: its state now with the
// one-click override, the year view, and its weekly hours, exceptions, holidays, name and time zone.

import {ApiError, api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {listView} from "../listview.js";
import {go, href} from "../router.js";
import {newKeyedForm, pageHead, removalPanel, usedBy} from "../views.js";
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

export async function render(view, {session}) {
  view.classList.add("schedules-page");
  const panel = h("div", {class: "new-panel"});
  let open = null;
  if (session.me.rights.includes("flows")) {
    // a new schedule starts closed (no hours) in Stockholm time and with Swedish public holidays; its page sets the rest
    open = h("button", {type: "button", class: "primary", "aria-expanded": "false"}, t("schedules.new"));
    open.addEventListener("click", () => {
      const opening = panel.childElementCount === 0;
      open.setAttribute("aria-expanded", String(opening));
      panel.replaceChildren(...(opening ? [newKeyedForm({
        title: t("schedules.new"), path: "/schedules", submit: t("schedules.create"),
        extra: [{node: null, value: () => ({timezone: "Europe/Stockholm", holidays: {country: "SE"}})}],
        done: made => go(`/schedules/${encodeURIComponent(made.key)}`)})] : []));
      const first = panel.querySelector("input");
      if (first) first.focus();
    });
  }
  view.append(pageHead(t("schedules.title"), open), h("p", {class: "lead"}, t("schedules.lead")), panel);
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
      holidaysPanel(key, first, options), generalPanel(key, first, options)),
    canEdit ? removalPanel({
      title: t("schedules.delete"), hint: t("schedules.delete-hint"), question: t("schedules.delete-confirm",
                                                                                  {name: first.name}),
      remove: async () => { await api(path, {method: "DELETE"}); go("/schedules"); },
      refusal: err => (err instanceof ApiError && err.kind === "in-use" ? t("common.in-use", {what: usedBy(err)})
        : null),
    }) : null);
  apply(first, await stateAfter(key, first));
  timer = setInterval(() => { changed(null).catch(() => { /* the next one may answer */ }); }, REFRESH_MS);
  return () => { closed = true; clearInterval(timer); year.stop(); };
}
