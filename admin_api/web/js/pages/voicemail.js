// Voicemail (röstbrevlådor): the tenant's boxes with their new and total messages, and the messages (a list view:
// box, caller, when, length, heard). A message opens in the player: listen in the browser, mark it heard or unheard,
// download it, delete it after a confirmation. Playing a message in the browser marks it heard (the page asks the
// API, as the person would: PATCH heard), as listening by phone does; "mark unheard" undoes it.
// #/voicemail?message=<id> opens one message (a link to it).

import {api, apiUrl} from "../api.js";
import {announce, h} from "../dom.js";
import {formatDuration, formatStamp, t} from "../i18n.js";
import {href} from "../router.js";
import {facts, pageHead} from "../views.js";
import {ask, callerOf, defaultSort, mayNot, mediaProblem, playerPanel, redrawableList}
  from "./media-ui.js";

export async function render(view, {session, query}) {
  view.append(pageHead(t("media.vm-title")));
  if (!session.me.rights.includes("voicemail")) {
    view.append(mayNot(t("media.vm-may-not")));
    return null;
  }
  const chosenBox = query.get("box") || "";
  const boxList = h("ul", {class: "vm-boxes"});
  const boxesError = h("p", {class: "error", role: "alert", hidden: true});
  const player = playerPanel({label: t("media.vm-player")});
  const listHolder = h("div");
  view.append(h("p", {class: "lead"}, t("media.vm-lead")),
    h("section", {"aria-labelledby": "vm-boxes-title", class: "vm-boxes-section"},
      h("h2", {id: "vm-boxes-title"}, t("media.vm-boxes")), boxesError, boxList),
    player.el,
    h("h2", {class: "list-title", id: "vm-messages-title", tabindex: "-1"}, t("media.vm-messages")), listHolder);

  let names = new Map();  // box key → name
  const boxName = key => names.get(key) || key;

  async function drawBoxes() {
    let boxes;
    try {
      boxes = (await api("/voicemail/boxes", {query: {per_page: 500, sort: "name"}})).items;
    } catch (err) {
      boxesError.textContent = mediaProblem(err);
      boxesError.hidden = false;
      return [];
    }
    boxesError.hidden = true;
    names = new Map(boxes.map(b => [b.key, b.name]));
    boxList.replaceChildren(
      h("li", {}, h("a", {class: "vm-box all", href: href("/voicemail"), "aria-current": chosenBox ? null : "true"},
        h("span", {class: "name"}, t("media.vm-all-boxes")),
        h("span", {class: "counts"}, counts(boxes.reduce((n, b) => n + b.new, 0),
                                            boxes.reduce((n, b) => n + b.new + b.heard, 0))))),
      ...boxes.map(b => h("li", {}, h("a", {
        class: ["vm-box", b.new ? "has-new" : ""], href: href("/voicemail", {box: b.key}), dataset: {box: b.key},
        "aria-current": chosenBox === b.key ? "true" : null},
      h("span", {class: "name"}, b.name),
      h("span", {class: "kind"}, b.shared ? t("media.vm-shared") : t("media.vm-personal")),
      h("span", {class: "counts"}, counts(b.new, b.new + b.heard))))));
    return boxes;
  }

  function counts(unheard, total) {
    return [h("strong", {class: "new-count"}, t("media.vm-new", {n: unheard})), " ",
            h("span", {class: "total"}, t("media.vm-total", {n: total}))];
  }

  function heardCell(m) {
    return m.heard ? h("span", {class: "heard"}, t("media.vm-heard"))
      : h("span", {class: "badge-new"}, t("media.vm-unheard"));
  }

  const boxes = await drawBoxes();
  defaultSort("-received_at");
  const drawList = redrawableList(listHolder, {
    path: "/voicemail/messages", label: t("media.vm-messages"), exportName: "voicemail",
    columns: [
      {key: "received_at", label: t("media.vm-received"),
       cell: m => h("span", {class: "when"}, formatStamp(m.received_at))},
      {key: "box", label: t("media.vm-box"), cell: m => boxName(m.box)},
      {key: "caller", label: t("media.vm-caller"), cell: m => h("span", {class: "number"}, callerOf(m))},
      {key: "duration_s", label: t("media.length"), cell: m => formatDuration(m.duration_s)},
      {key: "heard", label: t("media.vm-status"), cell: heardCell},
      {key: "listen", label: t("media.listen"), cell: m => h("button", {
        type: "button", class: "listen", on: {click: () => openMessage(m, true)},
        "aria-label": t("media.vm-listen-to", {caller: callerOf(m), when: formatStamp(m.received_at)})},
      t("media.listen"))},
    ],
    filters: [
      {name: "box", label: t("media.vm-box"), options: boxes.map(b => [b.key, b.name])},
      {name: "heard", label: t("media.vm-status"), options: [["false", t("media.vm-unheard-only")],
                                                             ["true", t("media.vm-heard-only")]]},
    ],
  });

  let open = null;  // the message in the player

  function describe(m) {
    return facts([
      [t("media.vm-box"), boxName(m.box)], [t("media.vm-caller"), callerOf(m)],
      [t("media.vm-dialled"), m.dialled], [t("media.vm-received"), formatStamp(m.received_at)],
      [t("media.length"), formatDuration(m.duration_s)],
      [t("media.vm-status"), m.heard
        ? (m.heard_by ? t("media.vm-heard-by", {who: m.heard_by, when: formatStamp(m.heard_at)}) : t("media.vm-heard"))
        : t("media.vm-unheard")],
    ]);
  }

  function buttons(m) {
    const toggle = h("button", {type: "button", class: "mark"}, m.heard ? t("media.vm-mark-unheard")
      : t("media.vm-mark-heard"));
    toggle.addEventListener("click", () => mark(m, !m.heard, true));
    const audio = apiUrl(`/voicemail/messages/${encodeURIComponent(m.id)}/audio`);
    const download = h("a", {class: "button", href: audio, download: `${m.id}.wav`}, t("media.download"));
    const remove = h("button", {type: "button", class: "danger"}, t("media.remove"));
    remove.addEventListener("click", () => removeMessage(m));
    return [toggle, download, remove];
  }

  const title = m => t("media.vm-message-from", {caller: callerOf(m)});

  function openMessage(m, play) {
    open = m;
    player.show({id: m.id, title: title(m), facts: describe(m), buttons: buttons(m), play,
                 src: apiUrl(`/voicemail/messages/${encodeURIComponent(m.id)}/audio`)});
  }

  // listening marks it heard, once per opening
  player.audio.addEventListener("play", () => {
    if (open && !open.heard && player.openId() === open.id) mark(open, true, false);
  });

  async function mark(m, heard, focus) {
    let after;
    try {
      after = await api(`/voicemail/messages/${encodeURIComponent(m.id)}`, {method: "PATCH", body: {heard}});
    } catch (err) {
      player.error(err);
      return;
    }
    if (player.openId() === after.id) {
      open = after;
      player.update({facts: describe(after), buttons: buttons(after)});
      if (focus) player.el.querySelector("button.mark").focus();
    }
    announce(heard ? t("media.vm-marked-heard") : t("media.vm-marked-unheard"));
    await Promise.all([drawBoxes(), drawList()]);
  }

  async function removeMessage(m) {
    const yes = await ask(t("media.vm-remove-text", {caller: callerOf(m), when: formatStamp(m.received_at)}),
                          t("media.remove"));
    if (!yes) return;
    try {
      await api(`/voicemail/messages/${encodeURIComponent(m.id)}`, {method: "DELETE"});
    } catch (err) {
      player.error(err);
      return;
    }
    player.hide();
    open = null;
    announce(t("media.vm-removed"));
    await Promise.all([drawBoxes(), drawList()]);
    view.querySelector("#vm-messages-title").focus();
  }

  await drawList();
  const linked = query.get("message");
  if (linked) {
    try {
      openMessage(await api(`/voicemail/messages/${encodeURIComponent(linked)}`), false);
    } catch (err) {
      player.missing(err.status === 404 ? t("media.vm-not-found") : mediaProblem(err));
    }
  }
  return () => player.hide();
}
