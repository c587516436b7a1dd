"""Where calls to the demo company go: schedules, menus, groups, queues, presence and forwarding."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from pbx.demo import ANNAT_NUMBER, GOTEBORG_NUMBER, MAIN_NUMBER, STOCKHOLM, annat, demo_tenants, exempel
from pbx.routing.compile import RoutingTable, compile_table
from pbx.routing.engine import (
    Call,
    CollectNumber,
    Decision,
    Dial,
    EnterQueue,
    Hangup,
    PlayMenu,
    RingGroup,
    Voicemail,
    decide,
)
from pbx.routing.model import (
    BarringClass,
    Forwarding,
    PresenceEntry,
    PresenceRule,
    PresenceStatus,
    Target,
    TenantConfig,
    UserConfig,
)
from pbx.routing.schedule import Override, ScheduleState
from pbx.routing.state import LineStatus, StateSnapshot, everyone_logged_in
from pbx.routing.validate import InvalidConfig

TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)


def everyone_in(table: RoutingTable, **kw: object) -> StateSnapshot:
    return StateSnapshot(members=everyone_logged_in(table), **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return compile_table(demo_tenants())


def then(decision: Decision, result: str, caller: str = "+46701234567") -> Call:
    """The call as Asterisk reports it after executing `decision` and getting `result`."""
    return Call(MAIN_NUMBER, caller, decision.tenant, decision.flow, decision.node, decision.target,
                decision.attempt, result)


def test_welcome_and_menu_come_in_one_answer_during_opening_hours(table: RoutingTable) -> None:
    d = decide(table, everyone_in(table), Call(MAIN_NUMBER, "+46701234567"), TUE_10)
    assert isinstance(d.action, PlayMenu)
    assert d.action.prompts == ("welcome",)
    assert d.action.prompt == "exempel-huvudmeny"
    assert set(d.action.digits) == {"0", "1", "2", "3"}
    assert (d.tenant, d.flow, d.node) == ("exempel", "huvud", "meny")
    assert "Kontorstid open" in d.explain()


def test_pressing_1_rings_sales_in_priority_order(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    d = decide(table, state, then(menu, "1"), TUE_10)
    assert isinstance(d.action, RingGroup)
    assert d.action.strategy == "sequential"
    assert [m.user for m in d.action.members] == ["anna", "bjorn", "cecilia"]
    assert all(m.ring_s == 20 for m in d.action.members)
    assert d.action.overflow_after_s == 60


def test_unanswered_sales_group_overflows_to_sales_voicemail(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    ring = decide(table, state, then(menu, "1"), TUE_10)
    d = decide(table, state, then(ring, "TIMEOUT"), TUE_10)
    assert isinstance(d.action, Voicemail) and d.action.box == "salj"


def test_sales_with_nobody_logged_in_overflows_at_once(table: RoutingTable) -> None:
    menu = decide(table, StateSnapshot(), Call(MAIN_NUMBER), TUE_10)
    d = decide(table, StateSnapshot(), then(menu, "1"), TUE_10)
    assert isinstance(d.action, Voicemail) and d.action.box == "salj"
    assert "nobody logged in" in d.explain()


def test_busy_member_is_skipped_in_the_group(table: RoutingTable) -> None:
    state = everyone_in(table, lines={("exempel", "bjorn"): LineStatus.BUSY})
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    d = decide(table, state, then(menu, "1"), TUE_10)
    assert isinstance(d.action, RingGroup)
    assert [m.user for m in d.action.members] == ["anna", "cecilia"]
    assert "skip Björn Berg: line busy" in d.steps


def test_pressing_2_enters_the_support_queue_with_callback_key(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    d = decide(table, state, then(menu, "2"), TUE_10)
    assert isinstance(d.action, EnterQueue)
    assert (d.action.queue, d.action.callback_key, d.action.max_wait_s) == ("support", "1", 600)


def test_queue_with_no_agent_goes_to_support_voicemail(table: RoutingTable) -> None:
    menu = decide(table, StateSnapshot(), Call(MAIN_NUMBER), TUE_10)
    d = decide(table, StateSnapshot(), then(menu, "2"), TUE_10)
    assert isinstance(d.action, Voicemail) and d.action.box == "support"


def test_max_wait_in_queue_overflows_to_voicemail(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    queued = decide(table, state, then(menu, "2"), TUE_10)
    d = decide(table, state, then(queued, "TIMEOUT"), TUE_10 + timedelta(minutes=10))
    assert isinstance(d.action, Voicemail) and d.action.box == "support"


def test_invalid_key_replays_menu_then_second_failure_goes_to_support(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    again = decide(table, state, then(menu, "7"), TUE_10)
    assert isinstance(again.action, PlayMenu)
    assert again.action.prompts == ("menu-invalid",)
    assert again.attempt == 1
    d = decide(table, state, then(again, ""), TUE_10)
    assert isinstance(d.action, EnterQueue) and d.action.queue == "support"
    assert "no key pressed (2 attempts) → timeout path" in d.steps


def test_silence_twice_goes_to_support(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    again = decide(table, state, then(menu, ""), TUE_10)
    assert isinstance(again.action, PlayMenu) and again.action.prompts == ("menu-timeout",)
    d = decide(table, state, then(again, ""), TUE_10)
    assert isinstance(d.action, EnterQueue)


def test_pressing_3_reaches_finance_voicemail(table: RoutingTable) -> None:
    menu = decide(table, StateSnapshot(), Call(MAIN_NUMBER), TUE_10)
    d = decide(table, StateSnapshot(), then(menu, "3"), TUE_10)
    assert isinstance(d.action, Voicemail) and d.action.box == "ekonomi"


@pytest.mark.parametrize(
    ("at", "prompt", "why"),
    [
        (datetime(2026, 11, 24, 19, 0, tzinfo=STOCKHOLM), "closed", "Kontorstid closed"),
        (datetime(2026, 11, 24, 12, 20, tzinfo=STOCKHOLM), "closed", "Kontorstid closed"),
        (datetime(2026, 11, 27, 15, 30, tzinfo=STOCKHOLM), "closed", "Kontorstid closed"),
        (datetime(2026, 11, 28, 10, 0, tzinfo=STOCKHOLM), "closed", "Kontorstid closed"),
        (datetime(2026, 12, 24, 10, 0, tzinfo=STOCKHOLM), "holiday", "Kontorstid holiday"),
        (datetime(2027, 6, 25, 10, 0, tzinfo=STOCKHOLM), "holiday", "Kontorstid holiday"),
        (datetime(2026, 12, 23, 13, 0, tzinfo=STOCKHOLM), "closed", "Kontorstid closed"),
    ],
)
def test_outside_hours_callers_hear_why_and_reach_the_switchboard_box(
    table: RoutingTable, at: datetime, prompt: str, why: str
) -> None:
    d = decide(table, everyone_in(table), Call(MAIN_NUMBER), at)
    assert isinstance(d.action, Voicemail) and d.action.box == "vaxel"
    assert d.action.prompts == ("welcome", prompt)
    assert why in d.explain()


def test_december_23_is_open_in_the_morning(table: RoutingTable) -> None:
    d = decide(table, everyone_in(table), Call(MAIN_NUMBER), datetime(2026, 12, 23, 11, 0, tzinfo=STOCKHOLM))
    assert isinstance(d.action, PlayMenu)


def test_reception_at_lunch_forwards_to_david_and_caller_hears_it(table: RoutingTable) -> None:
    lunch = PresenceEntry(PresenceStatus.LUNCH, TUE_10.replace(hour=12), TUE_10.replace(hour=12, minute=45))
    state = everyone_in(table, presences={("exempel", "asa"): (lunch,)})
    at = TUE_10.replace(hour=11, minute=50)  # lunch not begun: Åsa's phone rings
    menu = decide(table, state, Call(MAIN_NUMBER), at)
    d = decide(table, state, then(menu, "0"), at)
    assert isinstance(d.action, Dial) and d.action.targets == ("PJSIP/asa",)
    # during lunch (the menu is reached before closing at 12:00 and 0 pressed at 11:59)
    at = TUE_10.replace(hour=12, minute=10)
    d = decide(table, state, Call("+46812345610"), at)
    assert isinstance(d.action, Dial) and d.action.user == "david"
    assert d.action.prompts == ("presence-lunch", "presence-until", "time:12:45")
    assert "Åsa Öberg is at lunch until 12:45" in d.steps


def test_planned_presence_applies_only_in_its_period(table: RoutingTable) -> None:
    meeting = PresenceEntry(PresenceStatus.MEETING, TUE_10 + timedelta(hours=4), TUE_10 + timedelta(hours=5))
    state = StateSnapshot(presences={("exempel", "anna"): (meeting,)})
    before = decide(table, state, Call("+46812345601"), TUE_10)
    assert isinstance(before.action, Dial) and before.action.user == "anna"
    during = decide(table, state, Call("+46812345601"), TUE_10 + timedelta(hours=4, minutes=30))
    # no rule for meetings: the caller hears it, and Anna's phones ring anyway (she has no mailbox)
    assert during.action.prompts[:1] == ("presence-meeting",)
    assert "Anna Andersson is in a meeting until 15:00" in during.steps


def _with_user(cfg: TenantConfig, user: UserConfig) -> TenantConfig:
    users = tuple(user if u.key == user.key else u for u in cfg.users)
    return replace(cfg, users=users)


def _table_with(user: UserConfig) -> RoutingTable:
    return compile_table([_with_user(exempel(), user), annat()])


def _anna() -> UserConfig:
    return next(u for u in exempel().users if u.key == "anna")


def test_presence_rules_differ_for_mobile_and_fixed_number() -> None:
    anna = replace(_anna(), presence_rules=(
        PresenceRule(PresenceStatus.MEETING, Target("voicemail", "salj"), applies_to="fixed"),
        PresenceRule(PresenceStatus.MEETING, Target("user", "bjorn"), applies_to="mobile"),
    ))
    table = _table_with(anna)
    meeting = PresenceEntry(PresenceStatus.MEETING, TUE_10 - timedelta(hours=1), None, "Styrelsemöte")
    state = StateSnapshot(presences={("exempel", "anna"): (meeting,)})
    fixed = decide(table, state, Call("+46812345601"), TUE_10)
    mobile = decide(table, state, Call("+46701111111"), TUE_10)
    assert isinstance(fixed.action, Voicemail) and fixed.action.box == "salj"
    assert isinstance(mobile.action, Dial) and mobile.action.user == "bjorn"
    assert "(Styrelsemöte)" in " ".join(mobile.steps)


def test_forward_always_to_mobile_number() -> None:
    table = _table_with(replace(_anna(), forwarding=Forwarding(always=Target("external", "+46709999999"))))
    d = decide(table, StateSnapshot(), Call("+46812345601"), TUE_10)
    assert isinstance(d.action, Dial) and d.action.targets == ("+46709999999",)


def test_busy_user_follows_busy_rule_unless_call_waiting() -> None:
    busy_rule = Forwarding(on_busy=Target("user", "bjorn"))
    state = StateSnapshot(lines={("exempel", "anna"): LineStatus.BUSY})
    d = decide(_table_with(replace(_anna(), forwarding=busy_rule)), state, Call("+46812345601"), TUE_10)
    assert isinstance(d.action, Dial) and d.action.user == "bjorn"
    waiting = replace(_anna(), forwarding=busy_rule, call_waiting=True)
    d = decide(_table_with(waiting), state, Call("+46812345601"), TUE_10)
    assert isinstance(d.action, Dial) and d.action.user == "anna"


def test_no_answer_after_n_seconds_then_forward() -> None:
    anna = replace(_anna(), forwarding=Forwarding(on_no_answer=Target("voicemail", "salj"), no_answer_after_s=15))
    table = _table_with(anna)
    ring = decide(table, StateSnapshot(), Call("+46812345601"), TUE_10)
    assert isinstance(ring.action, Dial) and ring.action.ring_s == 15
    assert set(ring.action.targets) == {"PJSIP/anna", "+46701111111"}  # a fixed-and-mobile user
    after = decide(table, StateSnapshot(), Call("+46812345601", "", ring.tenant, ring.flow, ring.node, ring.target,
                                                 0, "NOANSWER"), TUE_10)
    assert isinstance(after.action, Voicemail) and after.action.box == "salj"


def test_forwarding_loop_is_cut_and_the_call_still_lands() -> None:
    cfg = exempel()
    anna = replace(_anna(), forwarding=Forwarding(always=Target("user", "bjorn")))
    bjorn = next(u for u in cfg.users if u.key == "bjorn")
    bjorn = replace(bjorn, forwarding=Forwarding(always=Target("user", "anna")))
    table = compile_table([_with_user(_with_user(cfg, anna), bjorn), annat()])
    d = decide(table, StateSnapshot(), Call("+46812345601"), TUE_10)
    assert "forwarding loop back to anna: stop forwarding" in d.steps
    assert isinstance(d.action, Voicemail) and d.action.box == "vaxel"  # the tenant's fallback


def test_barred_user_cannot_forward_abroad() -> None:
    olle = next(u for u in exempel().users if u.key == "olle")
    assert BarringClass.INTERNATIONAL in olle.barred
    olle = replace(olle, forwarding=Forwarding(always=Target("external", "+4520123456")))
    cfg = _with_user(exempel(), olle)
    cfg = replace(cfg, numbers=(*cfg.numbers, replace(cfg.numbers[0], number="+46812345640", flow=None,
                                                     user="olle")))
    d = decide(compile_table([cfg, annat()]), StateSnapshot(), Call("+46812345640"), TUE_10)
    assert isinstance(d.action, Voicemail) and d.action.box == "olle"
    assert any("barred from international" in s for s in d.steps)


def test_unknown_number_is_told_not_in_service(table: RoutingTable) -> None:
    d = decide(table, StateSnapshot(), Call("+46899999999"), TUE_10)
    assert isinstance(d.action, Hangup) and d.action.cause == "unallocated"
    assert d.tenant is None


def test_position_from_an_older_flow_version_goes_to_the_fallback(table: RoutingTable) -> None:
    stale = Call(MAIN_NUMBER, "", "exempel", "huvud", "removed-node", None, 0, "1")
    d = decide(table, StateSnapshot(), stale, TUE_10)
    assert isinstance(d.action, Voicemail) and d.action.box == "vaxel"
    assert "fallback" in d.explain()


def test_callback_from_menu_collects_number_then_confirms(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(GOTEBORG_NUMBER, "+46709876543"), TUE_10)
    ask = decide(table, state, Call(GOTEBORG_NUMBER, "+46709876543", menu.tenant, menu.flow, menu.node, None, 0,
                                    "2"), TUE_10)
    assert isinstance(ask.action, CollectNumber) and ask.action.default == "+46709876543"
    done = decide(table, state, Call(GOTEBORG_NUMBER, "+46709876543", ask.tenant, ask.flow, ask.node, None, 0,
                                     "0701112233"), TUE_10)
    assert isinstance(done.action, Hangup) and done.action.prompts == ("callback-confirm",)
    assert "callback requested to 0701112233 (queue support)" in done.steps
    assert done.callback == ("support", "0701112233")  # the contact centre records it (F-10)


def test_manual_override_closes_the_switchboard_until_13() -> None:
    cfg = exempel()
    sched = replace(cfg.schedules[0], override=Override(ScheduleState.CLOSED, TUE_10.replace(hour=13), "Kickoff"))
    table = compile_table([replace(cfg, schedules=(sched,)), annat()])
    d = decide(table, StateSnapshot(), Call(MAIN_NUMBER), TUE_10)
    assert isinstance(d.action, Voicemail) and d.action.box == "vaxel"
    later = decide(table, StateSnapshot(), Call(MAIN_NUMBER), TUE_10.replace(hour=13, minute=5))
    assert isinstance(later.action, PlayMenu)


def test_other_tenant_number_stays_in_its_tenant(table: RoutingTable) -> None:
    d = decide(table, everyone_in(table), Call(ANNAT_NUMBER), TUE_10)
    assert d.tenant == "annat"
    assert isinstance(d.action, Voicemail) and d.action.box == "info"
    # a position claiming the other tenant's flow is not followed into it
    forged = Call(ANNAT_NUMBER, "", "annat", "huvud", "meny", None, 0, "1")
    d = decide(table, everyone_in(table), forged, TUE_10)
    assert d.tenant == "annat"
    assert isinstance(d.action, Hangup)  # Annat AB has no fallback: hang up, never Exempel's groups


def test_decide_is_deterministic_and_does_not_mutate_the_table(table: RoutingTable) -> None:
    state = everyone_in(table)
    before = (table.version, len(table.numbers))
    a = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    b = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    assert a == b
    assert (table.version, len(table.numbers)) == before


def test_naive_time_is_refused(table: RoutingTable) -> None:
    with pytest.raises(ValueError):
        decide(table, StateSnapshot(), Call(MAIN_NUMBER), datetime(2026, 11, 24, 10, 0))


def test_publishing_one_tenant_swaps_it_and_keeps_the_other() -> None:
    table = compile_table(demo_tenants())
    cfg = exempel()
    newer = replace(cfg, version=2, numbers=cfg.numbers[:1])
    swapped = table.replace_tenant(newer)
    assert swapped.version == table.version + 1
    assert swapped.tenants["exempel"].version == 2
    assert GOTEBORG_NUMBER not in swapped.numbers and GOTEBORG_NUMBER in table.numbers
    assert swapped.numbers[ANNAT_NUMBER].tenant == "annat"
    stolen = replace(annat(), numbers=(replace(annat().numbers[0], number=MAIN_NUMBER),))
    with pytest.raises(InvalidConfig, match="already belongs to tenant 'exempel'"):
        table.replace_tenant(stolen)


def test_forward_to_a_queue_and_unanswered_queue_falls_back() -> None:
    table = _table_with(replace(_anna(), forwarding=Forwarding(always=Target("queue", "support"))))
    state = StateSnapshot(members={("exempel", "queue", "support"): frozenset({"david"})})
    d = decide(table, state, Call("+46812345601"), TUE_10)
    assert isinstance(d.action, EnterQueue) and d.action.queue == "support"
    after = decide(table, state, Call("+46812345601", "", d.tenant, d.flow, d.node, d.target, 0, "TIMEOUT"), TUE_10)
    assert isinstance(after.action, Voicemail) and after.action.box == "vaxel"
    # with nobody logged in the queue is skipped at once, to the same fallback
    empty = decide(table, StateSnapshot(), Call("+46812345601"), TUE_10)
    assert isinstance(empty.action, Voicemail) and empty.action.box == "vaxel"
    assert "queue Support: no agent logged in → overflow" in empty.steps


def test_waiting_caller_stays_in_queue_until_the_maximum_wait(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    queued = decide(table, state, then(menu, "2"), TUE_10)
    assert queued.entered == int(TUE_10.timestamp())
    tick = replace(then(queued, "TICK"), entered=queued.entered)
    stay = decide(table, state, tick, TUE_10 + timedelta(minutes=3))
    assert isinstance(stay.action, EnterQueue) and stay.entered == queued.entered
    assert "waiting in queue Support for 180 s" in stay.steps
    late = decide(table, state, tick, TUE_10 + timedelta(minutes=10))
    assert isinstance(late.action, Voicemail) and late.action.box == "support"
    assert "waited 600 s in queue Support (max 600 s) → overflow" in late.steps


def test_agent_not_answering_puts_the_caller_back_in_the_queue_keeping_the_place(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER), TUE_10)
    queued = decide(table, state, then(menu, "2"), TUE_10)
    missed = replace(then(queued, "NOANSWER"), entered=queued.entered)
    back = decide(table, state, missed, TUE_10 + timedelta(minutes=2))
    assert isinstance(back.action, EnterQueue) and back.action.queue == "support"
    assert back.entered == queued.entered and back.target == "queue:support"


def test_callback_key_in_the_queue_asks_for_a_number_and_keeps_the_place(table: RoutingTable) -> None:
    state = everyone_in(table)
    menu = decide(table, state, Call(MAIN_NUMBER, "+46709876543"), TUE_10)
    queued = decide(table, state, then(menu, "2", "+46709876543"), TUE_10)
    pressed = replace(then(queued, "KEY:1", "+46709876543"), entered=queued.entered)
    ask = decide(table, state, pressed, TUE_10 + timedelta(minutes=2))
    assert isinstance(ask.action, CollectNumber) and ask.action.default == "+46709876543"
    assert (ask.target, ask.entered) == ("callback:support", queued.entered)
    keyed = replace(then(ask, "0701234567", "+46709876543"), entered=ask.entered)
    done = decide(table, state, keyed, TUE_10 + timedelta(minutes=3))
    assert isinstance(done.action, Hangup) and done.action.prompts == ("callback-confirm",)
    assert (done.target, done.entered) == ("callback:support", queued.entered)
    assert "callback to 0701234567 keeps the place in queue Support" in done.steps
    # nothing keyed in: the caller's own number; a number that cannot be dialled: back to waiting
    own = decide(table, state, replace(keyed, result=""), TUE_10)
    assert "callback to +46709876543 keeps the place in queue Support" in own.steps
    bad = decide(table, state, replace(keyed, result="12"), TUE_10)
    assert isinstance(bad.action, EnterQueue) and bad.action.prompts == ("menu-invalid",)
    assert bad.entered == queued.entered
