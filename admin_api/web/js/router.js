// A hash router: #/path/with/:params?query. Pages are loaded as modules when first opened.

const routes_ = [];

export function route(pattern, load, options = {}) {
  routes_.push({parts: pattern.split("/").filter(Boolean), load, ...options});
}

/** The current location: {path, query: URLSearchParams}. */
export function current() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  return {path: path.startsWith("/") ? path : `/${path}`, query: new URLSearchParams(at < 0 ? "" : raw.slice(at + 1))};
}

/** Every route, in the order they were added (the menu is built from them). */
export function routes() {
  return routes_;
}

export function match(path) {
  const parts = path.split("/").filter(Boolean);
  for (const r of routes_) {
    if (r.parts.length !== parts.length) continue;
    const params = {};
    let ok = true;
    r.parts.forEach((p, i) => {
      if (p.startsWith(":")) {
        try { params[p.slice(1)] = decodeURIComponent(parts[i]); } catch { ok = false; }
      } else if (p !== parts[i]) {
        ok = false;
      }
    });
    if (ok) return {route: r, params};
  }
  return null;
}

/** "#/users?q=x" from a path and query fields (empty values left out). */
export function href(path, query = {}) {
  const qs = new URLSearchParams();
  const entries = query instanceof URLSearchParams ? query.entries() : Object.entries(query);
  for (const [k, v] of entries) if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
  const s = qs.toString();
  return `#${path}${s ? `?${s}` : ""}`;
}

export function go(path, query = {}) {
  const target = href(path, query);
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = target;
}

/** Change the query in the address without a new navigation (list state: back and reload keep it). */
export function replaceQuery(query) {
  history.replaceState(history.state, "", href(current().path, query));
}
