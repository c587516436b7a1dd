// The visual view of a call flow: its nodes as boxes in rows (the start at the top, each node below every node that
// leads to it), each box listing its paths out ("Val 1", "Inget val", "Stängt"…), with SVG connectors from each path
// to the node it leads to. The same flow as an indented list (the phone's view, and text for everyone). A box's
// heading selects the node; a path moves the focus to the node it leads to.

import {h} from "../dom.js";
import {t} from "../i18n.js";
import {exits, kindText, nodeName, problemWords, summary, viaText} from "./flows-model.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Rows of node keys: longest path from the start over the flow's forward paths; nodes the start does not reach
 * come last, on their own. A path that spans rows passes through a placeholder in each row between ("dummies":
 * "node|label" → their ids, top down), so that its connector runs between the boxes, not through them. */
export function layers(nodes, entry) {
  const byKey = new Map(nodes.map(n => [n.key, n]));
  const next = key => exits(byKey.get(key)).map(e => e.target).filter(k => byKey.has(k));
  const seen = new Set(), done = new Set(), order = [], found = [], back = new Set();
  const visit = root => {  // depth first, without recursion: the order found, a post-order, the paths back up
    const stack = [[root, next(root), 0]];
    seen.add(root);
    found.push(root);
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top[2] < top[1].length) {
        const to = top[1][top[2]++];
        if (!seen.has(to)) { seen.add(to); found.push(to); stack.push([to, next(to), 0]); }
        else if (!done.has(to)) back.add(`${top[0]}>${to}`);
      } else { done.add(top[0]); order.push(top[0]); stack.pop(); }
    }
  };
  if (byKey.has(entry)) visit(entry);
  const reached = new Set(seen);
  for (const n of nodes) if (!seen.has(n.key)) visit(n.key);
  const rank = new Map();
  for (const key of [...order].reverse()) {
    if (!rank.has(key)) rank.set(key, 0);
    if (!reached.has(key)) continue;
    for (const to of next(key)) {
      if (!back.has(`${key}>${to}`)) rank.set(to, Math.max(rank.get(to) || 0, rank.get(key) + 1));
    }
  }
  const rows = [], adj = new Map(), dummies = new Map();
  const place = (id, r) => { (rows[r] ||= []).push(id); };
  const link = (from, to) => { if (!adj.has(from)) adj.set(from, []); adj.get(from).push(to); };
  for (const key of found.filter(k => reached.has(k))) place(key, rank.get(key));
  for (const key of found.filter(k => reached.has(k))) {
    for (const e of exits(byKey.get(key))) {
      if (!byKey.has(e.target) || back.has(`${key}>${e.target}`) || rank.get(e.target) <= rank.get(key)) continue;
      let from = key;
      const chain = [];
      for (let r = rank.get(key) + 1; r < rank.get(e.target); r += 1) {
        const id = `\u0000${key}|${e.label}|${r}`;
        place(id, r);
        link(from, id);
        chain.push(id);
        from = id;
      }
      link(from, e.target);
      if (chain.length) dummies.set(`${key}|${e.label}`, chain);
    }
  }
  const packed = rows.filter(Boolean);
  orderRows(packed, id => adj.get(id) || []);
  const lost = found.filter(k => !reached.has(k));
  return {rows: packed, unreachable: lost, reached, dummies};
}

/** Order each row by where the nodes leading to it sit in the rows above (fewer crossing connectors). */
function orderRows(rows, next) {
  const at = new Map();
  rows.forEach(row => row.forEach((k, i) => at.set(k, i)));
  for (let r = 1; r < rows.length; r += 1) {
    const parents = new Map();
    for (let q = 0; q < r; q += 1) {
      for (const key of rows[q]) for (const to of next(key)) {
        if (!parents.has(to)) parents.set(to, []);
        parents.get(to).push(at.get(key) / Math.max(1, rows[q].length - 1));
      }
    }
    const weight = k => { const p = parents.get(k) || [0.5]; return p.reduce((a, b) => a + b, 0) / p.length; };
    rows[r] = rows[r].map((k, i) => [k, weight(k), i]).sort((a, b) => a[1] - b[1] || a[2] - b[2]).map(x => x[0]);
    rows[r].forEach((k, i) => at.set(k, i));
  }
}

/**
 * view: {nodes, entry, targets, problems: Map(node → [problem]), selected, path: {order: Map(node → n),
 * edges: Set("from|label")}, onSelect(key)}. Returns {element, outline, redraw(), destroy()}.
 */
