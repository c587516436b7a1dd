"""The compiler: tenant configuration in, one immutable, versioned RoutingTable out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from pbx.routing.model import (
    GroupConfig,
    Node,
    QueueConfig,
    Target,
    TenantConfig,
    UserConfig,
    VoicemailBoxConfig,
)
from pbx.routing.schedule import CompiledSchedule, compile_schedule
from pbx.routing.validate import InvalidConfig, Problem, validate_tenant


@dataclass(frozen=True, slots=True)
class NumberRoute:
    """Where a dialled number leads: a tenant's flow (main number) or a user (direct number)."""

    tenant: str
    flow: str | None
    user: str | None
    via: Literal["fixed", "mobile"]
    label: str
    record: bool = False  # F-14: answered calls to this number are recorded


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    key: str
    name: str
    entry: str
    nodes: Mapping[str, Node]


@dataclass(frozen=True, slots=True)
class TenantTable:
    key: str
    name: str
    tz: ZoneInfo
    language: str
    version: int
    flows: Mapping[str, CompiledFlow]
    schedules: Mapping[str, CompiledSchedule]
    users: Mapping[str, UserConfig]
    groups: Mapping[str, GroupConfig]
    queues: Mapping[str, QueueConfig]
    boxes: Mapping[str, VoicemailBoxConfig]
    prompts: frozenset[str]
    fallback: Target | None
    home_cc: str = "46"


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Everything decide() needs, for every tenant; replaced whole, never mutated."""

    version: int
    tenants: Mapping[str, TenantTable]
    numbers: Mapping[str, NumberRoute]

    def replace_tenant(self, cfg: TenantConfig, validate: bool = True) -> RoutingTable:
        """A new table in which one tenant's configuration is swapped (publish of one tenant)."""
        tenant, numbers = compile_tenant(cfg, validate=validate)
        clash = [n for n, route in numbers.items()
                 if (old := self.numbers.get(n)) is not None and old.tenant != cfg.key]
        if clash:
            raise InvalidConfig([Problem(cfg.key, f"number {n}", "number-taken",
                                         f"{n} already belongs to tenant {self.numbers[n].tenant!r}") for n in clash])
        all_numbers = {n: r for n, r in self.numbers.items() if r.tenant != cfg.key}
        all_numbers.update(numbers)
        tenants = dict(self.tenants)
        tenants[cfg.key] = tenant
        return RoutingTable(self.version + 1, MappingProxyType(tenants), MappingProxyType(all_numbers))


def _by_key(items: Iterable[object]) -> Mapping[str, object]:
    return MappingProxyType({item.key: item for item in items})  # type: ignore[attr-defined]


# ZoneInfo objects are cached by the stdlib, but the lookup is not free across 10,000 tenants.
_zones: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _zones.get(name)
    if zone is None:
        zone = _zones[name] = ZoneInfo(name)
    return zone


def compile_tenant(cfg: TenantConfig, validate: bool = True) -> tuple[TenantTable, dict[str, NumberRoute]]:
    if validate:
        problems = validate_tenant(cfg)
        if problems:
            raise InvalidConfig(problems)
    flows = MappingProxyType({
        f.key: CompiledFlow(f.key, f.name, f.entry, MappingProxyType({n.key: n for n in f.nodes})) for f in cfg.flows
    })
    table = TenantTable(
        key=cfg.key,
        name=cfg.name,
        tz=_zone(cfg.timezone),
        language=cfg.language,
        version=cfg.version,
        flows=flows,
        schedules=MappingProxyType({s.key: compile_schedule(s) for s in cfg.schedules}),
        users=_by_key(cfg.users),  # type: ignore[arg-type]
        groups=_by_key(cfg.groups),  # type: ignore[arg-type]
        queues=_by_key(cfg.queues),  # type: ignore[arg-type]
        boxes=_by_key(cfg.boxes),  # type: ignore[arg-type]
        prompts=frozenset(p.key for p in cfg.prompts),
        fallback=cfg.fallback,
    )
    # Numbers of one tenant that share a destination share one route object: 1,000,000 numbers
    # over a few flows per tenant then cost a dict entry each, not an object each.
    shared: dict[tuple[str | None, str | None, str, str, bool], NumberRoute] = {}
    numbers: dict[str, NumberRoute] = {}
    for n in cfg.numbers:
        sig = (n.flow, n.user, n.via, n.label, n.record)
        route = shared.get(sig)
        if route is None:
            route = shared[sig] = NumberRoute(cfg.key, n.flow, n.user, n.via, n.label, n.record)
        numbers[n.number] = route
    return table, numbers


def compile_table(configs: Iterable[TenantConfig], version: int = 1, validate: bool = True) -> RoutingTable:
    """Compile every tenant; all problems of all tenants are reported together."""
    tenants: dict[str, TenantTable] = {}
    numbers: dict[str, NumberRoute] = {}
    problems: list[Problem] = []
    for cfg in configs:
        if cfg.key in tenants:
            problems.append(Problem(cfg.key, "tenant", "duplicate", f"two tenants have the key {cfg.key!r}"))
            continue
        try:
            tenant, own = compile_tenant(cfg, validate=validate)
        except InvalidConfig as exc:
            problems.extend(exc.problems)
            continue
        for number, route in own.items():
            other = numbers.get(number)
            if other is not None:
                problems.append(Problem(cfg.key, f"number {number}", "number-taken",
                                        f"{number} already belongs to tenant {other.tenant!r}"))
            else:
                numbers[number] = route
        tenants[cfg.key] = tenant
    if problems:
        raise InvalidConfig(problems)
    return RoutingTable(version, MappingProxyType(tenants), MappingProxyType(numbers))
