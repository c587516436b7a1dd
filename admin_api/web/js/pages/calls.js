// Calls: the calls in progress now (read again every 2 s: caller, number dialled, where the call is, queue, who has
// it, how long) and the calls that ended, from the call records (period, number, queue and outcome filters, sort,
// pages, export). One call's page: its path step by step, queue, wait, who answered, talk time, how it ended and
// its recordings; while it lasts, the actions the person's rights allow (hang up, transfer, recording).

import {ApiError, api, apiUrl, clearProblems, problemText, showProblem} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {formatDuration, t} from "../i18n.js";
import {listView} from "../listview.js";
import {current, href, replaceQuery} from "../router.js";
import {confirmDialog, facts, notFound, pageHead, yesNo} from "../views.js";
import {OUTCOMES, PERIODS, calendar, names, outcomeBadge, outcomeText, zoned} from "./calls-shared.js";

const POLL_MS = 2000;

const callHref = id => href(`/calls/${encodeURIComponent(id)}`);

/** Every step of a call's path: each routing decision is "step → step → …". */
export function pathSteps(path) {
  return (path || []).flatMap((decision, i) => String(decision).split(" → ").map((step, j) =>
    ({step, first: j === 0, decision: i})));
}

function where(call, who) {
  if (call.agent) return call.answered ? t("calls.with", {name: who.user(call.agent)})
    : t("calls.ringing", {name: who.user(call.agent)});
  if (call.queue) return t("calls.waiting");
  return t("calls.in-flow");
}

function lastStep(call) {
  const steps = pathSteps(call.path);
  return steps.length ? steps[steps.length - 1].step : "";
}

// --- the list ------------------------------------------------------------------------------------------------

