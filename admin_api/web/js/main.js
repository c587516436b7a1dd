// The application shell: who is signed in, the header and menu, the language, and which page to show.

import {api, ApiError} from "./api.js";
import {focusHeading, h} from "./dom.js";
import {loadTexts, setLang, lang, t} from "./i18n.js";
import {current, go, href, match, route} from "./router.js";
import {failed, notFound} from "./views.js";

route("/", () => import("./pages/start.js"), {nav: "nav.start"});
route("/wallboard", () => import("./pages/wallboard.js"), {nav: "nav.wallboard", wide: true});
route("/users", () => import("./pages/users.js"), {nav: "nav.users"});
route("/users/:key", () => import("./pages/users.js").then(m => ({render: m.renderOne})), {section: "/users"});
route("/numbers", () => import("./pages/numbers.js"), {nav: "nav.numbers"});
route("/numbers/:number", () => import("./pages/numbers.js").then(m => ({render: m.renderOne})),
      {section: "/numbers"});
route("/agent", () => import("./pages/agent.js"), {nav: "nav.agent"});
route("/login", () => import("./pages/login.js"), {public: true});

const NAV = [["/", "nav.start"], ["/wallboard", "nav.wallboard"], ["/users", "nav.users"], ["/numbers", "nav.numbers"],
             ["/agent", "nav.agent", me => Boolean(me.user)]];  // the agent panel: for an administrator who is a user

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
  for (const id of ["nav", "menu-toggle", "me", "logout", "tenant"]) document.getElementById(id).hidden = !session.me;
  document.getElementById("skip").textContent = t("app.skip");
  document.getElementById("brand-name").textContent = t("app.name");
  document.getElementById("lang-label").textContent = t("app.language");
  document.getElementById("lang").value = lang();
  document.getElementById("logout").textContent = t("app.logout");
  document.getElementById("menu-toggle").textContent = t("app.menu");
  document.getElementById("nav").setAttribute("aria-label", t("app.main-menu"));
  if (!session.me) return;
  document.getElementById("tenant").textContent = session.me.tenant;
  document.getElementById("me").textContent = session.me.name;
  const {path} = current();
  const found = match(path);
  const section = found ? (found.route.section || path) : null;
  document.getElementById("nav-list").replaceChildren(...NAV.filter(([, , shown]) => !shown || shown(session.me))
    .map(([to, key]) =>
    h("li", {}, h("a", {href: href(to), "aria-current": section === to ? "page" : null}, t(key)))));
}

function closeMenu() {
  document.getElementById("nav").classList.remove("open");
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
  document.body.classList.toggle("wide", Boolean(found && found.route.wide));
  const main = document.getElementById("main");
  const view = h("div", {class: "view"});
  main.replaceChildren(view);  // an earlier page still loading writes into its own, detached view
  try {
    if (!found) {
      view.append(notFound());
    } else {
      const page = await found.route.load();
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
    e.currentTarget.setAttribute("aria-expanded", String(open));
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
