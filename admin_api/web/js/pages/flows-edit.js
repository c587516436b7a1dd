// A flow's steps (nodes) one at a time: a step's settings to read; and editing the draft: the form of one step
// (only the fields its kind has; the choices for prompts, queues, groups, users, schedules, boxes and other steps
// come from the API), the form that adds a step, and the routing core's problems put beside the field they concern.

import {ApiError, clearProblems, fieldText, problemText} from "../api.js";
import {errorLine, field, h, uid} from "../dom.js";
import {t} from "../i18n.js";
import {facts} from "../views.js";
import {DIGITS, exits, FIELDS, KINDS, kindText, newParams, nodeName, problemField, problemWords, settings, viaText}
  from "./flows-model.js";

const LISTS = {prompt: "prompts", queue: "queues", group: "groups", user: "users", schedule: "schedules", box: "boxes"};
const KEY = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A <select> of `items` ([value, text] or {label, items} groups); the current value is kept even when it is not
 * among them (nothing is lost by saving a node whose target has gone). */
function select(name, value, items, {optional = false, label} = {}) {
  const el = h("select", {name, id: uid(name)});
  el.append(h("option", {value: ""}, optional ? t("flows.none") : t("flows.choose")));
  const known = new Set();
  for (const item of items) {
    if (item.items) {
      for (const [v] of item.items) known.add(v);
      el.append(h("optgroup", {label: item.label}, item.items.map(([v, text]) => h("option", {value: v}, text))));
    } else {
      known.add(item[0]);
      el.append(h("option", {value: item[0]}, item[1]));
    }
  }
  if (value && !known.has(value)) el.append(h("option", {value}, t("flows.unknown-choice", {key: value})));
  el.value = value || "";
  if (label) el.setAttribute("aria-label", label);
  return el;
}

function choicesOf(type, targets, nodes) {
  if (type === "node") return nodes.map(n => [n.key, `${nodeName(n)} (${kindText(n.kind)})`]);
  if (type === "prompt") {
    const own = targets.prompts.filter(p => !p.system), system = targets.prompts.filter(p => p.system);
    return [{label: t("flows.prompts-own"), items: own.map(p => [p.key, p.name])},
            {label: t("flows.prompts-system"), items: system.map(p => [p.key, p.name])}];
  }
  return (targets[LISTS[type]] || []).map(c => [c.key, c.name]);
}

/** Put `text` beside the input (or group) named `name` in `form`; false when the form has no such field. */
export function fieldError(form, name, text) {
  const input = form.querySelector(`[name="${CSS.escape(name)}"]`)
    || form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!input) return false;
  const id = uid("err");
  const holder = input.closest(".field") || input;
  holder.append(h("p", {class: "field-error", id}, text));
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
  return true;
}

/** A refused save: each error beside its field (…params.timeout_s → the field timeout_s), the rest in the line. */
function showRefusal(form, err) {
  clearProblems(form);
  const rest = [];
  for (const e of err instanceof ApiError ? err.errors : []) {
    const parts = String(e.field || "").split(".");
    const name = parts.includes("params") ? parts[parts.indexOf("params") + 1] : parts[parts.length - 1];
    if (!name || !fieldError(form, name, fieldText(e.message))) rest.push(fieldText(e.message));
  }
  const line = form.querySelector(".form-error");
  line.textContent = [problemText(err), ...rest].join(" ");
  line.hidden = false;
  line.focus();
}

// --- one step to read ---------------------------------------------------------------------------------------

/** A step's settings and its paths onward; each path's step is a button that selects it. */
export function nodeReader(node, {nodes, targets, onSelect}) {
  const byKey = new Map(nodes.map(n => [n.key, n]));
  const out = exits(node);
  const to = e => (byKey.has(e.target)
    ? h("button", {type: "button", class: "link-button", on: {click: () => onSelect(e.target)}},
        nodeName(byKey.get(e.target)))
    : t("flows.missing-node", {key: e.target}));
  return [facts([[t("flows.col-key"), node.key], ...settings(node, targets)]), h("h3", {}, t("flows.paths")),
          out.length ? h("ul", {class: "paths"}, out.map(e => h("li", {}, `${viaText(e.label)} → `, to(e))))
            : h("p", {class: "hint"}, t("flows.no-paths"))];
}

// --- one node's form ---------------------------------------------------------------------------------------

