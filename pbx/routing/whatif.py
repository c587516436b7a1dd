"""What-if: the path a call would take at a given time with given key presses, with no Asterisk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pbx.routing.compile import RoutingTable
from pbx.routing.engine import (
    Call,
    CollectNumber,
    Decision,
    Dial,
    EnterQueue,
    Hangup,
    PlayMenu,
    RingGroup,
    Service,
    decide,
)
from pbx.routing.state import LiveView

MAX_DECISIONS = 40


@dataclass(frozen=True, slots=True)
class Outcome:
    """How simulated destinations behave: answered (stop there) or not (follow the rules onward)."""

    answer: bool = True
    dial_status: str = "NOANSWER"


def what_if(table: RoutingTable, state: LiveView, number: str, at: datetime, digits: Sequence[str] = (),
            caller: str = "+46701234567", outcome: Outcome = Outcome()) -> list[Decision]:
    """Every decision a call would meet. Menus consume `digits` in order (then time out);
    a ringing destination answers unless `outcome.answer` is False."""
    pending = list(digits)
    call = Call(dialled=number, caller=caller)
    path: list[Decision] = []
    for _ in range(MAX_DECISIONS):
        decision = decide(table, state, call, at)
        path.append(decision)
        action = decision.action
        if isinstance(action, Hangup):
            break
        if isinstance(action, PlayMenu):
            result = pending.pop(0) if pending else ""
        elif isinstance(action, CollectNumber):
            result = action.default
        elif isinstance(action, Dial | RingGroup | EnterQueue):
            if outcome.answer:
                break
            result = outcome.dial_status if isinstance(action, Dial) else "TIMEOUT"
        else:  # voicemail: the caller leaves a message, the call ends there; a phone service takes over
            break
        call = replace(call, tenant=decision.tenant, flow=decision.flow, node=decision.node,
                       target=decision.target, attempt=decision.attempt, result=result)
    return path


def describe(action: object) -> str:
    """One line for an action, as an administrator reads it."""
    prompts = getattr(action, "prompts", ())
    before = f"play {', '.join(prompts)}; " if prompts else ""
    if isinstance(action, PlayMenu):
        return f"{before}menu {action.prompt} (keys {action.digits}, {action.timeout_s} s)"
    if isinstance(action, RingGroup):
        who = ", ".join(m.user for m in action.members) or "nobody free yet"
        return f"{before}answer group {action.group} {action.strategy}: {who}"
    if isinstance(action, EnterQueue):
        return f"{before}queue {action.queue}"
    if isinstance(action, Dial):
        return f"{before}dial {', '.join(action.targets)} for {action.ring_s} s"
    if isinstance(action, CollectNumber):
        return f"{before}collect callback number (default {action.default})"
    if isinstance(action, Hangup):
        return f"{before}hang up ({action.cause})"
    if isinstance(action, Service):
        return f"{before}phone service {action.service}" + (f" (box {action.box})" if action.box else "")
    return f"{before}voicemail {getattr(action, 'box', '?')}"
