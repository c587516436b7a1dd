// Errors beside nested fields: the API names a field by its whole path (body.weekly.mon,
// body.exceptions.2.hours), and an input here says which path it is (data-field="weekly.mon"). The messages about
// opening hours are said in the page's language; any other message is the API's own (api.js fieldText).

import {clearProblems, fieldText, problemText} from "../api.js";
import {h, uid} from "../dom.js";
import {t} from "../i18n.js";

const HOURS_MESSAGES = [
  [/does not match/, "schedules.err-format"],
  [/expected HH:MM-HH:MM|expected HH:MM/, "schedules.err-format"],
  [/must be between 00:00 and 24:00/, "schedules.err-time"],
  [/must end after it starts/, "schedules.err-order"],
  [/overlap/, "schedules.err-overlap"],
  [/another (yearly )?exception already covers/, "schedules.err-twice"],
];

/** An error's message in words a person reads. */
export function messageText(message) {
  const m = String(message || "");
  const known = HOURS_MESSAGES.find(([re]) => re.test(m));
  return known ? t(known[1]) : fieldText(m);
}

/** The input an error's field path names: the longest path that has one ("exceptions.0.hours", then
 * "exceptions.0", then "exceptions"). */
function inputFor(form, field) {
  const parts = String(field || "").split(".");
  if (parts[0] !== "body") return null;
  for (let n = parts.length; n > 1; n -= 1) {
    const found = form.querySelector(`[data-field="${CSS.escape(parts.slice(1, n).join("."))}"]`);
    if (found) return found;
  }
  return null;
}

/** Show a problem on a form: each error beside the input its path names, the rest in the form's alert line; the
 * first wrong input gets the focus. `guess(error)` may name a data-field for an error without a body path (the
 * routing core's objections name the schedule, not the field). */
export function showFieldProblems(form, err, guess = () => null) {
  clearProblems(form);
  const general = [];
  let first = null;
  for (const e of err && Array.isArray(err.errors) ? err.errors : []) {
    const named = guess(e);
    const input = inputFor(form, e.field) || (named ? form.querySelector(`[data-field="${CSS.escape(named)}"]`) : null);
    if (!input) { general.push(messageText(e.message)); continue; }
    const id = uid("err");
    (input.closest(".field") || input.parentElement).append(h("p", {class: "field-error", id}, messageText(e.message)));
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
    first = first || input;
  }
  const box = form.querySelector(".form-error");
  const text = [problemText(err), ...general].join(" ");
  if (box && text) { box.textContent = text; box.hidden = false; }
  if (first) first.focus();
  else if (box) box.focus();
}
