// The what-if panel of a flow: a number, a date and time and the keys pressed → the path a call would take
// through the version of the flow shown, and why (POST /what-if; no call is placed). The nodes on the path are
// handed to the page, which lights them up in the visual view.

import {api, ApiError, clearProblems, showProblem} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {locale, t} from "../i18n.js";
import {fieldError} from "./flows-edit.js";
import {kindText, nodeName, viaText} from "./flows-model.js";

/** The nodes a what-if passed as the graph marks them: order (node → its first step number) and edges
 * ("from|label"). */
export function pathMarks(result) {
  const order = new Map(), edges = new Set();
  let prev = null, n = 0;
  for (const d of result ? result.decisions : []) {
    for (const step of d.path || []) {
      n += 1;
      if (!order.has(step.node)) order.set(step.node, n);
      if (prev && step.via && step.via !== "retry") edges.add(`${prev}|${step.via}`);
      prev = step.node;
    }
  }
  return {order, edges};
}

export const NO_PATH = {order: new Map(), edges: new Set()};

/**
 * ctx: {flowKey, version ("draft" | "published" | n), versionText, leading: [numbers that lead here],
 * numbers: [every number the administrator reaches], nodes, onPath(marks)}.
 */
export function whatIfPanel(ctx) {
  const others = ctx.numbers.filter(n => !ctx.leading.includes(n.number));
  const number = h("select", {name: "number", id: uid("number")},
    ctx.leading.length
      ? h("optgroup", {label: t("flows.whatif-leading")}, ctx.leading.map(n => h("option", {value: n}, n))) : null,
    others.length ? h("optgroup", {label: t("flows.whatif-others")},
                      others.map(n => h("option", {value: n.number}, n.label ? `${n.number} (${n.label})` : n.number)))
      : null);
  const date = h("input", {type: "date", name: "at", id: uid("date")});
  const time = h("input", {type: "time", name: "time", id: uid("time")});
  const digits = h("input", {type: "text", name: "digits", id: uid("digits"), autocomplete: "off", inputmode: "tel",
                             maxlength: "60"});
  const logged = h("select", {name: "logged_in", id: uid("logged")},
                   ["all", "none"].map(v => h("option", {value: v}, t(`flows.whatif-logged-${v}`))));
  const answer = h("input", {type: "checkbox", name: "answer", id: uid("answer"), checked: true});
  const result = h("div", {class: "whatif-result", "aria-live": "polite"});
  const clear = h("button", {type: "button", hidden: true}, t("flows.whatif-clear"));
  const form = h("form", {class: "whatif-form", novalidate: true},
    h("p", {class: "hint"}, t("flows.whatif-version", {version: ctx.versionText})),
    h("div", {class: "whatif-fields"},
      field(t("flows.whatif-number"), number, ctx.leading.length ? null : t("flows.whatif-number-hint")),
      field(t("flows.whatif-date"), date, t("flows.whatif-now-hint")), field(t("flows.whatif-time"), time),
      field(t("flows.whatif-digits"), digits, t("flows.whatif-digits-hint")),
      field(t("flows.whatif-logged"), logged)),
    h("label", {class: "check", for: answer.id}, answer, t("flows.whatif-answer")),
    errorLine(),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("flows.whatif-run")), clear));
  if (!ctx.leading.length && !others.length) {
    form.replaceChildren(h("p", {class: "hint"}, t("flows.whatif-no-numbers")));
  }
  clear.addEventListener("click", () => {
    result.replaceChildren();
    clear.hidden = true;
    ctx.onPath(NO_PATH);
  });
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const body = {number: number.value, flow: ctx.flowKey, version: ctx.version, logged_in: logged.value,
                  answer: answer.checked};
    const keys = digits.value.replace(/\s+/g, "");
    clearProblems(form);
    if (!/^[0-9*#,]*$/.test(keys)) {
      fieldError(form, "digits", t("flows.whatif-digits-bad"));
      digits.focus();
      return;
    }
    if (keys) body.digits = keys.includes(",") ? keys.split(",") : keys;
    if (date.value) body.at = `${date.value}T${time.value || "00:00"}:00`;
    try {
      const found = await api("/what-if", {method: "POST", body});
      form.querySelector(".form-error").hidden = true;
      result.replaceChildren(...shown(found, ctx.nodes));
      clear.hidden = false;
      ctx.onPath(pathMarks(found));
      announce(t("flows.whatif-done", {outcome: outcomeText(found)}));
    } catch (err) {
      if (err instanceof ApiError && err.kind === "invalid-flow") {
        const line = form.querySelector(".form-error");
        line.textContent = t("flows.whatif-invalid");
        line.hidden = false;
      } else {
        showProblem(form, ownWords(err));
      }
    }
  });
  return h("section", {class: "panel whatif", "aria-labelledby": "whatif-title"},
           h("h2", {id: "whatif-title"}, t("flows.whatif-title")), form, result);
}

/** The API's refusals of a date or keys in the page's own words (the API speaks JSON Schema). */
function ownWords(err) {
  if (!(err instanceof ApiError) || !err.errors.length) return err;
  const own = {at: "flows.whatif-at-bad", digits: "flows.whatif-digits-bad"};
  const errors = err.errors.map(e => {
    const name = String(e.field || "").split(".")[1];
    return own[name] ? {...e, message: t(own[name])} : e;
  });
  return new ApiError(err.status, {...err.problem, errors});
}

function actionText(kind) {
  const key = `flows.action-${String(kind).toLowerCase()}`;
  const text = t(key);
  return text === key ? kind : text;
}

function outcomeText(found) {
  const last = found.decisions[found.decisions.length - 1];
  return last ? actionText(last.kind) : found.outcome;
}

function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale(), {weekday: "long", day: "numeric", month: "long", year: "numeric",
                                     hour: "2-digit", minute: "2-digit"});
}

/** The answer as a person reads it: the nodes passed (with the path to each), what happens there, and why. */
function shown(found, nodes) {
  const byKey = new Map(nodes.map(n => [n.key, n]));
  let n = 0;
  const keys = (found.digits || []).map(d => d || t("flows.whatif-no-key")).join(", ");
  return [
    h("h3", {}, t("flows.whatif-result")),
    h("p", {class: "whatif-call"}, t("flows.whatif-call", {number: found.number, when: when(found.at),
                                                           keys: keys || t("flows.whatif-no-key")})),
    h("ol", {class: "whatif-decisions"}, found.decisions.map(d => h("li", {class: "whatif-decision"},
      (d.path || []).length ? h("ol", {class: "whatif-nodes"}, d.path.map(step => {
        n += 1;
        const node = byKey.get(step.node);
        return h("li", {value: n, "data-node": step.node},
          h("span", {class: "whatif-via"}, viaText(step.via)), " → ",
          h("strong", {}, node ? `${kindText(node.kind)}: ${nodeName(node)}` : step.node));
      })) : null,
      h("p", {class: "whatif-action"}, h("strong", {}, actionText(d.kind)), ` – ${d.action}`),
      h("ul", {class: "whatif-why", "aria-label": t("flows.whatif-why")}, d.steps.map(s => h("li", {}, s)))))),
    h("p", {class: "whatif-outcome"}, t("flows.whatif-outcome", {outcome: outcomeText(found)})),
  ];
}
