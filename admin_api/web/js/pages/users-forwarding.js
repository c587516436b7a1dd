// A user's forwarding (U-07): always, on busy, on no answer after so many seconds, each to a colleague, a voicemail
// box, an answer group, a queue or an external number; and activity-based forwarding, where calls go while the
// user has a presence status (lunch, meeting…), for calls to the fixed number, the mobile or both.

import {field, h} from "../dom.js";
import {t} from "../i18n.js";
import {checkbox, choice, editable, sectionForm, showUserProblem, summary, targetPicker, targetText,
  textInput} from "./users-form.js";

const WHEN = ["always", "on_busy", "on_no_answer"];
export const STATUSES = ["available", "busy", "lunch", "meeting", "away", "vacation", "custom"];
const APPLIES = ["both", "fixed", "mobile"];
const MAX_RULES = 10;

/** A whole number as typed, else the text itself (the API says what is wrong with it). */
const seconds = value => (/^\d{1,6}$/.test(value.trim()) ? Number(value.trim()) : value.trim());

export function forwardingSection(state) {
  return editable({
    title: t("users.forwarding"), lead: t("users.forwarding-lead"), canEdit: state.canEdit,
    summary: () => {
      const fw = state.user.forwarding || {};
      return summary([
        ...WHEN.map(w => [t(`users.fw-${w}`), targetText(fw[w], state.lookups) || t("users.fw-off")]),
        [t("users.fw-after"), t("users.seconds", {s: fw.no_answer_after_s ?? 20})],
      ]);
    },
    form: ({done, cancel}) => {
      const fw = state.user.forwarding || {};
      const pickers = WHEN.map(w => targetPicker({name: `forwarding-${w}`, legend: t(`users.fw-${w}`),
                                                 value: fw[w], lookups: state.lookups,
                                                 hint: t(`users.fw-${w}-hint`)}));
      const after = textInput("forwarding-no_answer_after_s", String(fw.no_answer_after_s ?? 20),
                              {type: "number", min: 5, max: 300, inputmode: "numeric", class: "user-seconds"});
      const nodes = [...pickers.map(p => p.node), field(t("users.fw-after"), after, t("users.fw-after-hint"))];
      return sectionForm(nodes, {cancel, submit: async form => {
        const body = {forwarding: {no_answer_after_s: seconds(after.value)}};
        WHEN.forEach((w, i) => { body.forwarding[w] = pickers[i].value(); });
        try {
          await state.save(body);
          done();
        } catch (err) {
          showUserProblem(form, err);
        }
      }});
    },
  });
}

function ruleText(r, lookups) {
  const to = targetText(r.target, lookups) || t("users.rule-no-target");
  const calls = t("users.rule-calls-to", {what: t(`users.applies-${r.applies_to || "both"}`)});
  return h("li", {}, h("strong", {}, t(`presence.${r.status}`)), " → ", to,
           h("span", {class: "user-muted"}, ` (${calls}${r.announce === false ? "" : `; ${t("users.rule-announced")}`})`));
}

/** One rule's fields in the form; `at` is its place (names carry it, for the API's errors). */
function ruleRow(rule, lookups, remove) {
  const status = choice(null, STATUSES.map(s => [s, t(`presence.${s}`)]), rule.status);
  const target = targetPicker({name: "", value: rule.target, lookups, none: t("users.rule-no-target")});
  const applies = choice(null, APPLIES.map(a => [a, t(`users.applies-${a}`)]), rule.applies_to || "both");
  const announce = checkbox(null, rule.announce !== false, t("users.rule-announce"));
  const legend = h("legend", {});
  const drop = h("button", {type: "button", class: "link-button user-remove-rule"}, t("users.rule-remove"));
  const node = h("fieldset", {class: "user-rule"}, legend, field(t("users.rule-status"), status), target.node,
                 field(t("users.rule-applies"), applies), announce.node, h("div", {}, drop));
  drop.addEventListener("click", () => remove(row));
  const row = {
    node,
    place: at => {
      legend.textContent = t("users.rule-n", {n: at + 1});
      drop.replaceChildren(t("users.rule-remove"), h("span", {class: "sr-only"}, ` ${at + 1}`));
      status.setAttribute("name", `presence_rules-${at}-status`);
      applies.setAttribute("name", `presence_rules-${at}-applies_to`);
      announce.box.setAttribute("name", `presence_rules-${at}-announce`);
      target.rename(`presence_rules-${at}-target`);
    },
    value: () => ({status: status.value, target: target.value(), applies_to: applies.value,
                   announce: announce.box.checked}),
  };
  return row;
}

export function rulesSection(state) {
  return editable({
    title: t("users.rules"), lead: t("users.rules-lead"), canEdit: state.canEdit,
    summary: () => {
      const rules = state.user.presence_rules || [];
      return rules.length ? h("ul", {class: "user-rules"}, rules.map(r => ruleText(r, state.lookups)))
        : h("p", {class: "user-empty"}, t("users.rules-none"));
    },
    form: ({done, cancel}) => {
      const list = h("div", {class: "user-rule-list"});
      const rows = [];
      const add = h("button", {type: "button"}, t("users.rule-add"));
      const place = () => {
        rows.forEach((r, i) => r.place(i));
        list.replaceChildren(...rows.map(r => r.node));
        add.disabled = rows.length >= MAX_RULES;
      };
      const remove = row => {
        rows.splice(rows.indexOf(row), 1);
        place();
        add.focus();
      };
      for (const r of state.user.presence_rules || []) rows.push(ruleRow(r, state.lookups, remove));
      add.addEventListener("click", () => {
        const used = new Set(rows.map(r => r.value().status));
        const row = ruleRow({status: STATUSES.find(s => !used.has(s)) || "custom"}, state.lookups, remove);
        rows.push(row);
        place();
        row.node.querySelector("select").focus();
      });
      place();
      return sectionForm([list, h("p", {}, add)], {cancel, submit: async form => {
        const rules = rows.map(r => r.value());
        try {
          await state.save({presence_rules: rules});
          done();
        } catch (err) {
          showUserProblem(form, err, rules);
        }
      }});
    },
  });
}
