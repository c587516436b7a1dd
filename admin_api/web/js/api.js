// The only way the pages talk to the server: the admin API (/api/v1), with the session cookie.
// Errors come back as RFC 9457 problems; ApiError keeps them, and showProblem puts each message beside the
// field it names.

import {h, uid} from "./dom.js";
import {t, has} from "./i18n.js";

export const PREFIX = "/api/v1";

export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.kind = String(problem.type || "").split("/").pop() || (status === 0 ? "network" : "http-error");
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }

  get notFound() { return this.status === 404; }
}

function queryString(query) {
  const qs = new URLSearchParams();
  const entries = query instanceof URLSearchParams ? query.entries() : Object.entries(query || {});
  for (const [k, v] of entries) if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
  const s = qs.toString();
  return s ? `?${s}` : "";
}

export function apiUrl(path, query) {
  return `${PREFIX}${path}${queryString(query)}`;
}

/** fetch, as JSON; throws ApiError (status 0: the server could not be reached). A 401 on anything but the sign-in
 * steps means the session ended: the application is told, and goes to the sign-in page. */
export async function api(path, {method = "GET", body, query, signal} = {}) {
  const headers = {"Accept": "application/json, application/problem+json", "X-Requested-With": "pbx"};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, query), {method, headers, signal, credentials: "same-origin",
                                                  body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, {type: "network", title: "Network error"});
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    let problem = {title: response.statusText};
    if (type.includes("json")) {
      try { problem = await response.json(); } catch { /* a broken body: keep the status text */ }
    }
    const err = new ApiError(response.status, problem);
    if (response.status === 401 && !path.startsWith("/login")) {
      window.dispatchEvent(new CustomEvent("pbx:signed-out"));
    }
    throw err;
  }
  return type.includes("json") ? response.json() : response;
}

/** The readable sentence for a problem: our own words for the kinds we know, the server's otherwise. */
export function problemText(err) {
  if (!(err instanceof ApiError)) return t("problem.unexpected");
  const own = `problem.${err.kind}`;
  const title = has(own) ? t(own) : (err.problem.title || t("problem.unexpected"));
  const retry = err.kind === "rate-limited" && err.problem.detail ? ` (${err.problem.detail})` : "";
  return title + retry;
}

/** One field error in words a person reads (the API speaks JSON Schema). */
export function fieldText(message) {
  const m = String(message || "");
  if (/is a required property|is required/.test(m)) return t("field.required");
  if (/should be non-empty|is too short/.test(m)) return t("field.short");
  if (/is too long/.test(m)) return t("field.long");
  if (/does not match|is not valid under any of the given schemas|is not a '[a-z-]+'/.test(m)) return t("field.format");
  if (/is not one of/.test(m)) return t("field.choice");
  if (/is not of type/.test(m)) return t("field.type");
  if (/is less than|is greater than/.test(m)) return t("field.range");
  return m;
}

/** Remove the messages a form showed before. */
export function clearProblems(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    const described = (el.getAttribute("aria-describedby") || "").split(" ").filter(id => !id.startsWith("err-"));
    if (described.length) el.setAttribute("aria-describedby", described.join(" "));
    else el.removeAttribute("aria-describedby");
  }
  const general = form.querySelector(".form-error");
  if (general) { general.textContent = ""; general.hidden = true; }
}

/** The input an error's field names: the longest path a data-field has ("body.exceptions.0.hours" →
 * data-field "exceptions.0.hours", then "exceptions.0", "exceptions"), else the input named by its first part. */
function inputFor(form, field) {
  const parts = String(field || "").split(".");
  if (parts[0] !== "body" || parts.length < 2) return null;
  for (let n = parts.length; n > 1; n -= 1) {
    const found = form.querySelector(`[data-field="${CSS.escape(parts.slice(1, n).join("."))}"]`);
    if (found) return found;
  }
  return form.querySelector(`[name="${CSS.escape(parts[1])}"]`);
}

/** Show a problem on a form: each error beside the field it names (body.login → the input named "login";
 * body.weekly.mon → data-field "weekly.mon"), the rest in the form's alert line. The first wrong field gets the
 * focus. `guess(error)` may name a data-field for an error without a request path (the routing core names the
 * object, not the field); `words(message)` says a message in the page's language (default fieldText). */
export function showProblem(form, err, {guess = () => null, words = fieldText} = {}) {
  clearProblems(form);
  const general = [];
  let first = null;
  for (const e of err instanceof ApiError ? err.errors : []) {
    const named = guess(e);
    const input = inputFor(form, e.field) || (named ? form.querySelector(`[data-field="${CSS.escape(named)}"]`) : null);
    if (!input) { general.push(words(e.message)); continue; }
    const id = uid("err");
    (input.closest(".field") || input.parentElement).append(h("p", {class: "field-error", id}, words(e.message)));
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
    first = first || input;
  }
  const box = form.querySelector(".form-error");
  const text = [problemText(err), ...general].join(" ");
  if (box && text) { box.textContent = text; box.hidden = false; }
  if (first) first.focus();
  else if (box) box.focus();
}
