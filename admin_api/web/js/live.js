// The wallboard stream (WebSocket /api/v1/wallboard/stream): snapshots of every queue, alarms as they are raised
// and cleared. Reconnects by itself with a growing pause; a signed-out session (4401) goes to the sign-in page.

import {PREFIX} from "./api.js";

const SIGNED_OUT = 4401, FORBIDDEN = 4403, NO_LIVE_STATE = 1013;

/** on: {snapshot(data), alarm(data), status("connecting" | "live" | "retrying" | "forbidden" | "unavailable")}.
 * Returns a function that closes the stream for good. */
export function openStream(on) {
  let socket = null, stopped = false, wait = 1000, timer = null;

  function connect() {
    on.status && on.status("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${PREFIX}/wallboard/stream`);
    socket.addEventListener("message", event => {
      if (stopped) return;  // the page has been left
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      if (data.type === "snapshot") {
        wait = 1000;
        on.status && on.status("live");
        on.snapshot && on.snapshot(data);
      } else if (data.type === "alarm" || data.type === "alarm_cleared") {
        on.alarm && on.alarm(data);
      }
    });
    socket.addEventListener("close", event => {
      socket = null;
      if (stopped) return;
      if (event.code === SIGNED_OUT) { window.dispatchEvent(new CustomEvent("pbx:signed-out")); return; }
      if (event.code === FORBIDDEN) { on.status && on.status("forbidden"); return; }
      on.status && on.status(event.code === NO_LIVE_STATE ? "unavailable" : "retrying");
      timer = setTimeout(connect, event.code === NO_LIVE_STATE ? 15000 : wait);
      wait = Math.min(wait * 2, 15000);
    });
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    const open = socket;
    if (!open) return;
    // closed while still connecting (the page left at once, as on signing out), the browser logs an error: wait
    if (open.readyState === WebSocket.CONNECTING) open.addEventListener("open", () => open.close(1000, "page closed"));
    else open.close(1000, "page closed");
  };
}

/** Figures over all queues: callers waiting, agents logged in (each person once), missed today. */
export function totals(snapshot) {
  const loggedIn = new Set();
  let waiting = 0, missed = 0, answered = 0;
  for (const q of snapshot.queues) {
    waiting += q.callers_waiting;
    missed += q.missed_today;
    answered += q.answered_today;
    for (const a of q.agents) if (a.state !== "logged_out") loggedIn.add(a.user);
  }
  return {waiting, missed, answered, loggedIn: loggedIn.size};
}
