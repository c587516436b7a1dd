// Administrators, roles and rights: the list (filter by role and account, sort, pages, export), a new
// administrator, and one administrator's page: role, custom rights, account, linked telephony user, second
// factor, a new password, and removal. The API keeps the rules (one super administrator always remains, nobody
// removes themself); the page shows its refusals where they belong. A new authenticator secret is shown once.

import {ApiError, api} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {formatStamp, t} from "../i18n.js";
import {listView} from "../listview.js";
import {go, href} from "../router.js";
import {confirmDialog, facts, onSubmit, pageHead, removalPanel} from "../views.js";
import {accountNames, accountOptions} from "./users.js";

const ROLES = ["super_admin", "admin", "account_admin", "custom"];
const RIGHTS = ["view", "numbers", "flows", "users", "agents", "voicemail", "recordings", "prompts", "reports", "admins"];
const FACTORS = ["totp", "sms", "none"];

const adminLink = a => h("a", {href: href(`/admins/${encodeURIComponent(a.id)}`)}, a.name);

function userOptions() {
  return api("/users", {query: {per_page: 500, sort: "name"}}).then(r => r.items.map(u => [u.key, u.name]))
    .catch(() => []);
}

function select(name, options, chosen, none) {
  const el = h("select", {name, id: uid(name)}, none ? h("option", {value: ""}, none) : null,
               options.map(([value, label]) => h("option", {value, selected: value === chosen}, label)));
  return el;
}

/** The fields of a new or changed administrator; each shows only where its role or factor uses it. */
function adminFields({admin = null, accounts, users}) {
  const name = h("input", {name: "name", id: uid("name"), required: true, maxlength: 200, autocomplete: "off",
                           value: admin ? admin.name : ""});
  const role = select("role", ROLES.map(r => [r, t(`admins.role-${r}`)]), admin ? admin.role : "admin");
  const account = select("account", accounts, admin ? admin.account : null, t("admins.no-account"));
  const user = select("user", users, admin ? admin.user : null, t("admins.no-user"));
  const factor = select("second_factor", FACTORS.map(f => [f, t(`admins.factor-${f}`)]),
                        admin ? admin.second_factor : "totp");
  const sms = h("input", {name: "sms_number", id: uid("sms"), type: "tel", autocomplete: "off",
                          placeholder: "+46701234567"});
  const chosen = new Set(admin ? admin.custom_rights || admin.rights : ["view"]);
  const boxes = RIGHTS.map(r => h("input", {type: "checkbox", name: "rights", value: r, id: uid(`right-${r}`),
                                            checked: chosen.has(r)}));
  const rights = h("fieldset", {class: "rights", name: "rights"}, h("legend", {}, t("admins.rights")),
    h("p", {class: "hint"}, t("admins.rights-hint")),
    h("div", {class: "checks"}, RIGHTS.map((r, i) => h("label", {for: boxes[i].id}, boxes[i],
      h("span", {}, t(`admins.right-${r}`))))));
  const accountField = field(t("admins.account"), account, t("admins.account-hint"));
  const smsField = field(t("admins.sms-number"), sms);
  const show = () => {
    rights.hidden = role.value !== "custom";
    accountField.hidden = !["account_admin", "custom"].includes(role.value);
    smsField.hidden = factor.value !== "sms";
  };
  role.addEventListener("change", show);
  factor.addEventListener("change", show);
  show();
  const body = () => {
    const out = {name: name.value.trim(), role: role.value, user: user.value || null,
                 second_factor: factor.value};
    if (role.value === "custom") out.rights = boxes.filter(b => b.checked).map(b => b.value);
    if (["account_admin", "custom"].includes(role.value)) out.account = account.value || null;
    if (factor.value === "sms" && sms.value.trim()) out.sms_number = sms.value.trim();
    return out;
  };
  const nodes = [field(t("admins.name"), name), field(t("admins.role"), role, t("admins.role-hint")), rights,
                 accountField, field(t("admins.user"), user, t("admins.user-hint")), field(t("admins.factor"), factor),
                 smsField];
  return {nodes, body};
}

