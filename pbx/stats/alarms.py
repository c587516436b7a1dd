"""Alarm thresholds per queue (F-16): when a wallboard figure crosses its threshold the alarm is raised once,
and cleared once when the figure is back, with hysteresis; and the watcher that evaluates them every second
against a running controller and tells the wallboards (live-store events), e-mail and webhooks.

A rule watches one metric of one queue. Upper metrics (callers_waiting, longest_wait_s, average_wait_s,
missed_today) raise when the figure is at or above `threshold`; lower metrics (agents_free_below,
service_level_below) raise when it is below. Hysteresis, so an alarm does not flap: it clears only when the
figure is past `clear_at` (default: back on the safe side of `threshold`) and has stayed there for
`clear_after_s` seconds. Whether an alarm is raised is kept in its database row and changed with a
compare-and-set, so a restart does not raise it again and several API processes notify once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pbx.db.models import TenantRow
from pbx.notify.senders import Message
from pbx.state.store import ALL_TENANTS, make_event
from pbx.stats.alarm_models import QueueAlarmRow
from pbx.stats.wallboard import DayTally, QueueBoard, classify, read_live
from pbx.stats.wallboard import board as build_board

log = logging.getLogger("pbx.stats.alarms")

UPPER = "upper"
LOWER = "lower"
METRICS: dict[str, str] = {
    "callers_waiting": UPPER,
    "longest_wait_s": UPPER,
    "average_wait_s": UPPER,
    "missed_today": UPPER,
    "agents_free_below": LOWER,
    "service_level_below": LOWER,
}
RAISED_EVENT = "queue_alarm"  # live-store event kinds: the wallboard stream forwards them
CLEARED_EVENT = "queue_alarm_cleared"


# --- the rule and its state machine (pure) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlarmRule:
    id: int
    tenant: str
    queue: str
    name: str
    metric: str
    threshold: float
    clear_at: float | None = None
    clear_after_s: float = 10.0
    event: bool = True
    emails: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def clear_level(self) -> float:
        return self.threshold if self.clear_at is None else self.clear_at

    def crossed(self, value: float) -> bool:
        return value >= self.threshold if METRICS[self.metric] == UPPER else value < self.threshold

    def back(self, value: float) -> bool:
        return value < self.clear_level if METRICS[self.metric] == UPPER else value >= self.clear_level


def rule_problems(metric: str, threshold: float, clear_at: float | None) -> list[dict[str, str]]:
    """What is wrong with a rule beyond its JSON schema, as problem errors (field, message)."""
    problems = []
    if metric == "service_level_below" and threshold > 100:
        problems.append({"field": "body.threshold", "message": "a service level is a percentage (0–100)"})
    if clear_at is not None:
        if METRICS.get(metric) == UPPER and clear_at > threshold:
            problems.append({"field": "body.clear_at", "message": f"{metric} raises at or above the threshold, "
                             "so it must clear at or below it"})
        if METRICS.get(metric) == LOWER and clear_at < threshold:
            problems.append({"field": "body.clear_at", "message": f"{metric} raises below the threshold, so it "
                             "must clear at or above it"})
    return problems


@dataclass(frozen=True, slots=True)
class AlarmState:
    raised: bool = False
    raised_at: float = 0.0
    back_since: float | None = None  # raised, and the figure has been back since then


def step(rule: AlarmRule, state: AlarmState, value: float | None, now: float) -> tuple[AlarmState, str | None]:
    """The next state for the figure `value` at `now`, and the transition: "raised", "cleared" or None.
    An unknown figure (no service level yet) changes nothing."""
    if value is None:
        return state, None
    if not state.raised:
        return (AlarmState(True, now), "raised") if rule.crossed(value) else (state, None)
    if not rule.back(value):
        return (replace(state, back_since=None), None) if state.back_since is not None else (state, None)
    since = now if state.back_since is None else state.back_since
    if now - since >= rule.clear_after_s:
        return AlarmState(False), "cleared"
    return replace(state, back_since=since), None


TEXTS = {
    "sv": {"raised": ("Larm: {queue}: {label} {value}", "Kön {queue} har passerat ett larmvärde.\n\n"
                      "Larm: {name}\nMått: {label}\nVärde: {value} (gräns {threshold})\nTid: {at}\n"),
           "cleared": ("Larmet upphört: {queue}: {label} {value}", "Kön {queue} är tillbaka under larmvärdet.\n\n"
                       "Larm: {name}\nMått: {label}\nVärde: {value} (gräns {threshold})\nTid: {at}\n")},
    "en": {"raised": ("Alarm: {queue}: {label} {value}", "Queue {queue} has crossed an alarm threshold.\n\n"
                      "Alarm: {name}\nMetric: {label}\nValue: {value} (threshold {threshold})\nAt: {at}\n"),
           "cleared": ("Alarm cleared: {queue}: {label} {value}", "Queue {queue} is back within its alarm "
                       "threshold.\n\nAlarm: {name}\nMetric: {label}\nValue: {value} (threshold {threshold})\n"
                       "At: {at}\n")},
}
LABELS = {
    "sv": {"callers_waiting": "väntande", "longest_wait_s": "längsta väntetid (s)",
           "average_wait_s": "medelväntetid (s)", "missed_today": "missade i dag",
           "agents_free_below": "lediga agenter", "service_level_below": "servicenivå (%)"},
    "en": {"callers_waiting": "callers waiting", "longest_wait_s": "longest wait (s)",
           "average_wait_s": "average wait (s)", "missed_today": "missed today",
           "agents_free_below": "agents free", "service_level_below": "service level (%)"},
}


def _figure(value: float) -> str:
    return f"{value:g}"


def alarm_message(rule: AlarmRule, queue_name: str, transition: str, value: float, at: datetime,
                  language: str) -> Message:
    """The e-mail/webhook saying an alarm was raised or cleared."""
    lang = language if language in TEXTS else "en"
    subject, text = TEXTS[lang][transition]
    fields = {"queue": queue_name, "label": LABELS[lang][rule.metric], "value": _figure(value),
              "threshold": _figure(rule.threshold), "name": rule.name or rule.metric, "at": f"{at:%Y-%m-%d %H:%M:%S}"}
    return Message(tenant=rule.tenant, kind="queue_alarm" if transition == "raised" else "queue_alarm_cleared",
                   ref=f"{rule.queue}/{rule.id}", subject=subject.format(**fields), text=text.format(**fields))


def alarm_event(rule: AlarmRule, transition: str, value: float | None, at: float, reason: str = "") -> dict[str, Any]:
    """The live-store event (and, as a WebSocket message, what the wallboard gets)."""
    return make_event(RAISED_EVENT if transition == "raised" else CLEARED_EVENT, rule.tenant, at, alarm=rule.id,
                      queue=rule.queue, name=rule.name, metric=rule.metric, threshold=rule.threshold, value=value,
                      **({"reason": reason} if reason else {}))


def rule_of(row: QueueAlarmRow, tenant: str) -> AlarmRule:
    return AlarmRule(row.id, tenant, row.queue, row.name, row.metric, row.threshold, row.clear_at,
                     float(row.clear_after_s), row.notify_event, tuple(row.emails or ()), tuple(row.webhooks or ()),
                     row.enabled)


# --- the watcher (I/O: the controller's live store, the database, the notifier) ---------------------------


class AlarmWatcher:
    """Runs beside the admin API of a process with a controller. Every `tick_s` it builds the wallboard of each
    tenant with enabled rules and steps the rules; a transition is written with a compare-and-set, published
    as a live-store event (the wallboard streams of every instance forward it) and sent to the rule's e-mail
    and webhook recipients through the controller's notifier. It also follows the live store's events to
    count today's answered and missed callers (pbx.stats.wallboard.DayTally)."""

    def __init__(self, controller: Any, sessions: Callable[[], Session], *, tick_s: float = 1.0,
                 rules_every_s: float = 5.0, board_cache_s: float = 0.5) -> None:
        self.controller = controller
        self.sessions = sessions
        self.tick_s = tick_s
        self.rules_every_s = rules_every_s
        self.board_cache_s = board_cache_s
        self.tally = DayTally()
        self.rules: dict[int, AlarmRule] = {}
        self.states: dict[int, AlarmState] = {}
        self._rules_at = float("-inf")
        self._boards: dict[str, tuple[float, float, list[QueueBoard]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._sends: set[asyncio.Task[Any]] = set()
        self._ready = asyncio.Event()

    def now(self) -> float:
        return float(self.controller.clock().timestamp())

    def tz(self, tenant: str) -> tzinfo:
        table = self.controller.tables.table.tenants.get(tenant)
        return table.tz if table is not None else UTC

    # --- life cycle ---
    async def start(self) -> None:
        subscription = await self.controller.store.subscribe(ALL_TENANTS)
        self._tasks = [asyncio.create_task(self._follow(subscription), name="wallboard-tally"),
                       asyncio.create_task(self._watch(), name="wallboard-alarms")]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._sends]:
            task.cancel()
        for task in [*self._tasks, *self._sends]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def raised(self, tenant: str) -> list[tuple[AlarmRule, AlarmState]]:
        """The tenant's alarms raised now (of rules that tell the wallboard)."""
        return [(rule, state) for rule_id, state in sorted(self.states.items())
                if state.raised and (rule := self.rules.get(rule_id)) is not None and rule.tenant == tenant
                and rule.enabled and rule.event]

    def rules_changed(self) -> None:
        """A rule was created, changed or deleted: read them again at the next tick."""
        self._rules_at = float("-inf")

    # --- the wallboard ---
    async def boards(self, tenant: str) -> tuple[float, list[QueueBoard]] | None:
        """(now, the tenant's queue boards), at most `board_cache_s` old; None when the controller does not
        serve the tenant."""
        cached = self._boards.get(tenant)
        if cached is not None and time.monotonic() - cached[0] < self.board_cache_s:
            return cached[1], cached[2]
        now = self.now()
        live = await read_live(self.controller, tenant, self.tally.today(tenant, now, self.tz(tenant)))
        if live is None:
            return None
        boards = build_board(live, now)
        self._boards[tenant] = (time.monotonic(), now, boards)
        return now, boards

    # --- today's counts ---
    async def _follow(self, subscription: Any) -> None:
        async with subscription:
            while True:
                event = await subscription.get()
                try:
                    await self._count(event)
                except Exception:
                    log.exception("wallboard tally failed", extra={"event": "wallboard_tally_error",
                                                                    "kind": event.get("kind")})

    async def _count(self, event: Mapping[str, Any]) -> None:
        kind, tenant, call = event.get("kind"), str(event.get("tenant", "")), event.get("call")
        self._boards.pop(tenant, None)  # live state changed: the next wallboard is built afresh
        if kind not in ("enqueued", "dequeued", "released") or not isinstance(call, str):
            return
        call_up = call in self.controller.calls.live
        callback = await self.controller.store.callback(tenant, call) is not None
        outcome = classify(event, call_up=call_up, callback=callback)
        if outcome is not None:
            tz = self.tz(tenant)
            self.tally = self.tally.fold(outcome, tz)
            if outcome.kind == "missed":
                log.info("caller missed", extra={"event": "queue_caller_missed", "tenant": tenant, "call": call})

    # --- the alarms ---
    async def _watch(self) -> None:
        while True:
            try:
                await self.evaluate()
            except Exception:
                log.exception("alarm evaluation failed", extra={"event": "alarm_watch_error"})
            await asyncio.sleep(self.tick_s)

    async def _load_rules(self) -> None:
        def read() -> tuple[list[AlarmRule], dict[int, float]]:
            with self.sessions() as session:
                rows = session.execute(select(QueueAlarmRow, TenantRow.key)
                                       .join(TenantRow, TenantRow.id == QueueAlarmRow.tenant_id)).tuples().all()
                return [rule_of(row, key) for row, key in rows], {row.id: row.raised_at.timestamp()
                                                                  for row, _ in rows if row.raised_at}
        listed, raised = await asyncio.to_thread(read)
        rules = {r.id: r for r in listed}
        now = self.now()
        for rule_id, state in list(self.states.items()):
            rule, old = rules.get(rule_id), self.rules.get(rule_id)
            if rule is not None and rule.enabled and rule == old:
                continue  # unchanged: its state (a clear waiting out clear_after_s) goes on
            del self.states[rule_id]
            if rule is None or not rule.enabled:
                if state.raised:
                    await self._clear_in_db(rule_id)
            elif rule_id in raised:
                continue  # changed but still raised (new recipients, a new name): it stays raised
            if state.raised and old is not None and old.event:
                # removed, disabled, or a new threshold (the API cleared it): the wallboards drop it
                await self.controller.store.publish(old.tenant, alarm_event(old, "cleared", None, now,
                                                                            "rule changed or removed"))
        for rule in rules.values():
            if rule.enabled and rule.id not in self.states:
                self.states[rule.id] = AlarmState(rule.id in raised, raised.get(rule.id, 0.0))
        self.rules = rules
        self._rules_at = time.monotonic()

    async def _clear_in_db(self, rule_id: int) -> None:
        def write() -> None:
            with self.sessions() as session, session.begin():
                session.execute(update(QueueAlarmRow).where(QueueAlarmRow.id == rule_id)
                                .values(raised_at=None, raised_value=None))
        await asyncio.to_thread(write)

    async def evaluate(self) -> None:
        """One pass over every enabled rule."""
        if time.monotonic() - self._rules_at >= self.rules_every_s:
            await self._load_rules()
        for tenant in sorted({r.tenant for r in self.rules.values() if r.enabled}):
            got = await self.boards(tenant)
            if got is None:
                continue
            now, boards = got
            by_queue = {b.queue: b for b in boards}
            for rule in (r for r in self.rules.values() if r.tenant == tenant and r.enabled):
                queue = by_queue.get(rule.queue)
                if queue is None:
                    continue  # the queue was removed from the configuration: nothing to watch
                value = queue.metric(rule.metric)
                state, transition = step(rule, self.states.get(rule.id, AlarmState()), value, now)
                self.states[rule.id] = state
                if transition is not None and value is not None:
                    await self._transition(rule, queue, transition, value, now)

    async def _transition(self, rule: AlarmRule, queue: QueueBoard, transition: str, value: float,
                          now: float) -> None:
        at = datetime.fromtimestamp(now, UTC)

        def write() -> bool:
            with self.sessions() as session, session.begin():
                base = update(QueueAlarmRow).where(QueueAlarmRow.id == rule.id)
                if transition == "raised":
                    done = session.execute(base.where(QueueAlarmRow.raised_at.is_(None))
                                           .values(raised_at=at, raised_value=value))
                else:
                    done = session.execute(base.where(QueueAlarmRow.raised_at.is_not(None))
                                           .values(raised_at=None, raised_value=None))
                return bool(getattr(done, "rowcount", 0) == 1)
        if not await asyncio.to_thread(write):
            return  # another process made this transition (and told everyone), or the rule is gone
        self._boards.pop(rule.tenant, None)
        log.info(f"queue alarm {transition}", extra={
            "event": f"queue_alarm_{transition}", "tenant": rule.tenant, "queue": rule.queue, "alarm": rule.id,
            "metric": rule.metric, "threshold": rule.threshold, "value": value})
        if rule.event:
            await self.controller.store.publish(rule.tenant, alarm_event(rule, transition, value, now))
        recipients = [("email", a) for a in rule.emails] + [("webhook", u) for u in rule.webhooks]
        if recipients:
            table = self.controller.tables.table.tenants.get(rule.tenant)
            language = table.language if table is not None else "en"
            message = alarm_message(rule, queue.name, transition, value, at.astimezone(self.tz(rule.tenant)),
                                    language)
            task = asyncio.create_task(self.controller.notifier.notify(message, recipients))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
