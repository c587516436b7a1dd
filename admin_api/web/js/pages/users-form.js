// Pieces the user pages share: choices, numbers as people type them in Sweden, a forwarding target (a colleague,
// a voicemail box, a group, a queue or an external number), a section that turns from what is set into a form
// and back, and the API's refusals put beside the field they concern, in words a person reads.

import {ApiError, api, fieldText, problemText, showProblem} from "../api.js";
import {errorLine, field, h, uid} from "../dom.js";
import {has, t} from "../i18n.js";
import {facts} from "../views.js";

export const TARGET_KINDS = ["user", "voicemail", "group", "queue", "external"];

/** A <select> of [value, text] pairs, `none` (if given) as an empty first choice. */
export function choice(name, items, chosen, none) {
  const known = items.some(([value]) => value === chosen);
  const extra = chosen && !known ? [[chosen, chosen]] : [];  // a value outside the lists this person may read
  return h("select", {name, id: uid(name || "choice")}, none !== undefined ? h("option", {value: ""}, none) : null,
           [...items, ...extra].map(([value, text]) => h("option", {value, selected: value === chosen}, text)));
}

export function textInput(name, value, attrs = {}) {
  return h("input", {name, id: uid(name || "field"), value: value ?? "", autocomplete: "off", ...attrs});
}

export function checkbox(name, checked, label, hint) {
  const box = h("input", {type: "checkbox", name, id: uid(name || "check"), checked: Boolean(checked)});
  const hintId = hint ? uid("hint") : null;
  if (hintId) box.setAttribute("aria-describedby", hintId);
  return {box, node: h("div", {class: "field user-check"}, h("label", {for: box.id}, box, h("span", {}, label)),
                        hint ? h("p", {class: "hint", id: hintId}, hint) : null)};
}

/** "070-123 45 67" → "+46701234567", "0046…" → "+46…"; anything else as typed (the API judges it). */
export function toE164(text) {
  const s = String(text || "").replace(/[\s()-]/g, "");
  if (!s) return null;
  if (/^00[1-9]/.test(s)) return `+${s.slice(2)}`;
  if (/^0[1-9]/.test(s)) return `+46${s.slice(1)}`;
  return s;
}

