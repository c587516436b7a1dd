"""The agent state machine: who may be offered a call, misses, pauses, wrap-up."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pbx.acd import agents
from pbx.acd.model import AcdEventKind, AgentState, queue_member

Q = queue_member("support")
SALES = queue_member("sales")
T0 = 1_800_000_000.0


def agent(**kw: Any) -> AgentState:
    return replace(AgentState("acme", "anna", logged_in=frozenset({Q})), **kw)


def on_call(a: AgentState, call: str = "c1", queue: str = Q, now: float = T0) -> AgentState:
    a, _ = agents.reserve(a, call, queue, now)
    a, _ = agents.answered(a, call, now + 5)
    return a


def test_login_and_logout_are_events_naming_queue_and_who_did_it() -> None:
    a = AgentState("acme", "anna")
    a, ev = agents.login(a, Q, T0, by="admin")
    assert Q in a.logged_in
    assert [(e.kind, e.queue, e.by) for e in ev] == [(AcdEventKind.LOGGED_IN, Q, "admin")]
    assert agents.login(a, Q, T0)[1] == ()  # logging in twice says nothing
    a, ev = agents.login(a, SALES, T0)
    a, ev = agents.logout(a, None, T0 + 60)
    assert a.logged_in == frozenset()
    assert sorted(e.queue or "" for e in ev) == sorted([Q, SALES])


@pytest.mark.parametrize(("state", "presence", "line", "reason"), [
    ({"logged_in": frozenset()}, True, True, "not logged in"),
    ({"paused": True, "pause_reason": "lunch"}, True, True, "paused (lunch)"),
    ({}, False, True, "presence"),
    ({}, True, False, "line busy"),
    ({"on_call": True}, True, True, "line busy"),
    ({"wrapup_until": T0 + 10, "wrapup_queue": Q}, True, True, "wrap-up"),
    ({"reserved_for": "other"}, True, True, "reserved"),
    ({}, True, True, None),
])
def test_agent_is_offered_a_call_only_when_every_condition_holds(
        state: dict[str, Any], presence: bool, line: bool, reason: str | None) -> None:
    assert agents.available_for(agent(**state), Q, T0, presence, line) == reason


def test_agent_in_wrapup_is_not_offered_a_call() -> None:
    a, ev = agents.call_ended(on_call(agent()), T0 + 100, wrapup_s=30)
    assert [e.kind for e in ev] == [AcdEventKind.CALL_ENDED, AcdEventKind.WRAPUP_STARTED]
    assert ev[1].queue == Q and ev[1].agent == "anna"
    with pytest.raises(agents.AgentUnavailable, match="wrap-up"):
        agents.reserve(a, "c2", Q, T0 + 129)
    a, ev = agents.expire_wrapup(a, T0 + 131)
    assert [(e.kind, e.at, e.queue) for e in ev] == [(AcdEventKind.WRAPUP_ENDED, T0 + 130, Q)]
    assert agents.reserve(a, "c2", Q, T0 + 131)[0].reserved_for == "c2"


def test_agent_can_end_wrapup_early_and_takes_calls_at_once() -> None:
    a, _ = agents.call_ended(on_call(agent()), T0 + 100, wrapup_s=120)
    a, ev = agents.end_wrapup(a, T0 + 110)
    assert ev[0].kind is AcdEventKind.WRAPUP_ENDED and ev[0].reason == "ended early"
    assert agents.available_for(a, Q, T0 + 110) is None


def test_per_agent_wrapup_override_beats_the_queue() -> None:
    overrides = {"anna": 90, "bo@support": 0}
    assert agents.wrapup_seconds(30, "anna", "support", overrides) == 90
    assert agents.wrapup_seconds(30, "bo", "support", overrides) == 0
    assert agents.wrapup_seconds(30, "bo", "sales", overrides) == 30


def test_wrapup_survives_transfer_into_another_queue() -> None:
    a = on_call(agent(logged_in=frozenset({Q, SALES})))
    a, ev = agents.transfer_into(a, SALES, T0 + 100, wrapup_s=60)
    assert (a.wrapup_until, a.wrapup_queue) == (T0 + 160, Q)
    # a second call end (e.g. the consultation leg) and another transfer do not reset it
    a2 = replace(a, on_call=True, call_queue=SALES)
    a3, ev = agents.transfer_into(a2, Q, T0 + 130, wrapup_s=60)
    assert (a3.wrapup_until, a3.wrapup_queue) == (T0 + 160, Q)
    assert AcdEventKind.WRAPUP_STARTED not in [e.kind for e in ev]
    a4, _ = agents.call_ended(a2, T0 + 140, wrapup_s=300)
    assert (a4.wrapup_until, a4.wrapup_queue) == (T0 + 160, Q)
    assert agents.available_for(a4, SALES, T0 + 150) == "wrap-up"


def test_third_missed_call_pauses_the_agent_with_reason() -> None:
    a = agent()
    for i in range(3):
        a, ev = agents.reserve(a, f"c{i}", Q, T0 + i)
        a, ev = agents.missed(a, f"c{i}", T0 + i + 20, max_missed=3)
    assert a.paused and a.pause_reason == "missed calls"
    assert [e.kind for e in ev] == [AcdEventKind.MISSED, AcdEventKind.AUTO_PAUSED]
    assert ev[1].reason == "missed calls"
    assert agents.available_for(a, Q, T0 + 100) == "paused (missed calls)"


def test_an_answered_call_resets_the_missed_count() -> None:
    a = agent()
    a, _ = agents.reserve(a, "c1", Q, T0)
    a, _ = agents.missed(a, "c1", T0 + 20, max_missed=2)
    a = on_call(a, "c2")
    a, _ = agents.call_ended(a, T0 + 200, wrapup_s=0)
    a, _ = agents.reserve(a, "c3", Q, T0 + 300)
    a, ev = agents.missed(a, "c3", T0 + 320, max_missed=2)
    assert not a.paused and [e.kind for e in ev] == [AcdEventKind.MISSED]


def test_unpausing_after_auto_pause_gives_a_fresh_count() -> None:
    a = agent()
    a, _ = agents.reserve(a, "c1", Q, T0)
    a, _ = agents.missed(a, "c1", T0 + 20, max_missed=1)
    a, ev = agents.unpause(a, T0 + 60, by="lead")
    assert not a.paused and a.missed_in_row == 0 and ev[0].reason == "missed calls" and ev[0].by == "lead"


def test_reserved_agent_cannot_be_reserved_for_a_second_call() -> None:
    a, ev = agents.reserve(agent(), "c1", Q, T0)
    assert ev[0].kind is AcdEventKind.RESERVED and ev[0].call == "c1"
    with pytest.raises(agents.AgentUnavailable, match="reserved"):
        agents.reserve(a, "c2", Q, T0)


def test_answer_for_another_call_is_rejected() -> None:
    a, _ = agents.reserve(agent(), "c1", Q, T0)
    with pytest.raises(agents.NotReservedFor):
        agents.answered(a, "c2", T0 + 1)


def test_released_reservation_is_not_a_miss() -> None:
    a, _ = agents.reserve(agent(), "c1", Q, T0)
    a, ev = agents.release(a, "c1", T0 + 3, reason="caller hung up")
    assert a.missed_in_row == 0 and a.reserved_for is None and ev[0].kind is AcdEventKind.RELEASED


def test_pause_with_reason_is_an_event() -> None:
    a, ev = agents.pause(agent(), "lunch", T0)
    assert a.paused and ev[0].reason == "lunch"
    assert agents.pause(a, "lunch", T0)[1] == ()
