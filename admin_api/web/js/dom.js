// A tiny element builder: text always goes in as text (never as HTML), so nothing from the API can inject markup.

/** h("button", {type: "button", class: "x", on: {click: f}}, "text", child…) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (name === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    } else if (name === "text") {
      el.textContent = value;
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

let ids = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix = "id") {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** Focus the page's heading after a navigation, so keyboard and screen-reader users start at the top. */
export function focusHeading(root) {
  const heading = root.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({preventScroll: false});
  }
}

/** A short message for screen readers (the page has one polite live region). */
export function announce(text) {
  const region = document.getElementById("announce");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

/** A labelled form field: the label, the input, and an optional hint the input is described by. */
export function field(label, input, hint) {
  const hintId = hint ? uid("hint") : null;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", {class: "field"}, h("label", {for: input.id}, label), input,
           hint ? h("p", {class: "hint", id: hintId}, hint) : null);
}

/** A form's error line: hidden until a problem is shown in it, then read out (role alert). */
export function errorLine() {
  return h("p", {class: "form-error", role: "alert", tabindex: "-1", hidden: true});
}

const sheets = new Map();  // style sheet path → the promise of it being applied

/** Add a page group's own style sheet (css/<name>.css) once; resolves when it applies, so nothing flashes. */
export function loadStyle(name) {
  if (!sheets.has(name)) {
    sheets.set(name, new Promise(resolve => {
      const link = h("link", {rel: "stylesheet", href: `css/${name}.css`});
      link.addEventListener("load", resolve);
      link.addEventListener("error", resolve);  // the page still works, unstyled
      document.head.append(link);
    }));
  }
  return sheets.get(name);
}
