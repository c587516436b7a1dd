// Pieces several pages share: "not found", a failure, a heading with actions, a list of facts.

import {ApiError, api, problemText, showProblem} from "./api.js";
import {errorLine, field, h, uid} from "./dom.js";
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

/** Ask before something that cannot be undone: a modal <dialog> (focus stays in it, Escape cancels), the question
 * as its heading and an optional sentence under it. The safe choice has the focus; afterwards the focus goes back
 * where it was. Resolves true when the person confirms. */
export function confirmDialog(question, confirmLabel, {detail = "", danger = true} = {}) {
  const opener = document.activeElement;
  return new Promise(resolve => {
    const titleId = uid("confirm");
    const yes = h("button", {type: "button", class: danger ? "primary danger" : "primary"}, confirmLabel);
    const no = h("button", {type: "button"}, t("common.cancel"));
    const dialog = h("dialog", {class: "confirm", "aria-labelledby": titleId},
                     h("p", {id: titleId, class: "question"}, question), detail ? h("p", {}, detail) : null,
                     h("div", {class: "form-actions"}, yes, no));
    const done = answer => {
      dialog.close();
      dialog.remove();
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      resolve(answer);
    };
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", e => { e.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

/** A panel with one removal (the account, the number…): asks first, then `remove()`. A refusal is shown in the
 * panel's alert line: `refusal(err)` may put a known problem in the page's own words (or return null for the
 * API's own, beside the fields). */
export function removalPanel({title, hint, question, remove, refusal = () => null}) {
  const id = uid("remove");
  const form = h("form", {class: "panel danger-zone", "aria-labelledby": id}, h("h2", {id}, title),
    hint ? h("p", {class: "hint"}, hint) : null, errorLine(),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary danger"}, title)));
  form.addEventListener("submit", async e => {
    e.preventDefault();
    if (!await confirmDialog(question, title)) return;
    try {
      await remove();
    } catch (err) {
      const own = refusal(err);
      if (!own) { showProblem(form, err); return; }
      const line = form.querySelector(".form-error");
      line.textContent = own;
      line.hidden = false;
      line.focus();
    }
  });
  return form;
}

/** Send a form: `work()` on submit; a refusal of the API is shown beside the fields it names. */
export function onSubmit(form, work) {
  form.addEventListener("submit", async e => {
    e.preventDefault();
    try {
      await work();
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

/** "Used by flow huvud node meny", "user anna's forwarding", "the tenant's fallback" (the API's 409 in-use
 * errors) in the page's words. */
export function usedBy(err) {
  return err.errors.map(e => {
    const what = String(e.message || "").replace(/^used by /, "");
    let m = what.match(/^flow (\S+) node (\S+)$/);
    if (m) return t("common.used-flow", {flow: m[1], node: m[2]});
    m = what.match(/^user (\S+)'s forwarding$/);
    if (m) return t("common.used-forwarding", {user: m[1]});
    return what === "the tenant's fallback" ? t("common.used-fallback") : what;
  }).join(", ");
}

/** A form for a new object that starts with a key and a name (a queue, a schedule, an account…): POST `path` with
 * what `extra` adds ([{node: its field or null, value: () => body fields}]), then `done(the answer)`. */
export function newKeyedForm({title, path, submit, done, extra = [], nameMax = 100}) {
  const id = uid("new");
  const key = h("input", {name: "key", id: uid("key"), required: true, maxlength: 64, autocomplete: "off"});
  const name = h("input", {name: "name", id: uid("name"), required: true, maxlength: nameMax, autocomplete: "off"});
  const form = h("form", {class: "panel new-keyed", novalidate: true, "aria-labelledby": id},
    h("h2", {id}, title), errorLine(),
    h("div", {class: "form-row"}, field(t("common.name"), name), field(t("common.key"), key, t("common.key-hint")),
      ...extra.map(x => x.node).filter(Boolean)),
    h("div", {class: "form-actions"}, h("button", {type: "submit", class: "primary"}, submit)));
  return onSubmit(form, async () => {
    const body = {key: key.value.trim(), name: name.value.trim()};
    for (const x of extra) Object.assign(body, x.value());
    done(await api(path, {method: "POST", body}));
  });
}
