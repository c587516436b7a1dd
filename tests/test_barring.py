"""Outbound barring classes as a Swedish business sees them (U-10)."""

from __future__ import annotations

import pytest

from pbx.routing.barring import barred_reason, classify
from pbx.routing.model import BarringClass, UserConfig


@pytest.mark.parametrize(
    ("number", "classes"),
    [
        ("+4520123456", {BarringClass.INTERNATIONAL}),
        ("+12025550100", {BarringClass.INTERNATIONAL}),
        ("+46900123456", {BarringClass.PREMIUM}),
        ("+46939123456", {BarringClass.PREMIUM}),
        ("+46944123456", {BarringClass.PREMIUM}),
        ("+46701234567", {BarringClass.MOBILE}),
        ("+46812345600", {BarringClass.DOMESTIC}),
        ("112", set()),
    ],
)
def test_numbers_fall_in_the_expected_class(number: str, classes: set[BarringClass]) -> None:
    assert classify(number) == classes


def test_barred_user_gets_a_reason_and_emergency_always_passes() -> None:
    olle = UserConfig("olle", "Olle Östlund", barred=frozenset({BarringClass.INTERNATIONAL, BarringClass.PREMIUM}))
    assert barred_reason(olle, "+4520123456") == "Olle Östlund is barred from international calls (+4520123456)"
    assert barred_reason(olle, "+46900123456") is not None
    assert barred_reason(olle, "+46812345600") is None
    assert barred_reason(olle, "112") is None


def test_home_country_decides_what_is_international() -> None:
    assert classify("+4520123456", home_cc="45") == {BarringClass.DOMESTIC}
    assert classify("+46812345600", home_cc="45") == {BarringClass.INTERNATIONAL}
