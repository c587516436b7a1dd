// A schedule's settings: the weekly opening hours, the exceptions (dated days with their own hours, closed days,
// holidays of the company's own), the holidays template, and its name and time zone. Each is its own form that
// changes only its field (PATCH replaces each given field whole), with the API's errors beside the inputs. Without
// the right "flows" the same things are shown, not offered for change.

import {api, clearProblems} from "../api.js";
import {errorLine, field, h, uid} from "../dom.js";
import {locale, t} from "../i18n.js";
import {facts, yesNo} from "../views.js";
import {showFieldProblems} from "./schedules-form.js";
import {DAYS, hoursText, longDay, weekdayNames} from "./schedules-time.js";

const KNOWN_CATEGORIES = ["public", "de_facto"];

/** The routing core's objections name the schedule, not the field: guess the field from the words. */
function guessField(e) {
  const m = String(e.message || "");
  if (/time zone/.test(m)) return "timezone";
  if (/holiday (country|category|template|exclusion)/.test(m)) return "holidays.country";
  const day = m.match(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b/);
  if (day) return `weekly.${day[1].toLowerCase()}`;
  return null;
}

async function patch(key, body) {
  return api(`/schedules/${encodeURIComponent(key)}`, {method: "PATCH", body});
}

/** A form that PATCHes what `body()` gives, and hands the schedule the API answers to `saved`. */
function patchForm(key, {title, id, hint, content, body, saved}) {
  const submit = h("button", {type: "submit", class: "primary"}, t("schedules.save"));
  const note = h("p", {class: "saved-note", role: "status"});
  const form = h("form", {novalidate: true}, content, errorLine(), h("div", {class: "form-actions"}, submit, note));
  form.addEventListener("submit", async e => {
    e.preventDefault();
    submit.disabled = true;
    note.textContent = "";
    try {
      const answer = await patch(key, body());
      clearProblems(form);
      note.textContent = t("schedules.saved-at", {time: new Date().toLocaleTimeString(locale(), {timeStyle: "short"})});
      await saved(answer);
    } catch (err) {
      showFieldProblems(form, err, guessField);
    } finally {
      submit.disabled = false;
    }
  });
  return h("section", {class: "panel", "aria-labelledby": id}, h("h2", {id}, title),
           hint ? h("p", {class: "hint"}, hint) : null, form);
}

// --- weekly hours ------------------------------------------------------------------------------

export function weeklyPanel(key, schedule, {canEdit, saved}) {
  const names = weekdayNames();
  if (!canEdit) {
    return h("section", {class: "panel", "aria-labelledby": "weekly-title"},
      h("h2", {id: "weekly-title"}, t("schedules.weekly")),
      facts(DAYS.map((d, i) => [names[i][1], hoursText(schedule.weekly[d])])));
  }
  const inputs = DAYS.map((d, i) => h("input", {id: uid(d), name: d, type: "text", value: schedule.weekly[d] || "",
                                                "data-field": `weekly.${d}`, autocomplete: "off", maxlength: "200"}));
  const rows = h("div", {class: "weekly-grid"}, DAYS.map((d, i) => field(names[i][1], inputs[i])));
  return patchForm(key, {
    title: t("schedules.weekly"), id: "weekly-title", hint: t("schedules.weekly-hint"), content: rows,
    body: () => ({weekly: Object.fromEntries(DAYS.map((d, i) => [d, inputs[i].value.trim()]))}),
    saved: async answer => {
      DAYS.forEach((d, i) => { inputs[i].value = answer.weekly[d] || ""; });
      await saved(answer);
    },
  });
}

// --- exceptions --------------------------------------------------------------------------------

