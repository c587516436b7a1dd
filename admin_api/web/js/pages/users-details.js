// A user's details (name, extension, kind, fixed and mobile number, account, e-mail, outgoing caller ID): the
// fields the new-user form and the details section share, that section, and removing the user (the API refuses
// while something still uses them; the page says what, with links).

import {ApiError, api} from "../api.js";
import {announce, field, h} from "../dom.js";
import {t} from "../i18n.js";
import {go, href} from "../router.js";
import {confirmDialog, facts} from "../views.js";
import {choice, editable, sectionForm, showUserProblem, textInput, toE164} from "./users-form.js";

const KINDS = ["fixed", "mobile", "both"];

/** The fields of a new or changed user; `creating` adds the key, `numbers` (the tenant's) the caller ID. */
export function userFields({u = null, accounts, me, numbers = null}) {
  const name = textInput("name", u && u.name, {required: true, maxlength: 200});
  const extension = textInput("extension", u && u.extension, {inputmode: "numeric", maxlength: 8});
  const kind = choice("kind", KINDS.map(k => [k, t(`kind.${k}`)]), u ? u.kind : "fixed");
  const fixed = textInput("fixed_number", u && u.fixed_number, {type: "tel", placeholder: "+46812345600"});
  const mobile = textInput("mobile_number", u && u.mobile_number, {type: "tel", placeholder: "+46701234567"});
  // an account administrator keeps every user inside their accounts: no "no account" for them
  const account = choice("account", accounts, u ? u.account : (me.account || null),
                         me.account ? undefined : t("users.no-account"));
  const email = textInput("email", u && u.email, {type: "email", maxlength: 254});
  const callerId = numbers ? choice("outbound_caller_id", [
    ["main", t("users.cid-main")], ["fixed", t("users.cid-fixed")], ["mobile", t("users.cid-mobile")],
    ...numbers.map(n => [n.number, n.label ? `${n.number} – ${n.label}` : n.number])],
  u ? u.outbound_caller_id : null, t("users.cid-default")) : null;
  const nodes = [
    h("div", {class: "user-row"}, field(t("users.name"), name),
      field(t("users.extension"), extension, t("users.extension-hint"))),
    field(t("users.kind"), kind, t("users.kind-hint")),
    h("div", {class: "user-row"}, field(t("users.fixed"), fixed, t("users.number-hint")),
      field(t("users.mobile"), mobile, t("users.number-hint"))),
    h("div", {class: "user-row"}, field(t("users.account"), account), field(t("users.email"), email)),
    callerId ? field(t("users.caller-id"), callerId, t("users.caller-id-hint")) : null,
  ];
  const body = () => {
    const out = {name: name.value.trim(), extension: extension.value.trim() || null, kind: kind.value,
                 fixed_number: toE164(fixed.value), mobile_number: toE164(mobile.value),
                 email: email.value.trim() || null};
    if (account.value || !me.account) out.account = account.value || null;
    if (callerId) out.outbound_caller_id = callerId.value || null;
    return out;
  };
  return {nodes, body};
}

/** The outgoing caller ID as a person reads it. */
function callerIdText(u, numbers) {
  const choice = u.outbound_caller_id;
  if (!choice) return t("users.cid-default");
  if (choice === "main") return t("users.cid-main");
  if (choice === "fixed" || choice === "mobile") {
    const own = choice === "fixed" ? u.fixed_number : u.mobile_number;
    return `${t(`users.cid-${choice}`)}${own ? ` (${own})` : ""}`;
  }
  const n = numbers.find(x => x.number === choice);
  return n && n.label ? `${choice} – ${n.label}` : choice;
}

export function detailsSection(state) {
  return editable({
    title: t("users.details"), canEdit: state.canEdit,
    summary: () => {
      const u = state.user;
      return facts([
        [t("users.key"), u.key], [t("users.extension"), u.extension], [t("users.kind"), t(`kind.${u.kind}`)],
        [t("users.fixed"), u.fixed_number], [t("users.mobile"), u.mobile_number],
        [t("users.account"), state.accountName(u.account)], [t("users.email"), u.email],
        [t("users.caller-id"), callerIdText(u, state.lookups.numbers)],
      ]);
    },
    form: ({done, cancel}) => {
      const {nodes, body} = userFields({u: state.user, accounts: state.accounts, me: state.me,
                                        numbers: state.lookups.numbers});
      return sectionForm(nodes, {cancel, submit: async form => {
        try {
          await state.save(body());
          done();
        } catch (err) {
          showUserProblem(form, err);
        }
      }});
    },
  });
}

// --- removing the user -----------------------------------------------------------------------------------------

/** What still uses the user, from the API's 409: each error's `field` names it ("group salj", "number +46…"). */
function users(err) {
  const seen = new Map();
  for (const e of err.errors) {
    const where = String(e.field || "");
    const m = where.match(/^(number|group|queue|voicemail box|flow|user) (\S+)/);
    let item;
    if (where === "administrator") item = [t("users.used-administrator"), null];
    else if (!m) item = [where, null];
    else {
      const [, what, ref] = m;
      const to = {number: `/numbers/${encodeURIComponent(ref)}`, group: `/groups/${encodeURIComponent(ref)}`,
                  queue: `/queues/${encodeURIComponent(ref)}`, flow: `/flows/${encodeURIComponent(ref)}`,
                  user: `/users/${encodeURIComponent(ref)}`}[what] || null;
      item = [t(`users.used-${what.replace(" ", "-")}`, {ref}), to];
    }
    if (item[0]) seen.set(item[0], item);
  }
  return [...seen.values()];
}

export function deleteSection(state) {
  const refused = h("div", {class: "user-in-use"});
  const remove = h("button", {type: "submit", class: "primary danger"}, t("users.delete"));
  const form = h("form", {class: "panel danger-zone user-danger", "aria-labelledby": "user-delete-title"},
    h("h2", {id: "user-delete-title"}, t("users.delete")), h("p", {class: "hint"}, t("users.delete-hint")),
    h("p", {class: "form-error", role: "alert", tabindex: "-1", hidden: true}), refused,
    h("div", {class: "form-actions"}, remove));
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const u = state.user;
    if (!await confirmDialog(t("users.delete-confirm", {name: u.name}), t("users.delete"))) return;
    const line = form.querySelector(".form-error");
    line.hidden = true;
    refused.replaceChildren();
    try {
      await api(state.path, {method: "DELETE"});
      announce(t("users.deleted", {name: u.name}));
      go("/users");
    } catch (err) {
      if (err instanceof ApiError && err.kind === "user-in-use") {
        line.textContent = t("users.in-use", {name: u.name});
        refused.replaceChildren(h("ul", {}, users(err).map(([text, to]) =>
          h("li", {}, to ? h("a", {href: href(to)}, text) : text))));
        line.hidden = false;
        line.focus();
      } else {
        showUserProblem(form, err);
      }
    }
  });
  return form;
}
