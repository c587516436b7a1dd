"""The callback lifecycle (F-12, keeping the place) as an explicit state machine, and the F-13 offered time.

    requested ─confirm→ waiting ─due→ due ─claim→ agent_reserved ─agent_called→ agent_called
        ─customer_dialled→ customer_dialled ─customer_answered→ connected ─completed→ done
    customer_dialled ─customer_no_answer→ retry_scheduled (attempts left) | failed (none left)
    retry_scheduled ─due (at next_attempt_at)→ retry_due ─claim→ agent_reserved …
    agent_reserved | agent_called ─agent_missed→ due | retry_due (the place is kept)
    waiting ─book→ scheduled ─due (at next_attempt_at)→ due   (F-13: a time offered instead of the place)
    any state but done/failed/cancelled ─cancel→ cancelled

Every transition is a pure function that raises `IllegalTransition` from any other state. Only
`claim` hands a callback to an agent and only from due/retry_due, and only `customer_dialled`
dials, only from agent_called: a callback can be neither claimed twice nor dialled twice.
The agent is called first and hears whom they call back (`agent_whisper`), then the customer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from pbx.acd.model import FINAL_CALLBACK_STATUSES, CallbackRequest, CallbackStatus

S = CallbackStatus


class IllegalTransition(ValueError):
    def __init__(self, cb: CallbackRequest, action: str) -> None:
        super().__init__(f"callback {cb.call_id}: cannot {action} from {cb.status.value}")
        self.status = cb.status
        self.action = action


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often the customer is dialled before the callback fails, and how long between attempts."""

    max_attempts: int = 3
    interval_s: int = 300


def _move(cb: CallbackRequest, action: str, allowed: frozenset[CallbackStatus], to: CallbackStatus,
          now: float, **changes: object) -> CallbackRequest:
    if cb.status not in allowed:
        raise IllegalTransition(cb, action)
    return replace(cb, status=to, changed_at=now, **changes)  # type: ignore[arg-type]


def request(call_id: str, tenant: str, queue: str, number: str, joined_at: float, now: float) -> CallbackRequest:
    """The waiting caller pressed the callback key; `number` is the caller's own until confirmed."""
    return CallbackRequest(call_id, tenant, queue, number, joined_at, now, changed_at=now)


def _valid_number(number: str) -> bool:
    digits = number[1:] if number.startswith("+") else number
    return 3 <= len(digits) <= 15 and digits.isdigit()


def confirm(cb: CallbackRequest, now: float, number: str | None = None) -> CallbackRequest:
    """The caller confirmed their number (or keyed another) and hangs up; the place is kept."""
    chosen = cb.number if number is None else number
    if not _valid_number(chosen):
        raise ValueError(f"not a number to call back: {chosen!r}")
    return _move(cb, "confirm", frozenset({S.REQUESTED}), S.WAITING, now, number=chosen)


def book(cb: CallbackRequest, at: float, now: float) -> CallbackRequest:
    """F-13: the caller was offered `at` (see scheduled_offer); the request waits for that time, not in line."""
    if at < now:
        raise ValueError("a callback cannot be booked in the past")
    return _move(cb, "book", frozenset({S.WAITING}), S.SCHEDULED, now, next_attempt_at=at)


def due(cb: CallbackRequest, now: float) -> CallbackRequest:
    """Its place reached the head (waiting → due), its booked time came (scheduled → due), or a retry's
    time came (retry_scheduled → retry_due)."""
    if cb.status is S.SCHEDULED:
        if now < cb.next_attempt_at:
            raise IllegalTransition(cb, f"call before the booked {cb.next_attempt_at}")
        return _move(cb, "make due", frozenset({S.SCHEDULED}), S.DUE, now)
    if cb.status is S.RETRY_SCHEDULED:
        if now < cb.next_attempt_at:
            raise IllegalTransition(cb, f"retry before {cb.next_attempt_at}")
        return _move(cb, "retry", frozenset({S.RETRY_SCHEDULED}), S.RETRY_DUE, now)
    return _move(cb, "make due", frozenset({S.WAITING}), S.DUE, now)


def claim(cb: CallbackRequest, agent: str, now: float) -> CallbackRequest:
    """One agent takes the callback; from then on nobody else can."""
    return _move(cb, "claim", frozenset({S.DUE, S.RETRY_DUE}), S.AGENT_RESERVED, now, agent=agent)


