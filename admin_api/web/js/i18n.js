// Swedish and English. The texts are in ../texts.json (one object per language, the same keys in both), and each
// group of pages has its own ../texts/<part>.json, loaded when one of its pages is first opened. The language comes
// from the browser the first time, then from the person's own choice, remembered.

const STORE = "pbx.lang";
export const LANGUAGES = ["sv", "en"];
let texts = {sv: {}, en: {}};
let language = "sv";

function fromBrowser() {
  for (const tag of navigator.languages || [navigator.language || ""]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

export async function loadTexts() {
  const response = await fetch(new URL("../texts.json", import.meta.url), {credentials: "same-origin"});
  texts = await response.json();
  let saved = null;
  try { saved = localStorage.getItem(STORE); } catch { /* storage may be off */ }
  language = LANGUAGES.includes(saved) ? saved : fromBrowser();
  document.documentElement.lang = language;
}

const parts = new Map();  // part name → the promise of its texts being merged in

/** Merge texts/<name>.json into the texts, once. */
export function loadPart(name) {
  if (!parts.has(name)) {
    parts.set(name, fetch(new URL(`../texts/${name}.json`, import.meta.url), {credentials: "same-origin"})
      .then(response => {
        if (!response.ok) throw new Error(`texts/${name}.json: HTTP ${response.status}`);
        return response.json();
      })
      .then(more => { for (const l of LANGUAGES) Object.assign(texts[l], more[l] || {}); })
      .catch(err => { parts.delete(name); throw err; }));
  }
  return parts.get(name);
}

export function lang() { return language; }

export function setLang(next) {
  if (!LANGUAGES.includes(next)) return;
  language = next;
  document.documentElement.lang = next;
  try { localStorage.setItem(STORE, next); } catch { /* not remembered, still used */ }
}

export function has(key) { return key in (texts[language] || {}); }

/** The text for `key` in the current language, {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const raw = (texts[language] || {})[key] ?? (texts.en || {})[key] ?? key;
  return raw.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function locale() { return language === "sv" ? "sv-SE" : "en-GB"; }

export function formatNumber(n, options = {}) {
  return new Intl.NumberFormat(locale(), options).format(n);
}

/** Seconds as m:ss (or h:mm:ss). */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = v => String(v).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/** A moment as a person reads it: "24 nov. 2026 10:00" (or the English form); `none` when there is none. */
export function formatStamp(iso, none = "") {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return none;
  return d.toLocaleString(locale(), {dateStyle: "medium", timeStyle: "short"});
}

export function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString(locale(), {hour: "2-digit", minute: "2-digit"});
}
