// A small bar chart drawn as SVG (no library): stacked or grouped bars, axes with labels, a legend, and a target
// line. It is drawn at the width it is given on the page (and again when that changes), so its text stays the
// same size on a phone as on a desktop. The same figures always go in a table under it (figureTable).

import {h, uid} from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A round top for the axis: 1, 2, 2.5 or 5 × 10^n at or above `value`, and a step of a quarter or fifth of it. */
export function niceScale(value) {
  const top = Math.max(value, 1);
  const power = 10 ** Math.floor(Math.log10(top));
  const nice = [1, 2, 2.5, 5, 10].map(f => f * power).find(v => v >= top);
  const step = [5, 4, 2].map(n => nice / n).find(v => Number.isInteger(v) && v >= 1) || nice;
  return {max: nice, step};
}

/**
 * categories: [{key, label (on the axis), long (in the bar's title)}]; series: [{key, label}] (colours by the CSS
 * class series-<key>); value(categoryKey, seriesKey) → number | null; stacked (default) or side by side;
 * format(n) for the axis and titles; max: a fixed top (100 for percentages); target: {label, value(categoryKey) →
 * number | null} drawn as a dashed line over each bar (one line across when every category has the same);
 * labelledBy: the id of the chart's heading. Returns {element, stop}.
 */
export function barChart({categories, series, value, stacked = true, format = String, max, target, labelledBy,
                          describedBy}) {
  const figure = h("figure", {class: "chart"});
  const legend = h("ul", {class: "legend"}, series.map(x => h("li", {},
    h("span", {class: `swatch series-${x.key}`, "aria-hidden": "true"}), x.label)),
    target ? h("li", {}, h("span", {class: "swatch target", "aria-hidden": "true"}), target.label) : null);
  const holder = h("div", {class: "chart-canvas"});
  figure.append(holder, legend);
  let drawnAt = 0;

  function draw(width) {
    if (!width || Math.abs(width - drawnAt) < 2) return;
    drawnAt = width;
    holder.replaceChildren(svgFor(Math.floor(width)));
  }

  function svgFor(width) {
    const height = width < 520 ? 220 : 260;
    const m = {top: 20, right: 10, bottom: 30, left: 46};
    const plotW = width - m.left - m.right, plotH = height - m.top - m.bottom;
    const v = (c, x) => Number(value(c.key, x.key)) || 0;
    const targets = categories.map(c => (target ? target.value(c.key) : null));
    const highest = Math.max(...categories.map(c => (stacked ? series.reduce((sum, x) => sum + v(c, x), 0)
      : Math.max(...series.map(x => v(c, x))))), ...targets.filter(x => x !== null));
    const scale = max ? {max, step: max / 4} : niceScale(highest);
    const y = n => m.top + plotH - (n / scale.max) * plotH;
    const svg = s("svg", {width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart-svg",
                          "aria-labelledby": labelledBy, "aria-describedby": describedBy, focusable: "false"});
    const id = uid("clip");
    svg.append(s("defs", {}, s("clipPath", {id}, s("rect", {x: m.left, y: m.top, width: plotW, height: plotH}))));
    // the value axis: grid lines and their figures
    for (let tick = 0; tick <= scale.max + 1e-9; tick += scale.step) {
      svg.append(s("line", {x1: m.left, x2: m.left + plotW, y1: y(tick), y2: y(tick), class: tick ? "grid" : "axis"}),
                 s("text", {x: m.left - 6, y: y(tick), class: "tick y", "text-anchor": "end",
                            "dominant-baseline": "middle"}, format(tick)));
    }
    // the bars
    const band = plotW / Math.max(1, categories.length);
    const barW = Math.max(2, Math.min(64, band * 0.7));
    const chars = Math.max(...categories.map(c => String(c.label).length));
    const every = Math.max(1, Math.ceil((chars * 7.2 + 8) / band));
    const bars = s("g", {"clip-path": `url(#${id})`});
    const labels = s("g", {"aria-hidden": "true"});
    categories.forEach((c, i) => {
      const left = m.left + i * band + (band - barW) / 2;
      let base = 0;
      series.forEach((x, j) => {
        const n = v(c, x);
        const top = stacked ? base + n : n;
        const bx = stacked ? left : left + (barW / series.length) * j;
        const bw = stacked ? barW : barW / series.length;
        const rect = s("rect", {x: bx, y: y(top), width: Math.max(1, bw - (stacked ? 0 : 1)),
                                height: Math.max(0, y(stacked ? base : 0) - y(top)), class: `bar series-${x.key}`,
                                "data-category": c.key, "data-series": x.key, "data-value": n},
                       s("title", {}, `${c.long || c.label}: ${x.label} ${format(n)}`));
        if (n > 0) bars.append(rect);
        if (stacked) base = top;
      });
      if (targets[i] !== null && targets[i] !== undefined && !sameTarget(targets)) {
        bars.append(s("line", {x1: left - 3, x2: left + barW + 3, y1: y(targets[i]), y2: y(targets[i]),
                               class: "target", "data-category": c.key, "data-value": targets[i]}));
      }
      // the figure over a single or stacked bar, where it fits (a known 0 % is written too: it is no gap)
      if (stacked || series.length === 1) {
        const known = series.some(x => value(c.key, x.key) !== null && value(c.key, x.key) !== undefined);
        const total = series.reduce((sum, x) => sum + v(c, x), 0);
        const text = format(total);
        if (known && (total > 0 || max) && text.length * 7 + 4 <= band) {
          labels.append(s("text", {x: m.left + i * band + band / 2, y: y(total) - 5, class: "value",
                                 "text-anchor": "middle", "data-category": c.key}, text));
        }
      }
      if (i % every === 0) {
        svg.append(s("text", {x: m.left + i * band + band / 2, y: m.top + plotH + 18, class: "tick x",
                              "text-anchor": "middle"}, c.label));
      }
    });
    svg.append(bars, labels);
    if (sameTarget(targets) && targets[0] !== null && targets[0] !== undefined) {
      svg.append(s("line", {x1: m.left, x2: m.left + plotW, y1: y(targets[0]), y2: y(targets[0]), class: "target",
                            "data-value": targets[0]}));
    }
    svg.append(s("line", {x1: m.left, x2: m.left, y1: m.top, y2: m.top + plotH, class: "axis"}));
    return svg;
  }

  const observer = new ResizeObserver(entries => draw(entries[0].contentRect.width));
  observer.observe(holder);
  return {element: figure, stop: () => observer.disconnect()};
}

function sameTarget(targets) {
  return targets.length > 0 && targets.every(x => x === targets[0]);
}

/** The figures of a chart as a table: head [labels], rows [{key, cells: [..]}], foot: [cells] (a total). */
export function figureTable({caption, head, rows, foot}) {
  const th = (text, scope = "col") => h("th", {scope}, text);
  return h("div", {class: "table-wrap"}, h("table", {class: "list chart-table"},
    h("caption", {class: "sr-only"}, caption),
    h("thead", {}, h("tr", {}, head.map(c => th(c)))),
    h("tbody", {}, rows.map(r => h("tr", {dataset: {category: r.key}}, r.cells.map((cell, i) =>
      h("td", {"data-label": head[i], class: i ? "num" : "label"}, cell))))),
    foot ? h("tfoot", {}, h("tr", {}, foot.map((cell, i) => h("td", {"data-label": head[i],
                                                                      class: i ? "num" : "label"}, cell)))) : null));
}
