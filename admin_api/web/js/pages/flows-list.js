// The tenant's call flows: the list (each with its published version, whether a draft exists, and the numbers that
// lead to it; search, filter, sort, pages, export) and the "new flow" form (POST /flows: a draft with a first step).

import {api, ApiError, clearProblems, showProblem} from "../api.js";
import {errorLine, field, h, uid} from "../dom.js";
import {formatStamp, t} from "../i18n.js";
import {listView} from "../listview.js";
import {go, href} from "../router.js";
import {pageHead} from "../views.js";
import {fieldError} from "./flows-edit.js";
import {KINDS, kindText, newParams, versionText} from "./flows-model.js";

const enc = encodeURIComponent;

export async function render(view, {session}) {
  const canEdit = session.me.rights.includes("flows");
  const open = canEdit
    ? h("button", {type: "button", class: "primary", "aria-expanded": "false"}, t("flows.new")) : null;
  view.append(pageHead(t("flows.title"), open), h("p", {class: "lead"}, t("flows.lead")));
  if (open) {
    const form = newFlowForm();
    form.hidden = true;
    open.setAttribute("aria-controls", form.id);
    open.addEventListener("click", () => {
      form.hidden = !form.hidden;
      open.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) form.querySelector("input").focus();
    });
    view.append(form);
  }
  const atBy = (at, by) => t("flows.at-by", {at: formatStamp(at, "–"), by});
  await listView(view, {
    path: "/flows", label: t("flows.title"), exportName: "flows",
    columns: [
      {key: "name", label: t("flows.col-name"), cell: f => h("a", {href: href(`/flows/${enc(f.key)}`)}, f.name)},
      {key: "key", label: t("flows.col-key")},
      {key: "published_version", label: t("flows.col-published"),
       cell: f => (f.published_version ? versionText(f.published_version) : t("flows.not-published"))},
      {key: "published_at", label: t("flows.col-published-at"),
       cell: f => (f.published_at ? atBy(f.published_at, f.published_by) : "")},
      {key: "draft", label: t("flows.col-draft"),
       cell: f => (f.draft ? t("flows.draft-at-by", {at: formatStamp(f.draft_at, "–"), by: f.draft_by})
         : t("common.no"))},
      {key: "numbers", label: t("flows.col-numbers"), cell: f => (f.numbers || []).join(", ")},
    ],
    filters: [{name: "draft", label: t("flows.col-draft"),
               options: [["true", t("flows.with-draft")], ["false", t("flows.without-draft")]]}],
  });
}

function newFlowForm() {
  const key = h("input", {type: "text", name: "key", id: uid("key"), required: true, maxlength: "64",
                          autocomplete: "off", autocapitalize: "none", spellcheck: "false"});
  const name = h("input", {type: "text", name: "name", id: uid("name"), required: true, maxlength: "200"});
  const kind = h("select", {name: "kind", id: uid("kind")}, KINDS.map(k => h("option", {value: k}, kindText(k))));
  kind.value = "menu";
  const form = h("form", {class: "panel new-flow", id: uid("new-flow"), novalidate: true,
                          "aria-labelledby": "new-flow-title"},
    h("h2", {id: "new-flow-title"}, t("flows.new-title")), h("p", {class: "hint"}, t("flows.new-lead")),
    h("div", {class: "new-flow-fields"}, field(t("flows.col-name"), name),
      field(t("flows.col-key"), key, t("flows.add-key-hint")),
      field(t("flows.new-first"), kind, t("flows.new-first-hint"))),
    errorLine(),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("flows.new-submit"))));
  form.addEventListener("submit", async e => {
    e.preventDefault();
    clearProblems(form);
    try {
      const targets = await api("/flow-targets");
      const first = {kind: kind.value, key: "start", name: kindText(kind.value),
                     params: newParams(kind.value, targets)};
      const made = await api("/flows", {method: "POST", body: {key: key.value.trim(), name: name.value.trim(),
                                                               entry: "start", nodes: [first]}});
      go(`/flows/${enc(made.key)}`, {show: "draft", node: "start"});
    } catch (err) {
      showProblem(form, err);
      if (err instanceof ApiError && err.status === 409) {
        fieldError(form, "key", t("flows.key-taken"));
        key.focus();
      }
    }
  });
  return form;
}
