// Call recordings (inspelningar): the list (a list view: when, caller, number called, user, queue, length, kind),
// newest first, and the player: play in the browser, download, delete after a confirmation (deletion is logged).
// #/recordings?recording=<id> opens one recording (a link to it).

import {api, apiUrl} from "../api.js";
import {announce, h} from "../dom.js";
import {formatDuration, formatStamp, t} from "../i18n.js";
import {facts, pageHead} from "../views.js";
import {ask, callerOf, defaultSort, mayNot, mediaProblem, playerPanel, redrawableList}
  from "./media-ui.js";

/** [key, name] of a list the administrator may read (none when they may not: the filter then offers "all"). */
function options(path) {
  return api(path, {query: {per_page: 500, sort: "name"}}).then(r => r.items.map(x => [x.key, x.name]))
    .catch(() => []);
}

export async function render(view, {session, query}) {
  view.append(pageHead(t("media.recs-title")));
  if (!session.me.rights.includes("recordings")) {
    view.append(mayNot(t("media.recs-may-not")));
    return null;
  }
  const player = playerPanel({label: t("media.recs-player")});
  const listHolder = h("div");
  view.append(h("p", {class: "lead"}, t("media.recs-lead")), player.el,
              h("h2", {class: "list-title sr-only", id: "recs-list-title", tabindex: "-1"},
                t("media.recs-title")), listHolder);

  const [users, queues] = await Promise.all([options("/users"), options("/queues")]);
  const userName = new Map(users);
  const queueName = new Map(queues);
  const kind = r => (r.kind ? t(`media.kind-${r.kind}`) : "");
  const who = r => (r.user ? userName.get(r.user) || r.user : "");
  const queueOf = r => (r.queue ? queueName.get(r.queue) || r.queue : "");

  defaultSort("-started_at");
  const drawList = redrawableList(listHolder, {
    path: "/recordings", label: t("media.recs-title"), exportName: "recordings",
    columns: [
      {key: "started_at", label: t("media.recs-started"),
       cell: r => h("span", {class: "when"}, formatStamp(r.started_at))},
      {key: "caller", label: t("media.recs-caller"), cell: r => h("span", {class: "number"}, callerOf(r))},
      {key: "dialled", label: t("media.recs-dialled"), cell: r => h("span", {class: "number"}, r.dialled)},
      {key: "user", label: t("media.recs-user"), cell: who},
      {key: "queue", label: t("media.recs-queue"), cell: queueOf},
      {key: "duration_s", label: t("media.length"), cell: r => formatDuration(r.duration_s)},
      {key: "kind", label: t("media.recs-kind"), cell: kind},
      {key: "listen", label: t("media.listen"), cell: r => h("button", {
        type: "button", class: "listen", on: {click: () => openRecording(r, true)},
        "aria-label": t("media.recs-listen-to", {caller: callerOf(r), when: formatStamp(r.started_at)})},
      t("media.listen"))},
    ],
    filters: [
      {name: "user", label: t("media.recs-user"), options: users},
      {name: "queue", label: t("media.recs-queue"), options: queues},
    ],
  });

  function describe(r) {
    return facts([
      [t("media.recs-started"), formatStamp(r.started_at)], [t("media.recs-caller"), callerOf(r)],
      [t("media.recs-dialled"), r.dialled], [t("media.recs-user"), who(r)], [t("media.recs-queue"), queueOf(r)],
      [t("media.length"), formatDuration(r.duration_s)], [t("media.recs-kind"), kind(r)],
      [t("media.recs-call"), r.call_id],
    ]);
  }

  function openRecording(r, play) {
    const src = apiUrl(`/recordings/${encodeURIComponent(r.id)}/audio`);
    const download = h("a", {class: "button", href: src, download: `${r.id}.wav`}, t("media.download"));
    const remove = h("button", {type: "button", class: "danger"}, t("media.remove"));
    remove.addEventListener("click", () => removeRecording(r));
    player.show({id: r.id, title: t("media.recs-from", {caller: callerOf(r), when: formatStamp(r.started_at)}),
                 facts: describe(r), buttons: [download, remove], src, play});
  }

  async function removeRecording(r) {
    const yes = await ask(t("media.recs-remove-text", {caller: callerOf(r), when: formatStamp(r.started_at)}),
                          t("media.remove"));
    if (!yes) return;
    try {
      await api(`/recordings/${encodeURIComponent(r.id)}`, {method: "DELETE"});
    } catch (err) {
      player.error(err);
      return;
    }
    player.hide();
    announce(t("media.recs-removed"));
    await drawList();
    view.querySelector("#recs-list-title").focus();
  }

  await drawList();
  const linked = query.get("recording");
  if (linked) {
    // there is no one-recording operation: the list, searched for the id, has it or not
    try {
      const found = (await api("/recordings", {query: {q: linked, per_page: 500}})).items.find(r => r.id === linked);
      if (found) openRecording(found, false);
      else player.missing(t("media.recs-not-found"));
    } catch (err) {
      player.missing(mediaProblem(err));
    }
  }
  return () => player.hide();
}