export function exceptionsPanel(key, schedule, {canEdit, saved}) {
  if (!canEdit) {
    const items = [...schedule.exceptions].sort((a, b) => a.date.localeCompare(b.date));
    return h("section", {class: "panel", "aria-labelledby": "exceptions-title"},
      h("h2", {id: "exceptions-title"}, t("schedules.exceptions")),
      items.length ? h("ul", {class: "exception-list"}, items.map(e => h("li", {},
        h("strong", {}, e.recurs_yearly ? `${longDay(e.date)} (${t("schedules.yearly")})` : longDay(e.date)), ": ",
        e.holiday && !e.hours ? t("schedules.kind-holiday") : hoursText(e.hours), e.name ? ` – ${e.name}` : "")))
        : h("p", {class: "empty"}, t("schedules.no-exceptions")));
  }
  const list = h("div", {class: "exception-rows"});
  const add = h("button", {type: "button"}, t("schedules.exception-add"));
  const empty = h("p", {class: "empty"}, t("schedules.no-exceptions"));

  function row(e) {
    const date = h("input", {id: uid("date"), type: "date", value: e.date || "", name: "date"});
    const hours = h("input", {id: uid("hours"), type: "text", value: e.hours || "", name: "hours", autocomplete: "off",
                              maxlength: "200"});
    const name = h("input", {id: uid("name"), type: "text", value: e.name || "", name: "name", maxlength: "100",
                             autocomplete: "off"});
    const yearly = h("input", {id: uid("yearly"), type: "checkbox", name: "recurs_yearly", checked: e.recurs_yearly});
    const holiday = h("input", {id: uid("holiday"), type: "checkbox", name: "holiday", checked: e.holiday});
    const remove = h("button", {type: "button", class: "link-button"}, t("schedules.exception-remove"));
    const item = h("fieldset", {class: "exception-row"},
      h("legend", {}, e.date ? longDay(e.date) : t("schedules.exception-new")),
      field(t("schedules.exception-date"), date), field(t("schedules.exception-hours"), hours,
                                                         t("schedules.exception-hours-hint")),
      h("div", {class: "wide"}, field(t("schedules.exception-name"), name)),
      h("div", {class: "field check-field"}, h("label", {class: "check", for: yearly.id}, yearly, t("schedules.yearly")),
        h("label", {class: "check", for: holiday.id}, holiday, t("schedules.exception-holiday"))),
      h("div", {class: "row-actions"}, remove));
    remove.setAttribute("aria-label", t("schedules.exception-remove-one", {day: e.date || t("schedules.exception-new")}));
    remove.addEventListener("click", () => {
      const next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      number();
      (next ? next.querySelector("input") : add).focus();
    });
    return item;
  }

  /** The inputs' paths follow the rows' order (body.exceptions.2.hours is the third row's hours). */
  function number() {
    [...list.children].forEach((item, i) => {
      for (const input of item.querySelectorAll("input")) input.dataset.field = `exceptions.${i}.${input.name}`;
    });
    empty.hidden = list.children.length > 0;
  }

  function fill(items) {
    list.replaceChildren(...[...items].sort((a, b) => a.date.localeCompare(b.date)).map(row));
    number();
  }

  add.addEventListener("click", () => {
    const item = row({});
    list.append(item);
    number();
    item.querySelector("input").focus();
  });
  fill(schedule.exceptions);
  return patchForm(key, {
    title: t("schedules.exceptions"), id: "exceptions-title", hint: t("schedules.exceptions-hint"),
    content: h("div", {}, empty, list, h("div", {class: "form-actions add-row"}, add)),
    body: () => ({exceptions: [...list.children].map(item => {
      const v = name => item.querySelector(`[name="${name}"]`);
      const out = {date: v("date").value, hours: v("hours").value.trim(), recurs_yearly: v("recurs_yearly").checked,
                   holiday: v("holiday").checked};
      if (v("name").value.trim()) out.name = v("name").value.trim();
      return out;
    })}),
    saved: async answer => { fill(answer.exceptions); await saved(answer); },
  });
}

// --- holidays ----------------------------------------------------------------------------------

