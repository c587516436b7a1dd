// The application shell: who is signed in, the header and menu, the language, and which page to show.

import {api, ApiError} from "./api.js";
import {focusHeading, h, loadStyle} from "./dom.js";
import {loadPart, loadTexts, setLang, lang, t} from "./i18n.js";
import {current, go, href, match, route, routes} from "./router.js";
import {failed, notFound} from "./views.js";

// Each route: the page module, and where it sits in the menu (nav: its text, group: its heading, right: the right the
// menu asks before showing it; the API decides anyway). `part` names the page group's own texts and style sheet.
const one = (load, name) => () => load().then(m => ({render: m[name]}));
const pages = {
  start: () => import("./pages/start.js"),
  wallboard: () => import("./pages/wallboard.js"),
  calls: () => import("./pages/calls.js"),
  agent: () => import("./pages/agent.js"),
  flows: () => import("./pages/flows.js"),
  schedules: () => import("./pages/schedules.js"),
  queues: () => import("./pages/queues.js"),
  accounts: () => import("./pages/accounts.js"),
  users: () => import("./pages/users.js"),
  numbers: () => import("./pages/numbers.js"),
  admins: () => import("./pages/admins.js"),
  search: () => import("./pages/search.js"),
  audit: () => import("./pages/audit.js"),
  me: () => import("./pages/me.js"),
  prompts: () => import("./pages/prompts.js"),
  voicemail: () => import("./pages/voicemail.js"),
  recordings: () => import("./pages/recordings.js"),
  reports: () => import("./pages/reports.js"),
};

route("/", pages.start, {nav: "nav.start"});
route("/wallboard", pages.wallboard, {nav: "nav.wallboard", group: "nav.group-live", wide: true, dark: true});
route("/calls", pages.calls, {nav: "nav.calls", group: "nav.group-live", part: "calls"});
route("/calls/:id", one(pages.calls, "renderOne"), {section: "/calls", part: "calls"});
route("/agent", pages.agent, {nav: "nav.agent", group: "nav.group-live", shown: me => Boolean(me.user)});
route("/flows", pages.flows, {nav: "nav.flows", group: "nav.group-routing", part: "flows"});
route("/flows/:key", one(pages.flows, "renderOne"), {section: "/flows", part: "flows", wide: true});
route("/schedules", pages.schedules, {nav: "nav.schedules", group: "nav.group-routing", part: "schedules"});
route("/schedules/:key", one(pages.schedules, "renderOne"), {section: "/schedules", part: "schedules"});
route("/queues", pages.queues, {nav: "nav.queues", group: "nav.group-routing", part: "queues"});
route("/queues/:key", one(pages.queues, "renderQueue"), {section: "/queues", part: "queues"});
route("/groups/:key", one(pages.queues, "renderGroup"), {section: "/queues", part: "queues"});
route("/accounts", pages.accounts, {nav: "nav.accounts", group: "nav.group-company", part: "admin"});
route("/accounts/:key", one(pages.accounts, "renderOne"), {section: "/accounts", part: "admin"});
route("/users", pages.users, {nav: "nav.users", group: "nav.group-company", part: "users"});
route("/users/:key", one(pages.users, "renderOne"), {section: "/users", part: "users"});
route("/numbers", pages.numbers, {nav: "nav.numbers", group: "nav.group-company", part: "numbers"});
route("/numbers/:number", one(pages.numbers, "renderOne"), {section: "/numbers", part: "numbers"});
route("/admins", pages.admins, {nav: "nav.admins", group: "nav.group-company", part: "admin", right: "admins"});
route("/admins/:id", one(pages.admins, "renderOne"), {section: "/admins", part: "admin", right: "admins"});
route("/audit", pages.audit, {nav: "nav.audit", group: "nav.group-company", part: "admin", right: "admins"});
route("/search", pages.search, {part: "admin"});
route("/me", pages.me, {part: "admin"});
route("/prompts", pages.prompts, {nav: "nav.prompts", group: "nav.group-media", part: "media"});
route("/voicemail", pages.voicemail, {nav: "nav.voicemail", group: "nav.group-media", part: "media",
                                      right: "voicemail"});
route("/recordings", pages.recordings, {nav: "nav.recordings", group: "nav.group-media", part: "media",
                                        right: "recordings"});
route("/reports", pages.reports, {nav: "nav.reports", group: "nav.group-reports", part: "reports",
                                  right: "reports"});
route("/login", () => import("./pages/login.js"), {public: true});

const session = {me: null};
let leave = null;  // the open page's clean-up (a WebSocket to close…)
let firstRender = true;

async function whoAmI() {
  try {
    session.me = await api("/me");
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    session.me = null;
  }
  return session.me;
}

