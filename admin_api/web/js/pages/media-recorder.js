// Recording a prompt in the browser: the microphone (getUserMedia) into a MediaRecorder, a running time, stop,
// listen back, then save (sent to the API like an uploaded file, in the type the browser records: WebM or Ogg with
// Opus, or MP4) or discard. The microphone is released as soon as the recording stops, and when the page is left.

import {h} from "../dom.js";
import {formatDuration, formatNumber, t} from "../i18n.js";
import {mediaProblem} from "./media-ui.js";

// what the browser may record, best first, and the file name ending the server's converter is hinted with
const TYPES = [["audio/webm;codecs=opus", "webm"], ["audio/ogg;codecs=opus", "ogg"], ["audio/webm", "webm"],
               ["audio/ogg", "ogg"], ["audio/mp4", "m4a"]];
const LIMIT_S = 300;  // the server takes at most five minutes

function microphoneProblem(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") return t("media.rec-denied");
  if (name === "NotFoundError" || name === "OverconstrainedError") return t("media.rec-no-mic");
  if (name === "NotReadableError" || name === "AbortError") return t("media.rec-busy");
  return t("media.rec-failed");
}

/**
 * The recorder. `save(blob, filename, onProgress)` sends the recording (throws the API's error). Returns
 * {el, close}: close() stops a recording in progress, releases the microphone and forgets what was recorded.
 */
export function recorder({save}) {
  const time = h("span", {class: "rec-time", role: "timer", "aria-live": "off"}, formatDuration(0));
  const dot = h("span", {class: "rec-dot", "aria-hidden": "true"});
  const start = h("button", {type: "button", class: "primary rec-start"}, t("media.rec-start"));
  const stop = h("button", {type: "button", class: "rec-stop", hidden: true}, t("media.rec-stop"));
  const review = h("audio", {controls: true, hidden: true, class: "rec-review", "aria-label": t("media.rec-listen")});
  const keep = h("button", {type: "button", class: "primary", hidden: true}, t("media.rec-save"));
  const drop = h("button", {type: "button", hidden: true}, t("media.rec-discard"));
  const progress = h("progress", {max: "1", value: "0", hidden: true, "aria-label": t("media.progress")});
  const status = h("p", {class: "rec-status", role: "status"}, t("media.rec-ready"));
  const problem = h("p", {class: "error", role: "alert", hidden: true});
  const el = h("div", {class: "recorder", dataset: {state: "idle"}},
    h("div", {class: "rec-line"}, dot, time, start, stop), status, review, progress,
    h("div", {class: "form-actions"}, keep, drop), problem);

  let stream = null;
  let rec = null;
  let chunks = [];
  let ending = "webm";
  let began = 0;
  let seconds = 0;
  let timer = null;
  let url = null;
  let blob = null;
  let closed = false;

  function state(name, text) {
    el.dataset.state = name;
    const recording = name === "recording";
    start.hidden = recording;
    start.disabled = name === "asking" || name === "saving";
    stop.hidden = !recording;
    review.hidden = keep.hidden = drop.hidden = !(name === "review" || name === "saving");
    keep.disabled = drop.disabled = name === "saving";
    start.textContent = name === "review" ? t("media.rec-again") : t("media.rec-start");
    start.classList.toggle("primary", name !== "review" && name !== "saving");  // then "save" is the next step
    if (text !== undefined) status.textContent = text;
  }

  function fail(text) {
    problem.textContent = text;
    problem.hidden = false;
  }

  function release() {
    clearInterval(timer);
    timer = null;
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
  }

  function forget() {
    if (url) URL.revokeObjectURL(url);
    url = null;
    blob = null;
    review.removeAttribute("src");
  }

  function tick() {
    seconds = (performance.now() - began) / 1000;
    time.textContent = formatDuration(Math.floor(seconds));
    if (seconds >= LIMIT_S) end();
  }

  async function begin() {
    problem.hidden = true;
    forget();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof MediaRecorder === "undefined") {
      state("idle", t("media.rec-ready"));
      fail(t("media.rec-unsupported"));
      return;
    }
    state("asking", t("media.rec-asking"));
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: true});
    } catch (err) {
      state("idle", t("media.rec-ready"));
      fail(microphoneProblem(err));
      return;
    }
    if (closed) { release(); return; }  // the page was left while the browser asked
    const [type, end_] = TYPES.find(([mime]) => MediaRecorder.isTypeSupported(mime)) || ["", "webm"];
    ending = end_;
    try {
      rec = new MediaRecorder(stream, type ? {mimeType: type} : {});
    } catch (err) {
      release();
      state("idle", t("media.rec-ready"));
      fail(microphoneProblem(err));
      return;
    }
    chunks = [];
    rec.addEventListener("dataavailable", e => { if (e.data && e.data.size) chunks.push(e.data); });
    rec.addEventListener("stop", finished);
    rec.start();
    began = performance.now();
    seconds = 0;
    time.textContent = formatDuration(0);
    timer = setInterval(tick, 200);
    state("recording", t("media.rec-running"));
    stop.focus();
  }

  function end() {
    if (rec && rec.state !== "inactive") rec.stop();
    release();
  }

  function finished() {
    if (closed) return;
    blob = new Blob(chunks, {type: (rec && rec.mimeType) || "audio/webm"});
    chunks = [];
    rec = null;
    url = URL.createObjectURL(blob);
    review.src = url;
    state("review", t("media.rec-done", {seconds: formatNumber(seconds, {maximumFractionDigits: 1})}));
    review.focus();
  }

  async function keepIt() {
    if (!blob) return;
    problem.hidden = true;
    progress.hidden = false;
    progress.value = 0;
    state("saving", t("media.saving"));
    try {
      await save(blob, `${t("media.rec-filename")}.${ending}`, share => { progress.value = share; });
      forget();
      time.textContent = formatDuration(0);
      state("idle", t("media.rec-saved"));
    } catch (err) {
      state("review", t("media.rec-not-saved"));
      fail(mediaProblem(err));
    } finally {
      progress.hidden = true;
    }
  }

  start.addEventListener("click", begin);
  stop.addEventListener("click", end);
  keep.addEventListener("click", keepIt);
  drop.addEventListener("click", () => {
    forget();
    problem.hidden = true;
    time.textContent = formatDuration(0);
    state("idle", t("media.rec-discarded"));
    start.focus();
  });

  return {
    el,
    close() {
      closed = true;
      if (rec && rec.state !== "inactive") rec.stop();
      rec = null;
      release();
      forget();
    },
  };
}
