// The list view every list uses: search, filters, sortable columns, pages, and export of the whole
// filtered list as CSV or XLSX — all done by the API (?q, ?sort, ?page, ?per_page, ?format). The state lives in
// the address (#/users?q=berg&sort=-name&page=2), so reload and the back button keep it.

import {api, apiUrl, problemText} from "./api.js";
import {h, uid} from "./dom.js";
import {formatNumber, t} from "./i18n.js";
import {current, replaceQuery} from "./router.js";

let documentPromise = null;

/** The sortable fields of a list operation and its default order, read from the API's own OpenAPI document. */
async function sortable(path) {
  documentPromise ||= fetch(apiUrl("/openapi.json"), {credentials: "same-origin"}).then(r => r.json());
  try {
    const doc = await documentPromise;
    const op = ((doc.paths || {})[apiUrl(path)] || {}).get || {};
    const sort = (op.parameters || []).find(p => p.name === "sort");
    return {fields: new Set(((sort && sort.schema.enum) || []).filter(v => !v.startsWith("-"))),
            order: (sort && sort.schema.default) || ""};
  } catch {
    return {fields: new Set(), order: ""};
  }
}

/**
 * columns: [{key, label, cell?(row) → Node|string}]; filters: [{name, label, options: [[value, label]…]}]
 * (an option list may be a promise). `prefix`: this list's names in the address, when a page has two lists
 * (#/queues?queues.q=x&groups.page=2); the address's other fields are kept. Returns nothing: the view runs until
 * the page is left.
 */