function choiceRow(digit, target, nodes, onRemove) {
  const key = select("choice-digit", digit, DIGITS.map(d => [d, d]), {label: t("flows.choice-digit")});
  const to = select("choice-target", target, choicesOf("node", {}, nodes), {label: t("flows.choice-target")});
  const row = h("li", {class: "choice-row"}, key, h("span", {"aria-hidden": "true"}, "→"), to);
  const relabel = () => {
    key.setAttribute("aria-label", t("flows.choice-digit"));
    to.setAttribute("aria-label", t("flows.choice-target-of", {digit: key.value}));
    remove.textContent = t("flows.choice-remove", {digit: key.value});
  };
  const remove = h("button", {type: "button", class: "link-button", on: {click: () => { row.remove(); onRemove(); }}});
  key.addEventListener("change", relabel);
  row.append(remove);
  relabel();
  return row;
}

function choicesField(value, nodes) {
  const list = h("ul", {class: "choices"});
  const add = h("button", {type: "button"}, t("flows.choice-add"));
  const focusAdd = () => add.focus();
  for (const [digit, target] of value || []) list.append(choiceRow(digit, target, nodes, focusAdd));
  add.addEventListener("click", () => {
    const used = new Set([...list.querySelectorAll("[name=choice-digit]")].map(s => s.value));
    const row = choiceRow(DIGITS.find(d => !used.has(d)) || "1", "", nodes, focusAdd);
    list.append(row);
    row.querySelector("[name=choice-target]").focus();
  });
  return h("fieldset", {class: "field choices-field", "data-field": "choices"},
           h("legend", {}, t("flows.field-choices")), list, add);
}

function codesField(value, targets) {
  const own = targets.prompts.filter(p => !p.system).map(p => [p.key, p.name]);
  const list = h("ul", {class: "choices"});
  const row = (code, prompt) => {
    const input = h("input", {name: "code", value: code, inputmode: "numeric", maxlength: "4", size: "4",
                              "aria-label": t("flows.code")});
    const li = h("li", {class: "choice-row"}, input, h("span", {"aria-hidden": "true"}, "→"),
                 select("code-prompt", prompt, own, {label: t("flows.code-prompt")}),
                 h("button", {type: "button", class: "link-button", on: {click: () => li.remove()}},
                   t("flows.code-remove")));
    return li;
  };
  for (const [code, prompt] of value || []) list.append(row(code, prompt));
  const add = h("button", {type: "button", on: {click: () => list.append(row("", ""))}}, t("flows.code-add"));
  return h("fieldset", {class: "field choices-field", "data-field": "prompts"},
           h("legend", {}, t("flows.field-prompts")), list, add);
}

function usersField(value, targets) {
  const chosen = new Set(value || []);
  return h("fieldset", {class: "field users-field", "data-field": "users"}, h("legend", {}, t("flows.field-users")),
    h("p", {class: "hint"}, t("flows.users-hint")),
    targets.users.map(u => h("label", {class: "check"}, h("input", {type: "checkbox", name: "users", value: u.key,
                                                                     checked: chosen.has(u.key)}), u.name)));
}

function input(f, value, targets, nodes) {
  const label = t(`flows.field-${f.name}`);
  if (f.type === "choices") return choicesField(value, nodes);
  if (f.type === "codes") return codesField(value, targets);
  if (f.type === "users") return usersField(value, targets);
  let el;
  if (f.type === "number") {
    el = h("input", {type: "number", name: f.name, id: uid(f.name), min: f.min, max: f.max, step: "1",
                     value: value ?? ""});
  } else if (f.type === "text") {
    el = h("input", {type: "text", name: f.name, id: uid(f.name), value: value ?? "", autocomplete: "off",
                     inputmode: f.name === "number" ? "tel" : null});
  } else if (f.type === "via") {
    el = select(f.name, value, ["fixed", "mobile"].map(v => [v, t(`flows.via-user-${v}`)]));
  } else if (f.type === "service") {
    el = select(f.name, value, ["voicemail", "prompts"].map(v => [v, t(`flows.service-${v}`)]));
  } else {
    el = select(f.name, value, choicesOf(f.type, targets, nodes), {optional: f.optional});
  }
  const hint = t(`flows.hint-${f.name}`);
  return field(label, el, hint === `flows.hint-${f.name}` ? null : hint);
}

