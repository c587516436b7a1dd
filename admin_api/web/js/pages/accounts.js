// Accounts: the tenant's account tree (an account administrator sees their own subtree), the same as a
// list (filter, sort, pages, export), a new sub-account, and one account's page: its numbers, users and
// sub-accounts, renaming, moving under another parent, and deleting one that holds nothing.

import {ApiError, api} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {formatNumber, t} from "../i18n.js";
import {listView} from "../listview.js";
import {go, href} from "../router.js";
import {facts, newKeyedForm, onSubmit, pageHead, removalPanel} from "../views.js";

const accountLink = (key, name) => h("a", {href: href(`/accounts/${encodeURIComponent(key)}`)}, name || key);

function treeNode(node) {
  const counts = t("accounts.counts", {users: formatNumber((node.users || []).length),
                                       numbers: formatNumber((node.numbers || []).length)});
  return h("li", {dataset: {account: node.key}},
    h("div", {class: "tree-item"}, accountLink(node.key, node.name), h("span", {class: "key"}, node.key),
      h("span", {class: "counts"}, counts)),
    node.children.length ? h("ul", {}, node.children.map(treeNode)) : null);
}

/** [key, label] for every account, indented by depth, for a "parent" choice. */
function flatten(roots, depth = 0) {
  return roots.flatMap(n => [[n.key, `${"\u2003".repeat(depth)}${n.name}`], ...flatten(n.children, depth + 1)]);
}

function parentSelect(name, options, chosen, allowNone) {
  const select = h("select", {name, id: uid(name)},
    allowNone ? h("option", {value: ""}, t("accounts.no-parent")) : null,
    options.map(([key, label]) => h("option", {value: key, selected: key === chosen}, label)));
  return select;
}

function createForm(roots, canWrite) {
  if (!canWrite || !roots.length) return null;
  const parent = parentSelect("parent", flatten(roots), roots[0].key, false);
  const form = newKeyedForm({
    title: t("accounts.new"), path: "/accounts", submit: t("accounts.create"), nameMax: 200,
    extra: [{node: field(t("accounts.parent"), parent), value: () => ({parent: parent.value})}],
    done: made => {
      announce(t("accounts.created", {name: made.name}));
      go(`/accounts/${encodeURIComponent(made.key)}`);
    }});
  form.classList.add("account-new");
  return form;
}

export async function render(view, {query, session}) {
  const showList = query.get("view") === "list";
  const canWrite = session.me.rights.includes("users");
  const tabs = h("nav", {class: "tabs", "aria-label": t("accounts.views")},
    h("a", {href: href("/accounts"), "aria-current": showList ? null : "page"}, t("accounts.tree")),
    h("a", {href: href("/accounts", {view: "list"}), "aria-current": showList ? "page" : null}, t("accounts.list")));
  view.append(pageHead(t("accounts.title")), h("p", {class: "lead"}, t("accounts.lead")), tabs);
  if (showList) {
    await listView(view, {
      path: "/accounts", label: t("accounts.title"), exportName: "accounts",
      columns: [
        {key: "name", label: t("accounts.name"), cell: a => accountLink(a.key, a.name)},
        {key: "key", label: t("accounts.key")},
        {key: "parent", label: t("accounts.parent"), cell: a => (a.parent ? accountLink(a.parent) : "–")},
        {key: "users", label: t("accounts.users"), cell: a => formatNumber(a.users ?? 0)},
        {key: "numbers", label: t("accounts.numbers"), cell: a => formatNumber(a.numbers ?? 0)},
        {key: "children", label: t("accounts.children"), cell: a => formatNumber(a.children ?? 0)},
      ],
    });
    return;
  }
  const {roots} = await api("/account-tree");
  view.append(
    h("section", {class: "panel"}, h("h2", {class: "sr-only"}, t("accounts.tree")),
      roots.length ? h("ul", {class: "account-tree"}, roots.map(treeNode)) : h("p", {}, t("accounts.none"))),
    createForm(roots, canWrite));
}

