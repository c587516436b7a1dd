// The signed-in person's own page: who they are to the PBX (role, rights, account, the user they are) and their
// API tokens for integrations: made with a name and an optional lifetime, the token shown once, revoked.

import {api, problemText} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {formatStamp, t} from "../i18n.js";
import {confirmDialog, facts, onSubmit, pageHead} from "../views.js";

function tokenList(tokens, redraw, status) {
  if (!tokens.length) return h("p", {class: "muted"}, t("me.no-tokens"));
  return h("div", {class: "table-wrap"}, h("table", {class: "list tokens"},
    h("thead", {}, h("tr", {}, [t("me.token-name"), t("me.token-created"), t("me.token-expires"),
                                t("me.token-used")].map(c => h("th", {scope: "col"}, c)),
                     h("th", {scope: "col"}, h("span", {class: "sr-only"}, t("me.token-action"))))),
    h("tbody", {}, tokens.map(tok => {
      const revoke = h("button", {type: "button", class: "danger",
                                  "aria-label": t("me.revoke-named", {name: tok.name})}, t("me.revoke"));
      revoke.addEventListener("click", async () => {
        if (!await confirmDialog(t("me.revoke-confirm", {name: tok.name}), t("me.revoke"))) return;
        try {
          await api(`/tokens/${encodeURIComponent(tok.id)}`, {method: "DELETE"});
          announce(t("me.revoked", {name: tok.name}));
          await redraw();
        } catch (err) {
          status.textContent = problemText(err);
          status.hidden = false;
        }
      });
      return h("tr", {},
        h("td", {"data-label": t("me.token-name")}, tok.name),
        h("td", {"data-label": t("me.token-created")}, formatStamp(tok.created_at)),
        h("td", {"data-label": t("me.token-expires")}, formatStamp(tok.expires_at) || t("me.never")),
        h("td", {"data-label": t("me.token-used")}, formatStamp(tok.last_used_at) || t("me.not-used")),
        h("td", {}, revoke));
    }))));
}

export async function render(view, {session}) {
  const me = session.me;
  view.append(pageHead(me.name),
    h("section", {class: "panel"}, facts([
      [t("me.login"), me.login], [t("me.tenant"), me.tenant],
      [t("me.role"), t(`admins.role-${me.role}`)], [t("me.rights"), me.rights.map(r => t(`admins.right-${r}`))],
      [t("me.account"), me.account], [t("me.user"), me.user],
    ])));

  const listBox = h("div", {});
  const status = h("p", {class: "error", role: "alert", hidden: true});
  const shownOnce = h("div", {});
  const redraw = async () => listBox.replaceChildren(tokenList(await api("/tokens"), redraw, status));

  const name = h("input", {name: "name", id: uid("name"), required: true, maxlength: 100, autocomplete: "off"});
  const days = h("input", {name: "expires_days", id: uid("days"), type: "number", min: 1, max: 3650,
                           inputmode: "numeric"});
  const form = h("form", {class: "token-form", novalidate: true, "aria-labelledby": "token-new-title"},
    h("h3", {id: "token-new-title"}, t("me.new-token")), errorLine(),
    h("div", {class: "form-row"}, field(t("me.token-name"), name, t("me.token-name-hint")),
      field(t("me.token-days"), days, t("me.token-days-hint"))),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, t("me.create-token"))));
  onSubmit(form, async () => {
    const body = {name: name.value.trim()};
    if (days.value) body.expires_days = Number(days.value);
    const made = await api("/tokens", {method: "POST", body});
    shownOnce.replaceChildren(h("section", {class: "panel secret", role: "status"},
      h("h3", {}, t("me.token-shown", {name: made.name})), h("p", {}, t("me.token-once")),
      h("p", {class: "secret-value"}, h("code", {}, made.token))));
    name.value = "";
    days.value = "";
    await redraw();
  });
  view.append(h("section", {class: "panel tokens-panel", "aria-labelledby": "tokens-title"},
    h("h2", {id: "tokens-title"}, t("me.tokens")), h("p", {class: "hint"}, t("me.tokens-hint")),
    shownOnce, status, listBox, form));
  await redraw();
}
