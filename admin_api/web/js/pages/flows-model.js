// Call flows as the pages see them: the node kinds and their fields, the paths out of each node (as the routing
// core's node_links names them), a one-line summary of a node, and the routing core's problems in words.

import {t} from "../i18n.js";

export const KINDS = ["announcement", "menu", "schedule", "group", "queue", "voicemail", "user", "external", "callback",
                      "hangup", "service"];
export const DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];

/** Each kind's fields, in the order a form shows them. type: prompt | node | queue | group | user | schedule | box
 * (a choice from the API), text, number, via, service, users, codes, choices. optional: may be empty (null). */
export const FIELDS = {
  announcement: [{name: "prompt", type: "prompt"}, {name: "next", type: "node"}],
  menu: [{name: "prompt", type: "prompt"}, {name: "choices", type: "choices"},
         {name: "timeout_next", type: "node", optional: true}, {name: "invalid_next", type: "node", optional: true},
         {name: "timeout_s", type: "number", min: 1, max: 60}, {name: "attempts", type: "number", min: 1, max: 10},
         {name: "timeout_prompt", type: "prompt", optional: true},
         {name: "invalid_prompt", type: "prompt", optional: true}],
  schedule: [{name: "schedule", type: "schedule"}, {name: "open", type: "node"}, {name: "closed", type: "node"},
             {name: "holiday", type: "node", optional: true}, {name: "override", type: "node", optional: true}],
  group: [{name: "group", type: "group"}, {name: "overflow", type: "node", optional: true}],
  queue: [{name: "queue", type: "queue"}, {name: "overflow", type: "node", optional: true}],
  voicemail: [{name: "box", type: "box"}],
  user: [{name: "user", type: "user"}, {name: "via", type: "via"}, {name: "next", type: "node", optional: true}],
  external: [{name: "number", type: "text"}, {name: "next", type: "node", optional: true}],
  callback: [{name: "prompt", type: "prompt"}, {name: "queue", type: "queue", optional: true},
             {name: "next", type: "node", optional: true}],
  hangup: [{name: "prompt", type: "prompt", optional: true}],
  service: [{name: "service", type: "service"}, {name: "box", type: "box", optional: true},
            {name: "users", type: "users"}, {name: "prompts", type: "codes"}],
};

/** The settings of a new node of `kind`: the first of each choice the API offers, paths left empty. */
export function newParams(kind, targets) {
  const first = list => (targets[list][0] || {}).key || "";
  return {
    announcement: () => ({prompt: "welcome", next: ""}),
    menu: () => ({prompt: "welcome", choices: [], timeout_next: null, invalid_next: null, timeout_s: 5, attempts: 3,
                  invalid_prompt: "menu-invalid", timeout_prompt: "menu-timeout"}),
    schedule: () => ({schedule: first("schedules"), open: "", closed: "", holiday: null, override: null}),
    group: () => ({group: first("groups"), overflow: null}),
    queue: () => ({queue: first("queues"), overflow: null}),
    voicemail: () => ({box: first("boxes")}),
    user: () => ({user: first("users"), via: "fixed", next: null}),
    external: () => ({number: "", next: null}),
    callback: () => ({prompt: "callback-enter-number", queue: null, next: null}),
    hangup: () => ({prompt: null}),
    service: () => ({service: "voicemail", box: null, users: [], prompts: []}),
  }[kind]();
}

/** The paths out of a node: [{label, target}], labels as the routing core names them ("digit 1", "timeout"…). */
export function exits(node) {
  const p = node.params || {};
  const out = [];
  const add = (label, target) => { if (target !== null && target !== undefined) out.push({label, target}); };
  switch (node.kind) {
    case "announcement": add("next", p.next); break;
    case "menu":
      for (const [digit, target] of p.choices || []) add(`digit ${digit}`, target);
      add("timeout", p.timeout_next); add("invalid", p.invalid_next);
      break;
    case "schedule": for (const b of ["open", "closed", "holiday", "override"]) add(b, p[b]); break;
    case "group": case "queue": add("overflow", p.overflow); break;
    case "user": case "external": case "callback": add("next", p.next); break;
    default: break;
  }
  return out;
}

/** A path's name as a person reads it: "Val 1", "Inget val", "Öppet"… */
export function viaText(label) {
  if (!label) return t("flows.via-entry");
  if (label.startsWith("digit ")) return t("flows.via-digit", {digit: label.slice(6)});
  return t(`flows.via-${label}`);
}

export function versionText(n) { return t("flows.version-n", {n}); }

export function kindText(kind) { return t(`flows.kind-${kind}`); }

/** The name a node goes by: its own, else its key. */
export function nodeName(node) { return (node && (node.name || node.key)) || ""; }

function named(targets, list, key) {
  if (key === null || key === undefined || key === "") return "–";
  const found = (targets[list] || []).find(c => c.key === key);
  return found ? found.name : key;
}

