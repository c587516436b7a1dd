"""The wallboard's figures per queue (F-16), built by pure functions from a snapshot of live state and a clock.

`board(live, now)` turns one tenant's snapshot (`TenantLive`: its queues, waiting callers, agents, and the
day's counts) into one `QueueBoard` per queue: agents logged in / free / busy / paused / in wrap-up / away,
callers waiting with the longest and average wait, and today's answered and missed calls with the service
level. `read_live` is the edge that takes that snapshot from a running controller's live store.

Today's answered and missed callers come from the call records (`TodayCounts`): what the database's records
of today (the tenant's local day the call entered) say of calls that have ended, read with one aggregate
query per tenant every few seconds, plus this controller's callers whose record is not in the database yet
(in progress, or waiting in the record writer), which the call recorder keeps by call id
(pbx.stats.collector.QueueCall). A call is in exactly one of the two: the query leaves out the calls whose
record is on its way to the database, and a call leaves the live part only once a query that started after
its record was committed has been read. So a restart, or another controller instance reading the same
database, shows the same counts; another instance's calls appear when their record is written.

A caller counts once, in the last queue they were in: *answered* there, or *missed* (hung up while waiting,
or while an agent's phone rang). A caller who left the queue alive (overflow to voicemail or to another
queue) or hung up keeping their place (a callback request) is not missed. The service level is the share of
answered callers who waited at most SERVICE_LEVEL_S in that queue, over answered and missed.

`DayTally` and `classify` count from the live store's event stream in the watching process instead (a
restart starts from zero); pbx.stats.alarms.AlarmWatcher still folds them, the admin API's watcher uses
TodayCounts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from time import monotonic
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from pbx.acd.model import AgentState
from pbx.db.models import TenantRow
from pbx.db.session import in_db
from pbx.devices.lines import line_label
from pbx.routing.state import LineStatus
from pbx.state.store import WaitingEntry, available_at
from pbx.stats.models import CallRecordRow

log = logging.getLogger("pbx.stats.wallboard")

SERVICE_LEVEL_S = 20.0  # the service level is the share of today's callers answered within this many seconds
AGENT_STATES = ("busy", "paused", "wrapup", "away", "free", "logged_out")


# --- the snapshot the figures are built from --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueLive:
    key: str
    name: str
    members: tuple[str, ...]
    waiting: tuple[WaitingEntry, ...]  # in the store's order (served first, first)


@dataclass(frozen=True, slots=True)
class AgentLive:
    state: AgentState
    line: LineStatus
    presence: tuple[tuple[float, float, float], ...] = ()  # store.presence_spans: when the agent is available
    on_call: bool = False  # talking to a caller of any queue (the ACD's own record)
    name: str = ""


@dataclass(frozen=True, slots=True)
class QueueDay:
    """Today's counts for one queue: callers answered (and how many within the service level), callers missed."""

    answered: int = 0
    answered_in_time: int = 0
    missed: int = 0


@dataclass(frozen=True, slots=True)
class TenantLive:
    tenant: str
    tz: tzinfo
    queues: tuple[QueueLive, ...]
    agents: Mapping[str, AgentLive]
    today: Mapping[str, QueueDay] = field(default_factory=dict)  # queue → today's counts
    reserve_ttl_s: float = 90.0


# --- the figures -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentBoard:
    user: str
    name: str
    state: str  # one of AGENT_STATES
    pause_reason: str = ""
    line: str = ""  # U-06: free | ringing | in_call | unavailable ("" for an agent who is not logged in)


@dataclass(frozen=True, slots=True)
class QueueBoard:
    queue: str
    name: str
    agents_logged_in: int
    agents_free: int
    agents_busy: int
    agents_paused: int
    agents_wrapup: int
    agents_away: int
    callers_waiting: int
    callbacks_waiting: int
    longest_wait_s: float
    average_wait_s: float
    answered_today: int
    missed_today: int
    service_level: float | None  # percent; None before the day's first answered or missed caller
    agents: tuple[AgentBoard, ...]

    def to_json(self) -> dict[str, Any]:
        return {"queue": self.queue, "name": self.name, "agents_logged_in": self.agents_logged_in,
                "agents_free": self.agents_free, "agents_busy": self.agents_busy,
                "agents_paused": self.agents_paused, "agents_wrapup": self.agents_wrapup,
                "agents_away": self.agents_away, "callers_waiting": self.callers_waiting,
                "callbacks_waiting": self.callbacks_waiting, "longest_wait_s": self.longest_wait_s,
                "average_wait_s": self.average_wait_s, "answered_today": self.answered_today,
                "missed_today": self.missed_today, "service_level": self.service_level,
                "service_level_s": SERVICE_LEVEL_S,
                "agents": [{"user": a.user, "name": a.name, "state": a.state, "pause_reason": a.pause_reason,
                            "line": a.line}
                           for a in self.agents]}

    def metric(self, name: str) -> float | None:
        """The figure an alarm watches (pbx.stats.alarms.METRICS)."""
        values: dict[str, float | None] = {
            "callers_waiting": self.callers_waiting, "longest_wait_s": self.longest_wait_s,
            "average_wait_s": self.average_wait_s, "missed_today": self.missed_today,
            "agents_free_below": self.agents_free, "service_level_below": self.service_level}
        return values[name]


