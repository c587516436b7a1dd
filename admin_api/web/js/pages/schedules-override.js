// A schedule's state now, and the one-click override: "closed until 13:00", "closed the rest of the day", "open
// until …", or any state until a chosen time (PUT /schedules/{key}/override); its end said plainly ("Stängt till
// 13:00 idag, sedan gäller öppettiderna"), and removing it (DELETE). The clock is the API's (its `now.at`), not
// the browser's, and every time is the schedule's own time zone's.

import {api, problemText} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {t} from "../i18n.js";
import {showFieldProblems} from "./schedules-form.js";
import {addDays, clock, dayIn, instantOf, isoIn, wallClock, whenText} from "./schedules-time.js";

const QUICK_HOURS = 3;      // "closed until" buttons for the next few whole hours…
const MARGIN_MIN = 30;      // …that are at least this far off

/** The sentence for a schedule's state now: the override and its end, or when the hours change next and to what
 * (`after`: the state from then, when known). */
export function stateSentence(s, zone, after = null) {
  const now = Date.parse(s.now.at);
  const today = dayIn(now, zone);
  const state = t(`schedules.state-${s.now.state}`);
  const o = s.override;
  if (s.now.overridden && o) {
    if (!o.until) return t("schedules.override-forever", {state});
    return t("schedules.override-until", {state, when: whenText(Date.parse(o.until), zone, today)});
  }
  if (!s.now.next_change) return t("schedules.no-change", {state});
  const when = whenText(Date.parse(s.now.next_change), zone, today);
  if (s.now.state === "open") return t("schedules.closes", {state, when});
  return after ? t(`schedules.then-${after}`, {state, when}) : t("schedules.changes", {state, when});
}

/** The state the schedule changes to next (the API says when, not to what: it is asked at that instant). */
export async function stateAfter(key, s) {
  if (!s.now.next_change || s.now.overridden || s.now.state === "open") return null;
  try {
    const then = await api(`/schedules/${encodeURIComponent(key)}`, {query: {at: s.now.next_change}});
    return then.now.state;
  } catch {
    return null;
  }
}

