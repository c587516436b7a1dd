// A user's barring and call settings: outbound barring (U-10: international, premium, mobile, domestic), call
// waiting (U-03), recording every call they answer, how their phones ring (all at once, or one after the other for
// so many seconds each) and their own voicemail box.

import {field, h} from "../dom.js";
import {t} from "../i18n.js";
import {yesNo} from "../views.js";
import {checkbox, choice, editable, sectionForm, showUserProblem, summary, textInput} from "./users-form.js";

const BARRED = ["international", "premium", "mobile", "domestic"];

function ringText(u) {
  return u.ring === "sequential" ? t("users.ring-sequential-each", {s: u.ring_each_s ?? 15}) : t("users.ring-parallel");
}

function boxName(key, lookups) {
  if (!key) return t("users.no-voicemail");
  return new Map(lookups.voicemail || []).get(key) || key;
}

export function settingsSection(state) {
  return editable({
    title: t("users.settings"), canEdit: state.canEdit,
    summary: () => {
      const u = state.user;
      return summary([
        [t("users.barred"), (u.barred || []).length ? u.barred.map(b => t(`barred.${b}`)) : t("users.barred-none")],
        [t("users.call-waiting"), yesNo(u.call_waiting)], [t("users.record"), yesNo(u.record)],
        [t("users.ring"), ringText(u)], [t("users.voicemail"), boxName(u.voicemail, state.lookups)],
      ]);
    },
    form: ({done, cancel}) => {
      const u = state.user;
      const barred = new Set(u.barred || []);
      const bars = BARRED.map(b => checkbox("barred", barred.has(b), t(`barred.${b}`)));
      bars.forEach((b, i) => { b.box.value = BARRED[i]; });
      const waiting = checkbox("call_waiting", u.call_waiting, t("users.call-waiting"), t("users.call-waiting-hint"));
      const record = checkbox("record", u.record, t("users.record-all"), t("users.record-hint"));
      const ring = choice("ring", [["parallel", t("users.ring-parallel")], ["sequential", t("users.ring-sequential")]],
                          u.ring || "parallel");
      const each = textInput("ring_each_s", String(u.ring_each_s ?? 15),
                             {type: "number", min: 5, max: 300, inputmode: "numeric", class: "user-seconds"});
      const eachField = field(t("users.ring-each"), each, t("users.ring-each-hint"));
      const box = state.lookups.voicemail
        ? choice("voicemail", state.lookups.voicemail, u.voicemail, t("users.no-voicemail"))
        : textInput("voicemail", u.voicemail);
      const show = () => { eachField.hidden = ring.value !== "sequential"; };
      ring.addEventListener("change", show);
      show();
      const nodes = [
        h("fieldset", {class: "user-bars"}, h("legend", {}, t("users.barred-legend")),
          h("p", {class: "hint"}, t("users.barred-hint")), h("div", {class: "user-checks"}, bars.map(b => b.node))),
        waiting.node, record.node,
        h("div", {class: "user-row"}, field(t("users.ring"), ring), eachField),
        field(t("users.voicemail"), box, t("users.voicemail-hint")),
      ];
      return sectionForm(nodes, {cancel, submit: async form => {
        const body = {barred: bars.filter(b => b.box.checked).map(b => b.box.value), call_waiting: waiting.box.checked,
                      record: record.box.checked, ring: ring.value, voicemail: box.value.trim() || null};
        const s = each.value.trim();
        if (ring.value === "sequential" || s !== String(u.ring_each_s ?? 15)) {
          body.ring_each_s = /^\d{1,6}$/.test(s) ? Number(s) : s;
        }
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