def agent_state(agent: AgentLive, ref: str, now: float, reserve_ttl_s: float) -> str:
    """What a wallboard shows for an agent of queue `ref` ("queue:KEY"). On a call (or ringing, or picked for
    one) comes first, then paused, wrap-up, away (presence or phone unavailable); free means the dispatcher
    could hand them a call now (the live store's own reservation rule)."""
    a = agent.state
    if ref not in a.logged_in:
        return "logged_out"
    if agent.on_call or a.reserved(now, reserve_ttl_s) or agent.line in (LineStatus.BUSY, LineStatus.RINGING):
        return "busy"
    if a.paused:
        return "paused"
    if a.in_wrapup(now):
        return "wrapup"
    if agent.line is LineStatus.UNAVAILABLE or not available_at(agent.presence, now):
        return "away"
    return "free"


def queue_board(live: TenantLive, queue: QueueLive, now: float) -> QueueBoard:
    ref = f"queue:{queue.key}"
    users = list(queue.members) + sorted(u for u, a in live.agents.items()
                                         if ref in a.state.logged_in and u not in queue.members)
    agents = []
    for user in users:
        agent = live.agents.get(user)
        if agent is None:
            agents.append(AgentBoard(user, "", "logged_out"))
            continue
        state = agent_state(agent, ref, now, live.reserve_ttl_s)
        agents.append(AgentBoard(user, agent.name, state, agent.state.pause_reason if state == "paused" else "",
                                 line_label(agent.line)))
    count = {s: sum(1 for a in agents if a.state == s) for s in AGENT_STATES}
    callers = [e for e in queue.waiting if e.callback is None]
    waits = [max(0.0, now - e.joined_at) for e in callers]
    day = live.today.get(queue.key, QueueDay())
    handled = day.answered + day.missed
    return QueueBoard(
        queue=queue.key, name=queue.name,
        agents_logged_in=len(agents) - count["logged_out"], agents_free=count["free"], agents_busy=count["busy"],
        agents_paused=count["paused"], agents_wrapup=count["wrapup"], agents_away=count["away"],
        callers_waiting=len(callers), callbacks_waiting=len(queue.waiting) - len(callers),
        longest_wait_s=round(max(waits, default=0.0), 1),
        average_wait_s=round(sum(waits) / len(waits), 1) if waits else 0.0,
        answered_today=day.answered, missed_today=day.missed,
        service_level=round(100.0 * day.answered_in_time / handled, 1) if handled else None,
        agents=tuple(agents))


def board(live: TenantLive, now: float) -> list[QueueBoard]:
    """Every queue of the tenant, in configuration order."""
    return [queue_board(live, q, now) for q in live.queues]


# --- today's answered and missed callers, from the store's events ----------------------------------------


@dataclass(frozen=True, slots=True)
class QueueOutcome:
    """What a store event means for the day's counts. kind: joined | answered | missed | left."""

    kind: str
    tenant: str
    call: str
    at: float
    queue: str | None = None  # joined only: the other kinds find the queue the call joined


def classify(event: Mapping[str, Any], *, call_up: bool, callback: bool) -> QueueOutcome | None:
    """A live-store event as a queue outcome. `call_up`: the caller's call is still in progress; `callback`:
    the call is a callback request (it keeps its place; never missed). None: the event does not count."""
    kind, tenant = event.get("kind"), str(event.get("tenant", ""))
    call, at = event.get("call"), event.get("at")
    if not isinstance(call, str) or not isinstance(at, int | float):
        return None
    if kind == "enqueued" and isinstance(event.get("queue"), str):
        return None if callback else QueueOutcome("joined", tenant, call, float(at), str(event["queue"]))
    if kind == "released" and event.get("reason") == "answered":
        return QueueOutcome("answered", tenant, call, float(at))
    if kind == "dequeued" or (kind == "released" and event.get("reason") == "cancelled"):
        return QueueOutcome("left" if call_up or callback else "missed", tenant, call, float(at))
    return None


