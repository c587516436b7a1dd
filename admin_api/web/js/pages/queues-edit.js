// A queue's or answer group's settings and members. The settings form sends every field the API has for it (PATCH
// replaces each given field), with the API's errors beside the inputs; the members are added from the tenant's
// users and removed one by one. Without the right "flows" the same things are shown, not offered for change.

import {api, clearProblems, problemText, showProblem} from "../api.js";
import {announce, errorLine, field, h, uid} from "../dom.js";
import {formatNumber, has, locale, t} from "../i18n.js";
import {href} from "../router.js";
import {facts, yesNo} from "../views.js";

const KEYS = ["", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"];
export const STRATEGIES = {
  queue: ["longest_idle", "round_robin", "fewest_calls", "ring_all", "priority"],
  group: ["sequential", "parallel"],
};

/** The settings of each kind: name, how it is edited, and (for numbers) its range and unit. */
function settings(kind, prompts) {
  if (kind === "group") {
    return [
      {name: "name", type: "text"},
      {name: "strategy", type: "select", options: STRATEGIES.group.map(s => [s, t(`queues.strategy-${s}`)])},
      {name: "overflow_after_s", type: "number", min: 0, max: 86400, unit: "s"},
      {name: "overflow_when_empty", type: "check"},
      {name: "waiting_prompt", type: "select", options: [["", t("queues.no-prompt")], ...prompts]},
    ];
  }
  return [
    {name: "name", type: "text"},
    {name: "strategy", type: "select", options: STRATEGIES.queue.map(s => [s, t(`queues.strategy-${s}`)])},
    {name: "wrapup_s", type: "number", min: 0, max: 3600, unit: "s"},
    {name: "announce_every_s", type: "number", min: 0, max: 3600, unit: "s"},
    {name: "max_wait_s", type: "number", min: 1, max: 86400, unit: "s"},
    {name: "callback_key", type: "select", options: KEYS.map(k => [k, k ? k : t("queues.no-callback")])},
    {name: "priority", type: "number", min: -100, max: 100},
    {name: "join_empty", type: "check"},
    {name: "callback_scheduled", type: "check"},
    {name: "record", type: "check"},
    {name: "callback_notify", type: "list"},
  ];
}

function shownValue(s, value, prompts) {
  if (s.type === "check") return yesNo(value);
  if (s.type === "list") return value && value.length ? value.join(", ") : "–";
  if (s.type === "select") {
    const found = s.options.find(([v]) => v === (value ?? ""));
    return found ? found[1] : (prompts && value) || value || "–";
  }
  if (s.type === "number") return s.unit ? t("queues.seconds", {n: formatNumber(value)}) : formatNumber(value);
  return value;
}

/** A number as the API wants it; anything else goes as typed, for the API to refuse beside the field. */
function numberOf(text) {
  return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
}

export async function settingsPanel(kind, item, {canEdit, path, saved}) {
  const prompts = kind === "group"
    ? await api("/prompts", {query: {per_page: 500, sort: "name"}}).then(r => r.items.map(p => [p.key, p.name || p.key]))
      .catch(() => [])
    : [];
  if (kind === "group" && item.waiting_prompt && !prompts.some(([k]) => k === item.waiting_prompt)) {
    prompts.push([item.waiting_prompt, item.waiting_prompt]);
  }
  const list = settings(kind, prompts);
  const title = h("h2", {id: "settings-title"}, t("queues.settings"));
  if (!canEdit) {
    return h("section", {class: "panel", "aria-labelledby": "settings-title"}, title,
      facts(list.map(s => [t(`queues.field-${s.name}`), shownValue(s, item[s.name])])));
  }
  const inputs = new Map();
  const fields = list.map(s => {
    const id = uid(s.name);
    const hint = has(`queues.hint-${s.name}`) ? t(`queues.hint-${s.name}`) : null;
    if (s.type === "check") {
      const box = h("input", {id, type: "checkbox", name: s.name, checked: Boolean(item[s.name])});
      inputs.set(s.name, box);
      return h("div", {class: "field check-field"}, h("label", {class: "check", for: id}, box,
                                                      t(`queues.field-${s.name}`)));
    }
    let input;
    if (s.type === "select") {
      input = h("select", {id, name: s.name}, s.options.map(([v, text]) => h("option", {value: v,
        selected: v === (item[s.name] ?? "")}, text)));
    } else if (s.type === "number") {
      input = h("input", {id, name: s.name, type: "text", inputmode: "numeric", value: String(item[s.name] ?? ""),
                          autocomplete: "off", class: "short"});
    } else {
      input = h("input", {id, name: s.name, type: "text", autocomplete: "off",
                          value: s.type === "list" ? (item[s.name] || []).join(", ") : item[s.name] ?? ""});
    }
    inputs.set(s.name, input);
    const label = t(`queues.field-${s.name}`) + (s.unit ? ` (${t("queues.unit-s")})` : "");
    return field(label, input, hint);
  });
  const submit = h("button", {type: "submit", class: "primary"}, t("queues.save"));
  const note = h("p", {class: "saved-note", role: "status"});
  const form = h("form", {novalidate: true, class: "settings-form"}, h("div", {class: "settings-grid"}, fields),
                 errorLine(), h("div", {class: "form-actions"}, submit, note));
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const body = {};
    for (const s of list) {
      const input = inputs.get(s.name);
      if (s.type === "check") body[s.name] = input.checked;
      else if (s.type === "number") body[s.name] = numberOf(input.value);
      else if (s.type === "list") body[s.name] = input.value.split(/[,\n]/).map(v => v.trim()).filter(Boolean);
      else if (s.name === "callback_key" || s.name === "waiting_prompt") body[s.name] = input.value || null;
      else body[s.name] = input.value.trim();
    }
    submit.disabled = true;
    note.textContent = "";
    try {
      const answer = await api(path, {method: "PATCH", body});
      clearProblems(form);
      note.textContent = t("queues.saved-at", {time: new Date().toLocaleTimeString(locale(), {timeStyle: "short"})});
      await saved(answer);
    } catch (err) {
      showProblem(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  return h("section", {class: "panel", "aria-labelledby": "settings-title"}, title, form);
}

/** The members, in their order (an answer group rings them in it), with add and remove. */
export function membersPanel(kind, item, {canEdit, path, users, names, changed}) {
  const body = h("div");
  const error = h("p", {class: "error", role: "alert", hidden: true});
  const element = h("section", {class: "panel", "aria-labelledby": "members-title"},
    h("h2", {id: "members-title"}, t("queues.members")), error, body);
  const userSelect = h("select", {id: uid("user"), name: "user"});
  const ring = h("input", {id: uid("ring"), name: "ring_s", type: "text", inputmode: "numeric", value: "20",
                           class: "short", autocomplete: "off"});
  const add = h("button", {type: "submit"}, t("queues.member-add"));
  const form = h("form", {novalidate: true, class: "member-add"},
    h("div", {class: "member-add-fields"}, field(t("queues.member-user"), userSelect),
      kind === "group" ? field(`${t("queues.ring")} (${t("queues.unit-s")})`, ring) : null,
      h("div", {class: "field submit"}, add)), errorLine());
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const payload = {user: userSelect.value};
    if (kind === "group") payload.ring_s = numberOf(ring.value);
    add.disabled = true;
    try {
      const answer = await api(`${path}/members`, {method: "POST", body: payload});
      clearProblems(form);
      announce(t("queues.member-added", {name: names(payload.user)}));
      await changed(answer);
      userSelect.focus();
    } catch (err) {
      showProblem(form, err);
    } finally {
      add.disabled = false;
    }
  });

  function memberKeys(current) {
    return kind === "group" ? current.members.map(m => m.user) : current.members;
  }

  function draw(current) {
    const keys = memberKeys(current);
    const items = keys.map((user, i) => {
      const name = names(user);
      const remove = canEdit ? h("button", {type: "button", class: "link-button",
                                            "aria-label": t("queues.member-remove-who", {name})},
                                  t("queues.member-remove")) : null;
      if (remove) {
        remove.addEventListener("click", async () => {
          error.hidden = true;
          remove.disabled = true;
          try {
            await api(`${path}/members/${encodeURIComponent(user)}`, {method: "DELETE"});
            announce(t("queues.member-removed", {name}));
            await changed(null);
            (body.querySelector("li button") || userSelect).focus();
          } catch (err) {
            error.textContent = problemText(err);
            error.hidden = false;
            remove.disabled = false;
          }
        });
      }
      const known = users.some(u => u.key === user);
      return h("li", {dataset: {user}}, h("span", {class: "order"}, `${i + 1}.`),
        known ? h("a", {href: href(`/users/${encodeURIComponent(user)}`)}, name) : h("span", {}, name),
        kind === "group" ? h("span", {class: "ring"}, t("queues.rings", {n: current.members[i].ring_s})) : null,
        remove);
    });
    const others = users.filter(u => !keys.includes(u.key));
    userSelect.replaceChildren(...others.map(u => h("option", {value: u.key}, `${u.name} (${u.key})`)));
    add.disabled = !others.length;
    body.replaceChildren(
      items.length ? h("ol", {class: "members"}, items) : h("p", {class: "empty"}, t("queues.no-members")));
    if (canEdit) body.append(form);
  }
  draw(item);
  return {element, draw};
}