/** A new authenticator secret: shown once, to be typed or scanned into the app now. */
function secretShown(admin) {
  if (!admin.totp_secret) return null;
  return h("section", {class: "panel secret", role: "status"},
    h("h2", {}, t("admins.secret-title")), h("p", {}, t("admins.secret-text")),
    h("p", {class: "secret-value"}, h("code", {}, admin.totp_secret.replace(/(.{4})/g, "$1 ").trim())),
    admin.totp_uri ? h("p", {class: "hint"}, h("code", {class: "uri"}, admin.totp_uri)) : null);
}

function createForm(accounts, users, shown) {
  const login = h("input", {name: "login", id: uid("login"), type: "email", required: true, autocomplete: "off"});
  const password = h("input", {name: "password", id: uid("password"), type: "password", required: true,
                               minlength: 10, autocomplete: "new-password"});
  const {nodes, body} = adminFields({accounts, users});
  const form = h("form", {class: "panel admin-form", novalidate: true, "aria-labelledby": "admin-new-title"},
    h("h2", {id: "admin-new-title"}, t("admins.new")), errorLine(),
    field(t("admins.login"), login), field(t("admins.password"), password, t("admins.password-hint")), ...nodes,
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("admins.create"))));
  onSubmit(form, async () => {
    const made = await api("/admins", {method: "POST", body: {login: login.value.trim(), password: password.value,
                                                               ...body()}});
    announce(t("admins.created", {name: made.name}));
    shown(made);
  });
  return form;
}

export async function render(view) {
  const [accountName, accounts, users] = await Promise.all([accountNames(), accountOptions(), userOptions()]);
  const newPanel = h("div", {});
  const open = h("button", {type: "button", class: "primary", "aria-expanded": "false"}, t("admins.new"));
  open.addEventListener("click", () => {
    const opening = newPanel.childElementCount === 0;
    open.setAttribute("aria-expanded", String(opening));
    newPanel.replaceChildren(...(opening ? [createForm(accounts, users, made => {
      go(`/admins/${encodeURIComponent(made.id)}`, made.totp_secret ? {secret: "1"} : {});
      sessionStorage.setItem("pbx.new-secret", JSON.stringify(made));
    })] : []));
    const first = newPanel.querySelector("input");
    if (first) first.focus();
  });
  view.append(pageHead(t("admins.title"), open), h("p", {class: "lead"}, t("admins.lead")), newPanel);
  await listView(view, {
    path: "/admins", label: t("admins.title"), exportName: "administrators",
    columns: [
      {key: "name", label: t("admins.name"), cell: adminLink},
      {key: "login", label: t("admins.login")},
      {key: "role", label: t("admins.role"), cell: a => t(`admins.role-${a.role}`)},
      {key: "account", label: t("admins.account"), cell: a => accountName(a.account) || "–"},
      {key: "second_factor", label: t("admins.factor"), cell: a => t(`admins.factor-${a.second_factor || "none"}`)},
      {key: "user", label: t("admins.user"), cell: a => a.user || "–"},
    ],
    filters: [
      {name: "role", label: t("admins.role"), options: ROLES.map(r => [r, t(`admins.role-${r}`)])},
      {name: "account", label: t("admins.account"), options: accounts},
    ],
  });
}

function changeForm(admin, accounts, users, again) {
  const {nodes, body} = adminFields({admin, accounts, users});
  const form = h("form", {class: "panel admin-form", novalidate: true, "aria-labelledby": "admin-change-title"},
    h("h2", {id: "admin-change-title"}, t("admins.change")), errorLine(), ...nodes,
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("common.save"))));
  onSubmit(form, async () => {
    const changed = await api(`/admins/${encodeURIComponent(admin.id)}`, {method: "PATCH", body: body()});
    announce(t("common.saved"));
    again(changed);
  });
  return form;
}

