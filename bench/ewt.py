"""Estimated-wait benchmark: a simulated contact-centre day, our EWT against Asterisk app_queue's.

A discrete-event simulation (pure Python, seeded) of one queue through a working day: arrival bursts
in the morning and after lunch, agents on staggered shifts with lunch pauses, ring time and the
occasional missed call (skipped, then auto-paused after three in a row), lognormal talk times,
wrap-up, callers abandoning after a random patience. Agent choice and the agent state go through
pbx.acd (assign, reserve/answered/missed/call_ended, wrap-up). For every caller the estimate each
method gives at the moment of joining is recorded; served callers' actual waits give the errors.

Run: .venv/bin/python bench/ewt.py [--seed N] [--days N]
Prints a table, then one JSON line with the figures."""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import report

from pbx.acd import agents as ag
from pbx.acd.dispatch import assign, skip_agent
from pbx.acd.ewt import AppQueueEstimator, CompletionEstimator, PositionHoldtimeEstimator, expected_remaining
from pbx.acd.model import AgentState, WaitingCaller, queue_member
from pbx.routing.model import QueueConfig

H = 3600.0
QUEUE = QueueConfig("support", "Support", tuple(f"a{i:02d}" for i in range(8)), strategy="longest_idle",
                    wrapup_s=30)
MEMBER = queue_member(QUEUE.key)
WRAPUP_OVERRIDES = {"a07": 60}  # the trainee gets longer wrap-up
MAX_MISSED = 3
TALK_MEAN_S = 240.0
TALK_SIGMA = 0.8
PATIENCE_MEAN_S = 360.0
MISS_P = 0.03
RING_S = (2.0, 7.0)
NO_ANSWER_S = 15.0


def arrival_rate_per_min(t: float) -> float:
    """Calls per minute at t seconds after midnight: a morning burst, a lunch lull, an after-lunch burst."""
    h = t / H
    if h < 8 or h >= 17:
        return 0.0
    rate = 0.9
    rate += 1.5 * math.exp(-((h - 9.5) / 0.6) ** 2)    # morning burst around 09:30
    rate -= 0.4 * math.exp(-((h - 12.0) / 0.5) ** 2)   # lunch
    rate += 1.1 * math.exp(-((h - 13.4) / 0.5) ** 2)   # after lunch
    return max(rate, 0.1)


def shifts(rnd: random.Random) -> list[tuple[str, float, float, float]]:
    """(agent, login, logout, lunch start): staggered shifts, lunches spread over 11:00–13:00."""
    out = []
    for i, user in enumerate(QUEUE.members):
        start = (7.75 + 0.25 * (i % 4) + (0.75 if i >= 9 else 0.0)) * H
        end = start + 8.5 * H
        lunch = (11.0 + 1.5 * (i / len(QUEUE.members)) + rnd.uniform(0, 0.25)) * H
        out.append((user, start, end, lunch))
    return out


@dataclass(slots=True)
class Outcome:
    joined: float
    position: int
    ours: float | None
    ours_order: float | None
    app_queue: float
    position_holdtime: float
    wait: float | None = None  # None: abandoned


