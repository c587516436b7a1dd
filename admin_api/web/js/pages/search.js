// The one search field: what the header's field found among users, numbers and accounts, exact matches
// first, each a link to its page, with the field that matched. The address keeps the words (#/search?q=…).

import {api} from "../api.js";
import {h} from "../dom.js";
import {formatNumber, t} from "../i18n.js";
import {href} from "../router.js";
import {pageHead} from "../views.js";

const LIMIT = 100;
const PAGES = {user: k => `/users/${encodeURIComponent(k)}`, number: k => `/numbers/${encodeURIComponent(k)}`,
               account: k => `/accounts/${encodeURIComponent(k)}`};

function hit(x) {
  const number = x.kind === "number";  // a number is shown as itself, its label beside it
  return h("li", {class: `hit ${x.kind}`},
    h("a", {href: href(PAGES[x.kind](x.key)), class: number ? "number" : null}, number ? x.key : x.label || x.key),
    x.label !== x.key ? h("span", {class: number ? "label" : "key"}, number ? x.label : x.key) : null,
    h("span", {class: "why"}, t("search.matched", {field: t(`search.field-${x.match}`), value: x.value ?? ""})));
}

export async function render(view, {query}) {
  const q = (query.get("q") || "").trim();
  const input = document.getElementById("find-q");
  if (input && input.value !== q) input.value = q;
  view.append(pageHead(q ? t("search.title-for", {q}) : t("search.title")));
  if (!q) {
    view.append(h("p", {class: "lead"}, t("search.empty")));
    return;
  }
  const found = await api("/search", {query: {q, limit: LIMIT}});
  const summary = found.total > found.hits.length
    ? t("search.some", {shown: formatNumber(found.hits.length), total: formatNumber(found.total)})
    : t("search.count", {count: formatNumber(found.total)});
  view.append(h("p", {class: "lead", role: "status"}, summary));
  for (const kind of ["user", "number", "account"]) {
    const hits = found.hits.filter(x => x.kind === kind);
    if (!hits.length) continue;
    view.append(h("section", {class: "panel search-group", "aria-labelledby": `search-${kind}`},
      h("h2", {id: `search-${kind}`}, t(`search.kind-${kind}`, {count: formatNumber(hits.length)})),
      h("ul", {class: "hits"}, hits.map(hit))));
  }
  if (!found.total) view.append(h("p", {}, t("search.none")));
}