export function flowGraph(view) {
  const byKey = new Map(view.nodes.map(n => [n.key, n]));
  const {rows, unreachable, dummies} = layers(view.nodes, view.entry);
  const boxes = new Map(), spacers = new Map();
  const canvas = h("div", {class: "flow-canvas"});
  const edges = svg("svg", {class: "flow-edges", "aria-hidden": "true", focusable: "false"});
  canvas.append(edges);
  const spacer = id => {
    const el = h("div", {class: "flow-pass", "aria-hidden": "true"});
    spacers.set(id, el);
    return el;
  };
  rows.forEach(row => canvas.append(h("div", {class: "flow-row"},
    row.map(id => (id.startsWith("\u0000") ? spacer(id) : box(byKey.get(id)))))));
  if (unreachable.length) {
    canvas.append(h("p", {class: "flow-lost-title"}, t("flows.unreachable-title")),
                  h("div", {class: "flow-row lost"}, unreachable.map(key => box(byKey.get(key)))));
  }
  const element = h("div", {class: "flow-graph", role: "region", "aria-label": t("flows.graph-label")}, canvas);

  function box(node) {
    const problems = view.problems.get(node.key) || [];
    const step = view.path.order.get(node.key);
    const head = h("button", {type: "button", class: "node-head", "aria-pressed": String(view.selected === node.key),
                              on: {click: () => view.onSelect(node.key)}},
      h("span", {class: "node-kind"}, kindText(node.kind)), h("span", {class: "node-name"}, nodeName(node)),
      node.key === view.entry ? h("span", {class: "node-tag"}, t("flows.entry")) : null,
      step !== undefined ? h("span", {class: "node-step"}, h("span", {class: "sr-only"}, t("flows.step")), step)
        : null);
    const el = h("article", {class: ["flow-node", `kind-${node.kind}`, problems.length && "has-problem",
                                     step !== undefined && "on-path", view.selected === node.key && "selected"],
                             id: `node-${node.key}`, "data-node": node.key},
      head, h("p", {class: "node-summary"}, summary(node, view.targets)),
      problems.map(p => h("p", {class: "node-problem"}, problemWords(p))),
      exitList(node));
    boxes.set(node.key, el);
    return el;
  }

  function exitList(node) {
    const out = exits(node);
    if (!out.length) return null;
    return h("ul", {class: "node-exits", "aria-label": t("flows.exits-of", {name: nodeName(node)})}, out.map(e => {
      const target = byKey.get(e.target);
      const taken = view.path.edges.has(`${node.key}|${e.label}`);
      return h("li", {}, h("button", {type: "button", class: ["exit", taken && "on-path", !target && "broken"],
                                      "data-exit": e.label, "data-target": e.target,
                                      on: {click: () => focusNode(e.target)}},
        viaText(e.label),
        h("span", {class: "sr-only"}, ` → ${target ? nodeName(target) : t("flows.missing-node", {key: e.target})}`)));
    }));
  }

  function focusNode(key) {
    const el = boxes.get(key);
    if (!el) return;
    el.querySelector(".node-head").focus();
    el.scrollIntoView({block: "nearest", inline: "nearest"});
  }

  /** The connectors, from each path's button to the top of the node it leads to (or round its side when it goes
   * back up). Drawn after layout, and again when the size changes. */
  function redraw() {
    const origin = canvas.getBoundingClientRect();
    edges.setAttribute("width", canvas.scrollWidth);
    edges.setAttribute("height", canvas.scrollHeight);
    const defs = svg("defs");
    for (const [id, cls] of [["flow-arrow", "arrow"], ["flow-arrow-on", "arrow on-path"]]) {
      const marker = svg("marker", {id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 10, markerHeight: 10,
                                    markerUnits: "userSpaceOnUse", orient: "auto-start-reverse"});
      marker.append(svg("path", {d: "M0,0 L10,5 L0,10 z", class: cls}));
      defs.append(marker);
    }
    const lines = [];
    const incoming = new Map();
    for (const [key, el] of boxes) {
      for (const exit of el.querySelectorAll("button.exit")) {
        const to = boxes.get(exit.dataset.target);
        if (!to) continue;
        const a = exit.getBoundingClientRect();
        const via = (dummies.get(`${key}|${exit.dataset.exit}`) || []).map(id => {
          const d = spacers.get(id).getBoundingClientRect();
          const row = spacers.get(id).parentElement.getBoundingClientRect();
          return {x: d.left + d.width / 2 - origin.left, top: row.top - origin.top, bottom: row.bottom - origin.top};
        });
        const line = {from: key, exit, to, via, x1: a.left + a.width / 2 - origin.left, y1: a.bottom - origin.top,
                      on: exit.classList.contains("on-path")};
        lines.push(line);
        if (!incoming.has(to)) incoming.set(to, []);
        incoming.get(to).push(line);
      }
    }
    for (const [to, list] of incoming) {  // spread the arrows over the top of the box, in the order they come from
      const b = to.getBoundingClientRect();
      const from = l => (l.via.length ? l.via[l.via.length - 1].x : l.x1);
      const down = list.filter(l => l.y1 < b.top - origin.top).sort((p, q) => from(p) - from(q));
      down.forEach((l, i) => {
        l.x2 = b.left - origin.left + b.width * (i + 1) / (down.length + 1);
        l.y2 = b.top - origin.top;
      });
      list.filter(l => !down.includes(l)).forEach((l, i) => {
        l.back = true; l.x2 = b.right - origin.left; l.y2 = b.top - origin.top + 18 + i * 8;
      });
    }
    const curve = (x1, y1, x2, y2) => `C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`;
    const paths = lines.map(l => {
      let d;
      if (l.back) {
        d = `M${l.x1},${l.y1} C${l.x1},${l.y1 + 50} ${l.x2 + 70},${l.y2} ${l.x2},${l.y2}`;
      } else {  // down to each placeholder's row, straight through it, then on to the box
        let x = l.x1, y = l.y1;
        d = `M${x},${y}`;
        for (const p of l.via) {
          d += ` ${curve(x, y, p.x, p.top)} L${p.x},${p.bottom}`;
          x = p.x;
          y = p.bottom;
        }
        d += ` ${curve(x, y, l.x2, l.y2)}`;
      }
      const marker = `url(#${l.on ? "flow-arrow-on" : "flow-arrow"})`;
      return svg("path", {d, class: l.on ? "on-path" : "", "marker-end": marker});
    });
    paths.sort((p, q) => Number(p.classList.contains("on-path")) - Number(q.classList.contains("on-path")));
    edges.replaceChildren(defs, ...paths);
  }

  // drawn in the next frame: drawing inside the observer's callback could resize what it observes
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(redraw);
  });
  observer.observe(canvas);
  return {element, outline: outline(view, byKey), redraw, focusNode,
          destroy: () => { observer.disconnect(); cancelAnimationFrame(frame); }};
}

