"""What a waiting caller hears on each announcement tick: position, estimated wait, callback offer.

Rules (each a thing callers complained about with app_queue):
- Say only what changed. A caller not at the head hears position and wait when either changed;
  when nothing changed they get a short "still waiting, thanks" every other tick, silence between.
- At the head the caller hears "you are next" once, never "you are number 1"; afterwards only a
  changed wait, else the same every-other-tick thanks.
- The wait is rounded the way people say it: under a minute; 1–10 minutes by the minute; then by
  5 minutes; beyond an hour "more than 60 minutes". Unknown (None) waits are not announced.
- The callback key is offered with each position announcement when the queue has one, never at the
  head (the call is about to be answered).

Prompt keys: "queue-position", "number:N", "queue-you-are-next", "queue-wait", "minutes:N",
"queue-wait-under-minute", "queue-wait-more-than", "queue-still-waiting", "callback-offer", "digit:K".
"""

from __future__ import annotations

import math
from typing import NamedTuple

MAX_ANNOUNCED_MIN = 60


class LastAnnouncement(NamedTuple):
    """What the caller was told last: the next tick compares against it. `wait_min` -1 = not said."""

    at: float
    position: int
    wait_min: int
    said_next: bool
    quiet_ticks: int  # ticks since anything was said


def rounded_wait_min(ewt_s: float) -> int:
    """The wait to announce in minutes: 0 = "under a minute", 1–10 by the minute (rounded up from
    half a minute), above 10 up to the next 5, capped at 60 (said as "more than 60 minutes")."""
    if ewt_s < 60:
        return 0
    minutes = max(1, math.floor(ewt_s / 60 + 0.5))
    if minutes > 10:
        minutes = 5 * math.ceil(minutes / 5)
    return min(minutes, MAX_ANNOUNCED_MIN)


def wait_prompts(wait_min: int) -> tuple[str, ...]:
    if wait_min == 0:
        return ("queue-wait", "queue-wait-under-minute")
    if wait_min >= MAX_ANNOUNCED_MIN:
        return ("queue-wait", "queue-wait-more-than", f"minutes:{MAX_ANNOUNCED_MIN}")
    return ("queue-wait", f"minutes:{wait_min}")


def announcement(position: int, ewt_s: float | None, previous: LastAnnouncement | None, now: float,
                 callback_key: str | None = None) -> tuple[tuple[str, ...], LastAnnouncement]:
    """The prompts for this tick (possibly none) and what to remember for the next one."""
    wait_min = -1 if ewt_s is None else rounded_wait_min(ewt_s)
    prev_wait = previous.wait_min if previous is not None else -1
    wait_changed = wait_min >= 0 and wait_min != prev_wait
    prompts: list[str] = []
    said_next = previous.said_next if previous is not None else False
    if position <= 1:
        if not said_next:
            prompts.append("queue-you-are-next")
            said_next = True
        if wait_changed and wait_min > 0:
            prompts.extend(wait_prompts(wait_min))
    else:
        said_next = False  # moved back (a VIP came in ahead): "you are next" may be said again later
        if previous is None or previous.position != position or wait_changed:
            prompts.extend(("queue-position", f"number:{position}"))
            if wait_min >= 0:
                prompts.extend(wait_prompts(wait_min))
            if callback_key:
                prompts.extend(("callback-offer", f"digit:{callback_key}"))
    # what the caller believes the wait is: unchanged when it was not said this time
    told_wait = wait_min if wait_min >= 0 and (prompts or previous is None) else prev_wait
    if prompts:
        return tuple(prompts), LastAnnouncement(now, position, told_wait, said_next, 0)
    assert previous is not None  # a first announcement always says something
    quiet = previous.quiet_ticks + 1
    if quiet % 2 == 0:
        return ("queue-still-waiting",), LastAnnouncement(now, position, told_wait, said_next, quiet)
    return (), LastAnnouncement(previous.at, position, told_wait, said_next, quiet)
