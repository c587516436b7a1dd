// Pieces the prompt, voicemail and recording pages share: a date and time, the page for someone without the
// right, a confirmation, an audio upload with progress, the player panel, and a list (listView) that can be
// drawn again after a change.

import {ApiError, apiUrl, problemText} from "../api.js";
import {h, uid} from "../dom.js";
import {has, t} from "../i18n.js";
import {listView} from "../listview.js";
import {current, replaceQuery} from "../router.js";
import {confirmDialog} from "../views.js";

/** Who called: the number, or "unknown number" when the caller hid it. */
export function callerOf(item) {
  return item.caller || t("media.unknown");
}

/** The page for someone whose sign-in lacks the right: said plainly, nothing of the API's data. */
export function mayNot(text) {
  return h("section", {class: "panel notice may-not"}, h("p", {}, text));
}

/** The readable sentence for a failed media call: our words for the audio problems, the shared ones otherwise. */
export function mediaProblem(err) {
  if (err instanceof ApiError && has(`media.${err.kind}`)) return t(`media.${err.kind}`);
  return problemText(err);
}

/** Ask before something that cannot be undone (the shared dialog, which gives the focus back). */
export const ask = confirmDialog;

/**
 * PUT a file or a recording as it is (its own Content-Type) to an audio operation, with upload progress
 * (fetch cannot report it: XMLHttpRequest). Resolves to the API's JSON answer; rejects with an ApiError.
 */
export function sendAudio(path, query, blob, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", apiUrl(path, query));
    xhr.setRequestHeader("Accept", "application/json, application/problem+json");
    xhr.setRequestHeader("X-Requested-With", "pbx");
    xhr.setRequestHeader("Content-Type", blob.type || "application/octet-stream");
    xhr.upload.addEventListener("progress", e => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: the status says enough */ }
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(body); return; }
      if (xhr.status === 401) window.dispatchEvent(new CustomEvent("pbx:signed-out"));
      reject(new ApiError(xhr.status, body && typeof body === "object" ? body : {title: xhr.statusText}));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, {type: "network", title: "Network error"})));
    xhr.send(blob);
  });
}

/** The list's default order when the address does not say one (newest first, say), kept in the address. */
export function defaultSort(sort) {
  const query = current().query;
  if (!query.get("sort")) replaceQuery({...Object.fromEntries(query), sort});
}

/** A listView in `container` that can be drawn again (after a change): its state lives in the address. */
export function redrawableList(container, options) {
  return async function draw() {
    const fresh = h("div", {class: "list-holder"});
    container.replaceChildren(fresh);
    await listView(fresh, options);
  };
}

/**
 * The player: one message or recording at a time, with its facts, an <audio> element that plays it from the API
 * (the session cookie goes with it), and its actions. Hidden until something is opened.
 */
export function playerPanel({label, onClose = () => {}}) {
  const heading = h("h2", {id: uid("player"), tabindex: "-1"});
  const details = h("div", {class: "player-facts"});
  const audio = h("audio", {controls: true, preload: "auto", class: "player-audio", "aria-label": label});
  const actions = h("div", {class: "form-actions player-actions"});
  const problem = h("p", {class: "error", role: "alert", hidden: true});
  const close = h("button", {type: "button"}, t("media.close"));
  const panel = h("section", {class: "panel player", hidden: true, "aria-labelledby": heading.id},
    h("div", {class: "card-head"}, heading, h("div", {class: "actions"}, close)), details, audio, actions, problem);

  function hide() {
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
    panel.hidden = true;
    panel.dataset.id = "";
    onClose();
  }
  close.addEventListener("click", hide);

  return {
    el: panel, audio,
    /** Open something: its id, title and facts (nodes), the audio's address, its action buttons. */
    show({id, title, facts, src, buttons, play = false}) {
      problem.hidden = true;
      panel.dataset.id = id;
      heading.textContent = title;
      details.replaceChildren(facts);
      actions.replaceChildren(...buttons);
      audio.hidden = false;
      if (audio.getAttribute("src") !== src) audio.src = src;
      panel.hidden = false;
      heading.focus();
      if (play) audio.play().catch(() => { /* the person presses play on the controls instead */ });
    },
    /** New facts or buttons for what is open, without stopping it. */
    update({title, facts, buttons}) {
      if (title) heading.textContent = title;
      if (facts) details.replaceChildren(facts);
      if (buttons) actions.replaceChildren(...buttons);
    },
    /** Something that could not be opened: "not found" (another tenant's, or gone), or the API's problem. */
    missing(text) {
      audio.pause();
      audio.removeAttribute("src");
      audio.hidden = true;
      panel.dataset.id = "";
      heading.textContent = t("notfound.title");
      details.replaceChildren(h("p", {}, text));
      actions.replaceChildren();
      panel.hidden = false;
    },
    error(err) {
      problem.textContent = mediaProblem(err);
      problem.hidden = false;
    },
    hide,
    openId: () => panel.dataset.id || null,
  };
}
