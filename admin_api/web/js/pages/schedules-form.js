// Errors beside nested fields (api.js showProblem finds data-field="weekly.mon" for body.weekly.mon): the messages
// about opening hours are said in the page's language; any other message is the API's own (api.js fieldText).

import {fieldText, showProblem} from "../api.js";
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

/** showProblem with the opening hours' messages in the page's words; `guess(error)` may name a data-field for an
 * error without a body path (the routing core's objections name the schedule, not the field). */
export function showFieldProblems(form, err, guess = () => null) {
  showProblem(form, err, {guess, words: messageText});
}
