// Who is logged in now, for one queue or answer group: the figures (callers waiting, longest wait, logged in,
// free, paused, in wrap-up), each member's state, and the callers waiting in line. An administrator with the right
// "agents" (for the agents they reach), or the agent themself, logs agents in and out, pauses with a reason and
// ends a pause or a wrap-up from here. Read again every few seconds; the rows are updated in place, so a button
// keeps the focus across a refresh.

import {api, problemText} from "../api.js";
import {announce, h, uid} from "../dom.js";
import {formatDuration, formatNumber, formatTime, t} from "../i18n.js";

const EVERY_MS = 3000;
const REASONS = ["reason.lunch", "reason.break", "reason.meeting", "reason.training", "reason.admin"];

/** kind: "queue" | "group"; names: user key → name; canAct(user); pauseVia(user) → a queue key whose agent
 * actions pause and unpause this user (pausing is for all their queues and groups at once), or null. */
export function livePanel(kind, key, {names, canAct, pauseVia, first}) {
  const base = `/${kind === "queue" ? "queues" : "groups"}/${encodeURIComponent(key)}`;
  const figures = kind === "queue"
    ? ["callers_waiting", "longest_wait_s", "logged_in", "free", "paused", "in_wrapup"]
    : ["logged_in", "free", "paused", "in_wrapup"];
  const values = new Map(figures.map(f => [f, h("dd", {dataset: {figure: f}}, "–")]));
  const status = h("span", {class: "live-status light", role: "status"}, t("queues.live-reading"));
  const updated = h("p", {class: "updated-at"});
  const error = h("p", {class: "error", role: "alert", hidden: true});
  const list = h("ul", {class: "member-states", "aria-label": t("queues.agents-now")});
  const waitingBody = h("tbody");
  const waitingTable = h("div", {class: "table-wrap"}, h("table", {class: "list waiting"},
    h("caption", {class: "sr-only"}, t("queues.waiting")),
    h("thead", {}, h("tr", {}, [t("queues.position"), t("queues.caller"), t("queues.waited"), t("queues.callback")]
      .map(c => h("th", {scope: "col"}, c)))), waitingBody));
  const noneWaiting = h("p", {class: "empty"}, t("queues.none-waiting"));
  const element = h("section", {class: "panel live", "aria-labelledby": "live-title"},
    h("div", {class: "card-head"}, h("h2", {id: "live-title"}, t("queues.now")), h("div", {class: "actions"}, status)),
    h("dl", {class: "live-figures"}, figures.map(f => h("div", {class: "live-figure"},
      h("dt", {}, t(`queues.figure-${f}`)), values.get(f)))),
    error, h("h3", {}, t("queues.agents-now")), list,
    kind === "queue" ? [h("h3", {}, t("queues.waiting")), noneWaiting, waitingTable] : null, updated);

  const rows = new Map();  // user → {li, parts…}
  let timer = null, stopped = false, reading = null;

  function row(user) {
    const name = names(user);
    const state = h("span", {class: "state"});
    const here = h("span", {class: "here"});
    const taken = h("span", {class: "taken"});
    const login = h("button", {type: "button"});
    const pause = h("button", {type: "button", "aria-expanded": "false"});
    const endWrapup = h("button", {type: "button", hidden: true, "aria-label": t("queues.end-wrapup-for", {name})},
                        t("queues.end-wrapup"));
    const reason = h("input", {id: uid("reason"), type: "text", name: "reason", maxlength: "64", autocomplete: "off",
                               list: "queue-pause-reasons"});
    const reasonForm = h("form", {class: "pause-form", novalidate: true, hidden: true},
      h("div", {class: "field"}, h("label", {for: reason.id}, t("queues.pause-reason", {name})), reason),
      h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("queues.pause-confirm")),
        h("button", {type: "button", class: "link-button", on: {click: () => closeReason()}}, t("queues.cancel"))));
    const rowError = h("p", {class: "error", role: "alert", hidden: true});
    const acts = canAct(user);
    const actions = acts ? h("div", {class: "agent-actions"}, login, pauseVia(user) ? pause : null,
                             kind === "queue" ? endWrapup : null) : null;
    const li = h("li", {class: "member-state", dataset: {user}},
      h("span", {class: "dot", "aria-hidden": "true"}), h("span", {class: "agent-name"}, name), state, here, taken, actions,
      acts && pauseVia(user) ? reasonForm : null, rowError);
    const r = {li, state, here, taken, login, pause, endWrapup, reasonForm, reason, rowError, agent: null};

    function closeReason() {
      reasonForm.hidden = true;
      pause.setAttribute("aria-expanded", "false");
      pause.focus();
    }
    login.addEventListener("click", () => act(r, user, r.agent && r.agent.logged_in ? "logout" : "login"));
    pause.addEventListener("click", () => {
      if (r.agent && r.agent.paused) { act(r, user, "unpause"); return; }
      reasonForm.hidden = !reasonForm.hidden;
      pause.setAttribute("aria-expanded", String(!reasonForm.hidden));
      if (!reasonForm.hidden) reason.focus();
    });
    endWrapup.addEventListener("click", () => act(r, user, "end-wrapup"));
    reason.addEventListener("keydown", e => { if (e.key === "Escape") closeReason(); });
    reasonForm.addEventListener("submit", async e => {
      e.preventDefault();
      if (await act(r, user, "pause", {reason: reason.value.trim()})) {
        reason.value = "";
        closeReason();
      }
    });
    return r;
  }

  /** POST an agent action; the row says what went wrong, the panel is read again either way. */
  async function act(r, user, verb, body) {
    r.rowError.hidden = true;
    const path = verb === "pause" || verb === "unpause"
      ? `/queues/${encodeURIComponent(pauseVia(user))}/agents/${encodeURIComponent(user)}/${verb}`
      : `${base}/${kind === "queue" ? "agents" : "members"}/${encodeURIComponent(user)}/${verb}`;
    let ok = true;
    try {
      await api(path, {method: "POST", body});
      announce(t(`queues.done-${verb}`, {name: names(user)}));
    } catch (err) {
      r.rowError.textContent = problemText(err) + (err.problem && err.problem.detail ? ` (${err.problem.detail})` : "");
      r.rowError.hidden = false;
      ok = false;
    }
    await read(true);
    return ok;
  }

  function stateText(a) {
    if (a.paused && a.pause_reason) return `${t("state.paused")} – ${a.pause_reason}`;
    if (a.status === "wrapup" && a.wrapup_until) return t("queues.wrapup-until", {time: formatTime(a.wrapup_until)});
    return t(`state.${a.status}`);
  }

  function drawAgent(r, a) {
    const name = names(a.user);
    r.agent = a;
    r.li.className = `member-state ${a.status}`;
    r.li.dataset.state = a.status;
    r.state.textContent = stateText(a);
    r.here.textContent = a.logged_in ? t("queues.logged-in-here") : t("queues.not-logged-in-here");
    r.taken.textContent = t("queues.calls-taken", {n: formatNumber(a.calls_taken || 0)});
    r.login.textContent = t(a.logged_in ? "queues.logout" : "queues.login");
    r.login.className = a.logged_in ? "" : "primary";
    r.login.setAttribute("aria-label", t(a.logged_in ? "queues.logout-who" : "queues.login-who", {name}));
    r.pause.textContent = t(a.paused ? "queues.unpause" : "queues.pause");
    r.pause.setAttribute("aria-label", t(a.paused ? "queues.unpause-who" : "queues.pause-who", {name}));
    r.endWrapup.hidden = a.status !== "wrapup";
  }

  function draw(item) {
    const live = item.live;
    if (!live) {
      status.textContent = t("queues.live-none");
      status.dataset.state = "unavailable";
      list.replaceChildren(h("li", {class: "empty"}, t("queues.live-none")));
      return;
    }
    status.textContent = t("queues.live-on");
    status.dataset.state = "live";
    for (const f of figures) {
      values.get(f).textContent = f.endsWith("_s") ? formatDuration(live[f] || 0) : formatNumber(live[f] || 0);
    }
    const users = live.agents.map(a => a.user);
    if (users.join(",") !== [...rows.keys()].join(",")) {
      for (const user of [...rows.keys()]) if (!users.includes(user)) rows.delete(user);
      for (const user of users) if (!rows.has(user)) rows.set(user, row(user));
      list.replaceChildren(...users.map(u => rows.get(u).li));
      if (!users.length) list.append(h("li", {class: "empty"}, t("queues.no-members")));
    }
    for (const a of live.agents) drawAgent(rows.get(a.user), a);
    noneWaiting.hidden = live.waiting.length > 0;
    waitingTable.hidden = live.waiting.length === 0;
    waitingBody.replaceChildren(...live.waiting.map(w => h("tr", {},
      h("td", {"data-label": t("queues.position")}, formatNumber(w.position)),
      h("td", {"data-label": t("queues.caller")}, h("span", {class: "number"}, w.caller || t("queues.unknown-caller"))),
      h("td", {"data-label": t("queues.waited")}, formatDuration(w.waited_s)),
      h("td", {"data-label": t("queues.callback")}, w.callback ? t("queues.callback-yes") : t("queues.callback-no")))));
    updated.textContent = t("queues.updated", {time: new Date().toLocaleTimeString()});
  }

  /** Read the live state again; `fresh`: after a change, so not an answer already on its way from before it. */
  async function read(fresh = false) {
    if (reading && !fresh) return reading;
    if (reading) await reading;
    reading = api(base).then(item => {
      error.hidden = true;
      if (!stopped) draw(item);
      return item;
    }).catch(err => {
      error.textContent = problemText(err);
      error.hidden = false;
      status.dataset.state = "retrying";
      status.textContent = t("queues.live-retrying");
    }).finally(() => { reading = null; });
    return reading;
  }

  return {
    element: h("div", {class: "live-wrap"}, element, h("datalist", {id: "queue-pause-reasons"}, REASONS.map(k => h("option", {value: t(k)})))),
    start() {
      draw(first);
      timer = setInterval(() => { if (!document.hidden) read(); }, EVERY_MS);
    },
    read,
    stop() { stopped = true; clearInterval(timer); },
  };
}
