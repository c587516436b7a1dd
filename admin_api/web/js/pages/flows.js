// Call flows (F-01, F-03, issue 8). The list is flows-list.js; this is one flow's page: the visual view of the
// version shown (published, draft or an earlier one), editing the draft step by step with the routing core's
// problems on the step they concern, the what-if panel, publishing, and the versions with "publish again".

import {api, ApiError, problemText, showProblem} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {formatStamp, t} from "../i18n.js";
import {go, href, replaceQuery} from "../router.js";
import {facts, pageHead, removalPanel} from "../views.js";
import {addNodeForm, nodeForm, nodeReader} from "./flows-edit.js";
import {flowGraph} from "./flows-graph.js";
import {kindText, nodeName, problemWords, versionText} from "./flows-model.js";
import {confirmStep, versionsPanel} from "./flows-versions.js";
import {NO_PATH, whatIfPanel} from "./flows-whatif.js";

export {render} from "./flows-list.js";

const enc = encodeURIComponent;

export async function renderOne(view, {params, query, session}) {
  const key = params.key;
  const base = `/flows/${enc(key)}`;
  const canEdit = session.me.rights.includes("flows");
  const canNumbers = session.me.rights.includes("numbers");
  // shown: "draft" | "published" | a version's number (as text, from the address); marks: the what-if's path
  const s = {flow: null, versions: [], shown: query.get("show"), selected: query.get("node"), problems: [],
             marks: NO_PATH, adding: false, earlier: new Map()};
  const [targets, , numbers] = await Promise.all([api("/flow-targets"), load(),
    api("/numbers", {query: {per_page: 500}}).then(r => r.items).catch(() => [])]);

  const panel = (cls, labelled) => h("section", {class: `panel ${cls}`, "aria-labelledby": labelled});
  const head = h("div");
  const bar = h("section", {class: "panel flow-bar", "aria-label": t("flows.bar")});
  const alertLine = h("p", {class: "form-error", role: "alert", tabindex: "-1", hidden: true});
  const problemsBox = panel("flow-problems", "flow-problems-title");
  const graphBox = panel("flow-view", "flow-view-title");
  const side = panel("flow-side", "flow-side-title");
  const whatIfBox = h("div"), versionsBox = h("div");
  // a flow a number leads to is not deleted: the API's 409 names the numbers
  const removal = canEdit ? removalPanel({
    title: t("flows.delete"), hint: t("flows.delete-hint"), question: t("flows.delete-confirm", {key}),
    remove: async () => { await api(base, {method: "DELETE"}); go("/flows"); },
    refusal: err => (err instanceof ApiError && err.status === 409 ? t("flows.delete-refused") : null),
  }) : null;
  const root = h("div", {class: "flow-page"}, head, bar, alertLine, problemsBox,
                 h("div", {class: "flow-main"}, graphBox, side), whatIfBox, versionsBox, removal);
  view.append(root);
  // on a phone the flow is shown as a list (the diagram is hidden by the style sheet)
  const narrow = matchMedia("(max-width: 760px)");
  let graph = null, outlineBox = null;
  const syncNarrow = () => { if (outlineBox) outlineBox.open = narrow.matches; };
  narrow.addEventListener("change", syncNarrow);

  async function load() {
    const [flow, versions] = await Promise.all([
      api(base), api(`${base}/versions`, {query: {per_page: 500, sort: "-version"}})]);
    s.flow = flow;
    s.versions = versions.items;
  }

  /** "draft", "published" or an earlier version's number. */
  function shown() {
    const f = s.flow, n = Number(s.shown);
    if (s.shown === "draft" && f.draft) return "draft";
    if (Number.isInteger(n) && n > 0) {
      if (f.published && n === f.published.version) return "published";
      if (s.versions.some(v => v.version === n)) return n;
    }
    return f.published ? "published" : "draft";
  }
  const editable = () => canEdit && shown() === "draft";
  const nextVersion = () => Math.max(0, ...s.versions.map(v => v.version || 0)) + 1;
  const shownText = which => (which === "draft" ? t("flows.the-draft")
    : which === "published" ? t("flows.published-n", {n: s.flow.published.version}) : versionText(which));

  /** The version shown and the routing core's verdict on a draft, read before anything is drawn: the page is then
   * drawn at once, so nothing a person starts typing is drawn over by a slower part. */
  async function prepare() {
    const which = shown();
    if (typeof which === "number" && !s.earlier.has(which)) {
      s.earlier.set(which, await api(`${base}/versions/${which}`));
    }
    s.problems = which === "draft" ? (await api(`${base}/draft/validate`, {method: "POST"})).problems : [];
  }

  function content() {
    const which = shown();
    return which === "draft" ? s.flow.draft : which === "published" ? s.flow.published : s.earlier.get(which);
  }

  function remember() {
    replaceQuery({show: s.shown, node: s.selected});
  }

  // --- the parts of the page ------------------------------------------------------------------------------
  function drawHead() {
    const f = s.flow;
    const links = f.numbers.map(n => h("a", {href: href(`/numbers/${enc(n)}`), class: "number"}, n));
    const published = f.published
      ? t("flows.published-at-by", {n: f.published.version, at: formatStamp(f.published_at, "–"), by: f.published_by})
      : t("flows.not-published");
    head.replaceChildren(h("p", {class: "crumbs"}, h("a", {href: href("/flows")}, t("flows.back"))),
      pageHead(f.name, f.draft ? h("span", {class: "badge-draft"}, t("flows.has-draft")) : null),
      h("section", {class: "panel flow-facts"}, facts([
        [t("flows.col-key"), f.key],
        [t("flows.col-published"), published],
        [t("flows.col-draft"), f.draft ? t("flows.draft-at-by", {at: formatStamp(f.draft.at, "–"), by: f.draft.by})
          : t("flows.no-draft")],
        [t("flows.col-numbers"), links.length ? h("span", {}, links.flatMap((a, i) => (i ? [", ", a] : [a])))
          : t("flows.no-numbers")],
      ]), canEdit && canNumbers && f.published ? leadHere() : null));
  }

  /** "Point a number here": one of the tenant's other numbers to this flow (PATCH /numbers/{number}). */
  function leadHere() {
    const others = numbers.filter(n => n.flow !== key);
    if (!others.length) return null;
    const choice = h("select", {name: "number", id: uid("lead")}, others.map(n => h("option", {value: n.number},
      n.label ? `${n.number} (${n.label})` : n.number)));
    const form = h("form", {class: "lead-here", novalidate: true},
      field(t("flows.lead-number"), choice, t("flows.lead-hint")), errorLine(),
      h("div", {class: "form-actions"}, h("button", {type: "submit"}, t("flows.lead-submit"))));
    form.addEventListener("submit", async e => {
      e.preventDefault();
      try {
        const changed = await api(`/numbers/${enc(choice.value)}`, {method: "PATCH", body: {flow: key}});
        Object.assign(numbers.find(x => x.number === changed.number) || {}, changed);
        await load();
        drawHead();
        drawWhatIf();
        announce(t("flows.lead-done", {number: changed.number}));
      } catch (err) { showProblem(form, err); }
    });
    return form;
  }

  function drawBar() {
    const f = s.flow, which = shown();
    const pick = h("select", {id: uid("shown"), name: "shown"},
      f.draft ? h("option", {value: "draft"}, t("flows.show-draft", {at: formatStamp(f.draft.at, "–")})) : null,
      s.versions.filter(v => v.version).map(v => h("option", {value: String(v.version)},
        v.state === "published" ? t("flows.show-published", {n: v.version}) : versionText(v.version))));
    pick.value = which === "published" ? String(f.published.version) : String(which);
    pick.addEventListener("change", () => show(pick.value));
    const button = (text, cls, click) => h("button", {type: "button", class: cls, on: {click}}, text);
    const actions = [];
    if (canEdit && !f.draft) actions.push(button(t("flows.start-draft"), "primary", startDraft));
    if (editable()) {
      actions.push(button(t("flows.add"), null, () => { s.adding = true; s.selected = null; drawSide(true); }),
                   button(t("flows.publish-as", {n: nextVersion()}), "primary", e => publish(e.currentTarget)),
                   button(t("flows.discard"), "danger", e => discard(e.currentTarget)));
    }
    if (canEdit && typeof which === "number") {
      actions.push(button(t("flows.publish-again", {n: which}), "primary", e => rollBack(which, e.currentTarget)));
    }
    const row = h("div", {class: "flow-bar-row"}, field(t("flows.shown"), pick),
                  actions.length ? h("div", {class: "actions"}, actions) : null);
    const note = f.draft && which !== "draft" ? h("p", {class: "hint"}, t("flows.draft-exists")) : null;
    bar.replaceChildren(...[row, note, editable() ? renameForm() : null].filter(Boolean));
  }

  function renameForm() {
    const name = h("input", {type: "text", name: "name", id: uid("flow-name"), value: s.flow.draft.name,
                             maxlength: "200"});
    const form = h("form", {class: "rename", novalidate: true}, field(t("flows.flow-name"), name), errorLine(),
                   h("button", {type: "submit"}, t("flows.rename")));
    form.addEventListener("submit", async e => {
      e.preventDefault();
      try { await change({name: name.value.trim()}, t("flows.renamed")); } catch (err) { showProblem(form, err); }
    });
    return form;
  }

  /** The draft's problems: those about one step listed (each leads to its step), the rest in the alert line. */
  function drawProblems() {
    const onNodes = s.problems.filter(p => p.node), general = s.problems.filter(p => !p.node);
    alertLine.hidden = !general.length;
    alertLine.textContent = general.map(problemWords).join(" ");
    problemsBox.hidden = shown() !== "draft";
    const nodes = new Map((s.flow.draft ? s.flow.draft.nodes : []).map(n => [n.key, n]));
    const named = k => (nodes.has(k) ? `${kindText(nodes.get(k).kind)}: ${nodeName(nodes.get(k))}` : k);
    const list = h("ul", {class: "problem-list"}, onNodes.map(p => h("li", {},
      h("button", {type: "button", class: "link-button", "data-node": p.node, on: {click: () => select(p.node)}},
        named(p.node)), ` – ${problemWords(p)}`)));
    list.hidden = !onNodes.length;
    problemsBox.replaceChildren(h("h2", {id: "flow-problems-title"}, s.problems.length
      ? t("flows.problems", {count: s.problems.length}) : t("flows.no-problems")), list);
    problemsBox.classList.toggle("ok", !s.problems.length);
  }

  function drawGraph() {
    const c = content();
    if (graph) graph.destroy();
    const byNode = new Map();
    for (const p of shown() === "draft" ? s.problems : []) {
      if (p.node) byNode.set(p.node, [...(byNode.get(p.node) || []), p]);
    }
    graph = flowGraph({nodes: c.nodes, entry: c.entry, targets, problems: byNode, selected: s.selected,
                       path: s.marks, onSelect: select});
    outlineBox = h("details", {class: "flow-outline-box"}, h("summary", {}, t("flows.outline")), graph.outline);
    graphBox.replaceChildren(h("h2", {id: "flow-view-title"}, t("flows.view-title", {version: shownText(shown())})),
      h("p", {class: "hint"}, t("flows.view-hint")), graph.element, outlineBox);
    syncNarrow();
    requestAnimationFrame(() => graph && graph.redraw());
  }

  /** The chosen step: its form (the draft, for those who may change it), or its settings to read. */
  function drawSide(focus = false) {
    const c = content();
    const node = c.nodes.find(n => n.key === s.selected);
    const title = h("h2", {id: "flow-side-title", tabindex: "-1"},
                    node ? `${kindText(node.kind)}: ${nodeName(node)}` : t("flows.side-title"));
    if (s.adding && editable()) {
      title.textContent = t("flows.add-title");
      const cancel = () => { s.adding = false; drawSide(true); };
      side.replaceChildren(title, addNodeForm({nodes: c.nodes, targets, onCancel: cancel, onAdd: addNode}));
      side.querySelector("select").focus();
      return;
    }
    if (!node) {
      side.replaceChildren(title, h("p", {class: "hint"},
                                    editable() ? t("flows.side-hint-edit") : t("flows.side-hint")));
    } else if (editable()) {
      side.replaceChildren(title, nodeForm(node, {nodes: c.nodes, entry: c.entry, targets,
        problems: s.problems.filter(p => p.node === node.key), onSave: saveNode, onRemove: removeNode,
        onEntry: makeEntry}));
    } else {
      side.replaceChildren(title, ...nodeReader(node, {nodes: c.nodes, targets, onSelect: select}));
    }
    if (focus) title.focus();
  }

  function drawWhatIf() {
    const which = shown();
    whatIfBox.replaceChildren(whatIfPanel({flowKey: key, version: which, versionText: shownText(which),
      leading: s.flow.numbers, numbers, nodes: content().nodes, onPath: marks => { s.marks = marks; drawGraph(); }}));
  }

  function drawVersions() {
    versionsBox.replaceChildren(versionsPanel({versions: s.versions, canEdit, show, rollBack}));
  }

  async function drawAll() {
    await prepare();
    drawHead();
    drawBar();
    drawProblems();
    drawGraph();
    drawSide();
    drawWhatIf();
    drawVersions();
  }

  // --- actions ---------------------------------------------------------------------------------------------
  function select(nodeKey) {
    s.selected = nodeKey;
    s.adding = false;
    remember();
    drawGraph();
    drawSide(true);
  }

  async function show(which) {
    s.shown = which;
    s.marks = NO_PATH;
    s.adding = false;
    remember();
    await busy(drawAll);
  }

  /** While a change is on its way the page takes no input: what it draws next would replace what was chosen. */
  async function busy(work) {
    root.inert = true;
    root.setAttribute("aria-busy", "true");
    try { return await work(); } finally {
      root.inert = false;
      root.removeAttribute("aria-busy");
    }
  }

  /** A change to the draft (PATCH), then everything drawn again with the routing core's verdict. */
  async function change(body, done) {
    await busy(async () => {
      await api(`${base}/draft`, {method: "PATCH", body});
      await load();
      s.shown = "draft";
      remember();
      await drawAll();
    });
    announce(s.problems.length ? `${done} ${t("flows.problems", {count: s.problems.length})}` : done);
  }

  async function saveNode(node) {
    await change({upsert: [node]}, t("flows.node-saved", {name: nodeName(node)}));
    side.querySelector("h2").focus();
  }

  async function addNode(node) {
    s.adding = false;
    s.selected = node.key;
    await change({upsert: [node]}, t("flows.node-added", {name: nodeName(node)}));
    side.querySelector("h2").focus();
  }

  async function removeNode(nodeKey) {
    s.selected = null;
    await change({remove: [nodeKey]}, t("flows.node-removed", {key: nodeKey}));
    side.querySelector("h2").focus();
  }

  async function makeEntry(nodeKey) {
    await change({entry: nodeKey}, t("flows.entry-set", {key: nodeKey}));
  }

  async function startDraft(e) {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      await change({name: s.flow.published.name}, t("flows.draft-started"));
      bar.querySelector("select").focus();
    } catch (err) {
      failLine(err);
      button.disabled = false;
    }
  }

  function failLine(err) {
    alertLine.textContent = problemText(err);
    alertLine.hidden = false;
    alertLine.focus();
  }

  /** After a publish: the version in force shown, the heading focused, and a word for screen readers. */
  async function published(n) {
    await busy(async () => {
      await load();
      s.shown = "published";
      s.marks = NO_PATH;
      remember();
      await drawAll();
    });
    announce(t("flows.published-done", {n}));
    head.querySelector("h1").focus();
  }

  async function publish(button) {
    const n = nextVersion();
    const sure = await confirmStep(button.closest(".flow-bar-row"), t("flows.publish-confirm", {n}),
                                   t("flows.publish-yes", {n}));
    if (!sure) return;
    try {
      const done = await api(`${base}/publish`, {method: "POST", body: {}});
      await published(done.after);
    } catch (err) {
      if (err instanceof ApiError && err.kind === "invalid-flow") {  // the problems, on their steps
        s.problems = err.errors.map(x => ({node: x.node, code: x.code, message: x.message}));
        drawProblems();
        drawGraph();
        alertLine.textContent = [t("flows.publish-refused"), alertLine.textContent].filter(Boolean).join(" ");
        alertLine.hidden = false;
        alertLine.focus();
      } else {
        failLine(err.status === 409 ? new ApiError(409, {title: t("flows.publish-same")}) : err);
      }
    }
  }

  async function rollBack(n, button) {
    const now = s.flow.published ? s.flow.published.version : "–";
    const sure = await confirmStep(button.closest(".flow-bar-row, .table-wrap") || button,
                                   t("flows.again-confirm", {n, current: now}), t("flows.again-yes", {n}));
    if (!sure) return;
    try {
      await api(`${base}/publish`, {method: "POST", body: {version: n}});
      await published(n);
    } catch (err) {
      failLine(err.status === 409 ? new ApiError(409, {title: t("flows.again-same", {n})}) : err);
    }
  }

  async function discard(button) {
    const sure = await confirmStep(button.closest(".flow-bar-row"), t("flows.discard-confirm"),
                                   t("flows.discard-yes"));
    if (!sure) return;
    try {
      await api(`${base}/draft`, {method: "DELETE"});
      if (!s.flow.published) { go("/flows"); return; }  // a flow that was only a draft is gone with it
      await busy(async () => {
        await load();
        s.shown = "published";
        s.selected = null;
        remember();
        await drawAll();
      });
      announce(t("flows.discarded"));
      bar.querySelector("select").focus();
    } catch (err) { failLine(err); }
  }

  await drawAll();
  return () => {
    narrow.removeEventListener("change", syncNarrow);
    if (graph) graph.destroy();
  };
}
