"""What waiting callers hear: position, wait, no "number one" loop, callback offer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pbx.acd.announce import LastAnnouncement, announcement, rounded_wait_min

T0 = 1_800_000_000.0


def run(ticks: list[tuple[int, float | None]], callback_key: str | None = None) -> list[tuple[str, ...]]:
    said: list[tuple[str, ...]] = []
    last: LastAnnouncement | None = None
    for i, (pos, ewt) in enumerate(ticks):
        prompts, last = announcement(pos, ewt, last, T0 + 45 * i, callback_key)
        said.append(prompts)
    return said


def test_caller_hears_position_and_wait() -> None:
    assert run([(3, 250)])[0] == ("queue-position", "number:3", "queue-wait", "minutes:4")


def test_head_of_queue_is_not_told_number_one_twice() -> None:
    said = run([(2, 100), (1, 50), (1, 40), (1, 30), (1, 20), (1, 10)])
    flat = [p for prompts in said for p in prompts]
    assert "number:1" not in flat
    assert flat.count("queue-you-are-next") == 1
    assert said[1][0] == "queue-you-are-next"
    # nothing new afterwards: a short thanks every other tick, silence in between
    assert said[2:] == [(), ("queue-still-waiting",), (), ("queue-still-waiting",)]


def test_head_of_queue_hears_the_wait_again_only_when_it_changes() -> None:
    said = run([(1, 200), (1, 200), (1, 400)])
    assert said[0] == ("queue-you-are-next", "queue-wait", "minutes:3")
    assert said[1] == ()
    assert said[2] == ("queue-wait", "minutes:7")


def test_unchanged_position_and_wait_is_not_repeated_word_for_word() -> None:
    said = run([(4, 300), (4, 300), (4, 300), (3, 300)])
    assert said[1:3] == [(), ("queue-still-waiting",)]
    assert said[3][:2] == ("queue-position", "number:3")


def test_caller_moved_back_by_a_vip_may_hear_you_are_next_again() -> None:
    said = run([(1, 30), (2, 90), (1, 30)])
    assert said[2][0] == "queue-you-are-next"


def test_callback_key_is_offered_but_not_at_the_head() -> None:
    said = run([(5, 600), (1, 30)], callback_key="1")
    assert said[0][-2:] == ("callback-offer", "digit:1")
    assert "callback-offer" not in said[1]


def test_wait_is_rounded_the_way_people_say_it() -> None:
    assert [rounded_wait_min(s) for s in (0, 59, 60, 89, 90, 599, 610, 660, 901, 3000, 9000)] == \
        [0, 0, 1, 1, 2, 10, 10, 15, 15, 50, 60]
    assert run([(2, 20)])[0][-1] == "queue-wait-under-minute"
    assert run([(2, 7200)])[0][-2:] == ("queue-wait-more-than", "minutes:60")


def test_unknown_wait_is_not_announced() -> None:
    assert run([(2, None)])[0] == ("queue-position", "number:2")


@given(st.lists(st.tuples(st.integers(1, 30), st.one_of(st.none(), st.floats(0, 7200))), min_size=1, max_size=30))
def test_nobody_is_ever_told_they_are_number_one(ticks: list[tuple[int, float | None]]) -> None:
    said = run(ticks)
    assert all("number:1" not in prompts for prompts in said)
    assert said[0] != ()
