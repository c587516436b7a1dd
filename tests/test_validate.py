"""Validation names every mistake in a flow, and an administrator can tell where it is."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pbx.demo import annat, demo_tenants, exempel
from pbx.routing.compile import compile_table
from pbx.routing.model import (
    Announcement,
    ExternalNode,
    Flow,
    Menu,
    NumberConfig,
    ScheduleSwitch,
    TenantConfig,
    VoicemailNode,
)
from pbx.routing.validate import InvalidConfig, validate_tenant


def with_flow(flow: Flow) -> TenantConfig:
    cfg = exempel()
    return replace(cfg, flows=(*[f for f in cfg.flows if f.key != flow.key], flow))


def codes(cfg: TenantConfig) -> set[tuple[str, str]]:
    return {(p.where, p.code) for p in validate_tenant(cfg)}


def test_demo_tenants_are_valid() -> None:
    for cfg in demo_tenants():
        assert validate_tenant(cfg) == []


def test_dangling_node_reference_names_the_node() -> None:
    flow = Flow("x", "X", "a", (Announcement("a", "welcome", "nowhere"),))
    problems = validate_tenant(with_flow(flow))
    assert any(p.where == "flow x node a" and p.code == "dangling-reference" and "'nowhere'" in p.message
               for p in problems)


def test_reference_to_missing_group_queue_box_schedule_and_prompt() -> None:
    flow = Flow("x", "X", "a", (
        Announcement("a", "no-such-prompt", "s"),
        ScheduleSwitch("s", "no-such-schedule", open="v", closed="v"),
        VoicemailNode("v", "no-such-box"),
    ))
    found = codes(with_flow(flow))
    assert ("flow x node a", "unknown-prompt") in found
    assert ("flow x node s", "dangling-reference") in found
    assert ("flow x node v", "dangling-reference") in found


def test_unreachable_node_is_reported() -> None:
    flow = Flow("x", "X", "v", (VoicemailNode("v", "vaxel"), VoicemailNode("orphan", "vaxel")))
    assert ("flow x node orphan", "unreachable") in codes(with_flow(flow))


def test_menu_without_timeout_or_invalid_path_is_rejected() -> None:
    flow = Flow("x", "X", "m", (Menu("m", "welcome", {"1": "v"}, None, None), VoicemailNode("v", "vaxel")))
    found = codes(with_flow(flow))
    assert ("flow x node m", "menu-no-timeout") in found
    assert ("flow x node m", "menu-no-invalid") in found


def test_menu_key_must_be_one_phone_key() -> None:
    flow = Flow("x", "X", "m", (Menu("m", "welcome", {"12": "v", "A": "v"}, "v", "v"), VoicemailNode("v", "vaxel")))
    assert ("flow x node m", "bad-key") in codes(with_flow(flow))


def test_cycle_with_no_way_out_is_rejected() -> None:
    flow = Flow("x", "X", "m1", (
        Menu("m1", "welcome", {"1": "m2"}, "m2", "m2"),
        Menu("m2", "welcome", {"1": "m1"}, "m1", "m1"),
    ))
    problems = validate_tenant(with_flow(flow))
    assert {p.where for p in problems if p.code == "no-way-out"} == {"flow x node m1", "flow x node m2"}


def test_menus_that_loop_but_can_leave_are_fine() -> None:
    flow = Flow("x", "X", "m1", (
        Menu("m1", "welcome", {"1": "m2", "9": "v"}, "v", "v"),
        Menu("m2", "welcome", {"*": "m1"}, "m1", "m1"),
        VoicemailNode("v", "vaxel"),
    ))
    assert validate_tenant(with_flow(flow)) == []


def test_loop_without_caller_input_is_rejected_even_with_an_exit() -> None:
    flow = Flow("x", "X", "a", (
        Announcement("a", "welcome", "s"),
        ScheduleSwitch("s", "kontorstid", open="a", closed="v"),
        VoicemailNode("v", "vaxel"),
    ))
    problems = [p for p in validate_tenant(with_flow(flow)) if p.code == "endless-loop"]
    assert problems and "a → s → a" in problems[0].message


def test_numbers_in_the_wrong_format() -> None:
    cfg = exempel()
    cfg = replace(cfg, numbers=(*cfg.numbers, NumberConfig("08-123 456 99", flow="huvud")))
    flow = Flow("x", "X", "e", (ExternalNode("e", "0701234567"),))
    found = codes(replace(with_flow(flow), numbers=cfg.numbers))
    assert ("number 08-123 456 99", "bad-number") in found
    assert ("flow x node e", "bad-number") in found


def test_same_number_in_two_tenants_is_refused() -> None:
    other = replace(annat(), numbers=(NumberConfig(exempel().numbers[0].number, flow="enkel"),))
    with pytest.raises(InvalidConfig) as info:
        compile_table([exempel(), other])
    assert any(p.code == "number-taken" and p.tenant == "annat" for p in info.value.problems)


def test_compile_reports_every_problem_at_once() -> None:
    flow = Flow("x", "X", "m", (Menu("m", "nope", {"1": "gone"}, None, None),))
    with pytest.raises(InvalidConfig) as info:
        compile_table([with_flow(flow)])
    found = {p.code for p in info.value.problems}
    assert {"unknown-prompt", "dangling-reference", "menu-no-timeout", "menu-no-invalid"} <= found
    assert "flow x node m" in str(info.value)


def test_keys_that_could_break_channel_variables_or_paths_are_refused() -> None:
    flow = Flow("x", "X", "a^b", (VoicemailNode("a^b", "vaxel"),))
    found = codes(replace(with_flow(flow), key="Exempel AB"))
    assert ("flow x node a^b", "bad-key") in found
    assert ("tenant", "bad-key") in found
    box = replace(exempel().boxes[0], key="../etc")
    assert ("voicemail box ../etc", "bad-key") in codes(replace(exempel(), boxes=(box, *exempel().boxes[1:])))


def test_callback_recipients_must_be_an_address_a_number_or_an_https_url() -> None:
    from pbx.routing.validate import notify_channel
    assert [notify_channel(r) for r in ("kundtjanst@exempel.se", "+46701234567", "https://hooks.exempel.se/cb",
                                        "0701234567", "http://insecure.example/cb", "not an address", "")] == [
        "email", "sms", "webhook", None, None, None, None]
    queue = replace(exempel().queues[0], callback_notify=("support@exempel.se", "0701234567"))
    found = codes(replace(exempel(), queues=(queue,)))
    assert ("queue support", "bad-recipient") in found
    assert len([c for c in found if c[1] == "bad-recipient"]) == 1