/** The flow as an indented list from the start: each node where it is first reached, later only named. */
function outline(view, byKey) {
  const {unreachable} = layers(view.nodes, view.entry);
  const placed = new Set();
  const item = (key, via) => {
    const node = byKey.get(key);
    const label = via !== undefined ? h("span", {class: "outline-via"}, `${viaText(via)} →`) : null;
    if (!node) return h("li", {class: "outline-missing"}, label, " ", t("flows.missing-node", {key}));
    if (placed.has(key)) {
      return h("li", {class: "outline-again"}, label, " ",
               h("button", {type: "button", "data-node": key, class: "link-button outline-link",
                            on: {click: () => view.onSelect(key)}}, t("flows.outline-again", {name: nodeName(node)})));
    }
    placed.add(key);
    const problems = view.problems.get(key) || [];
    const step = view.path.order.get(key);
    const out = exits(node);
    return h("li", {id: `outline-${key}`, class: ["outline-node", problems.length && "has-problem",
                                                  step !== undefined && "on-path"], "data-node": key},
      label, " ",
      h("button", {type: "button", class: "link-button outline-name", "aria-pressed": String(view.selected === key),
                   on: {click: () => view.onSelect(key)}},
        `${kindText(node.kind)}: ${nodeName(node)}`),
      step !== undefined ? h("span", {class: "node-step"}, h("span", {class: "sr-only"}, t("flows.step")), step) : null,
      h("span", {class: "outline-summary"}, ` – ${summary(node, view.targets)}`),
      problems.map(p => h("p", {class: "node-problem"}, problemWords(p))),
      out.length ? h("ul", {}, out.map(e => item(e.target, e.label))) : null);
  };
  const list = h("ul", {class: "flow-outline"}, byKey.has(view.entry) ? item(view.entry) : null);
  const lost = unreachable.filter(k => !placed.has(k));
  return h("div", {class: "flow-outline-wrap"}, list,
           lost.length ? [h("p", {class: "flow-lost-title"}, t("flows.unreachable-title")),
                          h("ul", {class: "flow-outline"}, lost.map(k => placed.has(k) ? null : item(k)))] : null);
}