function passwordForm(admin) {
  const password = h("input", {name: "password", id: uid("password"), type: "password", required: true,
                               minlength: 10, autocomplete: "new-password"});
  const done = h("p", {class: "done", role: "status"});
  const form = h("form", {class: "panel", novalidate: true, "aria-labelledby": "admin-password-title"},
    h("h2", {id: "admin-password-title"}, t("admins.new-password")), errorLine(),
    field(t("admins.password"), password, t("admins.password-hint")),
    h("div", {class: "form-actions"}, h("button", {type: "submit"}, t("admins.set-password")), done));
  onSubmit(form, async () => {
    done.textContent = "";
    await api(`/admins/${encodeURIComponent(admin.id)}`, {method: "PATCH", body: {password: password.value}});
    password.value = "";
    done.textContent = t("admins.password-set");
  });
  return form;
}

/** A new authenticator key (the old one stops working); shown once on the page that follows. */
function resetForm(admin, again) {
  if (admin.second_factor !== "totp") return null;
  const form = h("form", {class: "panel", "aria-labelledby": "admin-reset-title"},
    h("h2", {id: "admin-reset-title"}, t("admins.reset-factor")), h("p", {class: "hint"}, t("admins.reset-hint")),
    errorLine(), h("div", {class: "form-actions"}, h("button", {type: "submit"}, t("admins.reset-factor"))));
  return onSubmit(form, async () => {
    if (!await confirmDialog(t("admins.reset-confirm", {name: admin.name}), t("admins.reset-factor"))) return;
    again(await api(`/admins/${encodeURIComponent(admin.id)}`, {method: "PATCH", body: {reset_second_factor: true}}));
  });
}

function deleteForm(admin, me) {
  const self = admin.login === me.login;
  return removalPanel({
    title: t("admins.delete"), hint: t(self ? "admins.delete-self-hint" : "admins.delete-hint"),
    question: t("admins.delete-confirm", {name: admin.name}),
    remove: async () => {
      await api(`/admins/${encodeURIComponent(admin.id)}`, {method: "DELETE"});
      announce(t("admins.deleted", {name: admin.name}));
      go("/admins");
    },
    // the API's 409: themself, or the last super administrator
    refusal: err => (err instanceof ApiError && err.status === 409
      ? t(self ? "admins.refused-self" : "admins.refused-last") : null),
  });
}

export async function renderOne(view, {params, query, session}) {
  const path = `/admins/${encodeURIComponent(params.id)}`;
  let shownOnce = null;
  if (query.get("secret")) {  // just made with an authenticator: its secret, handed over by the list page
    try { shownOnce = JSON.parse(sessionStorage.getItem("pbx.new-secret") || "null"); } catch { shownOnce = null; }
    sessionStorage.removeItem("pbx.new-secret");
  }
  const [admin, accountName, accounts, users] = await Promise.all([api(path), accountNames(), accountOptions(),
                                                                   userOptions()]);
  const draw = (current, secretOf) => {
    view.replaceChildren(
      h("p", {class: "crumbs"}, h("a", {href: href("/admins")}, t("admins.back"))),
      pageHead(current.name),
      secretOf && secretOf.id === current.id ? secretShown(secretOf) : null,
      h("section", {class: "panel"}, facts([
        [t("admins.login"), current.login], [t("admins.role"), t(`admins.role-${current.role}`)],
        [t("admins.rights"), current.rights.map(r => t(`admins.right-${r}`))],
        [t("admins.account"), accountName(current.account)], [t("admins.user"), current.user],
        [t("admins.factor"), t(`admins.factor-${current.second_factor || "none"}`)],
        [t("admins.created-at"), formatStamp(current.created_at) || null],
      ])),
      h("div", {class: "admin-forms"}, changeForm(current, accounts, users, next => draw(next, next)),
        passwordForm(current), resetForm(current, next => draw(next, next)), deleteForm(current, session.me)));
  };
  draw(admin, shownOnce);
}
