"""The compiler: tenant configuration in, one immutable, versioned RoutingTable out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from pbx.routing.model import (
    CallbackNode,
    Flow,
    GroupConfig,
    GroupNode,
    Node,
    QueueConfig,
    QueueNode,
    ScheduleSwitch,
    ServiceNode,
    Target,
    TenantConfig,
    UserConfig,
    UserNode,
    VoicemailBoxConfig,
    VoicemailNode,
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
    """`ref` is what a call's position names the flow by: "key@version" once the flow is numbered (stored),
    so a call keeps to the version it started on; just "key" for a flow that has no number."""

    key: str
    name: str
    entry: str
    nodes: Mapping[str, Node]
    version: int = 0
    ref: str = ""


def flow_ref(key: str, version: int) -> str:
    return f"{key}@{version}" if version else key


class FlowTable(Mapping[str, CompiledFlow]):
    """A tenant's flows as published now, by key; also reachable as "key@version" (a call's position).

    Iterating and `len` see the published flows only. `flows["key@3"]` is version 3 of flow `key`: the
    published one if 3 is what is published now, a kept earlier version while calls may still be on it, and
    the published version when version 3 is no longer kept (so an old call falls back to today's flow, as
    before versions existed). A position without "@" means the published version."""

    __slots__ = ("current", "earlier")

    def __init__(self, current: Mapping[str, CompiledFlow], earlier: Mapping[str, CompiledFlow]) -> None:
        self.current = current  # key → flow
        self.earlier = earlier  # "key@version" → flow

    def __getitem__(self, ref: str) -> CompiledFlow:
        flow = self.current.get(ref)
        if flow is not None:
            return flow
        key, at, _ = ref.partition("@")
        if not at:
            raise KeyError(ref)
        flow = self.earlier.get(ref)
        return flow if flow is not None else self.current[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.current)

    def __len__(self) -> int:
        return len(self.current)


@dataclass(frozen=True, slots=True)
class TenantTable:
    key: str
    name: str
    tz: ZoneInfo
    language: str
    version: int
    flows: FlowTable
    schedules: Mapping[str, CompiledSchedule]
    users: Mapping[str, UserConfig]
    groups: Mapping[str, GroupConfig]
    queues: Mapping[str, QueueConfig]
    boxes: Mapping[str, VoicemailBoxConfig]
    prompts: frozenset[str]
    fallback: Target | None
    home_cc: str = "46"
    main_number: str | None = None  # the first number pointing at a flow: what "main" presents (U-04)
    # feature codes *45N/*46N (pbx.routing.phone): N → "queue:KEY" / "group:KEY"; queues 1, 2, … in configuration
    # order, then the answer groups
    member_codes: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Everything decide() needs, for every tenant; replaced whole, never mutated."""

    version: int
    tenants: Mapping[str, TenantTable]
    numbers: Mapping[str, NumberRoute]
    # phones that may place calls: PJSIP endpoint name → (tenant, user). A phone two users claim maps to
    # CLAIMED_TWICE: its calls are refused rather than given to the wrong user or company.
    devices: Mapping[str, tuple[str, str]] = field(default_factory=lambda: _EMPTY_DEVICES)

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
        # a phone claimed by several tenants stays refused until the next full compile says otherwise
        devices = {d: owner for d, owner in self.devices.items() if owner[0] != cfg.key}
        _add_devices(devices, cfg)
        return RoutingTable(self.version + 1, MappingProxyType(tenants), MappingProxyType(all_numbers),
                            MappingProxyType(devices))

    def with_user(self, tenant: str, user: UserConfig, version: int | None = None) -> RoutingTable:
        """A new table in which one user of `tenant` is replaced (forwarding set by phone). For changes that
        leave the user's numbers and devices alone; the user's settings must have been validated."""
        old = self.tenants[tenant]
        if user.key not in old.users or old.users[user.key].devices != user.devices:
            raise ValueError(f"with_user changes an existing user's settings, not {user.key!r}'s devices")
        users = dict(old.users)
        users[user.key] = user
        changed = replace(old, users=MappingProxyType(users), version=old.version if version is None else version)
        tenants = dict(self.tenants)
        tenants[tenant] = changed
        return RoutingTable(self.version + 1, MappingProxyType(tenants), self.numbers, self.devices)


