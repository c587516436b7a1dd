// Users: the list (search, account and kind filters, sort, pages, export) and one user's page.

import {api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {listView} from "../listview.js";
import {href} from "../router.js";
import {facts, pageHead, yesNo} from "../views.js";

/** The accounts the administrator reaches, as [key, name] (none when the list cannot be read). */
export function accountOptions() {
  return api("/accounts", {query: {per_page: 500, sort: "name"}}).then(r => r.items.map(a => [a.key, a.name]))
    .catch(() => []);
}

/** An account key → its name, for showing. */
export async function accountNames() {
  const names = new Map(await accountOptions());
  return key => (key ? names.get(key) || key : null);
}

export async function render(view) {
  view.append(pageHead(t("users.title")));
  const accountName = await accountNames();
  await listView(view, {
    path: "/users", label: t("users.title"), exportName: "users",
    columns: [
      {key: "name", label: t("users.name"), cell: u => h("a", {href: href(`/users/${encodeURIComponent(u.key)}`)}, u.name)},
      {key: "extension", label: t("users.extension")},
      {key: "kind", label: t("users.kind"), cell: u => t(`kind.${u.kind}`)},
      {key: "fixed_number", label: t("users.fixed")},
      {key: "mobile_number", label: t("users.mobile")},
      {key: "account", label: t("users.account"), cell: u => accountName(u.account)},
      {key: "email", label: t("users.email")},
    ],
    filters: [
      {name: "account", label: t("users.account"), options: accountOptions()},
      {name: "kind", label: t("users.kind"), options: ["fixed", "mobile", "both"].map(k => [k, t(`kind.${k}`)])},
    ],
  });
}

export async function renderOne(view, {params}) {
  const [u, accountName] = await Promise.all([api(`/users/${encodeURIComponent(params.key)}`), accountNames()]);
  view.append(
    h("p", {class: "crumbs"}, h("a", {href: href("/users")}, t("users.back"))),
    pageHead(u.name),
    h("section", {class: "panel"}, facts([
      [t("users.key"), u.key], [t("users.extension"), u.extension], [t("users.kind"), t(`kind.${u.kind}`)],
      [t("users.fixed"), u.fixed_number], [t("users.mobile"), u.mobile_number], [t("users.account"), accountName(u.account)],
      [t("users.email"), u.email], [t("users.devices"), u.devices], [t("users.voicemail"), u.voicemail],
      [t("users.barred"), (u.barred || []).map(b => t(`barred.${b}`))],
      [t("users.call-waiting"), yesNo(u.call_waiting)], [t("users.record"), yesNo(u.record)],
    ])));
}
