// Reports mailed on a schedule (F-09): the list, a form to add one (which report, how often, at what hour, to
// whom) with the API's complaints beside the fields, and removal after a confirmation.

import {api, clearProblems, problemText, showProblem} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {t} from "../i18n.js";
import {confirmDialog} from "../views.js";

const EVERY = ["daily", "weekly", "monthly"];

/** The section: list and form. `numbers`: the tenant's numbers ({number, label}); `zone`: time formatters. */
export async function schedules({numbers, zone}) {
  const list = h("div", {class: "schedule-list"});
  const error = h("p", {class: "error", role: "alert", hidden: true});

  const name = h("input", {id: uid("name"), name: "name", type: "text", maxlength: "100", required: true});
  const report = h("select", {id: uid("report"), name: "report"},
    ["queues", "calls"].map(r => h("option", {value: r}, t(`reports.kind-${r}`))));
  const number = h("select", {id: uid("number"), name: "number"}, h("option", {value: ""}, t("reports.choose-number")),
    numbers.map(n => h("option", {value: n.number}, n.label ? `${n.number} (${n.label})` : n.number)));
  const hide = h("input", {id: uid("hide"), name: "hide_dialled", type: "checkbox"});
  const sl = h("input", {id: uid("sl"), name: "service_level_s", type: "number", min: "1", max: "3600", value: "20",
                         inputmode: "numeric"});
  const every = h("select", {id: uid("every"), name: "every"}, EVERY.map(e => h("option", {value: e},
                                                                              t(`reports.every-${e}`))));
  const hour = h("input", {id: uid("hour"), name: "hour", type: "number", min: "0", max: "23", value: "6",
                           inputmode: "numeric"});
  const recipients = h("textarea", {id: uid("recipients"), name: "recipients", rows: "2", required: true});
  const callsOnly = h("div", {class: "calls-only"}, field(t("reports.number"), number),
    h("div", {class: "field"}, h("label", {class: "check", for: hide.id}, hide, t("reports.hide-dialled"))));
  const queuesOnly = h("div", {class: "queues-only"}, field(t("reports.sl"), sl));
  const form = h("form", {novalidate: true, class: "schedule-form"},
    h("h3", {}, t("reports.schedule-add")),
    h("div", {class: "schedule-fields"}, field(t("reports.schedule-name"), name), field(t("reports.kind"), report),
      callsOnly, queuesOnly, field(t("reports.every"), every),
      field(t("reports.send-hour"), hour, t("reports.hour-hint")),
      field(t("reports.recipients"), recipients, t("reports.recipients-hint"))),
    errorLine(), h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("reports.add"))));

  const kindShown = () => {
    callsOnly.hidden = report.value !== "calls";
    queuesOnly.hidden = report.value !== "queues";
  };
  report.addEventListener("change", kindShown);
  kindShown();

  form.addEventListener("submit", async e => {
    e.preventDefault();
    clearProblems(form);
    const body = {name: name.value.trim(), report: report.value, every: every.value,
                  hour: Number(hour.value), recipients: recipients.value.split(/[\s,;]+/).filter(Boolean)};
    if (report.value === "calls") {
      if (number.value) body.number = number.value;
      body.hide_dialled = hide.checked;
    } else {
      body.service_level_s = Number(sl.value);
    }
    try {
      const made = await api("/reports/schedules", {method: "POST", body});
      announce(t("reports.schedule-added", {name: made.name}));
      name.value = "";
      recipients.value = "";
      await draw();
    } catch (err) {
      showProblem(form, err);
    }
  });

  async function remove(s) {
    const sure = await confirmDialog(t("reports.schedule-remove-title"), t("reports.remove"),
                                     {detail: t("reports.schedule-remove-text", {name: s.name})});
    if (!sure) return;
    error.hidden = true;
    try {
      await api(`/reports/schedules/${encodeURIComponent(s.id)}`, {method: "DELETE"});
      announce(t("reports.schedule-removed", {name: s.name}));
      await draw();
    } catch (err) {
      error.textContent = problemText(err);
      error.hidden = false;
    }
  }

  async function draw() {
    let items;
    try {
      items = (await api("/reports/schedules", {query: {per_page: 500, sort: "name"}})).items;
    } catch (err) {
      error.textContent = problemText(err);
      error.hidden = false;
      return;
    }
    if (!items.length) { list.replaceChildren(h("p", {class: "empty"}, t("reports.schedules-none"))); return; }
    const head = [t("reports.schedule-name"), t("reports.kind"), t("reports.every"), t("reports.recipients"),
                  t("reports.next-run"), t("reports.last-run"), ""];
    list.replaceChildren(h("div", {class: "table-wrap"}, h("table", {class: "list schedules"},
      h("caption", {class: "sr-only"}, t("reports.schedules")),
      h("thead", {}, h("tr", {}, head.map(c => h("th", {scope: "col"}, c)))),
      h("tbody", {}, items.map(s => {
        const button = h("button", {type: "button", class: "link-button",
                                    "aria-label": t("reports.remove-named", {name: s.name})}, t("reports.remove"));
        button.addEventListener("click", () => remove(s));
        return h("tr", {dataset: {id: s.id}},
          h("td", {"data-label": head[0]}, s.name),
          h("td", {"data-label": head[1]}, t(`reports.kind-${s.report}`),
            s.number ? h("span", {class: "sub"}, ` ${s.number}${s.hide_dialled ? `, ${t("reports.hidden")}` : ""}`)
              : null),
          h("td", {"data-label": head[2]}, t("reports.every-at", {every: t(`reports.every-${s.every}`),
                                                                   hour: String(s.hour).padStart(2, "0")})),
          h("td", {"data-label": head[3]}, s.recipients.join(", ")),
          h("td", {"data-label": head[4]}, zone.dateTime(s.next_run_at)),
          h("td", {"data-label": head[5]}, s.last_run_at ? `${zone.dateTime(s.last_run_at)} (${s.last_status || ""})`
            : null),
          h("td", {"data-label": head[6]}, button));
      })))));
  }

  await draw();
  const id = uid("schedules");
  return h("section", {class: "panel report-part schedules-part", "aria-labelledby": id},
    h("h2", {id}, t("reports.schedules")), h("p", {class: "hint"}, t("reports.schedules-hint")), error, list, form);
}
