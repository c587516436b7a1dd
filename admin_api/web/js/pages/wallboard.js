// The wallboard: one tile per queue, updated live over the WebSocket. A raised alarm colours its tile and the
// figure it watches, and says so in words (colour is never the only sign). ?queues=a,b shows only those queues.

import {announce, h, uid} from "../dom.js";
import {formatDuration, formatNumber, formatTime, t} from "../i18n.js";
import {openStream} from "../live.js";
import {current, replaceQuery} from "../router.js";
import {pageHead} from "../views.js";

const FIGURE_OF = {agents_free_below: "agents_free", service_level_below: "service_level"};
const SMALL = [
  ["agents_logged_in", "wb.logged-in"], ["agents_free", "wb.free"], ["agents_busy", "wb.busy"],
  ["agents_wrapup", "wb.wrapup"], ["agents_paused", "wb.paused"], ["longest_wait_s", "wb.longest"],
  ["average_wait_s", "wb.average"], ["answered_today", "wb.answered"], ["missed_today", "wb.missed"],
  ["service_level", "wb.service-level"],
];

function shown(name, q) {
  const v = q[name];
  if (name.endsWith("_wait_s")) return formatDuration(v);
  if (name === "service_level") return v === null ? "–" : formatNumber(v / 100, {style: "percent"});
  return formatNumber(v);
}

function alarmText(a) {
  const value = a.value === null || a.value === undefined ? "–" : formatNumber(a.value, {maximumFractionDigits: 1});
  return t("wb.alarm-line", {name: a.name || t(`metric.${a.metric}`), metric: t(`metric.${a.metric}`), value,
                             threshold: formatNumber(a.threshold)});
}

function queueTile(q, alarms) {
  const hot = new Set(alarms.map(a => FIGURE_OF[a.metric] || a.metric));
  const titleId = uid("queue");
  return h("section", {class: ["tile", alarms.length && "alarm"], "aria-labelledby": titleId, dataset: {queue: q.queue}},
    h("div", {class: "tile-head"}, h("h2", {id: titleId}, q.name),
      alarms.length ? h("span", {class: "badge"}, t("wb.alarm")) : h("span", {class: "badge ok"}, t("wb.ok"))),
    h("div", {class: ["big", hot.has("callers_waiting") && "hot"]},
      h("span", {class: "value", dataset: {figure: "callers_waiting"}}, formatNumber(q.callers_waiting)),
      h("span", {class: "label"}, t("wb.waiting"))),
    alarms.length ? h("ul", {class: "alarms"}, alarms.map(a => h("li", {}, alarmText(a)))) : null,
    h("dl", {class: "figures"}, SMALL.map(([name, key]) => h("div", {class: ["figure", hot.has(name) && "hot"]},
      h("dt", {}, t(key), name === "service_level" ? ` (${t("wb.within", {s: q.service_level_s})})` : ""),
      h("dd", {dataset: {figure: name}}, shown(name, q))))),
    q.agents.length ? h("ul", {class: "agents", "aria-label": t("wb.agents")}, q.agents.map(a =>
      h("li", {class: `agent ${a.state}`}, h("span", {class: "dot", "aria-hidden": "true"}),
        h("span", {class: "name"}, a.name),
        h("span", {class: "state"}, t(`state.${a.state}`) + (a.pause_reason ? ` – ${a.pause_reason}` : ""))))) : null);
}

export async function render(view) {
  const status = h("span", {class: "live-status", role: "status"}, t("wb.connecting"));
  const fullscreen = h("button", {type: "button"}, t("wb.fullscreen"));
  fullscreen.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else view.requestFullscreen().catch(() => { /* not allowed here: the page is still readable */ });
  });
  const chooser = h("fieldset", {class: "chooser"}, h("legend", {}, t("wb.choose")));
  const tiles = h("div", {class: "tiles", "aria-live": "off"});
  const updated = h("p", {class: "updated"});
  const alarmsNow = h("div", {class: "alarm-summary", role: "alert"});
  view.append(pageHead(t("wb.title"), status, fullscreen), h("details", {class: "choose"},
    h("summary", {}, t("wb.choose")), chooser), alarmsNow, tiles, updated);

  let last = null;
  let known = "";
  const selected = () => {
    const raw = current().query.get("queues");
    return raw ? new Set(raw.split(",").filter(Boolean)) : null;
  };

  function drawChooser(queues) {
    const keys = queues.map(q => q.queue).join(",");
    if (keys === known) return;
    known = keys;
    const chosen = selected();
    chooser.replaceChildren(h("legend", {}, t("wb.choose")), ...queues.map(q => {
      const box = h("input", {type: "checkbox", id: uid("q"), value: q.queue, checked: !chosen || chosen.has(q.queue)});
      box.addEventListener("change", () => {
        const on = [...chooser.querySelectorAll("input:checked")].map(i => i.value);
        replaceQuery(on.length === queues.length ? {} : {queues: on.join(",") || "-"});
        if (last) draw(last);
      });
      return h("label", {class: "check", for: box.id}, box, q.name);
    }));
  }

  function draw(snapshot) {
    last = snapshot;
    drawChooser(snapshot.queues);
    const chosen = selected();
    const queues = snapshot.queues.filter(q => !chosen || chosen.has(q.queue));
    const byQueue = {};
    for (const a of snapshot.alarms) (byQueue[a.queue] ||= []).push(a);
    tiles.replaceChildren(...(queues.length ? queues.map(q => queueTile(q, byQueue[q.queue] || []))
      : [h("p", {class: "panel empty"}, t("wb.no-queues"))]));
    const raised = snapshot.alarms.filter(a => queues.some(q => q.queue === a.queue));
    alarmsNow.replaceChildren(...(raised.length ? [h("strong", {}, t("wb.alarms-now", {n: raised.length})), " ",
      raised.map(a => `${(queues.find(q => q.queue === a.queue) || {}).name}: ${alarmText(a)}`).join(" · ")] : []));
    alarmsNow.hidden = !raised.length;
    updated.textContent = t("wb.updated", {time: formatTime(snapshot.at)});
  }

  return openStream({
    snapshot: draw,
    alarm: data => announce(t(data.type === "alarm" ? "wb.raised" : "wb.cleared",
                              {queue: data.queue, metric: t(`metric.${data.metric}`)})),
    status: s => {
      status.textContent = t(`wb.status-${s}`);
      status.dataset.state = s;
    },
  });
}
