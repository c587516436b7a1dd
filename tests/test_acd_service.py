"""The contact centre's dispatcher on a real in-memory store: which waiting caller a free agent gets."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

from pbx.acd.service import AcdService
from pbx.demo import STOCKHOLM, annat, exempel
from pbx.routing.model import QueueConfig, QueueNode
from pbx.routing.state import LineStatus
from pbx.state.store import MemoryStore, WaitingEntry
from pbx.tables import TableHolder, compile_from

AT = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
NOW = AT.timestamp()


class Switch:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (caller channel, agent devices)
        self.agent = ""

    async def setvar(self, channel: str | None, name: str, value: str) -> None:
        if name == "PBX_AGENT":
            self.agent = value

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1,
                       extra_channel: str | None = None) -> None:
        assert (context, exten, priority) == ("pbx-connect", "s", 1)
        self.sent.append((channel, self.agent))


def tables_with_vip_queue(priority: int) -> TableHolder:
    cfg = exempel()
    vip = QueueConfig("vip", "VIP", ("david",), priority=priority)
    flow = cfg.flows[0]
    flow = replace(flow, nodes=(*flow.nodes, QueueNode("vip-queue", "vip", overflow="vm-support")))
    menu = next(n for n in flow.nodes if n.key == "meny")
    flow = replace(flow, nodes=tuple(replace(n, choices={**menu.choices, "9": "vip-queue"}) if n.key == "meny" else n
                                     for n in flow.nodes))
    return TableHolder(compile_from([replace(cfg, queues=(*cfg.queues, vip), flows=(flow, *cfg.flows[1:])), annat()]))


def run_dispatch(priority: int, vip_joined: float) -> list[tuple[str, str]]:
    async def main() -> list[tuple[str, str]]:
        store = MemoryStore(clock=lambda: NOW)
        switch = Switch()
        acd = AcdService(store, tables_with_vip_queue(priority), lambda: switch, lambda: AT)
        await store.login("exempel", "david", "queue", "support")
        await store.login("exempel", "david", "queue", "vip")
        await store.set_line("exempel", "david", LineStatus.IDLE)
        await store.enqueue("exempel", "support", WaitingEntry("c-support", "+4670", "PJSIP/trunk-1", NOW - 60))
        await store.enqueue("exempel", "vip", WaitingEntry("c-vip", "+4671", "PJSIP/trunk-2", vip_joined))
        moved = await acd.dispatch_tenant("exempel")
        assert moved == 1  # one agent, one hand-over; the other caller keeps waiting
        left = [e.call_id for q in ("support", "vip") for e in await store.waiting("exempel", q)]
        assert len(left) == 1
        return switch.sent
    return asyncio.run(main())


def test_agent_in_two_queues_takes_the_higher_priority_queue_first() -> None:
    # the support caller has waited longer, but the VIP queue has the higher priority
    assert run_dispatch(priority=5, vip_joined=NOW - 10) == [("PJSIP/trunk-2", "PJSIP/david")]


def test_with_equal_queue_priority_the_longest_waiting_caller_goes_first() -> None:
    assert run_dispatch(priority=0, vip_joined=NOW - 10) == [("PJSIP/trunk-1", "PJSIP/david")]
    assert run_dispatch(priority=0, vip_joined=NOW - 120) == [("PJSIP/trunk-2", "PJSIP/david")]


def test_no_agent_free_means_nobody_is_moved_and_the_caller_keeps_the_place() -> None:
    async def main() -> tuple[int, list[str]]:
        store = MemoryStore(clock=lambda: NOW)
        switch = Switch()
        acd = AcdService(store, TableHolder(compile_from([exempel(), annat()])), lambda: switch, lambda: AT)
        await store.login("exempel", "david", "queue", "support")
        await store.pause("exempel", "david", "lunch")
        await store.enqueue("exempel", "support", WaitingEntry("c1", "+4670", "PJSIP/trunk-1", NOW - 60))
        moved = await acd.dispatch_tenant("exempel")
        return moved, [e.call_id for e in await store.waiting("exempel", "support")]

    assert asyncio.run(main()) == (0, ["c1"])