function shell() {
  document.getElementById("top").hidden = false;
  for (const id of ["nav", "menu-toggle", "me", "logout", "tenant", "find"]) document.getElementById(id).hidden = !session.me;
  document.getElementById("skip").textContent = t("app.skip");
  document.getElementById("brand-name").textContent = t("app.name");
  document.getElementById("lang-label").textContent = t("app.language");
  document.getElementById("lang").value = lang();
  document.getElementById("logout").textContent = t("app.logout");
  document.getElementById("menu-toggle").textContent = t("app.menu");
  document.getElementById("find-label").textContent = t("app.search");
  document.getElementById("find-go").textContent = t("app.search-go");
  document.getElementById("find-q").placeholder = t("app.search-hint");
  document.getElementById("nav").setAttribute("aria-label", t("app.main-menu"));
  if (!session.me) return;
  document.getElementById("tenant").textContent = session.me.tenant;
  document.getElementById("me").textContent = session.me.name;
  const {path} = current();
  const found = match(path);
  const section = found ? (found.route.section || path) : null;
  document.getElementById("nav-list").replaceChildren(...menu(section));
}

/** The menu: the pages this person may open, under their group headings. */
function menu(section) {
  const me = session.me;
  const groups = new Map();
  for (const r of routes()) {
    if (!r.nav || (r.right && !me.rights.includes(r.right)) || (r.shown && !r.shown(me))) continue;
    const key = r.group || "";
    if (!groups.has(key)) groups.set(key, []);
    const to = `/${r.parts.join("/")}`;
    groups.get(key).push(h("li", {}, h("a", {href: href(to), "aria-current": section === to ? "page" : null},
                                          t(r.nav))));
  }
  return [...groups].flatMap(([group, items]) => group
    ? h("li", {class: "nav-group"}, h("span", {class: "nav-heading"}, t(group)), h("ul", {}, items))
    : items);
}

function closeMenu() {
  document.getElementById("nav").classList.remove("open");
  document.body.classList.remove("menu-open");
  document.getElementById("menu-toggle").setAttribute("aria-expanded", "false");
}

async function render() {
  if (leave) { try { leave(); } catch { /* the page is gone either way */ } leave = null; }
  closeMenu();
  const {path, query} = current();
  const found = match(path);
  if (!session.me && !(found && found.route.public)) {
    go("/login", path === "/" ? {} : {next: current().path + (query.toString() ? `?${query}` : "")});
    return;
  }
  if (session.me && found && found.route.public) { go("/"); return; }
  shell();
  document.body.classList.toggle("wide", Boolean(found && found.route.wide));  // the whole width
  document.body.classList.toggle("dark", Boolean(found && found.route.dark));  // a big screen's colours
  const main = document.getElementById("main");
  const view = h("div", {class: "view"});
  main.replaceChildren(view);  // an earlier page still loading writes into its own, detached view
  try {
    if (!found) {
      view.append(notFound());
    } else {
      const part = found.route.part;
      const [page] = await Promise.all([found.route.load(), part && loadPart(part), part && loadStyle(part)]);
      leave = (await page.render(view, {params: found.params, query, session, done: signedIn})) || null;
    }
  } catch (err) {
    view.replaceChildren(failed(err));
  }
  document.title = `${(view.querySelector("h1") || {}).textContent || t("app.name")} – ${t("app.name")}`;
  if (!firstRender) focusHeading(view);
  firstRender = false;
}

async function signedIn(next) {
  await whoAmI();
  go(next && next.startsWith("/") ? next.split("?")[0] : "/",
     next && next.includes("?") ? new URLSearchParams(next.split("?")[1]) : {});
}

async function signOut() {
  try { await api("/logout", {method: "POST"}); } catch { /* gone already */ }
  session.me = null;
  go("/login");
}

async function start() {
  await loadTexts();
  document.getElementById("lang").addEventListener("change", e => { setLang(e.target.value); render(); });
  document.getElementById("logout").addEventListener("click", signOut);
  document.getElementById("menu-toggle").addEventListener("click", e => {
    const open = document.getElementById("nav").classList.toggle("open");
    document.body.classList.toggle("menu-open", open);
    e.currentTarget.setAttribute("aria-expanded", String(open));
  });
  document.getElementById("find").addEventListener("submit", e => {
    e.preventDefault();
    const q = document.getElementById("find-q").value.trim();
    if (q) go("/search", {q});
  });
  window.addEventListener("pbx:signed-out", () => {
    if (!session.me) return;
    session.me = null;
    const {path, query} = current();
    go("/login", {next: path + (query.toString() ? `?${query}` : "")});
  });
  window.addEventListener("hashchange", render);
  try {
    await whoAmI();
  } catch (err) {
    document.getElementById("main").replaceChildren(failed(err));
    return;
  }
  await render();
}

start();