@dataclass(slots=True)
class Sim:
    rnd: random.Random
    now: float = 0.0
    events: list[tuple[float, int, str, tuple[str, ...]]] = field(default_factory=list)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    agents: dict[str, AgentState] = field(default_factory=dict)
    answered_at: dict[str, float] = field(default_factory=dict)   # agent → when their call was answered
    talk_for: dict[str, float] = field(default_factory=dict)       # call → its talk time (drawn on arrival)
    waiting: dict[str, WaitingCaller] = field(default_factory=dict)
    ringing: dict[str, str] = field(default_factory=dict)          # call → agent
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    first_offered: dict[str, float] = field(default_factory=dict)  # call → when an agent was first reserved
    ours: CompletionEstimator = field(default_factory=lambda: CompletionEstimator(aht_s=TALK_MEAN_S + 30, alpha=0.05))
    talk_avg: float = TALK_MEAN_S
    app_queue: AppQueueEstimator = field(default_factory=AppQueueEstimator)
    position_holdtime: PositionHoldtimeEstimator = field(default_factory=PositionHoldtimeEstimator)
    missed: int = 0
    auto_paused: int = 0

    def at(self, t: float, kind: str, *args: str) -> None:
        heapq.heappush(self.events, (t, next(self.seq), kind, args))

    def wrapup_s(self, user: str) -> int:
        return ag.wrapup_seconds(QUEUE.wrapup_s, user, QUEUE.key, WRAPUP_OVERRIDES)

    # --- what the estimators are told at the moment a caller joins ---------------------------

    def estimate_inputs(self) -> tuple[int, list[float]]:
        staffed, busy = 0, []
        for a in self.agents.values():
            if MEMBER not in a.logged_in or a.paused:
                continue
            staffed += 1
            wrap = self.wrapup_s(a.user)
            if a.on_call:
                busy.append(expected_remaining(self.now - self.answered_at[a.user], self.talk_avg) + wrap)
            elif a.reserved_for is not None:
                busy.append(sum(RING_S) / 2 + self.talk_avg + wrap)
            elif a.in_wrapup(self.now):
                busy.append(a.wrapup_until - self.now)
        return staffed, busy

    def join(self, call: str) -> None:
        position = len(self.waiting) + 1
        staffed, busy = self.estimate_inputs()
        self.outcomes[call] = Outcome(
            self.now, position,
            self.ours.estimate(position, staffed, busy, 0.0),
            replace(self.ours, mode="order").estimate(position, staffed, busy, 0.0),
            self.app_queue.estimate(position, staffed, busy, 0.0),
            self.position_holdtime.estimate(position, staffed, busy, 0.0))
        self.waiting[call] = WaitingCaller(call, "acme", QUEUE.key, "+4687000000", self.now)
        self.talk_for[call] = self.rnd.lognormvariate(math.log(TALK_MEAN_S) - TALK_SIGMA ** 2 / 2, TALK_SIGMA)
        self.at(self.now + self.rnd.expovariate(1 / PATIENCE_MEAN_S), "abandon", call)

    def dispatch(self) -> None:
        free = [c for c in self.waiting.values() if c.call_id not in self.ringing]
        if not free:
            return
        for caller, agent in assign(QUEUE, free, list(self.agents.values()), self.now):
            self.agents[agent.user], _ = ag.reserve(agent, caller.call_id, MEMBER, self.now)
            self.ringing[caller.call_id] = agent.user
            self.first_offered.setdefault(caller.call_id, self.now)
            if self.rnd.random() < MISS_P:
                self.at(self.now + NO_ANSWER_S, "miss", agent.user, caller.call_id)
            else:
                self.at(self.now + self.rnd.uniform(*RING_S), "answer", agent.user, caller.call_id)

    # --- events ------------------------------------------------------------------------------

    def handle(self, kind: str, args: tuple[str, ...]) -> None:
        a = self.agents.get(args[0]) if args else None
        if kind == "arrive":
            self.join(args[0])
        elif kind == "abandon":
            call = args[0]
            if call in self.waiting:
                del self.waiting[call]
                self.ours = self.ours.observe_outcome(abandoned=True)
                user = self.ringing.pop(call, None)
                if user is not None:
                    self.agents[user], _ = ag.release(self.agents[user], call, self.now, "caller hung up")
        elif kind in ("answer", "miss") and a is not None:
            call = args[1]
            if a.reserved_for != call:
                return  # the caller hung up while it rang
            del self.ringing[call]
            if kind == "miss":
                self.agents[a.user], events = ag.missed(a, call, self.now, MAX_MISSED)
                self.missed += 1
                self.auto_paused += sum(e.kind == "auto_paused" for e in events)
                self.waiting[call] = skip_agent(self.waiting[call], a.user)
                if self.agents[a.user].paused:
                    self.at(self.now + 600, "unpause", a.user)  # the team lead notices after 10 minutes
                return
            caller = self.waiting.pop(call)
            self.agents[a.user], _ = ag.answered(a, call, self.now)
            self.answered_at[a.user] = self.now
            wait = self.now - caller.joined_at
            self.outcomes[call].wait = wait
            self.app_queue = self.app_queue.observe(wait)
            self.position_holdtime = self.position_holdtime.observe(wait)
            self.ours = self.ours.observe_outcome(abandoned=False).observe_answer(self.now - self.first_offered[call])
            self.at(self.now + self.talk_for[call], "end", a.user, call)
        elif kind == "end" and a is not None:
            talk = self.now - self.answered_at.pop(a.user)
            self.agents[a.user], _ = ag.call_ended(a, self.now, self.wrapup_s(a.user))
            self.talk_avg += 0.05 * (talk - self.talk_avg)
            self.ours = self.ours.observe(talk + self.wrapup_s(a.user))
            self.at(self.agents[a.user].wrapup_until, "wrapup_end", a.user)
        elif kind == "wrapup_end" and a is not None:
            self.agents[a.user], _ = ag.expire_wrapup(a, self.now)
        elif kind == "login" and a is not None:
            self.agents[a.user], _ = ag.login(a, MEMBER, self.now)
        elif kind == "logout" and a is not None:
            self.agents[a.user], _ = ag.logout(a, MEMBER, self.now)
        elif kind == "pause" and a is not None:
            self.agents[a.user], _ = ag.pause(a, "lunch", self.now)
        elif kind == "unpause" and a is not None:
            self.agents[a.user], _ = ag.unpause(a, self.now)

    def run_day(self, day: int) -> None:
        base = day * 24 * H
        for user, start, end, lunch in shifts(self.rnd):
            self.agents.setdefault(user, AgentState("acme", user))
            self.at(base + start, "login", user)
            self.at(base + lunch, "pause", user)
            self.at(base + lunch + 0.75 * H, "unpause", user)
            self.at(base + end, "logout", user)
        # arrivals by thinning a Poisson process at the peak rate
        peak = 3.0 / 60
        t = base + 8 * H
        n = 0
        while True:
            t += self.rnd.expovariate(peak)
            if t >= base + 17 * H:
                break
            if self.rnd.random() < arrival_rate_per_min(t - base) / 60 / peak:
                n += 1
                self.at(t, "arrive", f"d{day}c{n:05d}")
        while self.events:
            self.now, _, kind, args = heapq.heappop(self.events)
            self.handle(kind, args)
            self.dispatch()