export async function listView(container, {path, columns, filters = [], label, exportName, prefix = ""}) {
  const fields = ["q", "sort", "page", "per_page", ...filters.map(f => f.name)];
  const state = {};
  for (const name of fields) {
    const v = current().query.get(prefix + name);
    if (v) state[name] = v;
  }
  /** This list's state into the address, beside what else the address holds. */
  function remember() {
    const query = current().query;
    for (const name of fields) query.delete(prefix + name);
    for (const [name, value] of Object.entries(state)) query.set(prefix + name, value);
    replaceQuery(query);
  }
  const {fields: sortFields, order: defaultOrder} = await sortable(path);

  const search = h("input", {type: "search", name: "q", id: uid("q"), value: state.q || "", autocomplete: "off"});
  const searchForm = h("form", {role: "search", class: "list-search", "aria-label": t("list.search")},
    h("div", {class: "field"}, h("label", {for: search.id}, t("list.search")), search),
    ...filters.map(f => {
      const select = h("select", {name: f.name, id: uid(f.name)}, h("option", {value: ""}, t("list.all")));
      Promise.resolve(f.options).then(options => {
        for (const [value, text] of options) select.append(h("option", {value, selected: state[f.name] === value}, text));
      }).catch(() => { /* the filter stays with "all" */ });
      select.addEventListener("change", () => update({[f.name]: select.value || undefined, page: undefined}));
      return h("div", {class: "field"}, h("label", {for: select.id}, f.label), select);
    }),
    h("div", {class: "field submit"}, h("button", {type: "submit"}, t("list.search-button"))));
  let typing = null;
  searchForm.addEventListener("submit", e => {
    e.preventDefault();
    clearTimeout(typing);
    update({q: search.value.trim() || undefined, page: undefined});
  });
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => update({q: search.value.trim() || undefined, page: undefined}), 400);
  });

  const csv = h("a", {class: "button", download: `${exportName}.csv`}, t("list.export-csv"));
  const xlsx = h("a", {class: "button", download: `${exportName}.xlsx`}, t("list.export-xlsx"));
  const filtered = h("p", {class: "filtered", hidden: true}, t("list.filtered"), " ",
                     h("button", {type: "button", class: "link-button", on: {click: reset}}, t("list.reset")));
  const head = h("tr");
  const body = h("tbody");
  const caption = h("caption", {class: "sr-only"}, label);
  const table = h("table", {class: "list"}, caption, h("thead", {}, head), body);
  const count = h("p", {class: "count", role: "status"});
  const prev = h("button", {type: "button", on: {click: () => update({page: page() - 1})}}, t("list.previous"));
  const next = h("button", {type: "button", on: {click: () => update({page: page() + 1})}}, t("list.next"));
  const perPage = h("select", {id: uid("per-page"), on: {change: e => update({per_page: e.target.value, page: undefined})}},
    [10, 20, 50, 100].map(n => h("option", {value: n, selected: String(n) === (state.per_page || "20")}, n)));
  const pager = h("nav", {class: "pager", "aria-label": t("list.pages")}, prev, count, next,
                  h("label", {class: "per-page", for: perPage.id}, t("list.per-page"), perPage));
  const error = h("p", {class: "error", role: "alert", hidden: true});
  // on a phone the table is a list of cards without column headers: the order is chosen here instead
  const sortSelect = h("select", {id: uid("sort"), on: {change: e => update({sort: e.target.value, page: undefined})}},
    columns.filter(c => sortFields.has(c.key)).flatMap(c => [
      h("option", {value: c.key}, t("list.ascending", {column: c.label})),
      h("option", {value: `-${c.key}`}, t("list.descending", {column: c.label}))]));
  const sortChoice = h("div", {class: "field sort-choice"}, h("label", {for: sortSelect.id}, t("list.sort")), sortSelect);
  if (sortSelect.options.length) searchForm.insertBefore(sortChoice, searchForm.lastChild);
  container.append(searchForm, h("div", {class: "list-tools"}, filtered, h("div", {class: "export"},
    h("span", {}, t("list.export")), csv, xlsx)), error, h("div", {class: "table-wrap"}, table), pager);

  function page() { return Number(state.page || 1); }

  function cellOf(column, row) {
    const value = column.cell ? column.cell(row) : row[column.key];
    return value === "" || value === undefined ? null : value;  // an empty cell stays empty (hidden on a phone)
  }

  function reset() {
    search.value = "";
    for (const f of filters) searchForm.querySelector(`[name="${f.name}"]`).value = "";
    update(Object.fromEntries(["q", "page", ...filters.map(f => f.name)].map(k => [k, undefined])));
  }

  function update(changes) {
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined || v === "" || (k === "page" && Number(v) <= 1)) delete state[k];
      else state[k] = String(v);
    }
    remember();
    load();
  }

  function drawHead() {
    const order = state.sort || defaultOrder;
    sortSelect.value = order;
    head.replaceChildren(...columns.map(c => {
      const dir = order === c.key ? "ascending" : order === `-${c.key}` ? "descending" : null;
      if (!sortFields.has(c.key)) return h("th", {scope: "col"}, c.label);
      const button = h("button", {type: "button", class: "sort"}, c.label,
        h("span", {class: "arrow", "aria-hidden": "true"}, dir === "ascending" ? "▲" : dir === "descending" ? "▼" : "↕"));
      button.addEventListener("click", () => update({sort: dir === "ascending" ? `-${c.key}` : c.key, page: undefined}));
      return h("th", {scope: "col", "aria-sort": dir || "none"}, button);
    }));
  }

  let loading = null;
  async function load() {
    drawHead();
    const query = {...state};
    const exportQuery = {...state, page: undefined, per_page: undefined};
    csv.href = apiUrl(path, {...exportQuery, format: "csv"});
    xlsx.href = apiUrl(path, {...exportQuery, format: "xlsx"});
    filtered.hidden = !(state.q || filters.some(f => state[f.name]));
    if (loading) loading.abort();
    loading = new AbortController();
    table.setAttribute("aria-busy", "true");
    try {
      const result = await api(path, {query, signal: loading.signal});
      error.hidden = true;
      body.replaceChildren(...(result.items.length ? result.items.map(row => h("tr", {}, columns.map(c =>
        h("td", {"data-label": c.label}, cellOf(c, row)))))
        : [h("tr", {}, h("td", {colspan: columns.length, class: "empty"}, t("list.none")))]));
      const pages = Math.max(1, Math.ceil(result.total / result.per_page));
      const first = result.total ? (result.page - 1) * result.per_page + 1 : 0;
      const last = Math.min(result.total, result.page * result.per_page);
      count.textContent = t("list.count", {first: formatNumber(first), last: formatNumber(last),
                                           total: formatNumber(result.total), page: result.page, pages});
      prev.disabled = result.page <= 1;
      next.disabled = result.page >= pages;
    } catch (err) {
      if (err && err.name === "AbortError") return;
      error.textContent = problemText(err);
      error.hidden = false;
      body.replaceChildren();
    } finally {
      table.removeAttribute("aria-busy");
    }
  }

  await load();
}
