"""Estimated wait time for a caller joining (or waiting in) a queue: app_queue's method and ours.

One interface, `Estimator.estimate(position, agents_staffed, agents_busy_remaining, aht_s, waited_s)`,
so the announcement code and the benchmark can swap methods.

app_queue (Asterisk, apps/app_queue.c) keeps one number per queue, `holdtime`: on every answered
call `recalc_holdtime` folds in the caller's time in queue as the integer exponential average
((old << 2) - old + new) >> 2, i.e. (3·old + new) / 4. `say_position` then announces
|holdtime + 30 - waited| // 60 minutes: the same figure for position 2 and position 20, and the
absolute value makes a caller who waited longer than average hear a wait that grows again.
`AppQueueEstimator` reproduces that (without the minute rounding, which would only add error);
`PositionHoldtimeEstimator` is the "holdtime × position" reading many people assume it does.

Ours (`CompletionEstimator`): a caller at position p is served at the p-th agent completion.
Each staffed agent is free (0), or busy for an expected remaining time r (rest of wrap-up, or the
expected rest of the call plus wrap-up); after that every agent repeats a handle time AHT (talk +
wrap-up, exponentially smoothed per queue). Two ways to turn that into the p-th completion time:
- "race" (default): agents finish at rates 1/r; the time to the next completion is 1/Σrates; the
  agent most likely to finish (the fastest) restarts at rate 1/AHT. Handle times are long-tailed,
  so the first of n busy agents finishes much sooner than the smallest expected remainder: the race
  accounts for that, and after every busy agent has restarted the completions come every AHT/n.
- "order": the p-th smallest of the deterministic completion times (r, r + AHT, r + 2·AHT …).
  It overestimates the near positions for the reason above (bench/ewt.py measures both).
Both take O(min(p, n) log n). Callers ahead who will abandon shorten the line: with an observed
abandonment share a, the effective position is 1 + (p − 1)(1 − a), interpolated between
completions. Then the smoothed time from offering a call to its answer (ring time, misses) is
added. Paused agents are not staffed; with nobody staffed there is no estimate (None). `waited_s`
is not used: the estimate is recomputed from the live agents on every tick.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

RESIDUAL_FLOOR = 0.35  # a call past its average length still has about a third of an AHT to go


class Estimator(Protocol):
    def estimate(self, position: int, agents_staffed: int, agents_busy_remaining: Sequence[float], aht_s: float,
                 waited_s: float = 0.0) -> float | None:
        """Seconds until the caller at `position` (1 = next) is answered, or None when unknown."""
        ...


@dataclass(frozen=True, slots=True)
class AppQueueEstimator:
    """app_queue's estimate: the queue's running average hold time, less what the caller has waited."""

    holdtime: int = 0

    def observe(self, hold_s: float) -> AppQueueEstimator:
        """A caller was connected after waiting `hold_s`: app_queue's (3·old + new) >> 2, in integers."""
        return replace(self, holdtime=((self.holdtime << 2) - self.holdtime + int(hold_s)) >> 2)

    def estimate(self, position: int, agents_staffed: int, agents_busy_remaining: Sequence[float], aht_s: float,
                 waited_s: float = 0.0) -> float:
        return float(abs(self.holdtime - int(waited_s)))


@dataclass(frozen=True, slots=True)
class PositionHoldtimeEstimator:
    """The common reading of app_queue: average hold time × position."""

    holdtime: int = 0

    def observe(self, hold_s: float) -> PositionHoldtimeEstimator:
        return replace(self, holdtime=((self.holdtime << 2) - self.holdtime + int(hold_s)) >> 2)

    def estimate(self, position: int, agents_staffed: int, agents_busy_remaining: Sequence[float], aht_s: float,
                 waited_s: float = 0.0) -> float:
        return float(max(0, self.holdtime * position - int(waited_s)))


def expected_remaining(elapsed_s: float, talk_s: float, floor: float = RESIDUAL_FLOOR) -> float:
    """Expected rest of a call already `elapsed_s` long, given the average talk time. Handle times are
    long-tailed, so a call past the average is not about to end: never less than `floor` · talk_s."""
    return max(talk_s - elapsed_s, floor * talk_s)


