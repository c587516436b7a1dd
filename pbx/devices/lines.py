"""Line status (U-06): Asterisk's device states folded into one state per user, and the words the API and the
wallboard show for it. Pure, apart from `publish_line`, which writes a user's line to the live store.

Asterisk's device states (DeviceStateChange / DeviceStateList `State:`, ast_devstate_str) and what they mean
for a user's line:
  NOT_INUSE                     the phone is free
  INUSE, BUSY, ONHOLD           in a call (ONHOLD: a call is held on it)
  RINGINUSE                     ringing while already in a call: in a call
  RINGING                       ringing
  UNAVAILABLE                   not registered or not reachable (qualify)
  INVALID                       no such device
  UNKNOWN                       Asterisk cannot tell (no state yet): treated as free, as Asterisk's own queues do
A user with several phones: in a call if any is in a call; else ringing if any rings; else free if any is
free (or cannot tell); unavailable only when every phone is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pbx.routing.state import LineStatus

DEVICE_STATES: Mapping[str, LineStatus] = {
    "NOT_INUSE": LineStatus.IDLE,
    "INUSE": LineStatus.BUSY,
    "BUSY": LineStatus.BUSY,
    "ONHOLD": LineStatus.BUSY,
    "RINGINUSE": LineStatus.BUSY,
    "RINGING": LineStatus.RINGING,
    "UNAVAILABLE": LineStatus.UNAVAILABLE,
    "INVALID": LineStatus.UNAVAILABLE,
    "UNKNOWN": LineStatus.IDLE,
}

# what people read (the API, the wallboard): the words
LINE_LABELS: Mapping[LineStatus, str] = {
    LineStatus.IDLE: "free",
    LineStatus.RINGING: "ringing",
    LineStatus.BUSY: "in_call",
    LineStatus.UNAVAILABLE: "unavailable",
}
LABELS = tuple(LINE_LABELS.values())


def device_status(state: str) -> LineStatus:
    """One Asterisk device state as a line; a state Asterisk may add later counts as free."""
    return DEVICE_STATES.get(state.strip().upper(), LineStatus.IDLE)


def aggregate(statuses: Iterable[LineStatus]) -> LineStatus:
    """A user's line from their phones' lines (see the module docstring); no phone known: free."""
    seen = set(statuses)
    for status in (LineStatus.BUSY, LineStatus.RINGING, LineStatus.IDLE):
        if status in seen:
            return status
    return LineStatus.UNAVAILABLE if seen else LineStatus.IDLE


def line_label(status: LineStatus | str) -> str:
    """"free", "ringing", "in_call" or "unavailable": what the wallboard and the API show for a line."""
    return LINE_LABELS[LineStatus(status)]


def registered(state: str | None) -> bool | None:
    """Whether a phone is registered, as far as its device state tells: None when Asterisk said nothing yet."""
    if state is None:
        return None
    upper = state.strip().upper()
    if upper == "UNKNOWN":
        return None
    return upper not in ("UNAVAILABLE", "INVALID")


async def publish_line(store: Any, lines: Any, tenant: str, user: str) -> None:
    """Write `user`'s line and their phones' device states (as Asterisk named them) to the live store, where
    every controller and API instance reads them. `lines`: the controller's DeviceLines."""
    await store.set_line(tenant, user, lines.line(tenant, user))
    devices = lines.user_devices.get((tenant, user), ())
    await store.set_device_states(tenant, user, {d: lines.raw[d] for d in devices if d in lines.raw})
