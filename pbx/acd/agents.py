"""The agent state machine: login, pause, reservation, answer/miss, call end, wrap-up, as pure transitions.

Every transition takes the agent and `now` and returns (new agent, events); the events are what the
controller publishes and logs. Nothing here reads the clock: wrap-up ends when a caller passes a
`now` past `wrapup_until` (see `expire_wrapup`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TypeAlias

from pbx.acd.model import AcdEvent, AcdEventKind, AgentState

Transition: TypeAlias = tuple[AgentState, tuple[AcdEvent, ...]]

MISSED_CALLS = "missed calls"
NO_EVENTS: tuple[AcdEvent, ...] = ()


class AgentUnavailable(ValueError):
    """The agent cannot take this call; `reason` says why (as `available_for` does)."""

    def __init__(self, user: str, reason: str) -> None:
        super().__init__(f"agent {user} is not available: {reason}")
        self.user = user
        self.reason = reason


class NotReservedFor(ValueError):
    """An answer/miss/offer for a call the agent is not reserved for (a stale or duplicate event)."""


def _event(agent: AgentState, kind: AcdEventKind, now: float, queue: str | None = None, call: str | None = None,
           reason: str = "") -> AcdEvent:
    return AcdEvent(kind, agent.tenant, agent.user, now, queue=queue, call=call, reason=reason)


def login(agent: AgentState, member: str, now: float, by: str | None = None) -> Transition:
    """Log in to "queue:KEY" or "group:KEY" (by the agent, or an admin when `by` is set). Idempotent."""
    if member in agent.logged_in:
        return agent, NO_EVENTS
    new = replace(agent, logged_in=agent.logged_in | {member})
    return new, (AcdEvent(AcdEventKind.LOGGED_IN, agent.tenant, agent.user, now, queue=member, by=by),)


def logout(agent: AgentState, member: str | None, now: float, by: str | None = None) -> Transition:
    """Log out of one queue/group, or of all when `member` is None. An ongoing call is not touched."""
    leaving = agent.logged_in if member is None else agent.logged_in & {member}
    if not leaving:
        return agent, NO_EVENTS
    new = replace(agent, logged_in=agent.logged_in - leaving)
    events = tuple(AcdEvent(AcdEventKind.LOGGED_OUT, agent.tenant, agent.user, now, queue=m, by=by)
                   for m in sorted(leaving))
    return new, events


def pause(agent: AgentState, reason: str, now: float, by: str | None = None) -> Transition:
    """Pause in every queue with a reason; pausing again only changes the reason (and says so)."""
    if agent.paused and agent.pause_reason == reason:
        return agent, NO_EVENTS
    new = replace(agent, paused=True, pause_reason=reason)
    return new, (AcdEvent(AcdEventKind.PAUSED, agent.tenant, agent.user, now, reason=reason, by=by),)


def unpause(agent: AgentState, now: float, by: str | None = None) -> Transition:
    """Unpause; the count of missed calls in a row starts again, so one more miss does not re-pause."""
    if not agent.paused:
        return agent, NO_EVENTS
    new = replace(agent, paused=False, pause_reason="", missed_in_row=0)
    return new, (AcdEvent(AcdEventKind.UNPAUSED, agent.tenant, agent.user, now, reason=agent.pause_reason, by=by),)


def available_for(agent: AgentState, member: str, now: float, presence_ok: bool = True,
                  line_free: bool = True) -> str | None:
    """Why the agent may not be offered a call from `member` now, or None when they may.

    The conditions, in the order reported: logged in to that queue, not paused, presence available,
    not on an ACD call and line free, not in wrap-up, not already reserved for another call."""
    if member not in agent.logged_in:
        return "not logged in"
    if agent.paused:
        return f"paused ({agent.pause_reason})" if agent.pause_reason else "paused"
    if not presence_ok:
        return "presence"
    if agent.on_call or not line_free:
        return "line busy"
    if agent.wrapup_until > now:
        return "wrap-up"
    if agent.reserved_for is not None:
        return "reserved"
    return None


def reserve(agent: AgentState, call: str, member: str, now: float, presence_ok: bool = True,
            line_free: bool = True) -> Transition:
    """Reserve the agent for one call so no other dispatcher pass can give them a second one.

    Raises AgentUnavailable with the reason when `available_for` refuses."""
    why = available_for(agent, member, now, presence_ok, line_free)
    if why is not None:
        raise AgentUnavailable(agent.user, why)
    new = replace(agent, reserved_for=call, reserved_at=now, call_queue=member)
    return new, (_event(new, AcdEventKind.RESERVED, now, queue=member, call=call),)


def _check_reserved(agent: AgentState, call: str) -> None:
    if agent.reserved_for != call:
        raise NotReservedFor(f"agent {agent.user} is reserved for {agent.reserved_for!r}, not {call!r}")


def offered(agent: AgentState, call: str, now: float) -> Transition:
    """The reserved agent's phone starts ringing."""
    _check_reserved(agent, call)
    return agent, (_event(agent, AcdEventKind.OFFERED, now, queue=agent.call_queue, call=call),)


