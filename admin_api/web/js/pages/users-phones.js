// A user's phones (U-01) with their line state now (U-06): add one (its SIP username, realm and password are shown
// once, in a box to copy into the phone), give one a new password (shown once too), remove one (asked first).
// Phones configured by hand are listed, not changed here.

import {api, problemText} from "../api.js";
import {announce, field, h} from "../dom.js";
import {formatStamp, t} from "../i18n.js";
import {confirmDialog} from "../views.js";
import {sectionForm, showUserProblem, textInput} from "./users-form.js";

export const LINES = ["free", "ringing", "in_call", "unavailable"];

/** A line state as a person reads it, with its coloured dot. */
export function lineBadge(line) {
  const known = LINES.includes(line);
  return h("span", {class: "user-line", dataset: {line: known ? line : "unknown"}},
           h("span", {class: "dot", "aria-hidden": "true"}), t(known ? `users.line-${line}` : "users.line-unknown"));
}

/** The box the password is shown in, once: nothing keeps it after the page is left or reloaded. */
function secretBox(made, close) {
  const copy = (label, value) => {
    const button = h("button", {type: "button", class: "user-copy"}, t("users.copy"),
                     h("span", {class: "sr-only"}, ` ${label}`));
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(value);
        announce(t("users.copied", {what: label}));
      } catch {
        announce(t("users.copy-failed"));  // the person selects and copies it by hand
      }
    });
    return button;
  };
  const row = (label, value, cls) => [h("dt", {}, label),
    h("dd", {}, h("code", {class: cls}, value), " ", copy(label, value))];
  const done = h("button", {type: "button", class: "primary"}, t("users.secret-done"));
  done.addEventListener("click", close);
  const box = h("section", {class: "user-secret", "aria-labelledby": "user-secret-title", tabindex: "-1"},
    h("h3", {id: "user-secret-title"}, t("users.secret-title", {name: made.label || made.name})),
    h("p", {class: "user-secret-warning"}, t("users.secret-text")),
    h("dl", {}, row(t("users.sip-username"), made.username), row(t("users.password"), made.password, "user-password"),
      row(t("users.realm"), made.realm)),
    h("div", {class: "form-actions"}, done));
  return box;
}

export function phonesSection(state) {
  const path = `${state.path}/devices`;
  const secretSlot = h("div", {});
  const trouble = h("p", {class: "error", role: "alert", hidden: true});
  const table = h("div", {class: "table-wrap"});
  const cells = new Map();  // dial → the cell showing its line state

  const showSecret = made => {
    const box = secretBox(made, () => {
      secretSlot.replaceChildren();
      (state.canEdit ? name : section).focus();
    });
    secretSlot.replaceChildren(box);
    box.focus();
  };

  async function newPassword(d) {
    if (!await confirmDialog(t("users.password-confirm", {name: d.label || d.name}), t("users.new-password"))) return;
    trouble.hidden = true;
    try {
      showSecret(await api(`${path}/${encodeURIComponent(d.name)}/password`, {method: "POST"}));
      announce(t("users.password-made"));
      await refresh();
    } catch (err) {
      trouble.textContent = problemText(err);
      trouble.hidden = false;
    }
  }

  async function remove(d) {
    if (!await confirmDialog(t("users.phone-remove-confirm", {name: d.label || d.name}), t("users.phone-remove"))) {
      return;
    }
    trouble.hidden = true;
    try {
      await api(`${path}/${encodeURIComponent(d.name)}`, {method: "DELETE"});
      secretSlot.replaceChildren();
      announce(t("users.phone-removed", {name: d.label || d.name}));
      await refresh();
    } catch (err) {
      trouble.textContent = problemText(err);
      trouble.hidden = false;
    }
  }

  function actions(d) {
    if (!d.provisioned) return h("span", {class: "user-muted"}, t("users.by-hand"));
    if (!state.canEdit) return null;
    const reset = h("button", {type: "button"}, t("users.new-password"),
                    h("span", {class: "sr-only"}, ` ${d.label || d.name}`));
    const drop = h("button", {type: "button", class: "user-danger-button"}, t("users.phone-remove"),
                   h("span", {class: "sr-only"}, ` ${d.label || d.name}`));
    reset.addEventListener("click", () => newPassword(d));
    drop.addEventListener("click", () => remove(d));
    return h("div", {class: "user-actions"}, reset, drop);
  }

  async function refresh() {
    const {items} = await api(path, {query: {per_page: 500}});
    cells.clear();
    const headers = [t("users.phone"), t("users.phone-label"), t("users.sip-username"), t("users.phone-line"),
                     t("users.password-set"), t("users.actions")];
    const cell = (i, ...content) => h("td", {"data-label": headers[i]}, ...content);
    table.replaceChildren(h("table", {class: "list user-phones"},
      h("caption", {class: "sr-only"}, t("users.devices")),
      h("thead", {}, h("tr", {}, headers.map(x => h("th", {scope: "col"}, x)))),
      h("tbody", {}, items.length ? items.map(d => {
        const line = cell(3, lineBadge(d.line));
        cells.set(d.dial, line);
        return h("tr", {dataset: {dial: d.dial}}, cell(0, h("strong", {}, d.name || d.dial)), cell(1, d.label || "–"),
                 cell(2, d.username ? h("code", {}, d.username) : "–"), line,
                 cell(4, formatStamp(d.password_set_at, "–")),
                 cell(5, actions(d)));
      }) : h("tr", {}, h("td", {class: "empty", colspan: headers.length}, t("users.no-phones"))))));
  }

  const name = textInput("name", "", {maxlength: 32, autocapitalize: "none", spellcheck: "false"});
  const label = textInput("label", "", {maxlength: 100});
  const addForm = state.canEdit ? sectionForm([
    h("h3", {id: "user-phone-new"}, t("users.phone-new")),
    h("div", {class: "user-row"}, field(t("users.phone-name"), name, t("users.phone-name-hint", {tenant: state.me.tenant})),
      field(t("users.phone-label"), label, t("users.phone-label-hint")))], {
    label: t("users.phone-add"),
    submit: async form => {
      try {
        const made = await api(path, {method: "POST", body: {name: name.value.trim(), label: label.value.trim()}});
        name.value = label.value = "";
        showSecret(made);
        announce(t("users.phone-added", {name: made.name}));
        await refresh();
      } catch (err) {
        showUserProblem(form, err);
      }
    }}) : null;
  if (addForm) {
    addForm.classList.add("user-phone-form");
    addForm.setAttribute("aria-labelledby", "user-phone-new");
    addForm.prepend(addForm.querySelector("h3"));
  }
  const section = h("section", {class: "panel user-section", "aria-labelledby": "user-phones-title", tabindex: "-1"},
    h("div", {class: "user-section-head"}, h("h2", {id: "user-phones-title"}, t("users.devices"))),
    h("p", {class: "hint user-lead"}, t("users.phones-lead")), secretSlot, trouble, table, addForm);

  /** The line of each phone Asterisk has told about, from GET /users/{key}/line (one it has said nothing of stays
   * "unknown"); no re-drawing, so a focused button keeps its focus. */
  const lines = status => {
    for (const d of status.devices || []) {
      const cell = cells.get(d.dial);
      if (cell && d.state !== null && cell.dataset.line !== d.line) {
        cell.dataset.line = d.line;
        cell.replaceChildren(lineBadge(d.line));
      }
    }
  };
  return {section, refresh, lines};
}
