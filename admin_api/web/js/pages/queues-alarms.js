// A queue's alarm thresholds (the right "reports"): each with whether it is raised now, added and removed here.
// The wallboard shows them; the few fields a person sets most often are here, the rest keep the API's defaults.

import {api, clearProblems, problemText, showProblem} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {formatNumber, t} from "../i18n.js";

const METRICS = ["callers_waiting", "longest_wait_s", "average_wait_s", "missed_today", "agents_free_below",
                 "service_level_below"];

export function alarmsPanel(key) {
  const path = `/queues/${encodeURIComponent(key)}/alarms`;
  const body = h("div", {}, h("p", {class: "loading"}, t("common.loading")));
  const error = h("p", {class: "error", role: "alert", hidden: true});
  const name = h("input", {id: uid("alarm-name"), name: "name", type: "text", maxlength: "100", autocomplete: "off"});
  const metric = h("select", {id: uid("metric"), name: "metric"}, METRICS.map(m => h("option", {value: m},
                                                                                     t(`metric.${m}`))));
  const threshold = h("input", {id: uid("threshold"), name: "threshold", type: "text", inputmode: "decimal",
                                class: "short", autocomplete: "off"});
  const add = h("button", {type: "submit"}, t("queues.alarm-add"));
  const form = h("form", {novalidate: true, class: "alarm-add"},
    h("div", {class: "member-add-fields"}, field(t("queues.alarm-name"), name), field(t("queues.alarm-metric"), metric),
      field(t("queues.alarm-threshold"), threshold), h("div", {class: "field submit"}, add)), errorLine());
  const element = h("section", {class: "panel", "aria-labelledby": "alarms-title"},
    h("h2", {id: "alarms-title"}, t("queues.alarms")), h("p", {class: "hint"}, t("queues.alarms-hint")), error, body,
    form);

  form.addEventListener("submit", async e => {
    e.preventDefault();
    const raw = threshold.value.trim().replace(",", ".");
    const payload = {metric: metric.value, threshold: raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw};
    if (name.value.trim()) payload.name = name.value.trim();
    add.disabled = true;
    try {
      await api(path, {method: "POST", body: payload});
      clearProblems(form);
      name.value = threshold.value = "";
      announce(t("queues.alarm-added"));
      await load();
    } catch (err) {
      showProblem(form, err);
    } finally {
      add.disabled = false;
    }
  });

  async function remove(alarm, button) {
    error.hidden = true;
    button.disabled = true;
    try {
      await api(`${path}/${alarm.id}`, {method: "DELETE"});
      announce(t("queues.alarm-removed"));
      await load();
      name.focus();
    } catch (err) {
      error.textContent = problemText(err);
      error.hidden = false;
      button.disabled = false;
    }
  }

  async function load() {
    const alarms = (await api(path, {query: {per_page: 100}})).items;
    if (!alarms.length) { body.replaceChildren(h("p", {class: "empty"}, t("queues.no-alarms"))); return; }
    const cols = [t("queues.alarm-name"), t("queues.alarm-metric"), t("queues.alarm-threshold"), t("queues.alarm-now"), ""];
    body.replaceChildren(h("div", {class: "table-wrap"}, h("table", {class: "list alarms-table"},
      h("caption", {class: "sr-only"}, t("queues.alarms")),
      h("thead", {}, h("tr", {}, cols.map(c => h("th", {scope: "col"}, c)))),
      h("tbody", {}, alarms.map(a => {
        const button = h("button", {type: "button", class: "link-button",
                                    "aria-label": t("queues.alarm-remove-one", {name: a.name || t(`metric.${a.metric}`)})},
                         t("queues.member-remove"));
        button.addEventListener("click", () => remove(a, button));
        return h("tr", {class: a.raised ? "raised" : null},
          h("td", {"data-label": cols[0]}, a.name || "–"), h("td", {"data-label": cols[1]}, t(`metric.${a.metric}`)),
          h("td", {"data-label": cols[2]}, formatNumber(a.threshold)),
          h("td", {"data-label": cols[3]}, a.raised ? t("queues.alarm-raised") : t("queues.alarm-calm")),
          h("td", {"data-label": ""}, button));
      })))));
  }

  return {element, load: () => load().catch(err => { error.textContent = problemText(err); error.hidden = false; })};
}