_EMPTY: Mapping[str, str] = MappingProxyType({})
_EMPTY_DEVICES: Mapping[str, tuple[str, str]] = MappingProxyType({})


def phone_endpoint(device: str) -> str | None:
    """The PJSIP endpoint a device dial string names ("PJSIP/anna" → "anna"); None for other kinds."""
    tech, sep, name = device.partition("/")
    if not sep or tech.upper() != "PJSIP" or not name or "@" in name or "/" in name or "&" in name:
        return None
    return name


CLAIMED_TWICE = ("", "")  # a phone two users claim: it belongs to nobody (RoutingTable.devices)


def _add_devices(devices: dict[str, tuple[str, str]], cfg: TenantConfig) -> None:
    for user in cfg.users:
        for device in user.devices:
            endpoint = phone_endpoint(device)
            if endpoint is None:
                continue
            owner = devices.get(endpoint)
            devices[endpoint] = (cfg.key, user.key) if owner is None or owner == (cfg.key, user.key) else CLAIMED_TWICE


def _member_codes(cfg: TenantConfig) -> Mapping[str, str]:
    refs = [f"queue:{q.key}" for q in cfg.queues] + [f"group:{g.key}" for g in cfg.groups]
    return MappingProxyType({str(n): ref for n, ref in enumerate(refs, 1)})


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
    current = MappingProxyType({f.key: _compile_flow(f) for f in cfg.flows})
    earlier = MappingProxyType({
        flow_ref(f.key, f.version): _compile_flow(f) for f in cfg.earlier_flows
        if f.version and (f.key not in current or current[f.key].version != f.version) and _fits(f, cfg)})
    flows = FlowTable(current, earlier)
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
        main_number=next((n.number for n in cfg.numbers if n.flow is not None), None),
        member_codes=_member_codes(cfg),
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


def _compile_flow(flow: Flow) -> CompiledFlow:
    return CompiledFlow(flow.key, flow.name, flow.entry, MappingProxyType({n.key: n for n in flow.nodes}),
                        flow.version, flow_ref(flow.key, flow.version))


def _fits(flow: Flow, cfg: TenantConfig) -> bool:
    """Whether an earlier flow version can still run on today's configuration: everything its nodes hand a
    call to (schedules, groups, queues, boxes, users) still exists. One that cannot is not kept, and calls
    on it continue on the published version instead."""
    schedules = {s.key for s in cfg.schedules}
    groups = {g.key for g in cfg.groups}
    queues = {q.key for q in cfg.queues}
    boxes = {b.key for b in cfg.boxes}
    users = {u.key for u in cfg.users}
    for node in flow.nodes:
        match node:
            case ScheduleSwitch() if node.schedule not in schedules:
                return False
            case GroupNode() if node.group not in groups:
                return False
            case QueueNode() if node.queue not in queues:
                return False
            case CallbackNode() if node.queue is not None and node.queue not in queues:
                return False
            case VoicemailNode() if node.box not in boxes:
                return False
            case ServiceNode() if node.box is not None and node.box not in boxes:
                return False
            case UserNode() if node.user not in users:
                return False
    return True


def compile_table(configs: Iterable[TenantConfig], version: int = 1, validate: bool = True) -> RoutingTable:
    """Compile every tenant; all problems of all tenants are reported together."""
    tenants: dict[str, TenantTable] = {}
    numbers: dict[str, NumberRoute] = {}
    devices: dict[str, tuple[str, str]] = {}
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
        _add_devices(devices, cfg)
    if problems:
        raise InvalidConfig(problems)
    return RoutingTable(version, MappingProxyType(tenants), MappingProxyType(numbers), MappingProxyType(devices))