def release(agent: AgentState, call: str, now: float, reason: str = "") -> Transition:
    """Drop a reservation that is nobody's fault (caller hung up, another agent answered a ring-all)."""
    _check_reserved(agent, call)
    new = replace(agent, reserved_for=None, reserved_at=0.0, call_queue=None)
    return new, (_event(agent, AcdEventKind.RELEASED, now, queue=agent.call_queue, call=call, reason=reason),)


def answered(agent: AgentState, call: str, now: float) -> Transition:
    """The agent answered the call they were reserved for: on the call, missed-in-a-row back to 0."""
    _check_reserved(agent, call)
    new = replace(agent, reserved_for=None, reserved_at=0.0, on_call=True, calls_taken=agent.calls_taken + 1,
                  missed_in_row=0)
    return new, (_event(agent, AcdEventKind.ANSWERED, now, queue=agent.call_queue, call=call),)


def missed(agent: AgentState, call: str, now: float, max_missed: int) -> Transition:
    """The agent did not answer: the reservation goes (the caller keeps their place, see
    `dispatch.skip_agent`); after `max_missed` misses in a row (0 = never) the agent is paused
    with reason "missed calls" and the event says so."""
    _check_reserved(agent, call)
    in_row = agent.missed_in_row + 1
    new = replace(agent, reserved_for=None, reserved_at=0.0, call_queue=None, missed_in_row=in_row)
    events = [_event(agent, AcdEventKind.MISSED, now, queue=agent.call_queue, call=call, reason=f"{in_row} in a row")]
    if 0 < max_missed <= in_row and not agent.paused:
        new = replace(new, paused=True, pause_reason=MISSED_CALLS)
        events.append(_event(agent, AcdEventKind.AUTO_PAUSED, now, queue=agent.call_queue, call=call,
                             reason=MISSED_CALLS))
    return new, tuple(events)


def wrapup_seconds(queue_wrapup_s: int, user: str, queue: str, overrides: Mapping[str, int] | None = None) -> int:
    """The wrap-up an agent gets after a call from `queue`: an override for "user@queue", else for
    "user", else the queue's. Overrides let a team lead give a trainee longer wrap-up."""
    if overrides:
        for key in (f"{user}@{queue}", user):
            if key in overrides:
                return max(0, overrides[key])
    return max(0, queue_wrapup_s)


def _start_wrapup(agent: AgentState, queue: str | None, now: float, wrapup_s: float,
                  events: list[AcdEvent]) -> AgentState:
    # An ongoing wrap-up is never reset or moved to another queue by a later call end or transfer.
    if agent.wrapup_until > now or wrapup_s <= 0:
        return agent
    events.append(_event(agent, AcdEventKind.WRAPUP_STARTED, now, queue=queue))
    return replace(agent, wrapup_until=now + wrapup_s, wrapup_queue=queue)


def call_ended(agent: AgentState, now: float, wrapup_s: float) -> Transition:
    """The agent's ACD call ended: wrap-up runs until now + wrapup_s (see `wrapup_seconds`)."""
    if not agent.on_call:
        return agent, NO_EVENTS
    queue = agent.call_queue
    events = [_event(agent, AcdEventKind.CALL_ENDED, now, queue=queue)]
    new = replace(agent, on_call=False, call_queue=None, last_call_end=now)
    new = _start_wrapup(new, queue, now, wrapup_s, events)
    return new, tuple(events)


def transfer_into(agent: AgentState, queue: str, now: float, wrapup_s: float) -> Transition:
    """The agent completed an attended transfer of their caller into `queue`; their part of the call
    ends. Wrap-up belongs to the queue the call came from: it starts now if it had not, and an
    ongoing one keeps its end and its queue (the transfer does not reset it)."""
    if not agent.on_call:
        return agent, NO_EVENTS
    origin = agent.call_queue
    events = [_event(agent, AcdEventKind.TRANSFERRED, now, queue=queue, reason=f"from {origin}")]
    new = replace(agent, on_call=False, call_queue=None, last_call_end=now)
    new = _start_wrapup(new, origin, now, wrapup_s, events)
    return new, tuple(events)


def end_wrapup(agent: AgentState, now: float, by: str | None = None) -> Transition:
    """The agent (or an admin) ends wrap-up early; a no-op when not in wrap-up."""
    if agent.wrapup_until <= now:
        return agent, NO_EVENTS
    new = replace(agent, wrapup_until=now, wrapup_queue=None)
    return new, (AcdEvent(AcdEventKind.WRAPUP_ENDED, agent.tenant, agent.user, now, queue=agent.wrapup_queue,
                          reason="ended early", by=by),)


def expire_wrapup(agent: AgentState, now: float) -> Transition:
    """Close a wrap-up whose time has passed; the event carries the time it actually ended."""
    if agent.wrapup_queue is None or agent.wrapup_until > now:
        return agent, NO_EVENTS
    new = replace(agent, wrapup_queue=None)
    return new, (AcdEvent(AcdEventKind.WRAPUP_ENDED, agent.tenant, agent.user, agent.wrapup_until,
                          queue=agent.wrapup_queue, reason="elapsed"),)