export function overridePanel(key, {canEdit, changed}) {
  let schedule = null, zone = "UTC";
  const stateWord = h("span", {class: "state-word"});
  const sentence = h("p", {class: "state-sentence"});
  const message = h("p", {class: "override-message", hidden: true});
  const expired = h("p", {class: "hint", hidden: true});
  const remove = h("button", {type: "button", class: "danger", hidden: true}, t("schedules.override-remove"));
  const quick = h("div", {class: "quick", role: "group", "aria-label": t("schedules.quick")});
  const error = h("p", {class: "error", role: "alert", hidden: true});

  const stateSelect = h("select", {id: uid("state"), name: "state", "data-field": "state"},
    ["closed", "open", "holiday"].map(s => h("option", {value: s}, t(`schedules.state-${s}`))));
  const untilDay = h("input", {id: uid("until-day"), name: "until-day", type: "date", "data-field": "until-day"});
  const untilTime = h("input", {id: uid("until"), name: "until", type: "time", "data-field": "until"});
  const forever = h("input", {id: uid("forever"), name: "forever", type: "checkbox"});
  const note = h("input", {id: uid("message"), name: "message", type: "text", maxlength: "200", "data-field": "message",
                           autocomplete: "off"});
  const submit = h("button", {type: "submit", class: "primary"}, t("schedules.override-set"));
  const form = h("form", {novalidate: true, class: "override-form"},
    h("h3", {}, t("schedules.override-own")),
    h("div", {class: "override-fields"}, field(t("schedules.override-state"), stateSelect),
      field(t("schedules.override-day"), untilDay), field(t("schedules.override-time"), untilTime),
      h("div", {class: "field check-field"}, h("label", {class: "check", for: forever.id}, forever,
                                                  t("schedules.override-forever-label")))),
    field(t("schedules.override-message"), note, t("schedules.override-message-hint")), errorLine(),
    h("div", {class: "form-actions"}, submit));
  forever.addEventListener("change", () => { untilDay.disabled = untilTime.disabled = forever.checked; });

  const element = h("section", {class: "panel state-now", "aria-labelledby": "state-now-title"},
    h("h2", {id: "state-now-title"}, t("schedules.now")),
    h("p", {class: "state-line"}, h("span", {class: "dot", "aria-hidden": "true"}), stateWord),
    sentence, message, expired, canEdit ? h("div", {class: "form-actions"}, remove) : null, error,
    canEdit ? h("div", {class: "override-tools"}, h("h3", {}, t("schedules.quick")), quick, form) : null);

  async function put(body, how) {
    error.hidden = true;
    try {
      const answer = await api(`/schedules/${encodeURIComponent(key)}/override`, {method: "PUT", body});
      announce(t("schedules.override-done", {text: stateSentence(answer, zone)}));
      await changed(answer);
      return true;
    } catch (err) {
      if (how === "form") showFieldProblems(form, err, e => (String(e.field).startsWith("body.until") ? "until" : null));
      else { error.textContent = problemText(err); error.hidden = false; }
      return false;
    }
  }

  remove.addEventListener("click", async () => {
    error.hidden = true;
    remove.disabled = true;
    try {
      await api(`/schedules/${encodeURIComponent(key)}/override`, {method: "DELETE"});
      announce(t("schedules.override-removed"));
      await changed(null);
    } catch (err) {
      error.textContent = problemText(err);
      error.hidden = false;
    } finally {
      remove.disabled = false;
    }
  });

  form.addEventListener("submit", async e => {
    e.preventDefault();
    const body = {state: stateSelect.value};
    if (!forever.checked) {
      const minutes = /^\d{2}:\d{2}$/.test(untilTime.value)
        ? Number(untilTime.value.slice(0, 2)) * 60 + Number(untilTime.value.slice(3)) : null;
      // an empty or unreadable time goes as it is: the API's answer says what is wrong, beside the field
      body.until = minutes === null || !untilDay.value ? `${untilDay.value}T${untilTime.value}`
        : isoIn(instantOf(untilDay.value, minutes, zone), zone);
    }
    if (note.value.trim()) body.message = note.value.trim();
    submit.disabled = true;
    if (await put(body, "form")) note.value = "";
    submit.disabled = false;
  });

  let quickFor = "";  // the day and hours the buttons are for: rebuilt only when they change (a focus stays put)

  function quickButtons() {
    const now = Date.parse(schedule.now.at);
    const today = dayIn(now, zone);
    const w = wallClock(now, zone);
    const minute = w.hour * 60 + w.minute;
    const first = Math.ceil((minute + MARGIN_MIN) / 60);
    if (quickFor === `${zone} ${today} ${first}`) return;
    quickFor = `${zone} ${today} ${first}`;
    const buttons = [];
    for (let hour = first; hour < 24 && buttons.length < QUICK_HOURS; hour += 1) {
      const until = instantOf(today, hour * 60, zone);
      buttons.push(h("button", {type: "button", on: {click: () => put({state: "closed", until: isoIn(until, zone)})}},
                     t("schedules.quick-closed-until", {time: clock(hour * 60)})));
    }
    const midnight = instantOf(addDays(today, 1), 0, zone);
    buttons.push(h("button", {type: "button", on: {click: () => put({state: "closed", until: isoIn(midnight, zone)})}},
                   t("schedules.quick-closed-today")));
    buttons.push(h("button", {type: "button", on: {click: () => {
      stateSelect.value = "open";
      forever.checked = false;
      untilDay.disabled = untilTime.disabled = false;
      untilTime.focus();
    }}}, t("schedules.quick-open-until")));
    quick.replaceChildren(...buttons);
  }

  return {
    element,
    update(next, zoneNow, after) {
      schedule = next;
      zone = zoneNow;
      const s = next.now.state;
      element.dataset.state = s;
      stateWord.textContent = t(`schedules.state-${s}`) + (next.now.overridden ? ` (${t("schedules.overridden")})` : "");
      sentence.textContent = stateSentence(next, zone, after);
      const o = next.override;
      message.hidden = !(o && o.message && next.now.overridden);
      message.textContent = o && o.message ? t("schedules.override-note", {message: o.message}) : "";
      const over = Boolean(o && !next.now.overridden);
      expired.hidden = !over;
      if (over) {
        expired.textContent = t("schedules.override-over", {when: whenText(Date.parse(o.until), zone,
                                                                           dayIn(Date.parse(next.now.at), zone))});
      }
      remove.hidden = !o;
      if (!canEdit) return;
      quickButtons();
      const now = Date.parse(next.now.at);
      if (!untilDay.value) untilDay.value = dayIn(now, zone);
      if (!untilTime.value) {
        const w = wallClock(now + 60 * 60 * 1000, zone);
        untilTime.value = clock(w.hour * 60);
      }
    },
  };
}