/** The node's settings as the form holds them, or null after marking what cannot be sent. */
function collect(form, node) {
  clearProblems(form);
  const params = {...node.params};
  let ok = true;
  for (const f of FIELDS[node.kind] || []) {
    if (f.type === "choices") {
      const rows = [...form.querySelectorAll(".choices-field[data-field=choices] .choice-row")];
      params.choices = rows.map(r => [r.querySelector("[name=choice-digit]").value,
                                      r.querySelector("[name=choice-target]").value]);
      const digits = params.choices.map(c => c[0]);
      const twice = digits.find((d, i) => digits.indexOf(d) !== i);
      if (twice) {
        fieldError(form, "choices", t("flows.choice-twice", {digit: twice}));
        ok = false;
      }
    } else if (f.type === "codes") {
      params.prompts = [...form.querySelectorAll("[data-field=prompts] .choice-row")].map(
        r => [r.querySelector("[name=code]").value.trim(), r.querySelector("[name=code-prompt]").value]);
    } else if (f.type === "users") {
      params.users = [...form.querySelectorAll("input[name=users]:checked")].map(c => c.value);
    } else if (f.type === "number") {
      const raw = form.querySelector(`[name=${f.name}]`).value.trim();
      const n = Number(raw);
      if (!raw || !Number.isInteger(n) || n < f.min || n > f.max) {
        fieldError(form, f.name, t("flows.number-range", {min: f.min, max: f.max}));
        ok = false;
      } else {
        params[f.name] = n;
      }
    } else {
      const v = form.querySelector(`[name=${f.name}]`).value.trim();
      params[f.name] = v === "" && f.optional ? null : v;
    }
  }
  const name = form.querySelector("[name=name]").value.trim();
  return ok ? {kind: node.kind, key: node.key, name, params} : null;
}

/**
 * The form of one node of the draft. ctx: {nodes, entry, targets, problems: [problem], onSave(node) → promise,
 * onRemove(key) → promise, onEntry(key) → promise}.
 */
export function nodeForm(node, ctx) {
  const nameInput = h("input", {type: "text", name: "name", id: uid("name"), value: node.name || "", maxlength: "200",
                                autocomplete: "off"});
  const save = h("button", {type: "submit", class: "primary"}, t("flows.node-save"));
  const remove = h("button", {type: "button", class: "danger"}, t("flows.node-remove"));
  const entry = node.key === ctx.entry ? null : h("button", {type: "button"}, t("flows.node-make-entry"));
  const general = h("ul", {class: "node-problems"});
  const form = h("form", {class: "node-form", novalidate: true,
                          "aria-label": t("flows.node-form", {name: nodeName(node)})},
    h("p", {class: "node-key"}, t("flows.node-key", {key: node.key})),
    general, field(t("flows.field-name"), nameInput),
    (FIELDS[node.kind] || []).map(f => input(f, node.params[f.name], ctx.targets, ctx.nodes)),
    errorLine(), h("div", {class: "form-actions"}, save, entry, remove));
  const showProblems = () => {
    for (const p of ctx.problems) {
      const name = problemField(p, node);
      const words = problemWords(p);
      if (!name || !fieldError(form, name, words)) general.append(h("li", {class: "node-problem"}, words));
    }
  };
  showProblems();
  const busy = async (work) => {
    for (const b of form.querySelectorAll("button")) b.disabled = true;
    try { await work(); } catch (err) { showRefusal(form, err); } finally {
      for (const b of form.querySelectorAll("button")) b.disabled = false;
    }
  };
  form.addEventListener("submit", e => {
    e.preventDefault();
    general.replaceChildren();
    const changed = collect(form, node);
    if (changed) busy(() => ctx.onSave(changed));
  });
  remove.addEventListener("click", () => busy(() => ctx.onRemove(node.key)));
  if (entry) entry.addEventListener("click", () => busy(() => ctx.onEntry(node.key)));
  return form;
}

// --- adding a node -----------------------------------------------------------------------------------------

/** ctx: {nodes, targets, onAdd(node) → promise, onCancel()}. */
export function addNodeForm(ctx) {
  const kind = h("select", {name: "kind", id: uid("kind")}, KINDS.map(k => h("option", {value: k}, kindText(k))));
  const key = h("input", {type: "text", name: "key", id: uid("key"), required: true, maxlength: "64",
                          autocomplete: "off", autocapitalize: "none", spellcheck: "false"});
  const name = h("input", {type: "text", name: "name", id: uid("name"), maxlength: "200", autocomplete: "off"});
  const form = h("form", {class: "add-node", novalidate: true, "aria-label": t("flows.add-title")},
    h("h3", {}, t("flows.add-title")),
    field(t("flows.add-kind"), kind), field(t("flows.add-key"), key, t("flows.add-key-hint")),
    field(t("flows.field-name"), name), errorLine(),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("flows.add-submit")),
      h("button", {type: "button", on: {click: ctx.onCancel}}, t("flows.cancel"))));
  form.addEventListener("submit", async e => {
    e.preventDefault();
    clearProblems(form);
    const k = key.value.trim();
    if (!KEY.test(k)) { fieldError(form, "key", t("flows.add-key-bad")); key.focus(); return; }
    if (ctx.nodes.some(n => n.key === k)) { fieldError(form, "key", t("flows.add-key-taken")); key.focus(); return; }
    try {
      await ctx.onAdd({kind: kind.value, key: k, name: name.value.trim(), params: newParams(kind.value, ctx.targets)});
    } catch (err) {
      showRefusal(form, err);
    }
  });
  return form;
}
