// A flow's versions: each one saved (who, when), when it was last published and how often, the draft; "show" any
// of them in the visual view, and "publish again" (a rollback) an earlier one; and the confirmation asked before
// publishing, publishing again or discarding the draft.

import {h} from "../dom.js";
import {formatStamp, t} from "../i18n.js";
import {versionText} from "./flows-model.js";

/** ctx: {versions (GET …/versions items, newest first), canEdit, show(which), rollBack(n, button)}. */
export function versionsPanel(ctx) {
  const columns = [t("flows.v-version"), t("flows.v-state"), t("flows.v-nodes"), t("flows.v-saved"),
                   t("flows.v-published"), t("flows.v-times"), t("flows.v-actions")];
  const row = v => {
    const which = v.version ? String(v.version) : "draft";
    const cells = [
      v.version ? versionText(v.version) : t("flows.the-draft"),
      t(`flows.state-${v.state}`), String(v.nodes),
      t("flows.at-by", {at: formatStamp(v.at, "–"), by: v.by}),
      v.last_published_at
        ? t("flows.at-by", {at: formatStamp(v.last_published_at, "–"), by: v.last_published_by}) : "",
      v.version ? String(v.published_times || 0) : "",
      h("div", {class: "row-actions"},
        h("button", {type: "button", on: {click: () => ctx.show(which)}, "aria-label": t("flows.v-show-label",
                     {version: v.version ? versionText(v.version) : t("flows.the-draft")})}, t("flows.v-show")),
        ctx.canEdit && v.state === "earlier"
          ? h("button", {type: "button", "aria-label": t("flows.publish-again", {n: v.version}),
                         on: {click: e => ctx.rollBack(v.version, e.currentTarget)}}, t("flows.v-again")) : null),
    ];
    return h("tr", {class: v.state === "published" ? "current" : null, "data-version": which},
             cells.map((c, i) => h("td", {"data-label": columns[i]}, c === "" ? null : c)));
  };
  return h("section", {class: "panel flow-versions", "aria-labelledby": "flow-versions-title"},
    h("h2", {id: "flow-versions-title"}, t("flows.versions")),
    h("div", {class: "table-wrap"}, h("table", {class: "list"},
      h("caption", {class: "sr-only"}, t("flows.versions")),
      h("thead", {}, h("tr", {}, columns.map(c => h("th", {scope: "col"}, c)))),
      h("tbody", {}, ctx.versions.map(row)))));
}

/** Ask before a change the draft cannot undo: a small group after `after`, the focus on its "yes"; Escape or
 * "cancel" gives the focus back to the button that asked. Resolves to the answer. */
export function confirmStep(after, text, yes) {
  for (const old of document.querySelectorAll(".flow-page .confirm")) old.remove();
  const invoker = document.activeElement;
  return new Promise(resolve => {
    const done = ok => {
      box.remove();
      resolve(ok);
      if (!ok && invoker && invoker.isConnected) invoker.focus();
    };
    const yesButton = h("button", {type: "button", class: "primary", on: {click: () => done(true)}}, yes);
    const no = h("button", {type: "button", on: {click: () => done(false)}}, t("flows.cancel"));
    const box = h("div", {class: "confirm", role: "group", "aria-label": t("flows.confirm")}, h("p", {}, text),
                  h("div", {class: "form-actions"}, yesButton, no));
    box.addEventListener("keydown", e => { if (e.key === "Escape") done(false); });
    after.after(box);
    yesButton.focus();
  });
}
