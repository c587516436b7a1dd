"""Callback keeping the place (F-12) and the scheduled callback time (F-13)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx.acd import callback as cb
from pbx.acd.dispatch import dispatchable, order_callers
from pbx.acd.model import CallbackRequest, CallbackStatus, WaitingCaller

T0 = 1_800_000_000.0
POLICY = cb.RetryPolicy(max_attempts=2, interval_s=600)


def waiting() -> CallbackRequest:
    r = cb.request("c1", "acme", "support", "+46701234567", joined_at=T0, now=T0 + 120)
    return cb.confirm(r, T0 + 130)


def ringing_agent(r: CallbackRequest, now: float) -> CallbackRequest:
    r = cb.claim(cb.due(r, now), "anna", now)
    return cb.agent_called(r, now + 1)


def test_callback_keeps_the_callers_place_in_the_queue() -> None:
    r = waiting()
    holder = WaitingCaller("c1", "acme", "support", r.number, r.joined_at, callback=r)
    later = WaitingCaller("c2", "acme", "support", "+46708888888", T0 + 60)
    assert [c.call_id for c in order_callers([later, holder])] == ["c1", "c2"]
    assert dispatchable(holder, T0 + 200)


def test_caller_may_key_another_number() -> None:
    r = cb.request("c1", "acme", "support", "anonymous", T0, T0 + 5)
    assert cb.confirm(r, T0 + 10, number="0701234567").number == "0701234567"
    with pytest.raises(ValueError):
        cb.confirm(r, T0 + 10)


def test_callback_cannot_be_claimed_twice() -> None:
    r = cb.claim(cb.due(waiting(), T0 + 300), "anna", T0 + 300)
    assert r.status is CallbackStatus.AGENT_RESERVED and r.agent == "anna"
    with pytest.raises(cb.IllegalTransition):
        cb.claim(r, "bo", T0 + 301)
    holder = WaitingCaller("c1", "acme", "support", r.number, r.joined_at, callback=r)
    assert not dispatchable(holder, T0 + 301)


def test_agent_is_called_first_and_hears_whom_they_call_back() -> None:
    r = ringing_agent(waiting(), T0 + 300)
    assert cb.agent_whisper(r) == ("callback-to", "digits:+46701234567")
    r = cb.customer_dialled(r, T0 + 310)
    assert r.status is CallbackStatus.CUSTOMER_DIALLED and r.attempts == 1
    with pytest.raises(cb.IllegalTransition):
        cb.customer_dialled(r, T0 + 311)  # never dialled twice
    r = cb.completed(cb.customer_answered(r, T0 + 320), T0 + 600)
    assert r.status is CallbackStatus.DONE


def test_customer_not_answering_is_retried_after_the_interval_then_fails() -> None:
    r = cb.customer_dialled(ringing_agent(waiting(), T0 + 300), T0 + 310)
    r = cb.customer_no_answer(r, T0 + 340, POLICY)
    assert r.status is CallbackStatus.RETRY_SCHEDULED and r.next_attempt_at == T0 + 940
    with pytest.raises(cb.IllegalTransition):
        cb.due(r, T0 + 900)  # too early
    r = cb.customer_dialled(ringing_agent(r, T0 + 940), T0 + 950)
    r = cb.customer_no_answer(r, T0 + 980, POLICY)
    assert r.status is CallbackStatus.FAILED and "2 attempts" in r.reason


def test_agent_missing_a_callback_gives_it_back_with_its_place() -> None:
    r = cb.agent_missed(ringing_agent(waiting(), T0 + 300), T0 + 320)
    assert r.status is CallbackStatus.DUE and r.agent is None and r.joined_at == T0
    assert cb.claim(r, "bo", T0 + 321).agent == "bo"


def test_finished_callback_cannot_be_cancelled_or_restarted() -> None:
    r = cb.cancel(waiting(), T0 + 200, "customer called again")
    assert r.status is CallbackStatus.CANCELLED
    for action in ("cancel", "due", "claim"):
        with pytest.raises(cb.IllegalTransition):
            STEPS[action](r, T0 + 300)


STEPS: dict[str, Callable[[CallbackRequest, float], CallbackRequest]] = {
    "due": cb.due,
    "claim": lambda x, now: cb.claim(x, "anna", now),
    "agent_called": cb.agent_called,
    "agent_missed": cb.agent_missed,
    "dialled": cb.customer_dialled,
    "answered": cb.customer_answered,
    "no_answer": lambda x, now: cb.customer_no_answer(x, now, POLICY),
    "completed": cb.completed,
    "cancel": lambda x, now: cb.cancel(x, now, "test"),
}


@given(st.lists(st.sampled_from(sorted(STEPS)), max_size=40))
def test_no_sequence_of_events_dials_more_than_the_policy_allows(actions: list[str]) -> None:
    r, now, dials = waiting(), T0 + 200, 0
    for action in actions:
        now += 700
        step = STEPS[action]
        try:
            r = step(r, now)
        except cb.IllegalTransition:
            continue
        dials += action == "dialled"
    assert dials == r.attempts <= POLICY.max_attempts


STHLM = ZoneInfo("Europe/Stockholm")


def test_scheduled_callback_time_follows_queue_and_staffing() -> None:
    now = datetime(2026, 12, 1, 10, 2, tzinfo=STHLM)
    busy = cb.scheduled_offer(now, cb.QueueStats(waiting=11, aht_s=300, agents_staffed=2))
    quiet = cb.scheduled_offer(now, cb.QueueStats(waiting=0, aht_s=300, agents_staffed=4))
    assert quiet == datetime(2026, 12, 1, 10, 10, tzinfo=STHLM)  # at least 5 min ahead, next 5 min
    assert busy == datetime(2026, 12, 1, 10, 35, tzinfo=STHLM)   # 12 × 300 s / 2 = 30 min → 10:32 → 10:35
    long = cb.scheduled_offer(now, cb.QueueStats(waiting=30, aht_s=600, agents_staffed=2))
    assert long.minute % 15 == 0 and long - now > timedelta(hours=1)


def test_scheduled_callback_is_moved_into_opening_hours() -> None:
    now = datetime(2026, 12, 1, 16, 50, tzinfo=STHLM)

    def next_open(t: datetime) -> datetime:
        return t if t.hour < 17 else (t + timedelta(days=1)).replace(hour=8, minute=0)

    offer = cb.scheduled_offer(now, cb.QueueStats(waiting=6, aht_s=300, agents_staffed=1), next_open)
    assert offer == datetime(2026, 12, 2, 8, 0, tzinfo=STHLM)


def test_a_booked_callback_waits_for_its_time_then_goes_like_any_other() -> None:
    r = cb.book(waiting(), T0 + 1800, T0 + 140)
    assert (r.status, r.next_attempt_at) == (CallbackStatus.SCHEDULED, T0 + 1800)
    with pytest.raises(cb.IllegalTransition):
        cb.due(r, T0 + 1799)
    with pytest.raises(cb.IllegalTransition):
        cb.claim(r, "anna", T0 + 200)  # not before it is due
    r = ringing_agent(r, T0 + 1800)
    assert r.status is CallbackStatus.AGENT_CALLED
    with pytest.raises(ValueError):
        cb.book(waiting(), T0, T0 + 140)  # never in the past
    with pytest.raises(cb.IllegalTransition):
        cb.book(cb.book(waiting(), T0 + 999, T0 + 140), T0 + 1999, T0 + 150)  # booked once
