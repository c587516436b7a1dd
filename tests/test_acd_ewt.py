"""Estimated wait: app_queue's running average and our completion-order estimate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx.acd.ewt import (
    AppQueueEstimator,
    CompletionEstimator,
    PositionHoldtimeEstimator,
    nth_completion,
    race_completion,
)

ORDER = CompletionEstimator(mode="order")


def test_app_queue_holdtime_is_its_integer_running_average() -> None:
    est = AppQueueEstimator()
    for wait in (100, 100, 20):
        est = est.observe(wait)
    # ((0*3+100)>>2 = 25, (75+100)>>2 = 43, (129+20)>>2 = 37
    assert est.holdtime == 37


def test_app_queue_tells_position_two_and_twenty_the_same_wait() -> None:
    est = AppQueueEstimator(holdtime=120)
    assert est.estimate(2, 3, [], 300) == est.estimate(20, 3, [], 300) == 120
    assert est.estimate(20, 3, [], 300, waited_s=200) == 80  # app_queue's abs(): the wait grows again
    assert PositionHoldtimeEstimator(holdtime=120).estimate(3, 3, [], 300) == 360


def test_caller_with_a_free_agent_waits_nothing() -> None:
    assert CompletionEstimator().estimate(1, 2, [100.0], 300) == 0


def test_order_mode_serves_the_next_caller_when_the_first_agent_frees_up() -> None:
    assert ORDER.estimate(1, 3, [200.0, 50.0, 120.0], 300) == 50


def test_order_mode_callers_further_back_wait_for_later_completions() -> None:
    # agents free at 50 and 120, then every 300 s: completions 50, 120, 350, 420, 650
    assert [ORDER.estimate(p, 2, [120.0, 50.0], 300) for p in range(1, 6)] == [50, 120, 350, 420, 650]


def test_with_one_agent_race_and_order_agree() -> None:
    assert [race_completion(p, [100.0], 300) for p in (1, 2, 3)] == pytest.approx([100, 400, 700])
    assert [nth_completion(p, [100.0], 300) for p in (1, 2, 3)] == [100, 400, 700]


def test_first_of_several_busy_agents_frees_sooner_than_any_one_is_expected_to() -> None:
    # three agents each expected to finish in 90 s: the first of them finishes after about 30 s
    assert race_completion(1, [90.0, 90.0, 90.0], 300) == pytest.approx(30)
    # far back, completions come every AHT / n
    far = race_completion(50, [90.0, 90.0, 90.0], 300) - race_completion(49, [90.0, 90.0, 90.0], 300)
    assert far == pytest.approx(100)


def test_answer_delay_is_learnt_and_added() -> None:
    est = CompletionEstimator(alpha=0.5).observe_answer(6).observe_answer(6)
    assert est.estimate(1, 2, [], 300) == pytest.approx(4.5)


def test_more_agents_staffed_means_a_shorter_wait() -> None:
    est = CompletionEstimator()
    assert est.estimate(10, 5, [60.0] * 5, 300)  < est.estimate(10, 2, [60.0] * 2, 300)  # type: ignore[operator]


def test_nobody_staffed_gives_no_estimate() -> None:
    assert CompletionEstimator().estimate(3, 0, [], 300) is None


def test_abandoning_callers_ahead_shorten_the_estimate() -> None:
    est = CompletionEstimator(abandon_share=0.5)
    assert est.estimate(5, 1, [0.0], 100) == pytest.approx(200)  # effective position 3


def test_smoothed_handle_time_follows_observations() -> None:
    est = CompletionEstimator(aht_s=300, alpha=0.5).observe(100)
    assert est.aht_s == 200
    assert est.estimate(2, 1, [0.0], 0) == 200  # aht_s 0 → use the smoothed one


@given(st.lists(st.floats(0, 1800), min_size=1, max_size=20), st.integers(1, 200), st.floats(1, 1800))
def test_estimate_never_decreases_with_position(remaining: list[float], p: int, aht: float) -> None:
    for nth in (nth_completion, race_completion):
        assert nth(p, remaining, aht) <= nth(p + 0.5, remaining, aht) * (1 + 1e-9)
        assert nth(p + 0.5, remaining, aht) <= nth(p + 1, remaining, aht) * (1 + 1e-9)
