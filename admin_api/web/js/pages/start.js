// The start page: at a glance, the main numbers, callers waiting now, agents logged in, missed calls today and
// unheard voicemail. The live figures follow the wallboard stream.

import {api, ApiError, problemText} from "../api.js";
import {h} from "../dom.js";
import {formatNumber, t} from "../i18n.js";
import {openStream, totals} from "../live.js";
import {href} from "../router.js";
import {pageHead} from "../views.js";

function tile(label, link) {
  const value = h("span", {class: "value"}, "…");
  const note = h("span", {class: "note"});
  const body = [h("span", {class: "label"}, label), value, note];
  const el = link ? h("a", {class: "stat", href: link}, body) : h("div", {class: "stat"}, body);
  return {el, set(v, text = "") { value.textContent = v; note.textContent = text; el.classList.remove("muted"); },
          off(text) { value.textContent = "–"; note.textContent = text; el.classList.add("muted"); }};
}

function reason(err) {
  if (err instanceof ApiError && err.status === 403) return t("start.no-right");
  if (err instanceof ApiError && err.status === 503) return t("start.no-live");
  return problemText(err);
}

export async function render(view, {session}) {
  const waiting = tile(t("start.waiting"), href("/wallboard"));
  const agents = tile(t("start.agents"), href("/wallboard"));
  const missed = tile(t("start.missed"), href("/wallboard"));
  const unheard = tile(t("start.unheard"));
  const numbers = h("div", {class: "panel"}, h("p", {class: "loading"}, t("common.loading")));
  view.append(
    pageHead(t("start.title")),
    h("p", {class: "lead"}, t("start.welcome", {name: session.me.name})),
    h("section", {class: "stats", "aria-label": t("start.now")}, waiting.el, agents.el, missed.el, unheard.el),
    h("section", {"aria-labelledby": "main-numbers"},
      h("div", {class: "section-head"}, h("h2", {id: "main-numbers"}, t("start.numbers")),
        h("a", {href: href("/numbers")}, t("start.all-numbers"))),
      numbers));

  const showLive = snapshot => {
    const sum = totals(snapshot);
    waiting.set(formatNumber(sum.waiting));
    agents.set(formatNumber(sum.loggedIn));
    missed.set(formatNumber(sum.missed), t("start.answered", {n: formatNumber(sum.answered)}));
  };
  const [board, boxes, list] = await Promise.allSettled([
    api("/wallboard"), api("/voicemail/boxes", {query: {per_page: 500}}), api("/numbers", {query: {per_page: 500}})]);
  if (board.status === "fulfilled") showLive(board.value);
  else for (const x of [waiting, agents, missed]) x.off(reason(board.reason));
  if (boxes.status === "fulfilled") {
    const n = boxes.value.items.reduce((sum, b) => sum + b.new, 0);
    unheard.set(formatNumber(n), t("start.boxes", {n: boxes.value.total}));
  } else {
    unheard.off(reason(boxes.reason));
  }
  if (list.status === "fulfilled") {
    const main = list.value.items.filter(n => n.flow);
    numbers.replaceChildren(main.length ? h("ul", {class: "numbers"}, main.map(n => h("li", {},
      h("a", {href: href(`/numbers/${encodeURIComponent(n.number)}`), class: "number"}, n.number),
      h("span", {class: "label"}, n.label || ""),
      h("span", {class: "flow"}, t("start.flow", {flow: n.flow}))))) : h("p", {}, t("start.no-numbers")));
  } else {
    numbers.replaceChildren(h("p", {class: "error", role: "alert"}, problemText(list.reason)));
  }
  if (board.status !== "fulfilled") return null;
  return openStream({snapshot: showLive});
}
