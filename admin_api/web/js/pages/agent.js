// The agent panel: the signed-in administrator who is a telephony user (an agent) logs in and out of their queues,
// pauses with a reason, sets their presence with an end time and a message, sees their wrap-up count down and ends
// it early, and sees the callbacks waiting in their queues. Live: the wallboard stream says when something changed,
// and the panel then reads the agent's own state again (the stream's "at" is the server's clock, which the
// countdown follows).

import {api, clearProblems, problemText, showProblem} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {formatDuration, formatTime, locale, t} from "../i18n.js";
import {openStream} from "../live.js";
import {pageHead} from "../views.js";

const PRESENCE = ["lunch", "meeting", "away", "busy", "vacation", "custom", "available"];
const REASONS = ["reason.lunch", "reason.break", "reason.meeting", "reason.training", "reason.admin"];
const SETTLED = new Set(["done", "failed", "cancelled"]);
const IN_LINE = new Set(["waiting", "due", "retry_due"]);  // a callback in line may be taken by hand
// the state shown for the agent as a whole, the most telling first
const ORDER = ["busy", "wrapup", "paused", "away", "free", "logged_out"];

/** "2026-11-24T12:45" for an <input type="datetime-local">, in the browser's time zone. */
function localInput(date) {
  const two = v => String(v).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:` +
    two(date.getMinutes());
}

function formatStamp(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const today = new Date().toDateString() === d.toDateString();
  return today ? formatTime(iso) : d.toLocaleString(locale(), {day: "numeric", month: "short", hour: "2-digit",
                                                                  minute: "2-digit"});
}

export async function render(view, {session}) {
  const me = session.me;
  view.append(pageHead(t("agent.title")));
  if (!me.user) {
    view.append(h("section", {class: "panel notice"}, h("p", {}, t("agent.no-user"))));
    return null;
  }
  const user = me.user;
  const live = h("span", {class: "live-status light", role: "status"}, t("wb.status-connecting"));
  view.querySelector(".page-head").append(h("div", {class: "actions"}, live));

  // --- the parts of the page --------------------------------------------------------------------
  const stateValue = h("span", {class: "state-value"}, "…");
  const stateNote = h("span", {class: "state-note"});
  const countdown = h("span", {class: "countdown", role: "timer", "aria-live": "off", hidden: true});
  const endWrapup = h("button", {type: "button", class: "primary", hidden: true}, t("agent.end-wrapup"));
  const unpause = h("button", {type: "button", class: "primary", hidden: true}, t("agent.unpause"));
  const stateError = h("p", {class: "error", role: "alert", hidden: true});
  const stateCard = h("section", {class: "panel agent-state", "aria-labelledby": "agent-state-title"},
    h("h2", {id: "agent-state-title"}, t("agent.my-state")),
    h("p", {class: "state-line"}, h("span", {class: "dot", "aria-hidden": "true"}), stateValue, countdown),
    stateNote, h("div", {class: "form-actions"}, endWrapup, unpause), stateError);

  const queueList = h("ul", {class: "agent-queues"}, h("li", {class: "loading"}, t("common.loading")));
  const loginAll = h("button", {type: "button"}, t("agent.login-all"));
  const logoutAll = h("button", {type: "button"}, t("agent.logout-all"));
  // until the agent's state is read, "all" means nothing: a click then would act on no queue at all
  loginAll.disabled = logoutAll.disabled = true;
  const queueError = h("p", {class: "error", role: "alert", hidden: true});
  const queuesCard = h("section", {class: "panel", "aria-labelledby": "agent-queues-title"},
    h("div", {class: "card-head"}, h("h2", {id: "agent-queues-title"}, t("agent.queues")),
      h("div", {class: "actions"}, loginAll, logoutAll)), queueError, queueList);

  const reasonInput = h("input", {id: uid("reason"), name: "reason", type: "text", maxlength: "64", required: true,
                                  list: "pause-reasons", autocomplete: "off"});
  const reasons = h("datalist", {id: "pause-reasons"}, REASONS.map(k => h("option", {value: t(k)})));
  const pauseButton = h("button", {type: "submit"}, t("agent.pause"));
  const pauseForm = h("form", {novalidate: true, class: "inline-form"},
    field(t("agent.reason"), reasonInput, t("agent.reason-hint")), reasons, errorLine(),
    h("div", {class: "form-actions"}, pauseButton));
  const pauseCard = h("section", {class: "panel", "aria-labelledby": "agent-pause-title"},
    h("h2", {id: "agent-pause-title"}, t("agent.pause-title")), pauseForm);

  const presenceNow = h("div", {class: "presence-now"});
  const statusSelect = h("select", {id: uid("status"), name: "status"},
    PRESENCE.map(s => h("option", {value: s}, t(`presence.${s}`))));
  const untilInput = h("input", {id: uid("until"), name: "until", type: "datetime-local"});
  const messageInput = h("input", {id: uid("message"), name: "message", type: "text", maxlength: "200"});
  const presenceButton = h("button", {type: "submit"}, t("agent.presence-set"));
  const presenceForm = h("form", {novalidate: true},
    field(t("agent.presence-status"), statusSelect), field(t("agent.presence-until"), untilInput,
                                                           t("agent.presence-until-hint")),
    field(t("agent.presence-message"), messageInput), errorLine(), h("div", {class: "form-actions"}, presenceButton));
  const presenceCard = h("section", {class: "panel", "aria-labelledby": "agent-presence-title"},
    h("h2", {id: "agent-presence-title"}, t("agent.presence-title")), presenceNow, presenceForm);

  const callbackBody = h("div", {}, h("p", {class: "loading"}, t("common.loading")));
  const callbackError = h("p", {class: "error", role: "alert", hidden: true});
  const callbackNote = h("p", {class: "note", role: "status"});  // "your phone is ringing…", until the next take
  const callbacksCard = h("section", {class: "panel callbacks-card", "aria-labelledby": "agent-callbacks-title"},
    h("h2", {id: "agent-callbacks-title"}, t("agent.callbacks")),
    h("p", {class: "hint"}, t("agent.callbacks-hint")), callbackError, callbackNote, callbackBody);

  view.append(h("div", {class: "agent-grid"}, stateCard, queuesCard, pauseCard, presenceCard, callbacksCard));

  // --- state ------------------------------------------------------------------------------------
  let queues = [];            // [{key, name}] the queues the agent is a member of
  let states = new Map();     // queue key → the agent's state there (the API's AgentState)
  let offset = 0;             // server clock − browser clock, ms
  let wrapupUntil = null;     // ms, server clock
  let lastState = null;
  let signature = "";
  let timer = null;
  let closed = false;

  const serverNow = () => Date.now() + offset;
  const syncClock = at => { const ms = Date.parse(at); if (!Number.isNaN(ms)) offset = ms - Date.now(); };

  function overall() {
    const all = [...states.values()];
    const found = ORDER.find(s => all.some(a => a.status === s)) || "logged_out";
    return {status: found, paused: all.some(a => a.paused), reason: (all.find(a => a.paused) || {}).pause_reason || "",
            wrapup: all.map(a => a.wrapup_until).find(Boolean) || null};
  }

  function tick() {
    if (wrapupUntil === null) return;
    countdown.textContent = t("agent.wrapup-left", {time: formatDuration((wrapupUntil - serverNow()) / 1000)});
  }

  function drawState() {
    const now = overall();
    stateCard.dataset.state = now.status;
    stateValue.textContent = t(`state.${now.status}`);
    stateNote.textContent = now.paused ? t("agent.paused-because", {reason: now.reason})
      : now.status === "logged_out" ? t("agent.logged-out-note") : "";
    wrapupUntil = now.status === "wrapup" && now.wrapup ? Date.parse(now.wrapup) : null;
    countdown.hidden = wrapupUntil === null;
    endWrapup.hidden = wrapupUntil === null;
    unpause.hidden = !now.paused;
    pauseButton.disabled = now.paused;
    tick();
    if (lastState !== null && lastState !== now.status) announce(t("agent.now", {state: t(`state.${now.status}`)}));
    lastState = now.status;
  }

  function drawQueues() {
    if (!queues.length) {
      queueList.replaceChildren(h("li", {class: "empty"}, t("agent.no-queues")));
      loginAll.disabled = logoutAll.disabled = true;
      return;
    }
    queueList.replaceChildren(...queues.map(q => {
      const a = states.get(q.key) || {logged_in: false, status: "logged_out"};
      const button = h("button", {type: "button", class: a.logged_in ? "" : "primary",
                                  "aria-label": t(a.logged_in ? "agent.logout-from" : "agent.login-to", {queue: q.name})},
                       t(a.logged_in ? "agent.logout" : "agent.login"));
      button.addEventListener("click", () => act(a.logged_in ? "logout" : "login", [q.key], queueError));
      return h("li", {class: `agent-queue ${a.status}`, dataset: {queue: q.key}},
        h("span", {class: "dot", "aria-hidden": "true"}), h("span", {class: "name"}, q.name),
        h("span", {class: "state"}, t(`state.${a.status}`)), button);
    }));
    loginAll.disabled = queues.every(q => (states.get(q.key) || {}).logged_in);
    logoutAll.disabled = !queues.some(q => (states.get(q.key) || {}).logged_in);
  }

  async function readStates() {
    const read = await Promise.all(queues.map(q => api(`/queues/${encodeURIComponent(q.key)}`)));
    states = new Map();
    for (const q of read) {
      const mine = q.live ? q.live.agents.find(a => a.user === user) : null;
      if (mine) states.set(q.key, mine);
    }
    drawState();
    drawQueues();
  }

  async function readCallbacks() {
    const lists = await Promise.all(queues.map(q => api("/callbacks", {query: {queue: q.key, per_page: 100,
                                                                                  sort: "requested_at"}})));
    const names = new Map(queues.map(q => [q.key, q.name]));
    const open = lists.flatMap(l => l.items).filter(cb => !SETTLED.has(cb.status));
    if (!open.length) { callbackBody.replaceChildren(h("p", {class: "empty"}, t("agent.no-callbacks"))); return; }
    callbackBody.replaceChildren(h("div", {class: "table-wrap"}, h("table", {class: "list callbacks"},
      h("thead", {}, h("tr", {}, [t("agent.cb-number"), t("agent.cb-queue"), t("agent.cb-requested"),
                                   t("agent.cb-status"), t("agent.cb-agent")].map(c => h("th", {scope: "col"}, c)),
                         h("th", {scope: "col"}, h("span", {class: "sr-only"}, t("agent.cb-action"))))),
      h("tbody", {}, open.map(cb => h("tr", {class: cb.agent === user ? "mine" : null},
        h("td", {"data-label": t("agent.cb-number")}, h("span", {class: "number"}, cb.number)),
        h("td", {"data-label": t("agent.cb-queue")}, names.get(cb.queue) || cb.queue),
        h("td", {"data-label": t("agent.cb-requested")}, formatStamp(cb.requested_at)),
        h("td", {"data-label": t("agent.cb-status")}, t(`cb.${cb.status}`)),
        h("td", {"data-label": t("agent.cb-agent")}, cb.agent || "–"),
        h("td", {class: "take"}, IN_LINE.has(cb.status) ? takeButton(cb) : null)))))));
  }

  /** "Call back now": the agent takes this one by hand; their phone rings first, then the customer's. */
  function takeButton(cb) {
    const busy = ["busy", "wrapup"].includes(overall().status);
    const button = h("button", {type: "button", class: "primary", disabled: busy,
                                "aria-label": t("agent.cb-take-number", {number: cb.number})}, t("agent.cb-take"));
    button.addEventListener("click", async () => {
      button.disabled = true;
      callbackError.hidden = true;
      callbackNote.textContent = "";
      try {
        await api(`/callbacks/${encodeURIComponent(cb.id)}/take`, {method: "POST", body: {}});
        callbackNote.textContent = t("agent.cb-taken", {number: cb.number});
        await Promise.all([readCallbacks(), readStates()]);
      } catch (err) {
        callbackError.textContent = problemText(err);
        callbackError.hidden = false;
        button.disabled = false;
        await readCallbacks().catch(() => {});
      }
    });
    return button;
  }

  async function readPresence() {
    const p = await api(`/users/${encodeURIComponent(user)}/presence`);
    const shown = p.entries.filter(e => e.active || Date.parse(e.from) > Date.now() - 60_000);
    if (!shown.length) { presenceNow.replaceChildren(h("p", {class: "empty"}, t("agent.presence-none"))); return; }
    presenceNow.replaceChildren(h("ul", {class: "presence-list"}, shown.map(e => {
      const clear = h("button", {type: "button", class: "link-button"}, t(e.active ? "agent.presence-clear"
                                                                                 : "agent.presence-remove"));
      clear.addEventListener("click", async () => {
        clear.disabled = true;
        try {
          await api(`/users/${encodeURIComponent(user)}/presence/${encodeURIComponent(e.id)}`, {method: "DELETE"});
          announce(t("agent.presence-cleared"));
          await readPresence();
        } catch (err) {
          presenceNow.append(h("p", {class: "error", role: "alert"}, problemText(err)));
          clear.disabled = false;
        }
      });
      const when = e.until ? t("agent.presence-to", {time: formatStamp(e.until)}) : t("agent.presence-open");
      return h("li", {class: e.active ? "active" : "planned"},
        h("strong", {}, t(`presence.${e.status}`)), " ",
        h("span", {}, e.active ? when : t("agent.presence-from", {time: formatStamp(e.from)}) + ", " + when),
        e.message ? h("span", {class: "message"}, ` – ${e.message}`) : null, " ", clear);
    })));
  }

  async function refresh() {
    const results = await Promise.allSettled([readStates(), readCallbacks(), readPresence()]);
    const bad = results.find(r => r.status === "rejected");
    stateError.hidden = !bad;
    if (bad) stateError.textContent = problemText(bad.reason);
  }

  /** POST an agent action for each of `keys` (log in, log out) or once (pause, unpause, end wrap-up). */
  async function act(verb, keys, errorBox, body) {
    errorBox.hidden = true;
    try {
      for (const key of keys) {
        await api(`/queues/${encodeURIComponent(key)}/agents/${encodeURIComponent(user)}/${verb}`,
                  {method: "POST", body});
      }
      await readStates();
      announce(t(`agent.done-${verb}`));
    } catch (err) {
      errorBox.textContent = problemText(err);
      errorBox.hidden = false;
      await readStates().catch(() => {});
    }
  }

  loginAll.addEventListener("click", () => act("login", queues.filter(q => !(states.get(q.key) || {}).logged_in)
    .map(q => q.key), queueError));
  logoutAll.addEventListener("click", () => act("logout", queues.filter(q => (states.get(q.key) || {}).logged_in)
    .map(q => q.key), queueError));
  endWrapup.addEventListener("click", () => act("end-wrapup", [queues[0].key], stateError));
  unpause.addEventListener("click", () => act("unpause", [queues[0].key], stateError));
  pauseForm.addEventListener("submit", async e => {
    e.preventDefault();
    clearProblems(pauseForm);
    if (!queues.length) return;
    pauseButton.disabled = true;
    try {
      await api(`/queues/${encodeURIComponent(queues[0].key)}/agents/${encodeURIComponent(user)}/pause`,
                {method: "POST", body: {reason: reasonInput.value.trim()}});
      reasonInput.value = "";
      announce(t("agent.done-pause"));
    } catch (err) {
      showProblem(pauseForm, err);
    }
    await readStates().catch(() => {});
  });
  presenceForm.addEventListener("submit", async e => {
    e.preventDefault();
    clearProblems(presenceForm);
    const body = {status: statusSelect.value, until: null};
    if (untilInput.value) {
      const until = new Date(untilInput.value);
      body.until = Number.isNaN(until.getTime()) ? untilInput.value : until.toISOString();
    }
    if (messageInput.value.trim()) body.message = messageInput.value.trim();
    presenceButton.disabled = true;
    try {
      await api(`/users/${encodeURIComponent(user)}/presence`, {method: "POST", body});
      messageInput.value = "";
      announce(t("agent.presence-saved"));
      await readPresence();
    } catch (err) {
      showProblem(presenceForm, err);
    } finally {
      presenceButton.disabled = false;
    }
  });
  untilInput.value = localInput(new Date(Date.now() + 60 * 60 * 1000));

  // --- first read, then live ----------------------------------------------------------------------
  const [all, board] = await Promise.all([api("/queues", {query: {per_page: 500, sort: "name"}}),
                                          api("/wallboard").catch(() => null)]);
  queues = all.items.filter(q => q.members.includes(user)).map(q => ({key: q.key, name: q.name}));
  if (board) syncClock(board.at);
  await refresh();
  timer = setInterval(tick, 1000);

  const mine = new Set(queues.map(q => q.key));
  const stop = openStream({
    snapshot: snapshot => {
      if (closed) return;
      syncClock(snapshot.at);
      // read again only when something of this agent's changed: their state, or their queues' callbacks
      const next = JSON.stringify(snapshot.queues.filter(q => mine.has(q.queue)).map(q =>
        [q.queue, q.callbacks_waiting, (q.agents.find(a => a.user === user) || {}).state]));
      if (next === signature) { tick(); return; }
      signature = next;
      refresh();
    },
    status: s => {
      live.textContent = t(`wb.status-${s}`);
      live.dataset.state = s;
    },
  });
  return () => { closed = true; clearInterval(timer); stop(); };
}
