"""The live state a decision reads (presence, line status, who is logged in), as one read-only view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pbx.routing.compile import RoutingTable
from pbx.routing.model import PresenceEntry, PresenceStatus


class LineStatus(StrEnum):
    IDLE = "idle"
    RINGING = "ringing"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"


class LiveView(Protocol):
    """What decide() may ask of live state; the memory and Redis stores (issue 4) provide it."""

    def presence(self, tenant: str, user: str, now: datetime) -> PresenceEntry | None: ...

    def line(self, tenant: str, user: str) -> LineStatus: ...

    def logged_in(self, tenant: str, kind: str, key: str) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """An immutable snapshot of live state; `presence` holds current and planned periods."""

    presences: Mapping[tuple[str, str], tuple[PresenceEntry, ...]] = field(default_factory=dict)
    lines: Mapping[tuple[str, str], LineStatus] = field(default_factory=dict)
    members: Mapping[tuple[str, str, str], frozenset[str]] = field(default_factory=dict)

    def presence(self, tenant: str, user: str, now: datetime) -> PresenceEntry | None:
        """The presence in force at `now` (the latest-starting active period), None = available."""
        entries = self.presences.get((tenant, user))
        if not entries:
            return None
        best: PresenceEntry | None = None
        for entry in entries:
            if entry.active_at(now) and (best is None or entry.start >= best.start):
                best = entry
        if best is None or best.status is PresenceStatus.AVAILABLE:
            return None
        return best

    def line(self, tenant: str, user: str) -> LineStatus:
        return self.lines.get((tenant, user), LineStatus.IDLE)

    def logged_in(self, tenant: str, kind: str, key: str) -> frozenset[str]:
        return self.members.get((tenant, kind, key), frozenset())


EMPTY_STATE = StateSnapshot()


def everyone_logged_in(table: RoutingTable, only: frozenset[str] | None = None
                       ) -> dict[tuple[str, str, str], frozenset[str]]:
    """Every member of every answer group and queue logged in (or only the users in `only`):
    the what-if default, and the demo's state until agents log in themselves (issue 4)."""
    members: dict[tuple[str, str, str], frozenset[str]] = {}
    for tenant in table.tenants.values():
        for group in tenant.groups.values():
            keys = frozenset(m.user for m in group.members)
            members[(tenant.key, "group", group.key)] = keys if only is None else keys & only
        for queue in tenant.queues.values():
            keys = frozenset(queue.members)
            members[(tenant.key, "queue", queue.key)] = keys if only is None else keys & only
    return members
