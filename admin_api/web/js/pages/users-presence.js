// A user's presence ("hänvisning", U-05): the one in force now and those planned, a new one (status, from, until,
// message; now and until changed when left empty) and removing one. Callers hear it, and the activity-based
// forwarding follows it.

import {api, clearProblems, problemText} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {locale, t} from "../i18n.js";
import {choice, instant, showUserProblem, textInput} from "./users-form.js";
import {STATUSES} from "./users-forwarding.js";

function stamp(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString(locale(), {weekday: "short", day: "numeric",
    month: "short", hour: "2-digit", minute: "2-digit"});
}

function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString(locale(), {hour: "2-digit", minute: "2-digit"});
}

/** "tis 24 nov. 12:00–12:45", "från tis 24 nov. 12:00, tills vidare". */
export function span(e) {
  if (!e.until) return t("users.presence-open", {from: stamp(e.from)});
  const sameDay = new Date(e.from).toDateString() === new Date(e.until).toDateString();
  return `${stamp(e.from)}–${sameDay ? clock(e.until) : stamp(e.until)}`;
}

/** The presence in force now, in a few words: "Lunch till 12:45 – Tillbaka snart". */
export function presenceNow(current) {
  if (!current) return null;
  const until = current.until ? ` ${t("users.presence-until-short", {time: stamp(current.until)})}` : "";
  return `${t(`presence.${current.status}`)}${until}${current.message ? ` – ${current.message}` : ""}`;
}

export function presenceSection(state) {
  const path = `${state.path}/presence`;
  const list = h("div", {class: "user-presence-now"});
  const trouble = h("p", {class: "error", role: "alert", hidden: true});
  let signature = "";

  function entry(e) {
    const remove = state.canPresence ? h("button", {type: "button", class: "link-button"}, t("common.delete"),
                                         h("span", {class: "sr-only"}, ` ${t(`presence.${e.status}`)} ${span(e)}`))
      : null;
    if (remove) {
      remove.addEventListener("click", async () => {
        remove.disabled = true;
        trouble.hidden = true;
        try {
          await api(`${path}/${encodeURIComponent(e.id)}`, {method: "DELETE"});
          announce(t("users.presence-removed"));
          await refresh();
        } catch (err) {
          trouble.textContent = problemText(err);
          trouble.hidden = false;
          remove.disabled = false;
        }
      });
    }
    return h("li", {class: e.active ? "active" : "planned"},
      h("span", {class: "user-tag"}, t(e.active ? "users.presence-active" : "users.presence-planned")),
      h("strong", {}, t(`presence.${e.status}`)), " ", h("span", {}, span(e)),
      e.message ? h("span", {class: "user-muted"}, ` – ${e.message}`) : null, remove ? " " : null, remove);
  }

  async function refresh() {
    const p = await api(path);
    const now = state.now();
    // ended periods are history: the list shows the one in force and those to come
    const shown = p.entries.filter(e => e.active || Date.parse(e.from) > now);
    const next = JSON.stringify([p.current, shown]);
    state.onPresence(p.current);
    if (next === signature) return;
    signature = next;
    list.replaceChildren(...[
      p.current ? null : h("p", {class: "user-empty"}, t("users.presence-none")),
      shown.length ? h("ul", {class: "presence-list user-presence"}, shown.map(entry)) : null].filter(Boolean));
  }

  const status = choice("status", STATUSES.filter(s => s !== "available").map(s => [s, t(`presence.${s}`)]), "lunch");
  const from = h("input", {type: "datetime-local", name: "from", id: uid("from")});
  const until = h("input", {type: "datetime-local", name: "until", id: uid("until")});
  const message = textInput("message", "", {maxlength: 200});
  const set = h("button", {type: "submit", class: "primary"}, t("users.presence-set"));
  const form = state.canPresence ? h("form", {class: "user-form user-presence-form", novalidate: true,
                                               "aria-labelledby": "user-presence-new"},
    h("h3", {id: "user-presence-new"}, t("users.presence-new")), errorLine(),
    h("div", {class: "user-row"}, field(t("users.presence-status"), status),
      field(t("users.presence-message"), message, t("users.presence-message-hint"))),
    h("div", {class: "user-row"}, field(t("users.presence-from"), from, t("users.presence-from-hint")),
      field(t("users.presence-until"), until, t("users.presence-until-hint"))),
    h("div", {class: "form-actions"}, set)) : null;
  if (form) {
    form.addEventListener("submit", async e => {
      e.preventDefault();
      clearProblems(form);
      const body = {status: status.value, until: instant(until.value)};
      if (from.value) body.from = instant(from.value);
      if (message.value.trim()) body.message = message.value.trim();
      set.disabled = true;
      try {
        await api(path, {method: "POST", body});
        from.value = until.value = message.value = "";
        announce(t("users.presence-saved"));
        await refresh();
      } catch (err) {
        showUserProblem(form, err);
      } finally {
        set.disabled = false;
      }
    });
  }
  const section = h("section", {class: "panel user-section", "aria-labelledby": "user-presence-title"},
    h("div", {class: "user-section-head"}, h("h2", {id: "user-presence-title"}, t("users.presence"))),
    h("p", {class: "hint user-lead"}, t("users.presence-lead")), trouble, list, form);
  return {section, refresh};
}