def agent_called(cb: CallbackRequest, now: float) -> CallbackRequest:
    """The agent's phone rings; on answering they hear `agent_whisper` before the customer is dialled."""
    return _move(cb, "call the agent", frozenset({S.AGENT_RESERVED}), S.AGENT_CALLED, now)


def agent_whisper(cb: CallbackRequest) -> tuple[str, ...]:
    """What the agent hears first: that this is a callback, to which number, from which queue."""
    return ("callback-to", f"digits:{cb.number}")


def agent_missed(cb: CallbackRequest, now: float) -> CallbackRequest:
    """The agent did not answer (or the reservation was dropped): back to the head, place kept."""
    back = S.RETRY_DUE if cb.attempts else S.DUE
    return _move(cb, "give back", frozenset({S.AGENT_RESERVED, S.AGENT_CALLED}), back, now, agent=None)


def customer_dialled(cb: CallbackRequest, now: float) -> CallbackRequest:
    """The agent answered and heard the whisper; the customer is dialled (one attempt)."""
    return _move(cb, "dial the customer", frozenset({S.AGENT_CALLED}), S.CUSTOMER_DIALLED, now,
                 attempts=cb.attempts + 1)


def customer_answered(cb: CallbackRequest, now: float) -> CallbackRequest:
    return _move(cb, "connect", frozenset({S.CUSTOMER_DIALLED}), S.CONNECTED, now)


def customer_no_answer(cb: CallbackRequest, now: float, policy: RetryPolicy) -> CallbackRequest:
    """The customer did not answer: another attempt after the interval, or failed when used up."""
    allowed = frozenset({S.CUSTOMER_DIALLED})
    if cb.attempts >= policy.max_attempts:
        return _move(cb, "give up", allowed, S.FAILED, now, agent=None,
                     reason=f"no answer after {cb.attempts} attempts")
    return _move(cb, "schedule a retry", allowed, S.RETRY_SCHEDULED, now, agent=None,
                 next_attempt_at=now + policy.interval_s)


def completed(cb: CallbackRequest, now: float) -> CallbackRequest:
    return _move(cb, "complete", frozenset({S.CONNECTED}), S.DONE, now)


def cancel(cb: CallbackRequest, now: float, reason: str) -> CallbackRequest:
    """Cancelled by the customer, an admin, or closing time; final states stay as they are."""
    allowed = frozenset(set(S) - FINAL_CALLBACK_STATUSES)
    return _move(cb, "cancel", allowed, S.CANCELLED, now, agent=None, reason=reason)


# --- F-13: the time offered for a scheduled callback ----------------------------------------


class QueueStats(NamedTuple):
    waiting: int              # callers waiting now (incl. callback requests holding a place)
    aht_s: float              # average handle time incl. wrap-up
    agents_staffed: int       # logged in and not paused
    callbacks_booked: int = 0  # scheduled callbacks already promised ahead of this one


def _round_up(t: datetime, step_min: int) -> datetime:
    base = t.replace(minute=0, second=0, microsecond=0)
    minutes = (t - base).total_seconds() / 60
    return base + timedelta(minutes=step_min * math.ceil(minutes / step_min - 1e-9))


def scheduled_offer(now: datetime, stats: QueueStats, next_open: Callable[[datetime], datetime] | None = None,
                    min_lead_s: float = 300.0) -> datetime:
    """The callback time to offer (F-13): when the queue will have worked through the callers ahead.

    Everyone waiting and every callback booked ahead takes an AHT spread over the staffed agents
    (at least one is assumed so closed queues still get a time); never sooner than `min_lead_s`.
    The time is rounded up to the next 5 minutes within the hour, 15 minutes beyond, and moved to
    the next opening (`next_open` gives the earliest open moment at or after a time) if needed."""
    staff = max(1, stats.agents_staffed)
    drain_s = (stats.waiting + stats.callbacks_booked + 1) * max(stats.aht_s, 1.0) / staff
    at = now + timedelta(seconds=max(drain_s, min_lead_s))
    if next_open is not None:
        at = next_open(at)
    step = 5 if at - now <= timedelta(hours=1) else 15
    return _round_up(at, step)