def nth_completion(position: float, remaining: Sequence[float], aht_s: float) -> float:
    """"order": when the `position`-th agent becomes free (1-based; fractional positions interpolate),
    each staffed agent being free first after `remaining` and then every `aht_s`."""
    if not remaining:
        raise ValueError("no staffed agent")
    p_low = max(1, math.floor(position))
    heap = [max(0.0, r) for r in remaining]
    heapq.heapify(heap)
    t = 0.0
    for _ in range(p_low):
        # pops the next completion, the agent it frees is busy for another AHT
        t = heapq.heappushpop(heap, heap[0] + max(aht_s, 1.0))
    frac = position - p_low
    return t if frac <= 0 else t + frac * (heap[0] - t)


def race_completion(position: float, remaining: Sequence[float], aht_s: float) -> float:
    """"race": expected time of the `position`-th completion when busy agent i finishes at rate
    1/remaining[i] and every agent, once it has finished (or if free now), at rate 1/aht_s."""
    if not remaining:
        raise ValueError("no staffed agent")
    aht = max(aht_s, 1.0)
    idle = sum(1 for r in remaining if r <= 0)
    steps = position - idle  # the first `idle` callers are answered at once
    if steps <= 0:
        return 0.0
    slow = 1.0 / aht
    heap = [-1.0 / max(r, 1.0) for r in remaining if r > 0]  # max-heap of rates faster than 1/AHT
    heap = [x for x in heap if -x > slow]
    heapq.heapify(heap)
    total = len(remaining) * slow - len(heap) * slow - sum(heap)
    t = 0.0
    k = 0
    while heap and k < steps:
        t += min(1.0, steps - k) / total
        total += slow + heapq.heappop(heap)
        k += 1
    # everyone on a fresh handle time: completions every AHT / n
    return t + max(0.0, steps - k) / total


@dataclass(frozen=True, slots=True)
class CompletionEstimator:
    """Ours: the time of the p-th agent completion (module docstring), with learnt inputs.

    `aht_s` is the smoothed handle time incl. wrap-up (`observe`); an `aht_s` argument > 0 to
    `estimate` wins over it. `abandon_share` is the smoothed share of callers who leave unserved,
    `answer_delay_s` the smoothed time from offering a call to an agent to its answer."""

    aht_s: float = 300.0
    abandon_share: float = 0.0
    answer_delay_s: float = 0.0
    alpha: float = 0.1
    mode: Literal["race", "order"] = "race"

    def observe(self, handle_s: float) -> CompletionEstimator:
        """A call was handled in `handle_s` (talk + wrap-up)."""
        return replace(self, aht_s=self.aht_s + self.alpha * (handle_s - self.aht_s))

    def observe_outcome(self, abandoned: bool) -> CompletionEstimator:
        """A caller left the queue: served (False) or abandoned (True)."""
        x = 1.0 if abandoned else 0.0
        return replace(self, abandon_share=self.abandon_share + self.alpha / 2 * (x - self.abandon_share))

    def observe_answer(self, delay_s: float) -> CompletionEstimator:
        """A call was answered `delay_s` after it was first offered to an agent."""
        return replace(self, answer_delay_s=self.answer_delay_s + self.alpha * (delay_s - self.answer_delay_s))

    def estimate(self, position: int, agents_staffed: int, agents_busy_remaining: Sequence[float], aht_s: float,
                 waited_s: float = 0.0) -> float | None:
        if agents_staffed <= 0:
            return None
        aht = aht_s if aht_s > 0 else self.aht_s
        busy = sorted(agents_busy_remaining)[:agents_staffed]
        remaining = [*busy, *([0.0] * (agents_staffed - len(busy)))]
        effective = 1.0 + (position - 1) * (1.0 - min(max(self.abandon_share, 0.0), 0.9))
        nth = race_completion if self.mode == "race" else nth_completion
        return nth(effective, remaining, aht) + self.answer_delay_s