@dataclass(frozen=True, slots=True)
class DayTally:
    """Today's counts per (tenant, queue), and the callers being followed: (tenant, call) → (queue, joined_at).

    A caller sent back to the queue (their agent did not answer) joins again with their first join time, so
    the wait counted at the answer is the whole wait. Counts go to the day (in the tenant's time zone) of the
    moment the caller was answered or missed."""

    days: Mapping[tuple[str, str, date], QueueDay] = field(default_factory=dict)
    following: Mapping[tuple[str, str], tuple[str, float]] = field(default_factory=dict)

    def fold(self, outcome: QueueOutcome, tz: tzinfo) -> DayTally:
        key = (outcome.tenant, outcome.call)
        if outcome.kind == "joined":
            assert outcome.queue is not None
            joined = self.following.get(key, (outcome.queue, outcome.at))[1]
            return replace(self, following={**self.following, key: (outcome.queue, min(joined, outcome.at))})
        followed = self.following.get(key)
        if followed is None:
            return self  # joined before the watcher started, or counted already
        following = {k: v for k, v in self.following.items() if k != key}
        if outcome.kind == "left":
            return replace(self, following=following)
        queue, joined_at = followed
        day_key = (outcome.tenant, queue, datetime.fromtimestamp(outcome.at, tz).date())
        day = self.days.get(day_key, QueueDay())
        if outcome.kind == "answered":
            in_time = outcome.at - joined_at <= SERVICE_LEVEL_S
            day = replace(day, answered=day.answered + 1, answered_in_time=day.answered_in_time + int(in_time))
        else:
            day = replace(day, missed=day.missed + 1)
        return DayTally({**self.days, day_key: day}, following)

    def today(self, tenant: str, now: float, tz: tzinfo) -> dict[str, QueueDay]:
        day = datetime.fromtimestamp(now, tz).date()
        return {q: counts for (t, q, d), counts in self.days.items() if t == tenant and d == day}

    def forget_before(self, tenant: str, day: date) -> DayTally:
        """Drop a tenant's counts of earlier days (they are not shown again)."""
        return replace(self, days={k: v for k, v in self.days.items() if k[0] != tenant or k[2] >= day})


# --- today's answered and missed callers, from the call records ------------------------------------------


def count_calls(calls: Iterable[tuple[str | None, str | None, float | None]]) -> dict[str, QueueDay]:
    """(queue, queue outcome, wait in that queue) of calls → the counts per queue. Only answered and missed
    callers count; answered within SERVICE_LEVEL_S are in time."""
    out: dict[str, QueueDay] = {}
    for queue, outcome, wait_s in calls:
        if queue is None or outcome not in ("answered", "missed"):
            continue
        day = out.get(queue, QueueDay())
        if outcome == "answered":
            in_time = wait_s is not None and wait_s <= SERVICE_LEVEL_S
            day = replace(day, answered=day.answered + 1, answered_in_time=day.answered_in_time + int(in_time))
        else:
            day = replace(day, missed=day.missed + 1)
        out[queue] = day
    return out