function renameForm(account, onSaved) {
  const name = h("input", {name: "name", id: uid("name"), required: true, maxlength: 200, value: account.name});
  const form = h("form", {class: "panel", novalidate: true, "aria-labelledby": "account-rename-title"},
    h("h2", {id: "account-rename-title"}, t("accounts.rename")), errorLine(), field(t("accounts.name"), name),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("common.save"))));
  onSubmit(form, async () => {
    await api(`/accounts/${encodeURIComponent(account.key)}`, {method: "PATCH", body: {name: name.value.trim()}});
    announce(t("common.saved"));
    onSaved();
  });
  return form;
}

function moveForm(account, roots, onSaved) {
  if (account.parent === null) return null;  // the main account has no parent to change
  const within = new Set();
  const collect = n => { within.add(n.key); n.children.forEach(collect); };
  const find = nodes => nodes.flatMap(n => (n.key === account.key ? [n] : find(n.children)));
  find(roots).forEach(collect);
  const parent = parentSelect("parent", flatten(roots).filter(([key]) => !within.has(key)), account.parent, false);
  const form = h("form", {class: "panel", novalidate: true, "aria-labelledby": "account-move-title"},
    h("h2", {id: "account-move-title"}, t("accounts.move")), errorLine(),
    field(t("accounts.parent"), parent, t("accounts.move-hint")),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("accounts.move-button"))));
  onSubmit(form, async () => {
    await api(`/accounts/${encodeURIComponent(account.key)}`, {method: "PATCH", body: {parent: parent.value}});
    announce(t("common.saved"));
    onSaved();
  });
  return form;
}

function deleteForm(account) {
  return removalPanel({
    title: t("accounts.delete"), hint: t("accounts.delete-hint"),
    question: t("accounts.delete-confirm", {name: account.name}),
    remove: async () => {
      await api(`/accounts/${encodeURIComponent(account.key)}`, {method: "DELETE"});
      announce(t("accounts.deleted", {name: account.name}));
      go("/accounts");
    },
    // what it still holds, in the page's language: each error names the kind and starts with the count
    refusal: err => (err instanceof ApiError && err.kind === "account-in-use"
      ? t("accounts.not-empty", {held: err.errors.map(e => t(`accounts.holds-${e.field}`,
                                                             {count: parseInt(e.message, 10) || 0})).join(", ")})
      : null),
  });
}

export async function renderOne(view, ctx) {
  const {params, session} = ctx;
  const path = `/accounts/${encodeURIComponent(params.key)}`;
  const [account, tree] = await Promise.all([api(path), api("/account-tree")]);
  const names = new Map(flatten(tree.roots).map(([key, label]) => [key, label.trim()]));
  const canWrite = session.me.rights.includes("users");
  const again = () => { view.replaceChildren(); renderOne(view, ctx); };
  const links = (items, to) => (items.length ? h("ul", {class: "inline-list"}, items.map(x => h("li", {}, to(x))))
    : "–");
  view.append(
    h("p", {class: "crumbs"}, h("a", {href: href("/accounts")}, t("accounts.back"))),
    pageHead(account.name),
    h("section", {class: "panel"}, facts([
      [t("accounts.key"), account.key],
      [t("accounts.parent"), account.parent ? accountLink(account.parent, names.get(account.parent))
        : t("accounts.main")],
      [t("accounts.children"), links(account.children, k => accountLink(k, names.get(k)))],
      [t("accounts.users"), links(account.users, k => h("a", {href: href(`/users/${encodeURIComponent(k)}`)}, k))],
      [t("accounts.numbers"), links(account.numbers, n => h("a", {class: "number",
                                                                  href: href(`/numbers/${encodeURIComponent(n)}`)}, n))],
    ])));
  if (canWrite) {
    view.append(h("div", {class: "account-forms"}, renameForm(account, again), moveForm(account, tree.roots, again),
                  deleteForm(account)));
  }
}
