// Queues and answer groups: the two lists (each with callers waiting and agents logged in now), and one queue's or
// answer group's page: who is logged in now and who waits, the members, the settings and (queues) the alarm
// thresholds.

import {ApiError, api} from "../api.js";
import {h} from "../dom.js";
import {formatNumber, t} from "../i18n.js";
import {listView} from "../listview.js";
import {go, href} from "../router.js";
import {newKeyedForm, pageHead, removalPanel, usedBy} from "../views.js";
import {alarmsPanel} from "./queues-alarms.js";
import {STRATEGIES, membersPanel, settingsPanel} from "./queues-edit.js";
import {livePanel} from "./queues-live.js";

const KINDS = {queue: {plural: "queues", route: "/queues"}, group: {plural: "groups", route: "/groups"}};

/** A figure of the live state, read for one row of a list (the lists themselves carry no live state). */
function liveCell(kind, key, figure) {
  const cell = h("span", {class: "live-cell", dataset: {figure}}, "…");
  api(`/${KINDS[kind].plural}/${encodeURIComponent(key)}`)
    .then(item => { cell.textContent = item.live ? formatNumber(item.live[figure]) : "–"; })
    .catch(() => { cell.textContent = "–"; });
  return cell;
}

function strategyName(kind, s) {
  return STRATEGIES[kind].includes(s) ? t(`queues.strategy-${s}`) : s;
}

async function kindList(view, kind) {
  const id = `${kind}-list-title`;
  const box = h("section", {class: "kind-list", "aria-labelledby": id},
                h("h2", {id}, t(kind === "queue" ? "queues.queues" : "queues.groups")),
                h("p", {class: "hint"}, t(kind === "queue" ? "queues.queues-hint" : "queues.groups-hint")));
  view.append(box);
  const columns = [
    {key: "name", label: t("queues.name"),
     cell: x => h("a", {href: href(`${KINDS[kind].route}/${encodeURIComponent(x.key)}`)}, x.name)},
    {key: "key", label: t("queues.key")},
    {key: "strategy", label: t("queues.field-strategy"), cell: x => strategyName(kind, x.strategy)},
    {key: "members", label: t("queues.members"), cell: x => formatNumber(x.members.length)},
  ];
  if (kind === "queue") {
    columns.push({key: "callers_waiting", label: t("queues.figure-callers_waiting"),
                  cell: x => liveCell(kind, x.key, "callers_waiting")});
  }
  columns.push({key: "logged_in", label: t("queues.figure-logged_in"), cell: x => liveCell(kind, x.key, "logged_in")});
  await listView(box, {path: `/${KINDS[kind].plural}`, label: t(kind === "queue" ? "queues.queues" : "queues.groups"),
                       exportName: KINDS[kind].plural, columns, prefix: `${KINDS[kind].plural}.`});
  // two lists on one page: each search says which list it searches
  box.querySelector("form[role=search]").setAttribute("aria-label",
                                                      t(kind === "queue" ? "queues.search-queues" : "queues.search-groups"));
}

/** "New queue" / "new answer group": a button that opens the form (an administrator with the right flows). */
function newButton(kind, panel) {
  const button = h("button", {type: "button", class: "primary", "aria-expanded": "false"},
                   t(kind === "queue" ? "queues.new-queue" : "queues.new-group"));
  button.addEventListener("click", () => {
    const opening = panel.childElementCount === 0 || panel.dataset.kind !== kind;
    panel.dataset.kind = kind;
    panel.replaceChildren(...(opening ? [newKeyedForm({
      title: t(kind === "queue" ? "queues.new-queue" : "queues.new-group"), path: `/${KINDS[kind].plural}`,
      submit: t("queues.create"), done: made => go(`${KINDS[kind].route}/${encodeURIComponent(made.key)}`)})] : []));
    button.setAttribute("aria-expanded", String(opening));
    const first = panel.querySelector("input");
    if (first) first.focus();
  });
  return button;
}

export async function render(view, {session}) {
  view.classList.add("queues-page");
  const canEdit = session.me.rights.includes("flows");
  const panel = h("div", {class: "new-panel"});
  view.append(pageHead(t("queues.title"), ...(canEdit ? [newButton("queue", panel), newButton("group", panel)] : [])),
              h("p", {class: "lead"}, t("queues.lead")), panel);
  await kindList(view, "queue");
  await kindList(view, "group");
}

/** The users this administrator reaches, [{key, name}]: names for the members, and who may be added. */
async function reachableUsers() {
  return api("/users", {query: {per_page: 500, sort: "name"}}).then(r => r.items).catch(() => []);
}

async function renderOne(kind, view, {params, session}) {
  view.classList.add("queues-page");
  const me = session.me;
  const path = `/${KINDS[kind].plural}/${encodeURIComponent(params.key)}`;
  const [item, users, queues] = await Promise.all([
    api(path), reachableUsers(),
    kind === "group" ? api("/queues", {query: {per_page: 500}}).then(r => r.items).catch(() => []) : null]);
  const nameOf = new Map(users.map(u => [u.key, u.name]));
  const names = user => nameOf.get(user) || user;
  const canEdit = me.rights.includes("flows");
  const canAct = user => (me.rights.includes("agents") && nameOf.has(user)) || me.user === user;
  // pausing is for all of an agent's queues and groups at once, and the API does it through a queue of theirs
  const pauseVia = user => (kind === "queue" ? params.key
    : ((queues || []).find(q => q.members.includes(user)) || {}).key || null);

  const title = pageHead(item.name);
  title.querySelector("h1").after(h("span", {class: "kind-tag"}, t(kind === "queue" ? "queues.kind-queue"
                                                                                    : "queues.kind-group")));
  const live = livePanel(kind, params.key, {names, canAct, pauseVia, first: item});
  let members = null;
  async function changed(answer) {
    const next = answer && answer.live !== undefined ? answer : await api(path);
    title.querySelector("h1").textContent = next.name;
    members.draw(next);
    await live.read(true);
  }
  members = membersPanel(kind, item, {canEdit, path, users, names, changed});
  const settings = await settingsPanel(kind, item, {canEdit, path, saved: changed});
  const alarms = kind === "queue" && me.rights.includes("reports") ? alarmsPanel(params.key) : null;
  view.append(h("p", {class: "crumbs"}, h("a", {href: href("/queues")}, t("queues.back"))), title,
    h("p", {class: "lead", hidden: canEdit}, t("queues.read-only")),
    h("div", {class: "queue-grid"}, live.element,
      h("div", {class: "queue-column"}, members.element, alarms ? alarms.element : null),
      h("div", {class: "queue-column"}, settings)),
    canEdit ? removalPanel({
      title: t(kind === "queue" ? "queues.delete-queue" : "queues.delete-group"), hint: t("queues.delete-hint"),
      question: t("queues.delete-confirm", {name: item.name}),
      remove: async () => { await api(path, {method: "DELETE"}); go("/queues"); },
      refusal: err => (err instanceof ApiError && err.kind === "in-use" ? t("common.in-use", {what: usedBy(err)})
        : null),
    }) : null);
  live.start();
  if (alarms) await alarms.load();
  return () => live.stop();
}

export function renderQueue(view, options) {
  return renderOne("queue", view, options);
}

export function renderGroup(view, options) {
  return renderOne("group", view, options);
}