export async function render(view, {session}) {
  const rights = session.me.rights;
  view.append(pageHead(t("calls.title")));
  const [who, cal] = await Promise.all([names(), calendar()]);
  const zone = zoned(cal && cal.timezone);

  const liveState = h("span", {class: "live-status light"}, t("calls.live-reading"));
  const liveColumns = [t("calls.started"), t("calls.duration"), t("calls.caller"), t("calls.to"),
                       t("calls.queue"), t("calls.where"), t("calls.step")];
  const noCalls = h("tr", {class: "none"}, h("td", {colspan: liveColumns.length, class: "empty"}, t("common.loading")));
  const liveBody = h("tbody", {}, noCalls);
  const liveTable = h("table", {class: "list live-calls"}, h("caption", {class: "sr-only"}, t("calls.live-title")),
    h("thead", {}, h("tr", {}, liveColumns.map(c => h("th", {scope: "col"}, c)))), liveBody);
  const liveError = h("p", {class: "error", role: "alert", hidden: true});
  view.append(h("section", {class: "calls-section", "aria-labelledby": "live-calls-title"},
    h("div", {class: "section-head"}, h("h2", {id: "live-calls-title"}, t("calls.live-title")), liveState),
    liveError, h("div", {class: "table-wrap"}, liveTable)));

  const ended = h("div", {class: "ended-list"});
  const refreshEnded = h("button", {type: "button", class: "link-button", hidden: true}, t("calls.ended-new"));
  view.append(h("section", {class: "calls-section", "aria-labelledby": "ended-calls-title"},
    h("div", {class: "section-head"}, h("h2", {id: "ended-calls-title"}, t("calls.ended-title")), refreshEnded),
    ended));

  let closed = false, timer = null;
  const rows = new Map();  // call id → its row, kept while the call lasts (a focused link stays focused)

  function liveRow(c) {
    const cells = liveColumns.map(label => h("td", {"data-label": label}));
    const link = h("a", {href: callHref(c.id)});
    cells[0].append(link);
    cells[1].classList.add("num");
    cells[6].classList.add("step");
    return {tr: h("tr", {dataset: {call: c.id}}, cells), cells, link};
  }

  function fillRow({cells, link}, c) {
    link.textContent = zone.seconds(c.started);
    cells[1].textContent = formatDuration(c.duration_s);
    cells[2].replaceChildren(h("span", {class: "number"}, c.caller));
    cells[3].replaceChildren(h("span", {class: "number"}, c.dialled));
    cells[4].textContent = who.queue(c.queue);
    cells[5].replaceChildren(where(c, who),
      c.recording ? h("span", {class: "rec-badge"}, t(`calls.rec-${c.recording.state}`)) : "");
    cells[6].textContent = lastStep(c);
  }

  function drawLive(items) {
    const ids = new Set(items.map(c => c.id));
    const gone = [...rows.keys()].filter(id => !ids.has(id));
    const added = items.filter(c => !rows.has(c.id));
    for (const id of gone) { rows.get(id).tr.remove(); rows.delete(id); }
    for (const c of items) {
      if (!rows.has(c.id)) rows.set(c.id, liveRow(c));
      fillRow(rows.get(c.id), c);
    }
    noCalls.firstChild.textContent = t("calls.live-none");
    liveBody.replaceChildren(...(items.length ? items.map(c => rows.get(c.id).tr) : [noCalls]));
    return {gone, added};
  }

  let first = true;
  async function poll() {
    try {
      const result = await api("/calls", {query: {per_page: 500, sort: "started"}});
      if (closed) return;
      liveError.hidden = true;
      liveState.dataset.state = "live";
      liveState.textContent = t("calls.live-on");
      const {gone, added} = drawLive(result.items);
      if (!first && added.length) announce(t("calls.live-new", {n: added.length}));
      if (gone.length) announce(t("calls.live-ended", {n: gone.length}));
      first = false;
      if (gone.length && rights.includes("reports")) afterEnding(gone);
    } catch (err) {
      if (closed) return;
      liveState.dataset.state = "retrying";
      liveState.textContent = t("calls.live-stale");
      liveError.textContent = problemText(err);
      liveError.hidden = false;
    }
    if (!closed) timer = setTimeout(poll, POLL_MS);
  }

  // the record of a call that just ended is written a moment later: the list is read again once it is there
  async function afterEnding(ids) {
    for (let i = 0; i < 15 && !closed; i += 1) {
      const found = await Promise.all(ids.map(id => api("/statistics/calls", {query: {q: id}})
        .then(r => r.items.some(x => x.call_id === id)).catch(() => false)));
      if (found.every(Boolean)) break;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    if (closed) return;
    if (ended.contains(document.activeElement)) refreshEnded.hidden = false;  // not under the person's hands
    else drawEnded();
  }

  async function drawEnded() {
    refreshEnded.hidden = true;
    if (!rights.includes("reports")) {
      ended.replaceChildren(h("p", {class: "panel notice"}, t("calls.ended-no-right")));
      return;
    }
    const box = h("div");
    await listView(box, {
      path: "/statistics/calls", label: t("calls.ended-title"), exportName: "calls",
      columns: [
        {key: "entered_at", label: t("calls.started"), cell: r => h("a", {href: callHref(r.call_id)},
          cal && zone.day(r.entered_at) === zone.day(cal.now) ? zone.time(r.entered_at) : zone.dateTime(r.entered_at))},
        {key: "caller", label: t("calls.caller"), cell: r => h("span", {class: "number"}, r.caller)},
        {key: "dialled", label: t("calls.to"), cell: r => h("span", {class: "number"}, r.dialled)},
        {key: "queue", label: t("calls.queue"), cell: r => who.queue(r.queue)},
        {key: "wait_s", label: t("calls.wait"), cell: r => (r.wait_s === null ? "" : formatDuration(r.wait_s))},
        {key: "answered_by", label: t("calls.answered-by"), cell: r => who.user(r.answered_by)},
        {key: "talk_s", label: t("calls.talk"), cell: r => (r.talk_s === null ? "" : formatDuration(r.talk_s))},
        {key: "outcome", label: t("calls.outcome"), cell: r => outcomeBadge(r.outcome)},
      ],
      filters: [
        {name: "period", label: t("calls.period"), options: PERIODS.map(p => [p, t(`calls.period-${p}`)])},
        {name: "number", label: t("calls.number"), options: api("/numbers", {query: {per_page: 500}})
          .then(r => r.items.map(n => [n.number, n.label ? `${n.number} (${n.label})` : n.number])).catch(() => [])},
        {name: "queue", label: t("calls.queue"), options: who.queues.map(q => [q.key, q.name])},
        {name: "outcome", label: t("calls.outcome"), options: OUTCOMES.map(o => [o, outcomeText(o)])},
      ],
    });
    if (!closed) ended.replaceChildren(box);
  }

  refreshEnded.addEventListener("click", () => drawEnded());
  // today's calls, the latest first, unless the address says otherwise
  const query = Object.fromEntries(current().query);
  if (!("period" in query) && rights.includes("reports")) {
    replaceQuery({sort: "-entered_at", ...query, period: "today"});
  }
  await Promise.all([poll(), drawEnded()]);
  return () => { closed = true; clearTimeout(timer); };
}

// --- one call ------------------------------------------------------------------------------------------------

async function liveCall(id) {
  try {
    return await api(`/calls/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

async function recordOf(id, rights) {
  if (!rights.includes("reports")) return null;
  const found = await api("/statistics/calls", {query: {q: id, per_page: 100}});
  return found.items.find(r => r.call_id === id) || null;
}

function pathList(path) {
  const steps = pathSteps(path);
  if (!steps.length) return h("p", {class: "empty"}, t("calls.path-none"));
  return h("ol", {class: "call-path"}, steps.map(s => h("li", {class: s.first && s.decision ? "decision" : null},
    s.step)));
}

export async function renderOne(view, {params, session}) {
  const id = params.id;
  const rights = session.me.rights;
  const [who, cal, live] = await Promise.all([names(), calendar(), liveCall(id)]);
  const zone = zoned(cal && cal.timezone);
  if (live) return renderLive(view, live, {who, zone, rights});
  const record = await recordOf(id, rights);
  if (!record) { view.append(notFound()); return null; }
  await renderEnded(view, record, {who, zone, rights});
  return null;
}

function head(view, call, state) {
  view.append(h("p", {class: "crumbs"}, h("a", {href: href("/calls")}, t("calls.back"))),
              pageHead(t("calls.call-from", {caller: call.caller}),
                       h("span", {class: `call-state ${state}`}, t(`calls.state-${state}`))));
}

async function renderEnded(view, r, {who, zone, rights}) {
  head(view, r, "ended");
  const legs = (r.queues || []).filter(l => l.queue);
  view.append(h("div", {class: "call-grid"},
    h("section", {class: "panel", "aria-labelledby": "call-facts"}, h("h2", {id: "call-facts"}, t("calls.facts")),
      facts([
        [t("calls.caller"), r.caller], [t("calls.dialled"), r.dialled],
        [t("calls.started"), zone.dateTime(r.entered_at)], [t("calls.ended"), zone.dateTime(r.ended_at)],
        [t("calls.queue"), legs.length ? legs.map(l => who.queue(l.queue)) : who.queue(r.queue)],
        [t("calls.wait"), r.wait_s === null || r.wait_s === undefined ? "" : formatDuration(r.wait_s)],
        [t("calls.answered-by"), who.user(r.answered_by)],
        [t("calls.talk"), r.talk_s === null || r.talk_s === undefined ? "" : formatDuration(r.talk_s)],
        [t("calls.wrapup"), r.wrapup_s === null || r.wrapup_s === undefined ? "" : formatDuration(r.wrapup_s)],
        [t("calls.outcome"), outcomeBadge(r.outcome)],
        [t("calls.voicemail"), r.voicemail ? t("calls.voicemail-left", {box: r.voicemail_box || ""}) : yesNo(false)],
        [t("calls.callback"), r.callback ? t(`calls.callback-${r.callback}`) : yesNo(false)],
        [t("calls.cause"), r.cause], [t("calls.id"), r.call_id],
      ])),
    h("section", {class: "panel", "aria-labelledby": "call-path"}, h("h2", {id: "call-path"}, t("calls.path")),
      pathList(r.path)),
    legs.length > 1 ? queueLegs(legs, who) : null,
    rights.includes("recordings") ? await recordings(r.call_id, zone) : null));
}

function queueLegs(legs, who) {
  const cols = [t("calls.queue"), t("calls.wait"), t("calls.leg-outcome"), t("calls.answered-by")];
  return h("section", {class: "panel wide", "aria-labelledby": "call-legs"},
    h("h2", {id: "call-legs"}, t("calls.legs")),
    h("div", {class: "table-wrap"}, h("table", {class: "list"},
      h("thead", {}, h("tr", {}, cols.map(c => h("th", {scope: "col"}, c)))),
      h("tbody", {}, legs.map(l => h("tr", {},
        h("td", {"data-label": cols[0]}, who.queue(l.queue)),
        h("td", {"data-label": cols[1]}, l.wait_s === null || l.wait_s === undefined ? "" : formatDuration(l.wait_s)),
        h("td", {"data-label": cols[2]}, l.outcome ? t(`calls.leg-${l.outcome}`) : ""),
        h("td", {"data-label": cols[3]}, who.user(l.answered_by))))))));
}

async function recordings(callId, zone) {
  const box = h("section", {class: "panel wide", "aria-labelledby": "call-recordings"},
    h("h2", {id: "call-recordings"}, t("calls.recordings")));
  try {
    const found = (await api("/recordings", {query: {q: callId, per_page: 100}})).items
      .filter(r => r.call_id === callId);
    if (!found.length) { box.append(h("p", {class: "empty"}, t("calls.recordings-none"))); return box; }
    box.append(h("ul", {class: "call-recordings"}, found.map(r => {
      const src = apiUrl(`/recordings/${encodeURIComponent(r.id)}/audio`);
      return h("li", {}, h("span", {}, t("calls.recording-line", {time: zone.time(r.started_at),
                                                                   length: formatDuration(r.duration_s)})),
        h("audio", {controls: true, preload: "none", src, "aria-label": t("calls.play")}),
        h("a", {href: src, download: `${r.id}.wav`}, t("calls.download")));
    })));
  } catch (err) {
    box.append(h("p", {class: "error", role: "alert"}, problemText(err)));
  }
  return box;
}

// --- a call in progress ----------------------------------------------------------------------------------------

function renderLive(view, first, {who, zone, rights}) {
  head(view, first, "live");
  const factsBox = h("div");
  const pathBox = h("div");
  const actionError = h("p", {class: "error", role: "alert", hidden: true});
  const actions = h("div", {class: "call-actions"});
  const grid = h("div", {class: "call-grid"},
    h("section", {class: "panel", "aria-labelledby": "call-facts"}, h("h2", {id: "call-facts"}, t("calls.facts")),
      factsBox),
    h("section", {class: "panel", "aria-labelledby": "call-path"}, h("h2", {id: "call-path"}, t("calls.path")),
      pathBox));
  const canHangUp = rights.includes("agents"), canRecord = rights.includes("recordings");
  if (canHangUp || canRecord) {
    grid.append(h("section", {class: "panel wide", "aria-labelledby": "call-actions"},
      h("h2", {id: "call-actions"}, t("calls.actions")), actionError, actions));
  }
  view.append(grid);

  let call = first, closed = false, timer = null;
  const path = `/calls/${encodeURIComponent(first.id)}`;

  function drawFacts() {
    factsBox.replaceChildren(facts([
      [t("calls.caller"), call.caller], [t("calls.dialled"), call.dialled],
      [t("calls.started"), zone.seconds(call.started)], [t("calls.duration"), formatDuration(call.duration_s)],
      [t("calls.queue"), who.queue(call.queue)], [t("calls.where"), where(call, who)],
      [t("calls.answered"), yesNo(call.answered)],
      [t("calls.recording"), call.recording ? t(`calls.rec-${call.recording.state}`) : t("calls.rec-none")],
      [t("calls.id"), call.id],
    ]));
    pathBox.replaceChildren(pathList(call.path));
  }

  async function act(work, done) {
    actionError.hidden = true;
    try {
      await work();
      announce(done);
      await refresh();
    } catch (err) {
      actionError.textContent = problemText(err);
      actionError.hidden = false;
    }
  }

  // hang up, with a confirmation
  const hangUp = h("button", {type: "button", class: "danger"}, t("calls.hangup"));
  hangUp.addEventListener("click", async () => {
    const sure = await confirmDialog(t("calls.hangup-title"), t("calls.hangup"),
                                     {detail: t("calls.hangup-text", {caller: call.caller})});
    if (sure) await act(() => api(path, {method: "DELETE"}), t("calls.hangup-done"));
  });

  // transfer to a colleague (or a number), blind or announced
  const to = h("input", {id: uid("to"), name: "to", type: "text", inputmode: "tel", autocomplete: "off",
                         list: "transfer-users", required: true, maxlength: "32"});
  const mode = h("select", {id: uid("mode"), name: "mode"},
    ["blind", "attended"].map(m => h("option", {value: m}, t(`calls.transfer-${m}`))));
  const transferForm = h("form", {novalidate: true, class: "transfer"},
    h("h3", {}, t("calls.transfer")),
    field(t("calls.transfer-to"), to, t("calls.transfer-hint")),
    h("datalist", {id: "transfer-users"}, who.users.filter(u => u.extension).map(u =>
      h("option", {value: u.extension}, `${u.name} (${u.extension})`))),
    field(t("calls.transfer-mode"), mode), errorLine(),
    h("div", {class: "form-actions"}, h("button", {type: "submit"}, t("calls.transfer-go"))));
  transferForm.addEventListener("submit", async e => {
    e.preventDefault();
    clearProblems(transferForm);
    try {
      await api(`${path}/transfer`, {method: "POST", body: {to: to.value.trim(), mode: mode.value}});
      announce(t("calls.transfer-done"));
      to.value = "";
      await refresh();
    } catch (err) {
      showProblem(transferForm, err);
    }
  });

  const recordBox = h("div", {class: "record-actions"});
  function drawRecording() {
    const rec = call.recording;
    const button = (text, work, done) => {
      const b = h("button", {type: "button"}, text);
      b.addEventListener("click", () => act(work, done));
      return b;
    };
    recordBox.replaceChildren(h("h3", {}, t("calls.recording")),
      h("p", {class: "rec-state"}, rec ? t(`calls.rec-${rec.state}`) : t("calls.rec-none")),
      h("div", {class: "form-actions"}, !rec
        ? button(t("calls.rec-start"), () => api(`${path}/recording`, {method: "POST"}), t("calls.rec-started"))
        : [rec.state === "paused"
          ? button(t("calls.rec-resume"), () => api(`${path}/recording`, {method: "PATCH", body: {state: "recording"}}),
                   t("calls.rec-resumed"))
          : button(t("calls.rec-pause"), () => api(`${path}/recording`, {method: "PATCH", body: {state: "paused"}}),
                   t("calls.rec-paused")),
        button(t("calls.rec-stop"), () => api(`${path}/recording`, {method: "DELETE"}), t("calls.rec-stopped"))]));
  }

  if (canHangUp) actions.append(h("div", {class: "hangup"}, h("h3", {}, t("calls.hangup-heading")), hangUp),
                                transferForm);
  if (canRecord) actions.append(recordBox);

  async function refresh() {
    let now;
    try {
      now = await liveCall(first.id);
    } catch (err) {
      actionError.textContent = problemText(err);
      actionError.hidden = false;
      return;
    }
    if (closed) return;
    if (!now) { ended(); return; }
    const recordingChanged = JSON.stringify(now.recording) !== JSON.stringify(call.recording);
    call = now;
    drawFacts();
    if (canRecord && recordingChanged) drawRecording();
  }

  // the call ended: its record (written a moment later) takes the page's place
  async function ended() {
    closed = true;
    clearTimeout(timer);
    announce(t("calls.ended-now"));
    grid.replaceChildren(h("section", {class: "panel notice wide", role: "status"}, t("calls.ended-now")));
    for (let i = 0; i < 15 && view.isConnected; i += 1) {
      const record = await recordOf(first.id, rights).catch(() => null);
      if (!view.isConnected) return;
      if (record) {
        view.replaceChildren();
        await renderEnded(view, record, {who, zone, rights});
        return;
      }
      if (!rights.includes("reports")) return;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
  }

  async function tick() {
    await refresh();
    if (!closed) timer = setTimeout(tick, POLL_MS);
  }

  drawFacts();
  if (canRecord) drawRecording();
  timer = setTimeout(tick, POLL_MS);
  return () => { closed = true; clearTimeout(timer); };
}
