// Prompts (ljudfiler): the tenant's prompts, whether each has audio and how long it is; one chosen prompt's editor
// plays its audio in the browser, uploads a file (sent as it is, with its own type; the server converts it for
// telephony), records one in the browser, or removes the audio after a confirmation.

import {api, apiUrl} from "../api.js";
import {announce, field, h, uid} from "../dom.js";
import {formatNumber, t} from "../i18n.js";
import {pageHead} from "../views.js";
import {recorder} from "./media-recorder.js";
import {ask, mediaProblem, redrawableList, sendAudio} from "./media-ui.js";

const MAX_BYTES = 20 * 1024 * 1024;  // the server's limit for one upload
const ACCEPT = "audio/*,.wav,.mp3,.ogg,.oga,.opus,.m4a,.mp4,.flac,.aac,.aif,.aiff,.webm,.amr";

function seconds(s) {
  return t("media.seconds", {n: formatNumber(s, {maximumFractionDigits: 1})});
}

function audioCell(p) {
  return p.has_audio ? h("span", {class: "has-audio"}, p.seconds === null || p.seconds === undefined
    ? t("media.has-audio") : seconds(p.seconds))
    : h("span", {class: "no-audio"}, t("media.no-audio"));
}

export async function render(view, {session}) {
  const canEdit = session.me.rights.includes("prompts");
  const listHolder = h("div");
  const editor = h("section", {class: "panel prompt-editor", hidden: true, "aria-labelledby": uid("prompt")});
  view.append(pageHead(t("media.prompts-title")), h("p", {class: "lead"}, t("media.prompts-lead")));
  if (!canEdit) view.append(h("p", {class: "hint read-only"}, t("media.prompts-read-only")));
  view.append(editor, h("h2", {class: "list-title"}, t("media.prompts-list")), listHolder);

  let open = null;  // {prompt, recorder}
  const drawList = redrawableList(listHolder, {
    path: "/prompts", label: t("media.prompts-title"), exportName: "prompts",
    columns: [
      {key: "name", label: t("media.prompt-name"), cell: p => h("button", {
        type: "button", class: "link-button prompt-open", on: {click: () => choose(p)}}, p.name)},
      {key: "key", label: t("media.prompt-key")},
      {key: "language", label: t("media.prompt-language")},
      {key: "has_audio", label: t("media.prompt-audio"), cell: audioCell},
    ],
  });

  function close() {
    if (open) open.recorder?.close();
    open = null;
    editor.hidden = true;
    editor.replaceChildren();
  }

  /** The editor of one prompt: what it has now, then upload and record (for those with the right). */
  function choose(prompt) {
    close();
    const headingId = editor.getAttribute("aria-labelledby");
    const heading = h("h2", {id: headingId, tabindex: "-1"}, prompt.name);
    const shut = h("button", {type: "button"}, t("media.close"));
    shut.addEventListener("click", () => { close(); });
    const now = h("div", {class: "prompt-now"});
    const rec = canEdit ? recorder({save: (blob, filename, progress) => store(blob, filename, progress)}) : null;
    open = {prompt, recorder: rec};
    editor.replaceChildren(
      h("div", {class: "card-head"}, heading, h("div", {class: "actions"}, shut)),
      h("p", {class: "hint"}, t("media.prompt-about", {key: prompt.key, language: prompt.language})), now,
      canEdit ? h("div", {class: "prompt-tools"},
        h("div", {class: "tool"}, h("h3", {}, t("media.upload-title")), uploadForm()),
        h("div", {class: "tool"}, h("h3", {}, t("media.rec-title")), h("p", {class: "hint"}, t("media.rec-hint")),
          rec.el)) : null);
    drawNow(now, prompt);
    editor.hidden = false;
    heading.focus();
  }

  /** The audio the prompt has now: a player, its length, download and remove. */
  function drawNow(now, prompt) {
    if (!prompt.has_audio) {
      now.replaceChildren(h("p", {class: "no-audio-note"}, t("media.prompt-silent")));
      return;
    }
    const src = apiUrl(`/prompts/${encodeURIComponent(prompt.key)}/audio`, {v: Date.now()});
    const audio = h("audio", {controls: true, preload: "metadata", src, class: "prompt-audio",
                              "aria-label": t("media.play-prompt", {name: prompt.name})});
    const remove = canEdit ? h("button", {type: "button", class: "danger"}, t("media.remove-audio")) : null;
    if (remove) remove.addEventListener("click", () => removeAudio(prompt));
    now.replaceChildren(audio, h("p", {class: "prompt-length"},
      prompt.seconds === null || prompt.seconds === undefined ? t("media.has-audio")
        : t("media.prompt-length", {length: seconds(prompt.seconds)})),
    h("div", {class: "form-actions"},
      h("a", {class: "button", href: src, download: `${prompt.key}.wav`}, t("media.download")), remove));
  }

  /** The new audio is the prompt's: the editor and the list show it, and a screen reader hears it. */
  async function stored(result) {
    if (!open || open.prompt.key !== result.key) return;
    open.prompt = result;
    drawNow(editor.querySelector(".prompt-now"), result);
    announce(t("media.stored", {length: seconds(result.seconds || 0)}));
    await drawList();
  }

  async function store(blob, filename, progress) {
    const key = open.prompt.key;
    const result = await sendAudio(`/prompts/${encodeURIComponent(key)}/audio`, {filename}, blob, progress);
    await stored(result);
    return result;
  }

  function uploadForm() {
    const input = h("input", {type: "file", id: uid("file"), name: "file", accept: ACCEPT});
    const progress = h("progress", {max: "1", value: "0", hidden: true, "aria-label": t("media.progress")});
    const status = h("p", {class: "upload-status", role: "status"});
    const button = h("button", {type: "submit", class: "primary"}, t("media.upload"));
    const form = h("form", {class: "upload", novalidate: true},
      field(t("media.file"), input, t("media.file-hint")), progress, status,
      h("div", {class: "form-actions"}, button));

    function problem(text) {
      const box = form.querySelector(".field");
      const note = h("p", {class: "field-error", id: uid("err")}, text);
      box.append(note);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") || ""} ${note.id}`.trim());
      input.focus();
    }

    function clear() {
      for (const note of form.querySelectorAll(".field-error")) note.remove();
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", (input.getAttribute("aria-describedby") || "").split(" ")
        .filter(id => id && !id.startsWith("err-")).join(" "));
    }

    form.addEventListener("submit", async e => {
      e.preventDefault();
      clear();
      status.textContent = "";
      const file = input.files && input.files[0];
      if (!file) { problem(t("media.choose-file")); return; }
      if (file.size > MAX_BYTES) { problem(t("media.audio-too-large")); return; }
      button.disabled = true;
      progress.hidden = false;
      progress.value = 0;
      status.textContent = t("media.uploading", {name: file.name});
      try {
        const result = await store(file, file.name, share => {
          progress.value = share;
          status.textContent = share < 1 ? t("media.uploading-share", {name: file.name, share: Math.round(share * 100)})
            : t("media.converting");
        });
        input.value = "";
        status.textContent = t("media.uploaded", {name: file.name, length: seconds(result.seconds || 0)});
      } catch (err) {
        status.textContent = "";
        problem(mediaProblem(err));  // the chosen file stays chosen: nothing is lost
      } finally {
        button.disabled = false;
        progress.hidden = true;
      }
    });
    return form;
  }

  async function removeAudio(prompt) {
    const yes = await ask(t("media.remove-audio-text", {name: prompt.name}), t("media.remove"));
    if (!yes || !open || open.prompt.key !== prompt.key) return;
    const now = editor.querySelector(".prompt-now");
    try {
      await api(`/prompts/${encodeURIComponent(prompt.key)}/audio`, {method: "DELETE"});
    } catch (err) {
      now.append(h("p", {class: "error", role: "alert"}, mediaProblem(err)));
      return;
    }
    open.prompt = {...prompt, has_audio: false, seconds: null, rate: null};
    drawNow(now, open.prompt);
    announce(t("media.removed-audio"));
    editor.querySelector("h2").focus();
    await drawList();
  }

  await drawList();
  return close;
}
