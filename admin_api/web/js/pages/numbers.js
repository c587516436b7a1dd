// Numbers: the list (search, account filter, sort, pages, export), a new number, and one number's page: where
// it goes (a call flow, or a user by their fixed or mobile line), its label, account and recording, changed or
// deleted. A number a user presents as caller ID is not deleted: the page says who presents it.

import {ApiError, api} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {t} from "../i18n.js";
import {listView} from "../listview.js";
import {go, href} from "../router.js";
import {facts, onSubmit, pageHead, removalPanel, yesNo} from "../views.js";
import {accountNames, accountOptions} from "./users.js";

function target(n) {
  if (n.flow) return h("a", {href: href(`/flows/${encodeURIComponent(n.flow)}`)}, t("numbers.to-flow", {flow: n.flow}));
  if (n.user) return h("a", {href: href(`/users/${encodeURIComponent(n.user)}`)}, t("numbers.to-user", {user: n.user}));
  return "–";
}

const options = (path, label) => api(path, {query: {per_page: 500}})
  .then(r => r.items.map(x => [x.key, label(x)])).catch(() => []);

function choice(name, items, chosen, none) {
  return h("select", {name, id: uid(name)}, none ? h("option", {value: ""}, none) : null,
           items.map(([value, text]) => h("option", {value, selected: value === chosen}, text)));
}

/** The fields both forms share: label, where the number goes, account, recording. */
async function numberFields(n) {
  const [flows, users, accounts] = await Promise.all([options("/flows", f => f.name || f.key),
                                                     options("/users", u => u.name), accountOptions()]);
  const label = h("input", {name: "label", id: uid("label"), maxlength: 200, value: n ? n.label : ""});
  const kind = choice("kind", [["flow", t("numbers.kind-flow")], ["user", t("numbers.kind-user")]],
                      n && n.user ? "user" : "flow");
  const flow = choice("flow", flows, n ? n.flow : null, t("numbers.choose"));
  const user = choice("user", users, n ? n.user : null, t("numbers.choose"));
  const via = choice("via", [["fixed", t("numbers.via-fixed")], ["mobile", t("numbers.via-mobile")]],
                     n ? n.via : "fixed");
  const account = choice("account", accounts, n ? n.account : null, t("numbers.no-account"));
  const record = h("input", {type: "checkbox", name: "record", id: uid("record"), checked: Boolean(n && n.record)});
  const flowField = field(t("numbers.flow"), flow);
  const userFields = h("div", {}, field(t("numbers.user"), user), field(t("numbers.via"), via, t("numbers.via-hint")));
  const show = () => { flowField.hidden = kind.value !== "flow"; userFields.hidden = kind.value !== "user"; };
  kind.addEventListener("change", show);
  show();
  const nodes = [field(t("numbers.label"), label), field(t("numbers.target"), kind), flowField, userFields,
                 field(t("numbers.account"), account),
                 h("div", {class: "field check"}, h("label", {for: record.id}, record, t("numbers.record-label")))];
  const body = () => ({label: label.value.trim(), flow: kind.value === "flow" ? flow.value || null : null,
                       user: kind.value === "user" ? user.value || null : null, via: via.value,
                       account: account.value || null, record: record.checked});
  return {nodes, body};
}

async function createForm() {
  const number = h("input", {name: "number", id: uid("number"), required: true, type: "tel", autocomplete: "off",
                             placeholder: "+46812345600"});
  const {nodes, body} = await numberFields(null);
  const form = h("form", {class: "panel number-form", novalidate: true, "aria-labelledby": "number-new-title"},
    h("h2", {id: "number-new-title"}, t("numbers.new")), errorLine(),
    field(t("numbers.number"), number, t("numbers.number-hint")), ...nodes,
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("numbers.create"))));
  onSubmit(form, async () => {
    const made = await api("/numbers", {method: "POST", body: {number: number.value.replace(/[\s-]/g, ""),
                                                                ...body()}});
    announce(t("numbers.created", {number: made.number}));
    go(`/numbers/${encodeURIComponent(made.number)}`);
  });
  return form;
}

export async function render(view, {session}) {
  const canWrite = session.me.rights.includes("numbers");
  const newPanel = h("div", {});
  const open = canWrite ? h("button", {type: "button", class: "primary", "aria-expanded": "false"}, t("numbers.new"))
    : null;
  if (open) {
    open.addEventListener("click", async () => {
      const opening = newPanel.childElementCount === 0;
      open.setAttribute("aria-expanded", String(opening));
      newPanel.replaceChildren(...(opening ? [await createForm()] : []));
      const first = newPanel.querySelector("input");
      if (first) first.focus();
    });
  }
  view.append(pageHead(t("numbers.title"), open), newPanel);
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

async function changeForm(n, again) {
  const {nodes, body} = await numberFields(n);
  const form = h("form", {class: "panel number-form", novalidate: true, "aria-labelledby": "number-change-title"},
    h("h2", {id: "number-change-title"}, t("numbers.change")), errorLine(), ...nodes,
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("common.save"))));
  onSubmit(form, async () => {
    await api(`/numbers/${encodeURIComponent(n.number)}`, {method: "PATCH", body: body()});
    announce(t("common.saved"));
    again();
  });
  return form;
}

function deleteForm(n) {
  return removalPanel({
    title: t("numbers.delete"), hint: t("numbers.delete-hint"), question: t("numbers.delete-confirm", {number: n.number}),
    remove: async () => {
      await api(`/numbers/${encodeURIComponent(n.number)}`, {method: "DELETE"});
      announce(t("numbers.deleted", {number: n.number}));
      go("/numbers");
    },
    // each error names a user who presents the number as caller ID: "user KEY"
    refusal: err => (err instanceof ApiError && err.kind === "number-in-use"
      ? t("numbers.in-use", {users: [...new Set(err.errors.map(x => String(x.field || "").replace(/^user /, ""))
        .filter(Boolean))].join(", ")})
      : null),
  });
}

export async function renderOne(view, ctx) {
  const {params, session} = ctx;
  const [n, accountName] = await Promise.all([api(`/numbers/${encodeURIComponent(params.number)}`), accountNames()]);
  const canWrite = session.me.rights.includes("numbers");
  view.append(
    h("p", {class: "crumbs"}, h("a", {href: href("/numbers")}, t("numbers.back"))),
    pageHead(n.number, n.label ? h("span", {class: "number-label"}, n.label) : null),
    h("section", {class: "panel"}, facts([
      [t("numbers.label"), n.label], [t("numbers.target"), target(n)],
      [t("numbers.via"), n.user ? t(`numbers.via-${n.via}`) : null],
      [t("numbers.account"), accountName(n.account)], [t("numbers.record"), yesNo(n.record)],
    ])));
  if (canWrite) {
    const again = () => { view.replaceChildren(); renderOne(view, ctx); };
    view.append(h("div", {class: "number-forms"}, await changeForm(n, again), deleteForm(n)));
  }
}
