// Numbers: the list (search, account filter, sort, pages, export) and one number's page.

import {api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {listView} from "../listview.js";
import {href} from "../router.js";
import {facts, pageHead, yesNo} from "../views.js";
import {accountNames, accountOptions} from "./users.js";

function target(n) {
  if (n.flow) return t("numbers.to-flow", {flow: n.flow});
  if (n.user) return h("a", {href: href(`/users/${encodeURIComponent(n.user)}`)}, t("numbers.to-user", {user: n.user}));
  return "–";
}

export async function render(view) {
  view.append(pageHead(t("numbers.title")));
  const accountName = await accountNames();
  await listView(view, {
    path: "/numbers", label: t("numbers.title"), exportName: "numbers",
    columns: [
      {key: "number", label: t("numbers.number"),
       cell: n => h("a", {href: href(`/numbers/${encodeURIComponent(n.number)}`), class: "number"}, n.number)},
      {key: "label", label: t("numbers.label")},
      {key: "flow", label: t("numbers.target"), cell: target},
      {key: "account", label: t("numbers.account"), cell: n => accountName(n.account)},
      {key: "record", label: t("numbers.record"), cell: n => yesNo(n.record)},
    ],
    filters: [{name: "account", label: t("numbers.account"), options: accountOptions()}],
  });
}

export async function renderOne(view, {params}) {
  const [n, accountName] = await Promise.all([api(`/numbers/${encodeURIComponent(params.number)}`), accountNames()]);
  view.append(
    h("p", {class: "crumbs"}, h("a", {href: href("/numbers")}, t("numbers.back"))),
    pageHead(n.number),
    h("section", {class: "panel"}, facts([
      [t("numbers.label"), n.label], [t("numbers.target"), target(n)], [t("numbers.via"), n.via],
      [t("numbers.account"), accountName(n.account)], [t("numbers.record"), yesNo(n.record)],
    ])));
}