export function holidaysPanel(key, schedule, {canEdit, saved}) {
  const tpl = schedule.holidays;
  if (!canEdit) {
    return h("section", {class: "panel", "aria-labelledby": "holidays-title"},
      h("h2", {id: "holidays-title"}, t("schedules.holidays")),
      tpl ? facts([[t("schedules.holidays-on"), yesNo(true)], [t("schedules.country"), tpl.country],
                   [t("schedules.categories"), tpl.categories.map(categoryName)],
                   [t("schedules.exclude"), tpl.exclude]])
        : h("p", {}, t("schedules.holidays-off")));
  }
  const on = h("input", {id: uid("on"), type: "checkbox", checked: Boolean(tpl)});
  const country = h("input", {id: uid("country"), type: "text", name: "country", value: tpl ? tpl.country : "SE",
                              maxlength: "2", "data-field": "holidays.country", autocomplete: "off", class: "short"});
  const boxes = KNOWN_CATEGORIES.map(c => h("input", {id: uid(c), type: "checkbox", value: c,
                                                      checked: tpl ? tpl.categories.includes(c) : c === "public",
                                                      "data-field": c === "public" ? "holidays.categories" : null}));
  const others = tpl ? tpl.categories.filter(c => !KNOWN_CATEGORIES.includes(c)) : [];
  const exclude = h("input", {id: uid("exclude"), type: "text", name: "exclude", value: tpl ? tpl.exclude.join(", ") : "",
                              "data-field": "holidays.exclude", autocomplete: "off"});
  const details = h("div", {class: "holiday-details"}, field(t("schedules.country"), country, t("schedules.country-hint")),
    h("fieldset", {class: "field plain"}, h("legend", {}, t("schedules.categories")),
      boxes.map(b => h("label", {class: "check", for: b.id}, b, categoryName(b.value)))),
    field(t("schedules.exclude"), exclude, t("schedules.exclude-hint")));
  const toggle = () => { details.hidden = !on.checked; };
  on.addEventListener("change", toggle);
  toggle();
  return patchForm(key, {
    title: t("schedules.holidays"), id: "holidays-title", hint: t("schedules.holidays-hint"),
    content: h("div", {}, h("div", {class: "field check-field"},
      h("label", {class: "check", for: on.id}, on, t("schedules.holidays-on"))), details),
    body: () => ({holidays: on.checked ? {
      country: country.value.trim().toUpperCase(),
      categories: [...boxes.filter(b => b.checked).map(b => b.value), ...others],
      exclude: exclude.value.split(",").map(s => s.trim()).filter(Boolean)} : null}),
    saved,
  });
}

function categoryName(c) {
  return c === "public" ? t("schedules.category-public") : c === "de_facto" ? t("schedules.category-de-facto") : c;
}

// --- name and time zone ------------------------------------------------------------------------

export function generalPanel(key, schedule, {canEdit, saved}) {
  if (!canEdit) {
    return h("section", {class: "panel", "aria-labelledby": "general-title"},
      h("h2", {id: "general-title"}, t("schedules.general")),
      facts([[t("schedules.name"), schedule.name], [t("schedules.key"), schedule.key],
             [t("schedules.timezone"), schedule.timezone]]));
  }
  const name = h("input", {id: uid("name"), type: "text", name: "name", value: schedule.name, maxlength: "100",
                           "data-field": "name", autocomplete: "off"});
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const listId = uid("zones");
  const zone = h("input", {id: uid("timezone"), type: "text", name: "timezone", value: schedule.timezone,
                           "data-field": "timezone", list: listId, autocomplete: "off", maxlength: "64"});
  return patchForm(key, {
    title: t("schedules.general"), id: "general-title",
    content: h("div", {}, field(t("schedules.name"), name), field(t("schedules.timezone"), zone,
                                                                   t("schedules.timezone-hint")),
               h("datalist", {id: listId}, zones.map(z => h("option", {value: z})))),
    body: () => ({name: name.value.trim(), timezone: zone.value.trim()}),
    saved,
  });
}