/** What a node does, in a few words ("Kö: Support", "Spelar: Välkommen."). */
export function summary(node, targets) {
  const p = node.params || {};
  switch (node.kind) {
    case "announcement": case "menu": case "callback":
      return t("flows.sum-plays", {prompt: named(targets, "prompts", p.prompt)});
    case "schedule": return t("flows.sum-schedule", {name: named(targets, "schedules", p.schedule)});
    case "group": return t("flows.sum-group", {name: named(targets, "groups", p.group)});
    case "queue": return t("flows.sum-queue", {name: named(targets, "queues", p.queue)});
    case "voicemail": return t("flows.sum-box", {name: named(targets, "boxes", p.box)});
    case "user": return t("flows.sum-user", {name: named(targets, "users", p.user)});
    case "external": return t("flows.sum-external", {number: p.number || "–"});
    case "hangup": return p.prompt ? t("flows.sum-plays", {prompt: named(targets, "prompts", p.prompt)})
      : t("flows.sum-hangup");
    case "service": return t(`flows.service-${p.service}`);
    default: return "";
  }
}

/** Every setting of a node as [label, value] pairs for reading (paths are shown as paths, not here). */
export function settings(node, targets) {
  const p = node.params || {};
  const lists = {prompt: "prompts", queue: "queues", group: "groups", user: "users", schedule: "schedules",
                 box: "boxes"};
  return (FIELDS[node.kind] || []).filter(f => !["node", "choices"].includes(f.type)).map(f => {
    const value = p[f.name];
    if (lists[f.type]) return [t(`flows.field-${f.name}`), named(targets, lists[f.type], value)];
    if (f.type === "users") return [t("flows.field-users"), (value || []).map(u => named(targets, "users", u))];
    if (f.type === "codes") return [t("flows.field-prompts"),
      (value || []).map(([code, prompt]) => `${code}: ${named(targets, "prompts", prompt)}`)];
    if (f.type === "via") return [t("flows.field-via"), t(`flows.via-user-${value}`)];
    if (f.type === "service") return [t("flows.field-service"), t(`flows.service-${value}`)];
    return [t(`flows.field-${f.name}`), value === null || value === undefined ? "–" : String(value)];
  });
}

// --- the routing core's problems, in words, and the field each concerns ------------------------------------

const REFS = {user: "user", group: "group", queue: "queue", voicemail: "box", schedule: "schedule", flow: "flow"};

/** A problem of POST …/draft/validate (or a refused publish) in the page's language. */
export function problemWords(problem) {
  const m = String(problem.message || "");
  let found;
  switch (problem.code) {
    case "dangling-reference":
      if ((found = m.match(/^(.+) leads to node '(.*)', which does not exist$/))) {
        return found[2] ? t("flows.problem-dangling-node", {path: viaText(found[1]), node: found[2]})
          : t("flows.problem-no-target", {path: viaText(found[1])});
      }
      if ((found = m.match(/^(\w+) '(.*)' does not exist$/)) && REFS[found[1]]) {
        return t(`flows.problem-missing-${REFS[found[1]]}`, {key: found[2]});
      }
      break;
    case "unknown-prompt":
      if ((found = m.match(/^prompt '(.*)'/))) return t("flows.problem-unknown-prompt", {key: found[1]});
      break;
    case "bad-number":
      if ((found = m.match(/^'(.*)' is not/))) return t("flows.problem-bad-number", {number: found[1]});
      break;
    case "endless-loop":
      return t("flows.problem-endless-loop", {loop: m.split(": ").slice(1).join(": ")});
    case "no-entry":
      if ((found = m.match(/^entry node '(.*)'/))) return t("flows.problem-no-entry", {node: found[1]});
      break;
    case "bad-key":
      return m.startsWith("choice") ? t("flows.problem-bad-digit") : t("flows.problem-bad-key");
    case "menu-no-timeout": case "menu-no-invalid": case "menu-empty": case "bad-attempts": case "bad-timeout":
    case "unreachable": case "no-way-out": case "duplicate": case "bad-code": case "service-no-prompts":
      return t(`flows.problem-${problem.code}`);
    default: break;
  }
  return m;
}

/** The field of a node's form a problem is about (null: the node as a whole). */
export function problemField(problem, node) {
  const m = String(problem.message || "");
  const byCode = {"menu-no-timeout": "timeout_next", "menu-no-invalid": "invalid_next", "menu-empty": "choices",
                  "bad-attempts": "attempts", "bad-timeout": "timeout_s", "bad-number": "number",
                  "bad-code": "prompts", "service-no-prompts": "prompts", "bad-service": "service"};
  if (byCode[problem.code]) return byCode[problem.code];
  if (problem.code === "bad-key") return m.startsWith("choice") ? "choices" : null;
  if (problem.code === "unknown-prompt") {
    const key = (m.match(/^prompt '(.*)'/) || [])[1];
    const f = (FIELDS[node.kind] || []).find(x => x.type === "prompt" && node.params[x.name] === key);
    return f ? f.name : "prompt";
  }
  if (problem.code === "dangling-reference") {
    const label = (m.match(/^(.+) leads to node/) || [])[1];
    if (label) {
      if (label.startsWith("digit ")) return "choices";
      return {timeout: "timeout_next", invalid: "invalid_next"}[label] || label;
    }
    const what = (m.match(/^(\w+) '/) || [])[1];
    return what === "voicemail" ? "box" : what || null;
  }
  return null;
}
