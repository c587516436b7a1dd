"""The dialplan contract: what the controller tells Asterisk, and what comes back, for the demo company."""

from __future__ import annotations

from datetime import datetime

import pytest

from pbx.asterisk.contract import (
    ContractError,
    ContractSettings,
    call_from_args,
    decode_action,
    encode_action,
    encode_position,
)
from pbx.demo import MAIN_NUMBER, STOCKHOLM, demo_tenants
from pbx.routing.compile import RoutingTable, compile_table
from pbx.routing.engine import Call, Decision, decide
from pbx.routing.model import PresenceEntry, PresenceStatus
from pbx.routing.state import StateSnapshot, everyone_logged_in

TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
S = ContractSettings()


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return compile_table(demo_tenants())


def everyone(table: RoutingTable) -> StateSnapshot:
    return StateSnapshot(members=everyone_logged_in(table))


def step(table: RoutingTable, d: Decision, result: str, at: datetime = TUE_10) -> Decision:
    """One round trip through the contract: position out, position and result back in."""
    call = call_from_args((MAIN_NUMBER, encode_position(d), result), "+46701234567")
    return decide(table, everyone(table), call, at)


def test_first_answer_is_welcome_and_menu_in_one_read(table: RoutingTable) -> None:
    d = decide(table, everyone(table), call_from_args((MAIN_NUMBER, "", ""), "+46701234567"), TUE_10)
    action, fields = decode_action(encode_action(d, table, "1795324157.29", S))
    assert action == "menu"
    assert fields == ["pbx/sv/welcome&pbx/t/exempel/exempel-huvudmeny", "1230", "5"]
    assert encode_position(d) == "exempel^huvud^meny^^0^0"


def test_position_round_trips_through_the_dialplan(table: RoutingTable) -> None:
    d = decide(table, everyone(table), Call(MAIN_NUMBER), TUE_10)
    ring = step(table, d, "1")
    assert decode_action(encode_action(ring, table, "1.1", S)) == (
        # Anna is a fixed-and-mobile user: her desk phone and her mobile ring together
        "ring", ["", "PJSIP/anna&PJSIP/+46701111111@trunk~20;PJSIP/bjorn~20;PJSIP/cecilia~20", "60", ""])
    after = step(table, ring, "TIMEOUT")
    action, fields = decode_action(encode_action(after, table, "1795324157.29", S))
    assert action == "voicemail"
    assert fields == ["pbx/sv/voicemail-greeting", "/var/spool/pbx/voicemail/exempel/salj/1795324157.29"]


def test_queue_waits_with_ticks_and_the_callback_key(table: RoutingTable) -> None:
    d = decide(table, everyone(table), Call(MAIN_NUMBER), TUE_10)
    queued = step(table, d, "2")
    assert decode_action(encode_action(queued, table, "1.1", S)) == ("queue", ["", "support", "45", "1"])


def test_presence_is_spoken_with_the_time(table: RoutingTable) -> None:
    lunch = PresenceEntry(PresenceStatus.LUNCH, TUE_10.replace(hour=12), TUE_10.replace(hour=12, minute=45))
    state = StateSnapshot(presences={("exempel", "asa"): (lunch,)})
    d = decide(table, state, Call("+46812345610"), TUE_10.replace(hour=12, minute=10))
    assert decode_action(encode_action(d, table, "1.1", S)) == (
        "dial", ["pbx/sv/presence-lunch&pbx/sv/presence-until"  # "till klockan tolv och fyrtiofem"
                 "&pbx/sv/num-12&pbx/sv/and&pbx/sv/num-40&pbx/sv/num-5", "PJSIP/david", "20"])


def test_external_numbers_leave_through_the_trunk(table: RoutingTable) -> None:
    d = decide(table, StateSnapshot(), Call("+46701111111"), TUE_10)  # Anna's mobile: both devices ring
    assert decode_action(encode_action(d, table, "1.1", S))[1][1] == "PJSIP/anna&PJSIP/+46701111111@trunk"


def test_unknown_number_hangs_up_with_unallocated_cause(table: RoutingTable) -> None:
    d = decide(table, StateSnapshot(), call_from_args(("+46899999999",), ""), TUE_10)
    assert encode_action(d, table, "1.1", S) == "hangup^pbx/sv/ss-noservice^1"


@pytest.mark.parametrize("position", ["a^b", "a^b^c^d^x^1", "a^b^c^d^1^later", "^^^^^^^"])
def test_malformed_position_is_refused_clearly(position: str) -> None:
    with pytest.raises(ContractError):
        call_from_args((MAIN_NUMBER, position, ""), "")


def test_route_request_without_the_dialled_number_is_refused() -> None:
    with pytest.raises(ContractError, match="dialled number"):
        call_from_args((), "")
    assert call_from_args((MAIN_NUMBER,), "unknown").caller == ""
