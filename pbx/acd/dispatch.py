"""Queue dispatch: which caller is next, which agent gets them, and the order across an agent's queues.

Order of callers within a queue: caller priority (higher first; VIP numbers get a higher one), then
the time they joined (a callback request keeps the caller's original join time), then call id, so
the order is total and stable.

Order across queues for an agent logged in to several (`DispatchOrder`, configurable per tenant):
- QUEUE_PRIORITY (default): the queue with the highest `QueueConfig.priority` first; among queues of
  equal priority, the head caller with the higher caller priority, then the one who has waited
  longest; the queue key breaks a remaining tie.
- LONGEST_WAIT: caller priority, then longest waiting caller across all the agent's queues; queue
  priority only breaks ties.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import TypeAlias

from pbx.acd.agents import available_for
from pbx.acd.model import AgentState, CallbackStatus, WaitingCaller, queue_member
from pbx.routing.model import QueueConfig, QueueStrategy

UserCheck: TypeAlias = Callable[[str], bool]
QueueWithCallers: TypeAlias = tuple[QueueConfig, Sequence[WaitingCaller]]

VIP_PRIORITY = 10


class DispatchOrder(StrEnum):
    QUEUE_PRIORITY = "queue_priority"
    LONGEST_WAIT = "longest_wait"


def _yes(_user: str) -> bool:
    return True


def caller_priority(number: str, vip_numbers: Collection[str], vip_priority: int = VIP_PRIORITY) -> int:
    """The priority a caller joins with: VIP numbers jump ahead of everyone else."""
    return vip_priority if number in vip_numbers else 0


def caller_order_key(caller: WaitingCaller) -> tuple[int, float, str]:
    return (-caller.priority, caller.joined_at, caller.call_id)


def order_callers(callers: Iterable[WaitingCaller]) -> list[WaitingCaller]:
    """Callers in the order they are served: priority desc, joined_at asc, call id."""
    return sorted(callers, key=caller_order_key)


def dispatchable(caller: WaitingCaller, now: float) -> bool:
    """A caller can be given an agent now: a live caller, or a callback whose turn may be taken
    (waiting for its place, due, or a retry whose time has come). A callback already held by an
    agent or dialling the customer is not dispatchable: it can never be handed out twice."""
    cb = caller.callback
    if cb is None:
        return True
    if cb.status in (CallbackStatus.WAITING, CallbackStatus.DUE, CallbackStatus.RETRY_DUE):
        return True
    return cb.status is CallbackStatus.RETRY_SCHEDULED and cb.next_attempt_at <= now


def positions(callers: Iterable[WaitingCaller]) -> dict[str, int]:
    """Each waiting caller's position (1 = next), as announced to them."""
    return {c.call_id: i for i, c in enumerate(order_callers(callers), start=1)}


def skip_agent(caller: WaitingCaller, user: str) -> WaitingCaller:
    """The agent missed this call: they are skipped for it, and the caller keeps their place."""
    return replace(caller, skipped=caller.skipped | {user})


def leave_reason(queue: QueueConfig, caller: WaitingCaller, agents_logged_in: int, now: float) -> str | None:
    """Why a waiting caller must leave the queue for its overflow now, or None to keep waiting:
    "max_wait" after the queue's maximum wait, "empty" when nobody is logged in and the queue does
    not let callers wait in an empty queue (its join-empty rule applies while waiting too).
    A callback request waits for an agent to log in rather than overflowing."""
    if caller.callback is not None:
        return None
    if now - caller.joined_at >= queue.max_wait_s:
        return "max_wait"
    if agents_logged_in == 0 and not queue.join_empty:
        return "empty"
    return None


# --- choosing an agent ------------------------------------------------------------------------


def _member_rank(members_order: Sequence[str]) -> Callable[[AgentState], tuple[int, str]]:
    rank = {user: i for i, user in enumerate(members_order)}
    return lambda a: (rank.get(a.user, len(rank)), a.user)


def pick_agent(strategy: QueueStrategy, candidates: Sequence[AgentState], members_order: Sequence[str],
               now: float, rr_last: str | None = None) -> AgentState | None:
    """The one agent to offer the call to among available `candidates` (see `ring_all` for ring-all).

    longest_idle: free the longest (since the end of the last call's wrap-up); fewest_calls: fewest
    calls taken, then longest idle; round_robin: the next member after `rr_last` in members' order;
    priority: the first in members' order. Ties fall back to members' order, then user key. For
    ring_all it gives the longest idle agent (the one to reserve when only one may be rung)."""
    if not candidates:
        return None
    rank = _member_rank(members_order)
    if strategy == "priority":
        return min(candidates, key=rank)
    if strategy == "round_robin":
        ordered = sorted(candidates, key=rank)
        if rr_last is None or rr_last not in members_order:
            return ordered[0]
        last = members_order.index(rr_last)
        after = [a for a in ordered if rank(a)[0] > last]
        return after[0] if after else ordered[0]
    if strategy == "fewest_calls":
        return min(candidates, key=lambda a: (a.calls_taken, a.idle_since(), *rank(a)))
    return min(candidates, key=lambda a: (a.idle_since(), *rank(a)))