def add_counts(*parts: Mapping[str, QueueDay]) -> dict[str, QueueDay]:
    out: dict[str, QueueDay] = {}
    for part in parts:
        for queue, day in part.items():
            have = out.get(queue, QueueDay())
            out[queue] = QueueDay(have.answered + day.answered, have.answered_in_time + day.answered_in_time,
                                  have.missed + day.missed)
    return out


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The local day as [start, end) instants (23 or 25 hours on the days the clocks change)."""
    return (datetime.combine(day, time(), tz).astimezone(UTC),
            datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC))


def read_day_counts(session: Session, tenant: str, start: datetime, end: datetime,
                    leave_out: Collection[str] = ()) -> dict[str, QueueDay]:
    """One aggregate query: the answered and missed callers per queue of the tenant's calls that entered in
    [start, end) and have ended, as their records say; `leave_out`: call ids counted elsewhere."""
    in_time = case((CallRecordRow.wait_s <= SERVICE_LEVEL_S, 1), else_=0)
    query = (select(CallRecordRow.queue, CallRecordRow.queue_outcome, func.count(), func.sum(in_time))
             .join(TenantRow, TenantRow.id == CallRecordRow.tenant_id)
             .where(TenantRow.key == tenant, CallRecordRow.entered_at >= start, CallRecordRow.entered_at < end,
                    CallRecordRow.ended_at.is_not(None), CallRecordRow.queue.is_not(None),
                    CallRecordRow.queue_outcome.in_(("answered", "missed")))
             .group_by(CallRecordRow.queue, CallRecordRow.queue_outcome))
    if leave_out:
        query = query.where(CallRecordRow.call_id.not_in(list(leave_out)))
    out: dict[str, QueueDay] = {}
    for queue, outcome, calls, timely in session.execute(query).tuples():
        day = out.get(queue, QueueDay())
        if outcome == "answered":
            day = replace(day, answered=day.answered + calls, answered_in_time=day.answered_in_time + int(timely or 0))
        else:
            day = replace(day, missed=day.missed + calls)
        out[queue] = day
    return out


@dataclass(frozen=True, slots=True)
class DayRead:
    """The database's counts of one tenant's day, as a query that started at `started` (monotonic) saw them."""

    day: date
    started: float
    counts: Mapping[str, QueueDay]


class TodayCounts:
    """Today's answered and missed callers per queue of each tenant: the call records in the database (read at
    most every `refresh_s` per tenant, on the database's threads) plus the calls of this controller whose
    record is not there yet (`recorder`: pbx.stats.collector.CallRecorder). `sessions` None: no database, the
    controller's own calls only."""

    def __init__(self, recorder: Any, sessions: Callable[[], Session] | None, *, refresh_s: float = 3.0,
                 clock: Callable[[], float] = monotonic) -> None:
        self.recorder = recorder
        self.sessions = sessions
        self.refresh_s = refresh_s
        self.clock = clock
        self.reads: dict[str, DayRead] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def today(self, tenant: str, now: float, tz: tzinfo) -> dict[str, QueueDay]:
        day = datetime.fromtimestamp(now, tz).date()
        read = await self._fresh(tenant, day, tz)
        since = read.started if read is not None else None
        live = [(q.last.queue, q.last.outcome, q.last.wait_s)
                for q in self.recorder.not_in_database(tenant, since)
                if q.last is not None and q.entered.astimezone(tz).date() == day]
        return add_counts(read.counts if read is not None else {}, count_calls(live))

    async def _fresh(self, tenant: str, day: date, tz: tzinfo) -> DayRead | None:
        if self.sessions is None:
            return None
        lock = self._locks.setdefault(tenant, asyncio.Lock())
        async with lock:
            read = self.reads.get(tenant)
            if read is not None and read.day == day and self.clock() - read.started < self.refresh_s:
                return read
            started = self.clock()
            leave_out = self.recorder.being_written(tenant)  # they may land while we read: counted as live
            start, end = day_bounds(day, tz)
            try:
                counts = await in_db(self.sessions, self._query, tenant, start, end, leave_out)
            except Exception as exc:
                log.warning("today's queue counts not read, showing the last ones", extra={
                    "event": "wallboard_counts_unread", "tenant": tenant, "error": repr(exc)})
                return read if read is not None and read.day == day else None
            read = self.reads[tenant] = DayRead(day, started, counts)
            self.recorder.forget_written(tenant, started)
            return read

    def _query(self, tenant: str, start: datetime, end: datetime, leave_out: list[str]) -> dict[str, QueueDay]:
        assert self.sessions is not None
        with self.sessions() as session:
            return read_day_counts(session, tenant, start, end, leave_out)


# --- the edge: a snapshot of a running controller ----------------------------------------------------------


async def read_live(controller: Any, tenant: str, today: Mapping[str, QueueDay]) -> TenantLive | None:
    """One tenant's live state from a pbx.controller.Controller (its live store, routing table and ACD):
    None when the controller does not serve the tenant."""
    from pbx.state.store import presence_spans

    table = controller.tables.table.tenants.get(tenant)
    if table is None:
        return None
    store = controller.store
    queues = []
    for queue in table.queues.values():
        waiting = tuple(await store.waiting(tenant, queue.key))
        queues.append(QueueLive(queue.key, queue.name, tuple(queue.members), waiting))
    on_call = {c.agent for c in list(controller.acd.callers.values())
               if c.tenant == tenant and c.agent is not None and c.answered}
    agents: dict[str, AgentLive] = {}
    wanted: set[str] = {m for q in queues for m in q.members}
    states = {a.user: a for a in await store.agents(tenant)}
    for user in sorted(wanted | {u for u, a in states.items() if any(r.startswith("queue:") for r in a.logged_in)}):
        state = states.get(user) or AgentState(tenant=tenant, user=user)
        spans = tuple((s[0], s[1], s[2]) for s in presence_spans(await store.presence_entries(tenant, user)))
        config = table.users.get(user)
        agents[user] = AgentLive(state, await store.line(tenant, user), spans, user in on_call,
                                 config.name if config is not None else "")
    return TenantLive(tenant, table.tz, tuple(queues), agents, dict(today),
                      float(getattr(controller.acd, "reserve_ttl_s", 90.0)))


def visible(boards: Sequence[QueueBoard]) -> list[dict[str, Any]]:
    return [b.to_json() for b in boards]