def mae(pairs: list[tuple[float, float]]) -> float:
    return statistics.fmean(abs(e - w) for e, w in pairs) if pairs else 0.0


def bias(pairs: list[tuple[float, float]]) -> float:
    return statistics.fmean(e - w for e, w in pairs) if pairs else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    sim = Sim(random.Random(args.seed))
    for day in range(args.days):
        sim.run_day(day)
    elapsed = time.perf_counter() - started

    outcomes = list(sim.outcomes.values())
    served = [o for o in outcomes if o.wait is not None]
    waits = [o.wait for o in served if o.wait is not None]
    # With nobody staffed ours has no estimate (the caller is not told one); scored as app_queue's then.
    ours = [(o.ours if o.ours is not None else o.app_queue, o.wait) for o in served if o.wait is not None]
    appq = [(o.app_queue, o.wait) for o in served if o.wait is not None]
    posh = [(o.position_holdtime, o.wait) for o in served if o.wait is not None]
    order = [(o.ours_order if o.ours_order is not None else o.app_queue, o.wait) for o in served if o.wait is not None]
    queued = [i for i, o in enumerate(served) if o.position > 1]
    ours_q = [ours[i] for i in queued]
    appq_q = [appq[i] for i in queued]
    ratio = mae(ours) / mae(appq) if mae(appq) else 0.0
    p90 = statistics.quantiles(waits, n=10)[-1] if len(waits) >= 10 else 0.0
    rows = [
        ("callers offered", f"{len(outcomes)}", ""),
        ("callers served / abandoned", f"{len(served)} / {len(outcomes) - len(served)}", ""),
        ("missed rings / auto-pauses", f"{sim.missed} / {sim.auto_paused}", ""),
        ("actual wait mean / p90 (s)", f"{statistics.fmean(waits):.0f} / {p90:.0f}", ""),
        ("EWT MAE ours (s)", f"{mae(ours):.1f}", "≥ 30 % below app_queue"),
        ("EWT MAE ours, completion order (s)", f"{mae(order):.1f}", "variant, not used"),
        ("EWT MAE app_queue (s)", f"{mae(appq):.1f}", "holdtime − waited"),
        ("EWT MAE holdtime × position (s)", f"{mae(posh):.1f}", "the common reading"),
        ("MAE ratio ours / app_queue", f"{ratio:.2f}", "≤ 0.70"),
        ("MAE, callers who queued: ours / app_queue", f"{mae(ours_q):.0f} / {mae(appq_q):.0f}", ""),
        ("bias ours / app_queue (s)", f"{bias(ours):+.0f} / {bias(appq):+.0f}", ""),
        ("simulation time (s)", f"{elapsed:.2f}", "< 60"),
    ]
    report(rows, {
        "seed": args.seed, "days": args.days, "callers": len(outcomes), "served": len(served),
        "ewt_mae_s": round(mae(ours), 1), "app_queue_mae_s": round(mae(appq), 1),
        "position_holdtime_mae_s": round(mae(posh), 1), "order_mae_s": round(mae(order), 1), "ratio": round(ratio, 3),
        "queued_ewt_mae_s": round(mae(ours_q), 1), "queued_app_queue_mae_s": round(mae(appq_q), 1),
        "mean_wait_s": round(statistics.fmean(waits), 1), "seconds": round(elapsed, 2),
    })


if __name__ == "__main__":
    main()