/** An <input type="datetime-local"> value → an RFC 3339 instant; "" → null; nonsense as typed (a 422 follows). */
export function instant(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

/** What the target lists offer this person: [key, name] per kind (null: the list cannot be read with their
 * rights), and the tenant's numbers. */
export async function loadLookups() {
  const list = (path, label) => api(path, {query: {per_page: 500}})
    .then(r => r.items.map(x => [x.key, label(x)])).catch(() => null);
  const [user, voicemail, group, queue, numbers] = await Promise.all([
    list("/users", u => u.extension ? `${u.name} (${u.extension})` : u.name), list("/voicemail/boxes", b => b.name),
    list("/groups", g => g.name), list("/queues", q => q.name),
    api("/numbers", {query: {per_page: 500}}).then(r => r.items).catch(() => [])]);
  return {user, voicemail, group, queue, numbers};
}

/** "voicemail:vaxel" as a person reads it: "Röstbrevlåda Växel". */
export function targetText(text, lookups) {
  if (!text) return null;
  const at = text.indexOf(":");
  const kind = text.slice(0, at), ref = text.slice(at + 1);
  const known = kind === "external" ? null : new Map(lookups[kind] || []).get(ref);
  return t(`users.to-${kind}`, {name: known || ref});
}

/**
 * A forwarding target: the kind of target, then which one (a list) or the number (typed). Only the control
 * shown carries `name`, so the API's error about the target lands beside it. Returns {node, value(), rename(name)}.
 */
export function targetPicker({name, legend, value, lookups, none, hint}) {
  const at = value ? value.indexOf(":") : -1;
  const kind0 = at > 0 ? value.slice(0, at) : "";
  const ref0 = at > 0 ? value.slice(at + 1) : "";
  const kind = choice(null, TARGET_KINDS.map(k => [k, t(`users.kind-${k}`)]), kind0, none || t("users.fw-none"));
  const refs = {};
  const fields = {};
  for (const k of TARGET_KINDS) {
    if (k === "external") {
      refs[k] = textInput(null, kind0 === k ? ref0 : "", {type: "tel", placeholder: "+46701234567"});
      fields[k] = field(t("users.fw-number"), refs[k], t("users.fw-number-hint"));
    } else if (lookups[k]) {
      refs[k] = choice(null, lookups[k], kind0 === k ? ref0 : null, t("users.choose"));
      fields[k] = field(t(`users.kind-${k}`), refs[k]);
    } else {  // the list is not this person's to read: the key, typed
      refs[k] = textInput(null, kind0 === k ? ref0 : "");
      fields[k] = field(t(`users.kind-${k}`), refs[k], t("users.fw-key-hint"));
    }
  }
  let named = name;
  const show = () => {
    for (const k of TARGET_KINDS) {
      fields[k].hidden = kind.value !== k;
      refs[k].removeAttribute("name");
    }
    kind.removeAttribute("name");
    (refs[kind.value] || kind).setAttribute("name", named);
  };
  kind.addEventListener("change", show);
  show();
  const node = h("fieldset", {class: "user-target"}, legend ? h("legend", {}, legend) : null,
                 hint ? h("p", {class: "hint"}, hint) : null,
                 field(t("users.fw-to"), kind), TARGET_KINDS.map(k => fields[k]));
  const read = () => {
    if (!kind.value) return null;
    const ref = kind.value === "external" ? toE164(refs.external.value) || "" : refs[kind.value].value.trim();
    return `${kind.value}:${ref}`;
  };
  return {node, value: read, rename: next => { named = next; show(); }};
}

/** Facts in a section other than the user's details (those are the page's one dl.facts). */
export function summary(pairs) {
  const dl = facts(pairs);
  dl.className = "user-summary";
  return dl;
}

/**
 * A section of the user's page: its heading, what is set now (`summary()`), and for those who may change it a
 * "Change" button that turns the summary into `form({done, cancel})`; saving or cancelling turns it back.
 * Returns {section, refresh} (refresh: show the summary again, unless the form is open).
 */
export function editable({title, lead, summary: draw, form, canEdit, extra}) {
  const headingId = uid("section");
  const body = h("div", {class: "user-section-body"});
  const edit = canEdit ? h("button", {type: "button", class: "user-edit"}, t("common.change"),
                           h("span", {class: "sr-only"}, ` ${title.toLowerCase()}`)) : null;
  let editing = false;
  let section = null;
  const show = () => {
    editing = false;
    if (section) section.classList.remove("editing");
    body.replaceChildren(draw());
    if (edit) edit.hidden = false;
  };
  if (edit) {
    edit.addEventListener("click", () => {
      editing = true;
      section.classList.add("editing");  // an open form takes the whole width
      edit.hidden = true;
      const back = () => { show(); edit.focus(); };
      const f = form({done: back, cancel: back});
      body.replaceChildren(f);
      const first = f.querySelector("input:not([type=hidden]), select");
      if (first) first.focus();
    });
  }
  show();
  section = h("section", {class: "panel user-section", "aria-labelledby": headingId},
    h("div", {class: "user-section-head"}, h("h2", {id: headingId}, title), edit),
    lead ? h("p", {class: "hint user-lead"}, lead) : null, body, extra || null);
  return {section, refresh: () => { if (!editing) show(); }};
}

/** A section's form: its fields, the error line, Save and Cancel. `submit(form)` does the work. */
export function sectionForm(nodes, {submit, cancel, label}) {
  const save = h("button", {type: "submit", class: "primary"}, label || t("common.save"));
  const back = h("button", {type: "button"}, t("common.cancel"));
  const form = h("form", {class: "user-form", novalidate: true}, errorLine(), ...nodes,
                 h("div", {class: "form-actions"}, save, cancel ? back : null));
  back.addEventListener("click", () => cancel());
  form.addEventListener("submit", async e => {
    e.preventDefault();
    save.disabled = true;
    try {
      await submit(form);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

// --- the API's refusals, beside their fields ------------------------------------------------------------------

const FORWARDING = {"always": "always", "on busy": "on_busy", "on no answer": "on_no_answer"};

/** The input a routing-core problem is about ("user anna forwarding on busy" → forwarding-on_busy). */
function routedName(e, rules) {
  const where = String(e.field || "");
  let m = where.match(/^user \S+ forwarding (always|on busy|on no answer)$/);
  if (m) return `forwarding-${FORWARDING[m[1]]}`;
  m = where.match(/^user \S+ presence rule (\w+)$/);
  if (m) {
    const i = rules.findIndex(r => r.status === m[1]);
    return i < 0 ? null : `presence_rules-${i}-target`;
  }
  if (!/^user \S+$/.test(where)) return null;
  const message = String(e.message || "");
  switch (e.code) {
    case "no-mobile": return "mobile_number";
    case "bad-recipient": return "email";
    case "bad-number": return message.startsWith("mobile") ? "mobile_number" : "fixed_number";
    case "bad-ring-time": return message.startsWith("no-answer") ? "forwarding-no_answer_after_s" : "ring_each_s";
    case "dangling-reference": return "voicemail";
    default: return null;
  }
}

/** body.forwarding.on_busy → the input named forwarding-on_busy (or, if the form has none, forwarding). */
function bodyName(form, fieldPath) {
  const parts = fieldPath.split(".").slice(1);
  for (const candidate of [parts.join("-"), parts[0]]) {
    if (candidate && form.querySelector(`[name="${CSS.escape(candidate)}"]`)) return candidate;
  }
  return parts.join("-");
}

/** The message in our words where we know the problem, the API's otherwise. */
function ownWords(e, err) {
  const message = String(e.message || "");
  if (e.code && has(`users.err-${e.code}`)) return t(`users.err-${e.code}`);
  if (err.status === 409) {
    const field = String(e.field || "");
    const who = (message.match(/already (\S+)'s/) || [])[1];
    if (field === "body.extension") return t("users.err-extension-taken", {who: who || "?"});
    if (field === "body.key") return t("users.err-key-taken");
    if (field === "body.name") return t("users.err-phone-taken");
  }
  return message;
}

/** showProblem for the user pages: routing-core problems and nested fields found on the form, our own words. */
export function showUserProblem(form, err, rules = []) {
  if (!(err instanceof ApiError)) { showProblem(form, err); return; }
  const placed = err.errors.map(e => {
    const raw = String(e.field || "");
    const name = raw.startsWith("body.") ? bodyName(form, raw) : routedName(e, rules);
    return {...e, field: name ? `body.${name}` : raw, message: ownWords(e, err)};
  });
  const mine = new ApiError(err.status, {...err.problem, errors: placed});
  showProblem(form, mine);
  const own = {"conflict": "users.problem-conflict", "invalid-config": "users.problem-invalid-config"}[err.kind];
  const box = form.querySelector(".form-error");
  if (own && box) {
    const elsewhere = placed.filter(e => {
      const name = String(e.field).split(".").slice(1).join(".");
      return !(name && String(e.field).startsWith("body.") && form.querySelector(`[name="${CSS.escape(name)}"]`));
    }).map(e => fieldText(e.message));
    box.textContent = [t(own), ...elsewhere].join(" ");
  } else if (box && !box.textContent) {
    box.textContent = problemText(err);
  }
}
