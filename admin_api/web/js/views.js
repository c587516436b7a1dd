// Pieces several pages share: "not found", a failure, a heading with actions, a list of facts.

import {ApiError, problemText} from "./api.js";
import {h} from "./dom.js";
import {t} from "./i18n.js";
import {href} from "./router.js";

export function notFound() {
  return h("section", {class: "panel notice"}, h("h1", {}, t("notfound.title")), h("p", {}, t("notfound.text")),
           h("p", {}, h("a", {href: href("/")}, t("notfound.back"))));
}

export function failed(err) {
  if (err instanceof ApiError && err.notFound) return notFound();
  return h("section", {class: "panel notice"}, h("h1", {}, t("error.title")),
           h("p", {class: "error", role: "alert"}, problemText(err)));
}

/** A page heading with its actions (the portal's "sidhuvud"). */
export function pageHead(title, ...actions) {
  return h("div", {class: "page-head"}, h("h1", {}, title), actions.length ? h("div", {class: "actions"}, actions) : null);
}

/** A definition list of [label, value] pairs; empty values shown as a dash. */
export function facts(pairs) {
  return h("dl", {class: "facts"}, pairs.map(([label, value]) => [
    h("dt", {}, label),
    h("dd", {}, value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)
      ? "–" : Array.isArray(value) ? value.join(", ") : value),
  ]));
}

export function yesNo(value) {
  return value ? t("common.yes") : t("common.no");
}

/** Ask before something that cannot be undone: a modal <dialog> (focus stays in it, Escape cancels).
 * Resolves true when the person confirms. */
export function confirmDialog(question, confirmLabel) {
  return new Promise(resolve => {
    const yes = h("button", {type: "button", class: "primary danger"}, confirmLabel);
    const no = h("button", {type: "button"}, t("common.cancel"));
    const dialog = h("dialog", {class: "confirm", "aria-labelledby": "confirm-q"},
                     h("p", {id: "confirm-q"}, question), h("div", {class: "form-actions"}, yes, no));
    const done = answer => { dialog.close(); dialog.remove(); resolve(answer); };
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", e => { e.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();  // the safe choice has the focus
  });
}