def ring_all(candidates: Sequence[AgentState], members_order: Sequence[str]) -> list[AgentState]:
    """Every available agent, in members' order: all their phones ring at once."""
    return sorted(candidates, key=_member_rank(members_order))


def available_agents(agents: Iterable[AgentState], queue: str, now: float, presence_ok: UserCheck = _yes,
                     line_free: UserCheck = _yes) -> list[AgentState]:
    """The agents who may be offered a call from queue `queue` (a queue key, not "queue:KEY")."""
    member = queue_member(queue)
    return [a for a in agents if available_for(a, member, now, presence_ok(a.user), line_free(a.user)) is None]


# --- across queues ----------------------------------------------------------------------------


def _cross_queue_key(order: DispatchOrder, queue: QueueConfig,
                     caller: WaitingCaller) -> tuple[float, float, float, str, str]:
    if order is DispatchOrder.LONGEST_WAIT:
        return (-caller.priority, caller.joined_at, -queue.priority, queue.key, caller.call_id)
    return (-queue.priority, -caller.priority, caller.joined_at, queue.key, caller.call_id)


def next_for_agent(agent: AgentState, queues: Sequence[QueueWithCallers], now: float,
                   order: DispatchOrder = DispatchOrder.QUEUE_PRIORITY, presence_ok: bool = True,
                   line_free: bool = True) -> tuple[QueueConfig, WaitingCaller] | None:
    """The call a free agent takes next among the queues they are logged in to, or None.

    Only queues the agent may take a call from count (see `available_for`); in each, the head
    dispatchable caller the agent has not already missed; then `order` decides (module docstring)."""
    best: tuple[tuple[float, float, float, str, str], QueueConfig, WaitingCaller] | None = None
    for queue, callers in queues:
        if available_for(agent, queue_member(queue.key), now, presence_ok, line_free) is not None:
            continue
        head = next((c for c in order_callers(callers)
                     if dispatchable(c, now) and agent.user not in c.skipped), None)
        if head is None:
            continue
        key = _cross_queue_key(order, queue, head)
        if best is None or key < best[0]:
            best = (key, queue, head)
    return None if best is None else (best[1], best[2])


def assign_all(queues: Sequence[QueueWithCallers], agents: Sequence[AgentState], now: float,
               order: DispatchOrder = DispatchOrder.QUEUE_PRIORITY, presence_ok: UserCheck = _yes,
               line_free: UserCheck = _yes,
               rr_last: Mapping[str, str] | None = None) -> list[tuple[WaitingCaller, AgentState]]:
    """One dispatcher pass over several queues: (caller, agent) pairs to reserve, each agent at most once.

    Callers of all queues are served in `order` (so an agent in several queues goes to the higher
    priority queue first); each picks among the still-free agents of its queue by the queue's
    strategy. A caller whom every free agent has already missed is offered to them again rather
    than stranded. A ring-all caller gets every free agent of the queue (several pairs)."""
    rr = dict(rr_last or {})
    free = {a.user: a for a in agents}
    pool: list[tuple[tuple[float, float, float, str, str], QueueConfig, WaitingCaller]] = []
    for queue, callers in queues:
        pool.extend((_cross_queue_key(order, queue, c), queue, c) for c in callers if dispatchable(c, now))
    pool.sort(key=lambda item: item[0])
    out: list[tuple[WaitingCaller, AgentState]] = []
    for _, queue, caller in pool:
        candidates = available_agents(free.values(), queue.key, now, presence_ok, line_free)
        if not candidates:
            continue
        fresh = [a for a in candidates if a.user not in caller.skipped] or candidates
        if queue.strategy == "ring_all":
            chosen = ring_all(fresh, queue.members)
        else:
            one = pick_agent(queue.strategy, fresh, queue.members, now, rr.get(queue.key))
            chosen = [] if one is None else [one]
        for agent in chosen:
            out.append((caller, agent))
            del free[agent.user]
            rr[queue.key] = agent.user
        if not free:
            break
    return out


def assign(queue: QueueConfig, callers: Sequence[WaitingCaller], agents: Sequence[AgentState], now: float,
           presence_ok: UserCheck = _yes, line_free: UserCheck = _yes,
           rr_last: str | None = None) -> list[tuple[WaitingCaller, AgentState]]:
    """A dispatcher pass over one queue (see `assign_all`)."""
    return assign_all([(queue, callers)], agents, now, DispatchOrder.QUEUE_PRIORITY, presence_ok, line_free,
                      {queue.key: rr_last} if rr_last else None)
