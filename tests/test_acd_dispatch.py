"""Dispatch: caller order, agent choice per strategy, order across queues, a dispatcher pass."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pbx.acd import agents
from pbx.acd.dispatch import (
    DispatchOrder,
    assign,
    assign_all,
    available_agents,
    caller_priority,
    leave_reason,
    next_for_agent,
    order_callers,
    pick_agent,
    ring_all,
    skip_agent,
)
from pbx.acd.model import AgentState, WaitingCaller, queue_member
from pbx.routing.model import QueueConfig, QueueStrategy

T0 = 1_800_000_000.0
SUPPORT = QueueConfig("support", "Support", ("anna", "bo", "cia", "dan"))


def agent(user: str, queues: tuple[str, ...] = ("support",), **kw: Any) -> AgentState:
    return replace(AgentState("acme", user, logged_in=frozenset(queue_member(q) for q in queues)), **kw)


def caller(call_id: str, joined: float, priority: int = 0, queue: str = "support", **kw: Any) -> WaitingCaller:
    return WaitingCaller(call_id, "acme", queue, "+46701234567", T0 + joined, priority, **kw)


def test_vip_caller_jumps_ahead_but_keeps_fifo_among_vips() -> None:
    vips = {"+46709999999"}
    a = caller("a", 0)
    v1 = replace(caller("v1", 30), priority=caller_priority("+46709999999", vips))
    b = caller("b", 10)
    v2 = caller("v2", 20, priority=caller_priority("+46709999999", vips))
    assert [c.call_id for c in order_callers([a, v1, b, v2])] == ["v2", "v1", "a", "b"]


def test_longest_idle_agent_gets_the_call() -> None:
    agents_ = [agent("anna", last_call_end=T0 - 10), agent("bo", last_call_end=T0 - 300),
               agent("cia", last_call_end=T0 - 100)]
    assert pick_agent("longest_idle", agents_, SUPPORT.members, T0, None).user == "bo"  # type: ignore[union-attr]


def test_idle_time_counts_from_the_end_of_wrapup() -> None:
    anna = agent("anna", last_call_end=T0 - 300, wrapup_until=T0 - 5)
    bo = agent("bo", last_call_end=T0 - 100)
    assert pick_agent("longest_idle", [anna, bo], SUPPORT.members, T0).user == "bo"  # type: ignore[union-attr]


def test_round_robin_continues_after_the_last_agent_and_wraps() -> None:
    free = [agent("anna"), agent("cia"), agent("dan")]
    picks = []
    last = None
    for _ in range(4):
        chosen = pick_agent("round_robin", free, SUPPORT.members, T0, last)
        assert chosen is not None
        picks.append(chosen.user)
        last = chosen.user
    assert picks == ["anna", "cia", "dan", "anna"]
    assert pick_agent("round_robin", free, SUPPORT.members, T0, "bo").user == "cia"  # type: ignore[union-attr]


def test_fewest_calls_and_priority_order() -> None:
    free = [agent("anna", calls_taken=5), agent("bo", calls_taken=2), agent("dan", calls_taken=2, last_call_end=T0)]
    assert pick_agent("fewest_calls", free, SUPPORT.members, T0).user == "bo"  # type: ignore[union-attr]
    assert pick_agent("priority", free[::-1], SUPPORT.members, T0).user == "anna"  # type: ignore[union-attr]
    assert [a.user for a in ring_all(free[::-1], SUPPORT.members)] == ["anna", "bo", "dan"]


def test_dispatcher_pass_gives_each_agent_one_caller_in_queue_order() -> None:
    callers = [caller("late", 50), caller("early", 0), caller("vip", 60, priority=10)]
    free = [agent("anna", last_call_end=T0 - 10), agent("bo", last_call_end=T0 - 500),
            agent("cia", wrapup_until=T0 + 200, wrapup_queue="queue:support")]
    pairs = assign(SUPPORT, callers, free, T0 + 100)
    assert [(c.call_id, a.user) for c, a in pairs] == [("vip", "bo"), ("early", "anna")]


def test_ring_all_rings_every_free_agent_for_the_head_caller() -> None:
    q = replace(SUPPORT, strategy="ring_all")
    pairs = assign(q, [caller("x", 0), caller("y", 5)], [agent("anna"), agent("bo")], T0 + 10)
    assert [(c.call_id, a.user) for c, a in pairs] == [("x", "anna"), ("x", "bo")]


def test_agent_who_missed_is_skipped_and_the_caller_keeps_the_place() -> None:
    first = caller("first", 0)
    anna, _ = agents.reserve(agent("anna"), "first", "queue:support", T0)
    anna, _ = agents.missed(anna, "first", T0 + 15, max_missed=3)
    first = skip_agent(first, "anna")
    pairs = assign(SUPPORT, [caller("second", 5), first], [anna, agent("bo", last_call_end=T0)], T0 + 16)
    assert [(c.call_id, a.user) for c, a in pairs] == [("first", "bo"), ("second", "anna")]


def test_caller_missed_by_everyone_free_is_offered_again_not_stranded() -> None:
    first = skip_agent(caller("first", 0), "anna")
    pairs = assign(SUPPORT, [first], [agent("anna")], T0 + 30)
    assert [(c.call_id, a.user) for c, a in pairs] == [("first", "anna")]


HIGH = QueueConfig("vip", "VIP line", ("anna",), priority=5)


def test_agent_in_several_queues_takes_higher_priority_queue_first() -> None:
    anna = agent("anna", ("support", "vip"))
    queues = [(SUPPORT, [caller("old", 0)]), (HIGH, [caller("new", 500, queue="vip")])]
    assert next_for_agent(anna, queues, T0 + 600)[1].call_id == "new"  # type: ignore[index]
    by_wait = next_for_agent(anna, queues, T0 + 600, DispatchOrder.LONGEST_WAIT)
    assert by_wait is not None and by_wait[1].call_id == "old"
    pairs = assign_all(queues, [anna], T0 + 600)
    assert [(c.call_id, a.user) for c, a in pairs] == [("new", "anna")]


def test_equal_priority_queues_serve_the_longest_waiting_caller() -> None:
    anna = agent("anna", ("support", "sales"))
    sales = QueueConfig("sales", "Sales", ("anna",))
    queues = [(SUPPORT, [caller("s1", 100)]), (sales, [caller("x1", 40, queue="sales")])]
    assert next_for_agent(anna, queues, T0 + 600)[1].call_id == "x1"  # type: ignore[index]


def test_agent_not_logged_in_to_a_queue_gets_nothing_from_it() -> None:
    bo = agent("bo", ("sales",))
    assert next_for_agent(bo, [(SUPPORT, [caller("s1", 0)])], T0) is None
    assert assign(SUPPORT, [caller("s1", 0)], [bo], T0) == []


def test_max_wait_and_empty_queue_send_the_caller_to_overflow() -> None:
    c = caller("c", 0)
    assert leave_reason(SUPPORT, c, agents_logged_in=3, now=T0 + SUPPORT.max_wait_s) == "max_wait"
    assert leave_reason(SUPPORT, c, agents_logged_in=0, now=T0 + 5) == "empty"
    assert leave_reason(replace(SUPPORT, join_empty=True), c, agents_logged_in=0, now=T0 + 5) is None


# --- properties ------------------------------------------------------------------------------

USERS = ["anna", "bo", "cia", "dan", "eva"]
STRATEGIES: list[QueueStrategy] = ["longest_idle", "round_robin", "fewest_calls", "ring_all", "priority"]

agent_states = st.builds(
    lambda user, logged, paused, wrap, reserved, on_call, idle, calls: agent(
        user, ("support",) if logged else ("sales",), paused=paused, wrapup_until=T0 + wrap,
        reserved_for="other" if reserved else None, on_call=on_call, last_call_end=T0 - idle, calls_taken=calls),
    st.sampled_from(USERS), st.booleans(), st.booleans(), st.integers(-60, 60), st.booleans(), st.booleans(),
    st.integers(0, 1000), st.integers(0, 50))
callers_st = st.lists(st.builds(caller, st.text("abcdef", min_size=1, max_size=4), st.integers(0, 100),
                                st.sampled_from([0, 0, 10])), max_size=8, unique_by=lambda c: c.call_id)


@settings(max_examples=200, deadline=None)
@given(st.lists(agent_states, max_size=6, unique_by=lambda a: a.user), callers_st, st.sampled_from(STRATEGIES),
       st.sets(st.sampled_from(USERS)), st.sets(st.sampled_from(USERS)))
def test_dispatch_never_picks_an_unavailable_agent(pool: list[AgentState], callers: list[WaitingCaller],
                                                   strategy: QueueStrategy, away: set[str], busy: set[str]) -> None:
    q = replace(SUPPORT, strategy=strategy, members=tuple(USERS))
    pairs = assign(q, callers, pool, T0, presence_ok=lambda u: u not in away, line_free=lambda u: u not in busy)
    users = [a.user for _, a in pairs]
    assert len(users) == len(set(users))
    for _, a in pairs:
        assert agents.available_for(a, "queue:support", T0, a.user not in away, a.user not in busy) is None
    free = available_agents(pool, "support", T0, lambda u: u not in away, lambda u: u not in busy)
    if strategy != "ring_all":
        assert len(pairs) == min(len(free), len(callers))
        assert [c.call_id for c, _ in pairs] == [c.call_id for c in order_callers(callers)][:len(pairs)]


@given(callers_st, st.randoms(use_true_random=False))
def test_order_callers_is_a_stable_total_order(callers: list[WaitingCaller], rnd: Any) -> None:
    shuffled = list(callers)
    rnd.shuffle(shuffled)
    ordered = order_callers(callers)
    assert order_callers(shuffled) == ordered
    for x, y in itertools.pairwise(ordered):
        assert (-x.priority, x.joined_at) <= (-y.priority, y.joined_at)
