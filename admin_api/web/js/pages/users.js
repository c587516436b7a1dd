// Users: the list (search, account and kind filters, sort, pages, export) with a new user, and one user's page in
// the sections an administrator looks for: details, forwarding, activity-based forwarding, barring and settings,
// presence, phones with their line state, and removal. Those without the right "users" see it all, read-only.

import {api} from "../api.js";
import {announce, field, h} from "../dom.js";
import {t} from "../i18n.js";
import {listView} from "../listview.js";
import {go, href} from "../router.js";
import {pageHead} from "../views.js";

import {deleteSection, detailsSection, userFields} from "./users-details.js";
import {loadLookups, sectionForm, showUserProblem, textInput} from "./users-form.js";
import {forwardingSection, rulesSection} from "./users-forwarding.js";
import {lineBadge, phonesSection} from "./users-phones.js";
import {presenceNow, presenceSection} from "./users-presence.js";
import {settingsSection} from "./users-settings.js";

const LIVE_EVERY_MS = 5000;

/** The accounts the administrator reaches, as [key, name] (none when the list cannot be read). */
export function accountOptions() {
  return api("/accounts", {query: {per_page: 500, sort: "name"}}).then(r => r.items.map(a => [a.key, a.name]))
    .catch(() => []);
}

/** An account key → its name, for showing. */
export async function accountNames() {
  const names = new Map(await accountOptions());
  return key => (key ? names.get(key) || key : null);
}

function createForm(accounts, me, close) {
  const key = textInput("key", "", {required: true, maxlength: 64, autocapitalize: "none", spellcheck: "false"});
  const {nodes, body} = userFields({accounts, me});
  const form = sectionForm([
    h("h2", {id: "user-new-title"}, t("users.new")),
    field(t("users.key-label"), key, t("users.key-hint")), ...nodes], {
    label: t("users.create"), cancel: close,
    submit: async f => {
      try {
        const made = await api("/users", {method: "POST", body: {key: key.value.trim(), ...body()}});
        announce(t("users.created", {name: made.name}));
        go(`/users/${encodeURIComponent(made.key)}`);
      } catch (err) {
        showUserProblem(f, err);
      }
    }});
  form.classList.add("panel", "user-new");
  form.setAttribute("aria-labelledby", "user-new-title");
  form.prepend(form.querySelector("h2"));
  return form;
}

export async function render(view, {session}) {
  const canEdit = session.me.rights.includes("users");
  const newPanel = h("div", {});
  const open = canEdit ? h("button", {type: "button", class: "primary", "aria-expanded": "false"}, t("users.new"))
    : null;
  const accounts = accountOptions();
  if (open) {
    const close = () => {
      newPanel.replaceChildren();
      open.setAttribute("aria-expanded", "false");
      open.focus();
    };
    open.addEventListener("click", async () => {
      if (newPanel.childElementCount) { close(); return; }
      open.setAttribute("aria-expanded", "true");
      newPanel.replaceChildren(createForm(await accounts, session.me, close));
      newPanel.querySelector("input").focus();
    });
  }
  view.append(pageHead(t("users.title"), open), newPanel);
  const accountName = await accountNames();
  await listView(view, {
    path: "/users", label: t("users.title"), exportName: "users",
    columns: [
      {key: "name", label: t("users.name"), cell: u => h("a", {href: href(`/users/${encodeURIComponent(u.key)}`)}, u.name)},
      {key: "extension", label: t("users.extension")},
      {key: "kind", label: t("users.kind"), cell: u => t(`kind.${u.kind}`)},
      {key: "fixed_number", label: t("users.fixed")},
      {key: "mobile_number", label: t("users.mobile")},
      {key: "account", label: t("users.account"), cell: u => accountName(u.account)},
      {key: "email", label: t("users.email")},
    ],
    filters: [
      {name: "account", label: t("users.account"), options: accounts},
      {name: "kind", label: t("users.kind"), options: ["fixed", "mobile", "both"].map(k => [k, t(`kind.${k}`)])},
    ],
  });
}

/** The server's clock (the wallboard says what time it is there), for telling planned presence from past. */
async function serverOffset() {
  try {
    const board = await api("/wallboard");
    const at = Date.parse(board.at);
    return Number.isNaN(at) ? 0 : at - Date.now();
  } catch {
    return 0;
  }
}

export async function renderOne(view, {params, session}) {
  const path = `/users/${encodeURIComponent(params.key)}`;
  const [user, accountName, accounts, lookups, offset] = await Promise.all([
    api(path), accountNames(), accountOptions(), loadLookups(), serverOffset()]);
  const me = session.me;
  const heading = h("h1", {}, user.name);
  const line = h("p", {class: "user-status-item"});
  const presence = h("p", {class: "user-status-item", hidden: true});
  const sections = [];
  let shownPresence, shownLine;
  const state = {
    key: params.key, path, user, lookups, accounts, accountName, me,
    canEdit: me.rights.includes("users"),
    canPresence: me.rights.includes("users") || (me.rights.includes("agents") && me.user === params.key),
    now: () => Date.now() + offset,
    /** PATCH the user; every section shows the answer. */
    save: async body => {
      state.user = await api(path, {method: "PATCH", body});
      heading.textContent = state.user.name;
      document.title = document.title.replace(/^[^–]*–/, `${state.user.name} –`);
      for (const s of sections) s.refresh();
      announce(t("common.saved"));
    },
    onPresence: current => {
      const words = presenceNow(current);
      if (words === shownPresence) return;  // the status line is read out when it changes, not on every look
      shownPresence = words;
      presence.hidden = !words;
      presence.replaceChildren(...(words ? [h("span", {class: "user-status-label"}, t("users.presence-now")), " ",
                                            h("strong", {class: "user-presence-badge"}, words)] : []));
    },
  };
  for (const make of [detailsSection, forwardingSection, rulesSection, settingsSection]) sections.push(make(state));
  const presenceBlock = presenceSection(state);
  const phones = phonesSection(state);
  view.append(
    h("p", {class: "crumbs"}, h("a", {href: href("/users")}, t("users.back"))),
    h("div", {class: "page-head"}, heading),
    h("div", {class: "user-status", role: "status"}, line, presence),
    h("div", {class: "user-sections"}, sections[0].section,
      h("div", {class: "user-pair"}, sections[1].section, sections[2].section), sections[3].section,
      presenceBlock.section, phones.section, state.canEdit ? deleteSection(state) : null));

  const showLine = now => {
    if (now === shownLine) return;
    shownLine = now;
    line.replaceChildren(h("span", {class: "user-status-label"}, t("users.line")), " ", lineBadge(now));
  };
  const live = async () => {
    try {
      const status = await api(`${path}/line`);
      showLine(status.line);
      phones.lines(status);
    } catch {
      showLine(null);  // no live state here (503): the line is unknown, the rest of the page stands
    }
    await presenceBlock.refresh().catch(() => {});
  };
  await Promise.all([phones.refresh(), live()]);
  const timer = setInterval(live, LIVE_EVERY_MS);
  return () => clearInterval(timer);
}
