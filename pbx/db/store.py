"""Tenant configuration, account trees and presence periods in SQL: save and load, both ways without loss.

Transactions belong to the caller: nothing here commits. Writes run in a SAVEPOINT, so a write
that fails leaves the caller's transaction usable and the previous data untouched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, and_, delete, func, insert, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from pbx.db.codec import (
    node_from_params,
    node_to_params,
    nodes_from_json,
    nodes_to_json,
    target_from_text,
    target_to_text,
)
from pbx.db.models import (
    CONFIG_TABLES,
    AccountRow,
    Base,
    FlowDraftRow,
    FlowNodeRow,
    FlowPublicationRow,
    FlowRow,
    FlowVersionRow,
    GroupMemberRow,
    GroupRow,
    NumberRow,
    PresenceEntryRow,
    PresenceRuleRow,
    PromptRow,
    QueueMemberRow,
    QueueRow,
    ScheduleExceptionIntervalRow,
    ScheduleExceptionRow,
    ScheduleIntervalRow,
    ScheduleRow,
    TenantRow,
    UserDeviceRow,
    UserRow,
    VoicemailBoxRow,
    VoicemailListenerRow,
    table_of,
)
from pbx.devices.provision import prune as prune_devices
from pbx.devices.provision import remove_tenant_devices
from pbx.routing.model import (
    Announcement,
    BarringClass,
    CallbackNode,
    Flow,
    Forwarding,
    GroupConfig,
    GroupMember,
    GroupNode,
    HangupNode,
    Menu,
    Node,
    NodeKind,
    NumberConfig,
    PresenceEntry,
    PresenceRule,
    PresenceStatus,
    PromptConfig,
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
from pbx.routing.schedule import (
    HolidayTemplate,
    Interval,
    Override,
    ScheduleConfig,
    ScheduleException,
    ScheduleState,
)
from pbx.routing.validate import InvalidConfig, validate_tenant


class NotFound(LookupError):
    """A tenant, user, account or number that the database does not hold."""


class Conflict(ValueError):
    """A change the current state does not allow (a flow that exists already, one a number points at…)."""


@dataclass(frozen=True, slots=True)
class Account:
    """One account of a tenant, flat: `parent` None is the main account. What save_tenant takes."""

    key: str
    name: str
    parent: str | None = None
    numbers: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountNode:
    """One account of a tenant's tree, with its sub-accounts: what account_tree returns."""

    key: str
    name: str
    numbers: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    children: tuple[AccountNode, ...] = ()


# =============================================================================================
# Tenant configuration
# =============================================================================================


def save_tenant(session: Session, cfg: TenantConfig, accounts: Sequence[Account] | None = None, *,
                by: str = "system", at: datetime | None = None) -> None:
    """Insert or replace the whole configuration of tenant `cfg.key`, atomically.

    The version stored is `cfg.version`; nothing is bumped here. `accounts`, when given, replaces
    the tenant's account tree and says which numbers and users belong to which account; when
    None, the tree is kept and numbers and users stay in the accounts they were in (by number
    and user key). Prompt audio paths and presence periods are kept too.

    Flows keep their history (flow_versions): a flow equal to the version in force keeps its number; one
    that differs becomes the next version, published by `by` at `at` (now by default), and so does a flow
    seen for the first time (version 1). A flow's `version`, when set, names the version it is (a rollback
    publishes an earlier number again). A flow left out is recorded as withdrawn.
    """
    at = at or datetime.now(UTC)
    with session.begin_nested():
        table = table_of(TenantRow)
        values: dict[str, Any] = {
            "name": cfg.name,
            "timezone": cfg.timezone,
            "language": cfg.language,
            "config_version": cfg.version,
            "fallback": target_to_text(cfg.fallback),
            "updated_at": func.now(),
        }
        # FOR UPDATE serialises two publishes of the same tenant on PostgreSQL (SQLite locks the
        # whole database on write anyway and ignores it).
        tid = session.scalar(select(TenantRow.id).where(TenantRow.key == cfg.key).with_for_update())
        if tid is None:
            tid = session.execute(insert(table).values(key=cfg.key, **values).returning(table.c.id)).scalar_one()
            number_accounts: dict[str, int] = {}
            user_accounts: dict[str, int] = {}
            prompt_files: dict[str, str] = {}
            flow_versions = _flow_versions(session, tid, cfg, None, by, at)
        else:
            session.execute(update(table).where(table.c.id == tid).values(**values))
            live = _pairs(session, select(FlowRow.key, FlowRow.version).where(FlowRow.tenant_id == tid))
            flow_versions = _flow_versions(session, tid, cfg, live, by, at)
            number_accounts = _pairs(session, select(NumberRow.number, NumberRow.account_id).where(
                NumberRow.tenant_id == tid, NumberRow.account_id.is_not(None)))
            user_accounts = _pairs(session, select(UserRow.key, UserRow.account_id).where(
                UserRow.tenant_id == tid, UserRow.account_id.is_not(None)))
            prompt_files = _pairs(session, select(PromptRow.key, PromptRow.file_path).where(
                PromptRow.tenant_id == tid, PromptRow.file_path.is_not(None)))
            # Children of these rows (nodes, members, intervals, …) go with them: ON DELETE CASCADE.
            for config_table in CONFIG_TABLES:
                session.execute(delete(config_table).where(config_table.c.tenant_id == tid))
        if accounts is not None:
            accounts_table = table_of(AccountRow)
            session.execute(delete(accounts_table).where(accounts_table.c.tenant_id == tid))
            number_accounts, user_accounts = _insert_accounts(session, tid, cfg, accounts)
        session.add_all(_config_rows(tid, cfg, number_accounts, user_accounts, prompt_files, flow_versions))
        session.flush()
        prune_devices(session, tid, cfg)  # phones the configuration no longer gives a user leave Asterisk
    _forget_tenant(session, tid)


def change_tenant(session: Session, tenant: str,
                  mutate: Callable[[TenantConfig], tuple[TenantConfig, Any, Any]], *, by: str, at: datetime,
                  check: Callable[[Session, int], None] | None = None) -> tuple[int, TenantConfig, Any, Any]:
    """One configuration change saved as the tenant's next version, in the caller's transaction.

    Locks the tenant row first, so two changes of one tenant at once (two administrators, an administrator
    and a phone's feature code) are serialised and neither is lost; then `check(session, tenant_id)`, then
    `mutate(current)` → (new configuration, before, after). The whole new configuration must pass the
    routing core's validation (InvalidConfig otherwise) before it is saved. Returns (tenant id, the new
    configuration, before, after); the caller writes its audit entry in the same transaction."""
    tid = session.scalar(select(TenantRow.id).where(TenantRow.key == tenant).with_for_update())
    if tid is None:
        raise UnknownTenant(f"no tenant {tenant!r}")
    if check is not None:
        check(session, tid)
    current = load_tenant(session, tenant)
    new, before, after = mutate(current)
    new = replace(new, version=current.version + 1)
    problems = validate_tenant(new)
    if problems:
        raise InvalidConfig(problems)
    save_tenant(session, new, by=by, at=at)
    return tid, new, before, after


def load_tenant(session: Session, key: str) -> TenantConfig:
    row = session.scalars(_tenant_query().where(TenantRow.key == key)).one_or_none()
    if row is None:
        raise NotFound(f"no tenant {key!r}")
    return _tenant_config(row)


def load_all(session: Session) -> list[TenantConfig]:
    """Every tenant's configuration, by tenant key; a constant number of queries however many tenants."""
    return [_tenant_config(row) for row in session.scalars(_tenant_query().order_by(TenantRow.key))]


def delete_tenant(session: Session, key: str) -> bool:
    """Remove a tenant with everything it owns (accounts and presence too); False if there was none."""
    row = session.scalars(select(TenantRow).where(TenantRow.key == key)).one_or_none()
    if row is None:
        return False
    remove_tenant_devices(session, row.id)
    session.delete(row)
    session.flush()
    return True


def load_for_number(session: Session, number: str) -> TenantConfig | None:
    """Just what a call to `number` needs: that number, its tenant, its flow, and what they refer to.

    This is the "query the database on every call" way (the benchmarks' baseline against the
    compiled RoutingTable). It fetches by key with a handful of targeted queries, following
    references until nothing new turns up, so the fragment is closed: everything it names is in
    it, and it validates and compiles like a whole configuration. None for an unknown number.
    """
    found = session.execute(
        select(NumberRow, TenantRow).join(TenantRow, TenantRow.id == NumberRow.tenant_id)
        .where(NumberRow.number == number).execution_options(populate_existing=True)
    ).one_or_none()
    if found is None:
        return None
    number_row, tenant_row = found
    tid = tenant_row.id
    wanted = _References()
    flows: tuple[Flow, ...] = ()
    if number_row.flow_key is not None:
        flow_row = session.scalars(
            select(FlowRow).where(FlowRow.tenant_id == tid, FlowRow.key == number_row.flow_key)
            .options(joinedload(FlowRow.nodes)).execution_options(populate_existing=True)
        ).unique().one_or_none()
        if flow_row is not None:
            flows = (_flow(flow_row),)
            for node in flows[0].nodes:
                wanted.node(node)
    if number_row.user_key is not None:
        wanted.keys["user"].add(number_row.user_key)
    fallback = target_from_text(tenant_row.fallback)
    wanted.target(fallback)

    got: dict[str, dict[str, tuple[int, Any]]] = {kind: {} for kind in _FETCH}
    asked: dict[str, set[str]] = {kind: set() for kind in _FETCH}
    while True:
        todo = {kind: wanted.keys[kind] - asked[kind] for kind in _FETCH}
        if not any(todo.values()):
            break
        for kind, keys in todo.items():
            if not keys:
                continue
            asked[kind] |= keys
            fetch, convert, refer = _FETCH[kind]
            for row in session.scalars(fetch(tid, keys).execution_options(populate_existing=True)).unique():
                obj = convert(row)
                got[kind][obj.key] = (row.position, obj)
                refer(wanted, obj)

    def ordered(kind: str) -> tuple[Any, ...]:
        return tuple(obj for _, obj in sorted(got[kind].values(), key=lambda pair: pair[0]))

    return TenantConfig(
        key=tenant_row.key,
        name=tenant_row.name,
        timezone=tenant_row.timezone,
        language=tenant_row.language,
        version=tenant_row.config_version,
        numbers=(_number(number_row),),
        flows=flows,
        schedules=ordered("schedule"),
        users=ordered("user"),
        groups=ordered("group"),
        queues=ordered("queue"),
        boxes=ordered("voicemail"),
        prompts=ordered("prompt"),
        fallback=fallback,
    )


# --- writing ----------------------------------------------------------------------------------


def _pairs(session: Session, query: Select[Any]) -> dict[Any, Any]:
    return {a: b for a, b in session.execute(query)}


def _forget_tenant(session: Session, tid: int) -> None:
    # The rows were replaced behind the ORM's back (Core statements); a TenantRow the session
    # already holds must reload its collections rather than serve the old ones.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, TenantRow) and obj.id == tid:
            session.expire(obj)


def _config_rows(tid: int, cfg: TenantConfig, number_accounts: Mapping[str, int], user_accounts: Mapping[str, int],
                 prompt_files: Mapping[str, str], flow_versions: Mapping[str, int]) -> list[Base]:
    rows: list[Base] = []
    rows += [NumberRow(tenant_id=tid, position=i, number=n.number, flow_key=n.flow, user_key=n.user, via=n.via,
                       label=n.label, account_id=number_accounts.get(n.number), record=n.record)
             for i, n in enumerate(cfg.numbers)]
    rows += [PromptRow(tenant_id=tid, position=i, key=p.key, name=p.name, language=p.language,
                       file_path=prompt_files.get(p.key))
             for i, p in enumerate(cfg.prompts)]
    rows += [_schedule_row(tid, i, s) for i, s in enumerate(cfg.schedules)]
    rows += [FlowRow(tenant_id=tid, position=i, key=f.key, name=f.name, entry=f.entry, version=flow_versions[f.key],
                     nodes=[FlowNodeRow(position=j, key=n.key, kind=NodeKind(n.kind).value, name=n.name,
                                        params=node_to_params(n)) for j, n in enumerate(f.nodes)])
             for i, f in enumerate(cfg.flows)]
    rows += [_user_row(tid, i, u, user_accounts.get(u.key)) for i, u in enumerate(cfg.users)]
    rows += [GroupRow(tenant_id=tid, position=i, key=g.key, name=g.name, strategy=g.strategy,
                      overflow_after_s=g.overflow_after_s, overflow_when_empty=g.overflow_when_empty,
                      waiting_prompt=g.waiting_prompt,
                      members=[GroupMemberRow(position=j, user_key=m.user, ring_s=m.ring_s)
                               for j, m in enumerate(g.members)])
             for i, g in enumerate(cfg.groups)]
    rows += [QueueRow(tenant_id=tid, position=i, key=q.key, name=q.name, strategy=q.strategy, wrapup_s=q.wrapup_s,
                      announce_every_s=q.announce_every_s, callback_key=q.callback_key, max_wait_s=q.max_wait_s,
                      join_empty=q.join_empty, priority=q.priority, callback_scheduled=q.callback_scheduled,
                      callback_notify=list(q.callback_notify), record=q.record,
                      members=[QueueMemberRow(position=j, user_key=m) for j, m in enumerate(q.members)])
             for i, q in enumerate(cfg.queues)]
    rows += [VoicemailBoxRow(tenant_id=tid, position=i, key=b.key, name=b.name, shared=b.shared, greeting=b.greeting,
                             email=list(b.email), notify=list(b.notify),
                             listeners=[VoicemailListenerRow(position=j, user_key=u)
                                        for j, u in enumerate(b.listeners)])
             for i, b in enumerate(cfg.boxes)]
    return rows


def _schedule_row(tid: int, position: int, s: ScheduleConfig) -> ScheduleRow:
    return ScheduleRow(
        tenant_id=tid, position=position, key=s.key, name=s.name, timezone=s.timezone, weekly_days=len(s.weekly),
        holiday_country=s.holidays.country if s.holidays else None,
        holiday_categories=list(s.holidays.categories) if s.holidays else None,
        holiday_exclude=list(s.holidays.exclude) if s.holidays else None,
        override_state=ScheduleState(s.override.state).value if s.override else None,
        override_until=s.override.until if s.override else None,
        override_message=s.override.message if s.override else None,
        intervals=[ScheduleIntervalRow(weekday=day, position=j, start_min=iv.start, end_min=iv.end)
                   for day, intervals in enumerate(s.weekly) for j, iv in enumerate(intervals)],
        exceptions=[ScheduleExceptionRow(
            position=j, day=e.day, name=e.name, recurs_yearly=e.recurs_yearly, holiday=e.holiday,
            intervals=[ScheduleExceptionIntervalRow(position=k, start_min=iv.start, end_min=iv.end)
                       for k, iv in enumerate(e.intervals)],
        ) for j, e in enumerate(s.exceptions)],
    )


def _user_row(tid: int, position: int, u: UserConfig, account_id: int | None) -> UserRow:
    fw = u.forwarding
    return UserRow(
        tenant_id=tid, position=position, account_id=account_id, key=u.key, name=u.name, extension=u.extension,
        kind=u.kind, fixed_number=u.fixed_number, mobile_number=u.mobile_number, voicemail_box=u.voicemail,
        call_waiting=u.call_waiting, barred=sorted(BarringClass(b).value for b in u.barred),
        forward_always=target_to_text(fw.always), forward_on_busy=target_to_text(fw.on_busy),
        forward_on_no_answer=target_to_text(fw.on_no_answer), no_answer_after_s=fw.no_answer_after_s, email=u.email,
        record=u.record, outbound_caller_id=u.outbound_caller_id, ring=u.ring, ring_each_s=u.ring_each_s,
        devices=[UserDeviceRow(position=j, device=d) for j, d in enumerate(u.devices)],
        presence_rules=[PresenceRuleRow(position=j, status=PresenceStatus(r.status).value,
                                        target=target_to_text(r.target), applies_to=r.applies_to,
                                        announce=r.announce)
                        for j, r in enumerate(u.presence_rules)],
    )


# --- reading ----------------------------------------------------------------------------------


def _tenant_query() -> Select[tuple[TenantRow]]:
    # One SELECT per table for any number of tenants (selectin batches the parents' ids), and
    # populate_existing so rows the session already holds are refreshed, not served stale.
    return select(TenantRow).options(
        selectinload(TenantRow.numbers),
        selectinload(TenantRow.prompts),
        selectinload(TenantRow.schedules).selectinload(ScheduleRow.intervals),
        selectinload(TenantRow.schedules).selectinload(ScheduleRow.exceptions)
        .selectinload(ScheduleExceptionRow.intervals),
        selectinload(TenantRow.flows).selectinload(FlowRow.nodes),
        selectinload(TenantRow.users).selectinload(UserRow.devices),
        selectinload(TenantRow.users).selectinload(UserRow.presence_rules),
        selectinload(TenantRow.groups).selectinload(GroupRow.members),
        selectinload(TenantRow.queues).selectinload(QueueRow.members),
        selectinload(TenantRow.boxes).selectinload(VoicemailBoxRow.listeners),
    ).execution_options(populate_existing=True)


def _tenant_config(row: TenantRow) -> TenantConfig:
    return TenantConfig(
        key=row.key,
        name=row.name,
        timezone=row.timezone,
        language=row.language,
        version=row.config_version,
        numbers=tuple(_number(n) for n in row.numbers),
        flows=tuple(_flow(f) for f in row.flows),
        schedules=tuple(_schedule(s) for s in row.schedules),
        users=tuple(_user(u) for u in row.users),
        groups=tuple(_group(g) for g in row.groups),
        queues=tuple(_queue(q) for q in row.queues),
        boxes=tuple(_box(b) for b in row.boxes),
        prompts=tuple(_prompt(p) for p in row.prompts),
        fallback=target_from_text(row.fallback),
    )


def _number(row: NumberRow) -> NumberConfig:
    return NumberConfig(row.number, flow=row.flow_key, user=row.user_key, via=cast(Any, row.via), label=row.label,
                        record=row.record)


def _prompt(row: PromptRow) -> PromptConfig:
    return PromptConfig(row.key, row.name, row.language)


def _flow(row: FlowRow) -> Flow:
    return Flow(row.key, row.name, row.entry,
                tuple(node_from_params(n.kind, n.key, n.name, n.params) for n in row.nodes), row.version)


def _schedule(row: ScheduleRow) -> ScheduleConfig:
    weekly: list[list[Interval]] = [[] for _ in range(row.weekly_days)]
    for iv in row.intervals:
        weekly[iv.weekday].append(Interval(iv.start_min, iv.end_min))
    return ScheduleConfig(
        key=row.key,
        name=row.name,
        timezone=row.timezone,
        weekly=tuple(tuple(day) for day in weekly),
        exceptions=tuple(
            ScheduleException(e.day, tuple(Interval(iv.start_min, iv.end_min) for iv in e.intervals), e.name,
                              recurs_yearly=e.recurs_yearly, holiday=e.holiday)
            for e in row.exceptions),
        holidays=None if row.holiday_country is None else HolidayTemplate(
            row.holiday_country, tuple(row.holiday_categories or ()), tuple(row.holiday_exclude or ())),
        override=None if row.override_state is None else Override(
            ScheduleState(row.override_state), row.override_until, row.override_message or ""),
    )


def _user(row: UserRow) -> UserConfig:
    return UserConfig(
        key=row.key,
        name=row.name,
        extension=row.extension,
        kind=cast(Any, row.kind),
        fixed_number=row.fixed_number,
        mobile_number=row.mobile_number,
        devices=tuple(d.device for d in row.devices),
        voicemail=row.voicemail_box,
        forwarding=Forwarding(
            always=target_from_text(row.forward_always),
            on_busy=target_from_text(row.forward_on_busy),
            on_no_answer=target_from_text(row.forward_on_no_answer),
            no_answer_after_s=row.no_answer_after_s,
        ),
        presence_rules=tuple(PresenceRule(PresenceStatus(r.status), target_from_text(r.target),
                                          applies_to=cast(Any, r.applies_to), announce=r.announce)
                             for r in row.presence_rules),
        barred=frozenset(BarringClass(b) for b in row.barred),
        call_waiting=row.call_waiting,
        email=row.email,
        record=row.record,
        outbound_caller_id=row.outbound_caller_id,
        ring=cast(Any, row.ring),
        ring_each_s=row.ring_each_s,
    )


def _group(row: GroupRow) -> GroupConfig:
    return GroupConfig(row.key, row.name, tuple(GroupMember(m.user_key, m.ring_s) for m in row.members),
                       strategy=cast(Any, row.strategy), overflow_after_s=row.overflow_after_s,
                       overflow_when_empty=row.overflow_when_empty, waiting_prompt=row.waiting_prompt)


def _queue(row: QueueRow) -> QueueConfig:
    return QueueConfig(row.key, row.name, tuple(m.user_key for m in row.members), strategy=cast(Any, row.strategy),
                       wrapup_s=row.wrapup_s, announce_every_s=row.announce_every_s, callback_key=row.callback_key,
                       max_wait_s=row.max_wait_s, join_empty=row.join_empty, priority=row.priority,
                       callback_scheduled=row.callback_scheduled, callback_notify=tuple(row.callback_notify or ()),
                       record=row.record)


def _box(row: VoicemailBoxRow) -> VoicemailBoxConfig:
    return VoicemailBoxConfig(row.key, row.name, shared=row.shared,
                              listeners=tuple(listener.user_key for listener in row.listeners),
                              greeting=row.greeting, email=tuple(row.email), notify=tuple(row.notify or ()))


# --- what refers to what (for load_for_number) ----------------------------------------------


class _References:
    """Keys a configuration fragment refers to, by kind (the kinds of Target, plus schedule and prompt)."""

    def __init__(self) -> None:
        self.keys: dict[str, set[str]] = defaultdict(set)

    def add(self, kind: str, key: str | None) -> None:
        if key is not None:
            self.keys[kind].add(key)

    def target(self, target: Target | None) -> None:
        if target is not None and target.kind != "external":
            self.add(target.kind, target.ref)

    def node(self, node: Node) -> None:
        match node:
            case Announcement():
                self.add("prompt", node.prompt)
            case Menu():
                for prompt in (node.prompt, node.invalid_prompt, node.timeout_prompt):
                    self.add("prompt", prompt)
            case ScheduleSwitch():
                self.add("schedule", node.schedule)
            case GroupNode():
                self.add("group", node.group)
            case QueueNode():
                self.add("queue", node.queue)
            case VoicemailNode():
                self.add("voicemail", node.box)
            case UserNode():
                self.add("user", node.user)
            case CallbackNode():
                self.add("prompt", node.prompt)
                self.add("queue", node.queue)
            case HangupNode():
                self.add("prompt", node.prompt)
            case ServiceNode():
                self.add("voicemail", node.box)
                for user in node.users:
                    self.add("user", user)
                for prompt in node.prompts.values():
                    self.add("prompt", prompt)

    def user(self, user: UserConfig) -> None:
        self.add("voicemail", user.voicemail)
        for target in (user.forwarding.always, user.forwarding.on_busy, user.forwarding.on_no_answer):
            self.target(target)
        for rule in user.presence_rules:
            self.target(rule.target)

    def group(self, group: GroupConfig) -> None:
        for member in group.members:
            self.add("user", member.user)
        self.add("prompt", group.waiting_prompt)

    def queue(self, queue: QueueConfig) -> None:
        for key in queue.members:
            self.add("user", key)

    def box(self, box: VoicemailBoxConfig) -> None:
        # Listeners do not route calls, but a fragment naming users it lacks would not validate.
        for key in box.listeners:
            self.add("user", key)
        self.add("prompt", box.greeting)

    def nothing(self, _obj: object) -> None:
        pass


_Fetch = Callable[[int, Iterable[str]], Select[Any]]

# kind → (query for those keys of a tenant, row → config value, record what that value refers to).
# A short child list comes in the same query (joinedload); a second list of the same parent would
# multiply the rows, so that one gets its own query (selectinload).
_FETCH: dict[str, tuple[_Fetch, Callable[[Any], Any], Callable[[_References, Any], None]]] = {
    "schedule": (
        lambda tid, keys: select(ScheduleRow).where(ScheduleRow.tenant_id == tid, ScheduleRow.key.in_(keys)).options(
            joinedload(ScheduleRow.intervals),
            selectinload(ScheduleRow.exceptions).joinedload(ScheduleExceptionRow.intervals)),
        _schedule, _References.nothing),
    "user": (
        lambda tid, keys: select(UserRow).where(UserRow.tenant_id == tid, UserRow.key.in_(keys)).options(
            joinedload(UserRow.devices), selectinload(UserRow.presence_rules)),
        _user, _References.user),
    "group": (
        lambda tid, keys: select(GroupRow).where(GroupRow.tenant_id == tid, GroupRow.key.in_(keys)).options(
            joinedload(GroupRow.members)),
        _group, _References.group),
    "queue": (
        lambda tid, keys: select(QueueRow).where(QueueRow.tenant_id == tid, QueueRow.key.in_(keys)).options(
            joinedload(QueueRow.members)),
        _queue, _References.queue),
    "voicemail": (
        lambda tid, keys: select(VoicemailBoxRow).where(VoicemailBoxRow.tenant_id == tid,
                                                        VoicemailBoxRow.key.in_(keys)).options(
            joinedload(VoicemailBoxRow.listeners)),
        _box, _References.box),
    "prompt": (
        lambda tid, keys: select(PromptRow).where(PromptRow.tenant_id == tid, PromptRow.key.in_(keys)),
        _prompt, _References.nothing),
}


# =============================================================================================
# Flow versions: drafts, publishing, rolling back, and the versions calls in progress are on
# =============================================================================================

# How long a replaced flow version stays in the routing tables: a call lasts far less than this.
EARLIER_FLOWS_KEPT = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class FlowVersion:
    """A numbered version of a flow, or its draft (`version` None). `flow.version` is the number (0: draft)."""

    flow: Flow
    version: int | None
    at: datetime  # created (a version) or last saved (a draft)
    by: str
    based_on: int | None = None  # a draft: the version published when it was started


@dataclass(frozen=True, slots=True)
class Publication:
    """From `at`, `version` is what new calls get (None: the flow was deleted then)."""

    version: int | None
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class FlowHistory:
    """Everything about one flow: the version in force, the draft, every version and every publish."""

    key: str
    published: int | None
    draft: FlowVersion | None
    versions: tuple[FlowVersion, ...]
    publications: tuple[Publication, ...]
    numbers: tuple[tuple[str, int | None], ...]  # (number, account id) of each number pointing at the flow

    @property
    def current(self) -> FlowVersion | None:
        return next((v for v in self.versions if v.version == self.published), None)

    def version(self, number: int) -> FlowVersion:
        found = next((v for v in self.versions if v.version == number), None)
        if found is None:
            raise NotFound(f"flow {self.key!r} has no version {number}")
        return found


@dataclass(frozen=True, slots=True)
class FlowSummary:
    key: str
    name: str
    published: int | None
    published_at: datetime | None
    published_by: str | None
    draft_at: datetime | None  # when the draft was last saved; None: no draft
    draft_by: str | None
    versions: int
    numbers: tuple[tuple[str, int | None], ...]


@dataclass(frozen=True, slots=True)
class Published:
    key: str
    before: int | None  # the version in force before
    after: int  # the version in force now
    config_version: int


def _version_flow(row: FlowVersionRow | FlowDraftRow, version: int = 0) -> Flow:
    return Flow(row.flow_key, row.name, row.entry, nodes_from_json(row.nodes), version)


def _flow_versions(session: Session, tid: int, cfg: TenantConfig, live: Mapping[str, int] | None, by: str,
                   at: datetime) -> dict[str, int]:
    """The version number each of cfg's flows is stored as, recording new versions and publications.
    `live`: the versions in force before (None: a new tenant, which has no history to look up)."""
    in_force: dict[str, FlowVersionRow] = {}
    highest: dict[str, int] = {}
    if live is None:
        live = {}
    elif cfg.flows or live:
        in_force = {row.flow_key: row for row in session.scalars(
            select(FlowVersionRow).join(FlowRow, and_(FlowRow.tenant_id == FlowVersionRow.tenant_id,
                                                      FlowRow.key == FlowVersionRow.flow_key,
                                                      FlowRow.version == FlowVersionRow.version))
            .where(FlowRow.tenant_id == tid))}
        highest = _pairs(session, select(FlowVersionRow.flow_key, func.max(FlowVersionRow.version))
                         .where(FlowVersionRow.tenant_id == tid).group_by(FlowVersionRow.flow_key))
    numbers: dict[str, int] = {}
    for flow in cfg.flows:
        now_in_force = live.get(flow.key)
        if flow.version in (0, now_in_force):
            row = in_force.get(flow.key)
        else:
            row = session.scalar(select(FlowVersionRow).where(
                FlowVersionRow.tenant_id == tid, FlowVersionRow.flow_key == flow.key,
                FlowVersionRow.version == flow.version))
        top = highest.get(flow.key, 0)
        if row is not None and _version_flow(row) == flow:
            number = row.version
        else:
            # a flow numbered elsewhere keeps its number if it is free here; anything else is the next version
            number = flow.version if row is None and flow.version > top else top + 1
            session.add(FlowVersionRow(tenant_id=tid, flow_key=flow.key, version=number, name=flow.name,
                                       entry=flow.entry, nodes=nodes_to_json(flow.nodes), created_at=at,
                                       created_by=by))
            highest[flow.key] = max(top, number)
        if number != now_in_force:
            session.add(FlowPublicationRow(tenant_id=tid, flow_key=flow.key, version=number, at=at, by=by))
        numbers[flow.key] = number
    for key in sorted(set(live) - set(numbers)):
        session.add(FlowPublicationRow(tenant_id=tid, flow_key=key, version=None, at=at, by=by))
    return numbers


def _lock_tenant(session: Session, tenant: str) -> int:
    """The tenant's id, its row locked until the transaction ends: flow changes of one tenant go one at a time."""
    tid = session.scalar(select(TenantRow.id).where(TenantRow.key == tenant).with_for_update())
    if tid is None:
        raise NotFound(f"no tenant {tenant!r}")
    return tid


def _draft_row(session: Session, tid: int, key: str) -> FlowDraftRow | None:
    return session.scalar(select(FlowDraftRow).where(FlowDraftRow.tenant_id == tid, FlowDraftRow.flow_key == key))


def _draft(row: FlowDraftRow) -> FlowVersion:
    return FlowVersion(_version_flow(row), None, row.updated_at, row.updated_by, row.based_on)


def list_flows(session: Session, tenant: str) -> list[FlowSummary]:
    """The tenant's flows: those in force and those that exist only as a draft (new, not yet published)."""
    tid = tenant_id(session, tenant)
    live = {key: (name, version) for key, name, version in session.execute(
        select(FlowRow.key, FlowRow.name, FlowRow.version).where(FlowRow.tenant_id == tid))}
    drafts = {row.flow_key: row for row in session.scalars(select(FlowDraftRow).where(FlowDraftRow.tenant_id == tid))}
    last: dict[str, tuple[datetime, str]] = {}
    counts: dict[str, int] = defaultdict(int)
    for key, at, by in session.execute(
            select(FlowPublicationRow.flow_key, FlowPublicationRow.at, FlowPublicationRow.by)
            .where(FlowPublicationRow.tenant_id == tid).order_by(FlowPublicationRow.at, FlowPublicationRow.id)):
        last[key] = (at, by)
    for key, n in session.execute(select(FlowVersionRow.flow_key, func.count()).where(
            FlowVersionRow.tenant_id == tid).group_by(FlowVersionRow.flow_key)):
        counts[key] = n
    numbers: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    for number, flow_key, account_id in session.execute(
            select(NumberRow.number, NumberRow.flow_key, NumberRow.account_id)
            .where(NumberRow.tenant_id == tid, NumberRow.flow_key.is_not(None)).order_by(NumberRow.position)):
        numbers[flow_key].append((number, account_id))
    out = []
    for key in sorted(set(live) | set(drafts)):
        draft = drafts.get(key)
        name, version = live[key] if key in live else (draft.name if draft else key, None)
        published = last.get(key) if version is not None else None
        out.append(FlowSummary(key, name, version, published[0] if published else None,
                               published[1] if published else None, draft.updated_at if draft else None,
                               draft.updated_by if draft else None, counts[key], tuple(numbers[key])))
    return out


def flow_history(session: Session, tenant: str, key: str) -> FlowHistory:
    """One flow's versions, draft and publications; NotFound unless it is in force or has a draft."""
    tid = tenant_id(session, tenant)
    published = session.scalar(select(FlowRow.version).where(FlowRow.tenant_id == tid, FlowRow.key == key))
    draft = _draft_row(session, tid, key)
    if published is None and draft is None:
        raise NotFound(f"tenant {tenant!r} has no flow {key!r}")
    versions = tuple(FlowVersion(_version_flow(row, row.version), row.version, row.created_at, row.created_by)
                     for row in session.scalars(select(FlowVersionRow).where(
                         FlowVersionRow.tenant_id == tid, FlowVersionRow.flow_key == key)
                         .order_by(FlowVersionRow.version)))
    publications = tuple(Publication(row.version, row.at, row.by) for row in session.scalars(
        select(FlowPublicationRow).where(FlowPublicationRow.tenant_id == tid, FlowPublicationRow.flow_key == key)
        .order_by(FlowPublicationRow.at, FlowPublicationRow.id)))
    numbers = tuple(session.execute(select(NumberRow.number, NumberRow.account_id).where(
        NumberRow.tenant_id == tid, NumberRow.flow_key == key).order_by(NumberRow.position)).tuples())
    return FlowHistory(key, published, _draft(draft) if draft else None, versions, publications, numbers)


def save_draft(session: Session, tenant: str, flow: Flow, *, by: str, at: datetime,
               new: bool = False) -> tuple[FlowVersion | None, FlowVersion]:
    """Create or replace the draft of `flow.key`; returns (draft before, draft after). `new`: the flow must not
    exist yet (Conflict otherwise); else it must (NotFound otherwise). Nothing is validated or published here."""
    with session.begin_nested():
        tid = _lock_tenant(session, tenant)
        published = session.scalar(select(FlowRow.version).where(FlowRow.tenant_id == tid, FlowRow.key == flow.key))
        row = _draft_row(session, tid, flow.key)
        if new and (published is not None or row is not None):
            raise Conflict(f"flow {flow.key!r} already exists")
        if not new and published is None and row is None:
            raise NotFound(f"tenant {tenant!r} has no flow {flow.key!r}")
        before = _draft(row) if row is not None else None
        if row is None:
            row = FlowDraftRow(tenant_id=tid, flow_key=flow.key, based_on=published)
            session.add(row)
        row.name, row.entry, row.nodes = flow.name, flow.entry, nodes_to_json(flow.nodes)
        row.updated_at, row.updated_by = at, by
        session.flush()
        return before, _draft(row)


def delete_draft(session: Session, tenant: str, key: str) -> FlowVersion | None:
    """Throw the draft away; returns it, or None when there was none."""
    with session.begin_nested():
        tid = _lock_tenant(session, tenant)
        row = _draft_row(session, tid, key)
        if row is None:
            return None
        gone = _draft(row)
        session.delete(row)
        session.flush()
        return gone


def publish_flow(session: Session, tenant: str, key: str, version: int | None = None, *, by: str,
                 at: datetime) -> Published:
    """Put the draft (`version` None) or an earlier version of flow `key` in force: one new configuration version
    of the tenant, in the caller's transaction. A published draft becomes the next version number and is gone
    as a draft. Raises NotFound, Conflict (that version is already in force, or the draft changes nothing) and
    InvalidConfig (the tenant's configuration with it would not be valid: nothing is written)."""
    with session.begin_nested():
        tid = _lock_tenant(session, tenant)
        current = load_tenant(session, tenant)
        live = next((f for f in current.flows if f.key == key), None)
        draft = _draft_row(session, tid, key) if version is None else None
        if version is None:
            if draft is None:
                raise NotFound(f"flow {key!r} has no draft")
            flow = _version_flow(draft)
            if live is not None and flow == live:
                raise Conflict(f"the draft of flow {key!r} is the same as version {live.version}, which is in force")
        else:
            row = session.scalar(select(FlowVersionRow).where(
                FlowVersionRow.tenant_id == tid, FlowVersionRow.flow_key == key, FlowVersionRow.version == version))
            if row is None:
                raise NotFound(f"flow {key!r} has no version {version}")
            if live is not None and live.version == version:
                raise Conflict(f"version {version} of flow {key!r} is already in force")
            flow = _version_flow(row, version)
        new = replace(current.with_flow(flow), version=current.version + 1)
        problems = validate_tenant(new)
        if problems:
            raise InvalidConfig(problems)
        save_tenant(session, new, by=by, at=at)
        if draft is not None:
            session.delete(draft)
        after = session.scalar(select(FlowRow.version).where(FlowRow.tenant_id == tid, FlowRow.key == key))
        assert after is not None
        session.flush()
        return Published(key, live.version if live is not None else None, after, new.version)


def delete_flow(session: Session, tenant: str, key: str, *, by: str, at: datetime) -> FlowHistory:
    """Take flow `key` out of the configuration (a new version of it) and drop its draft; its versions stay
    (calls on them finish). Conflict while a number points at it. Returns the flow as it was."""
    with session.begin_nested():
        tid = _lock_tenant(session, tenant)
        history = flow_history(session, tenant, key)
        if history.numbers:
            pointing = ", ".join(number for number, _ in history.numbers)
            raise Conflict(f"flow {key!r} is where {pointing} lead{'s' if len(history.numbers) == 1 else ''}: "
                           "point them elsewhere first")
        if history.published is not None:
            current = load_tenant(session, tenant)
            save_tenant(session, replace(current.without_flow(key), version=current.version + 1), by=by, at=at)
        session.execute(delete(FlowDraftRow).where(FlowDraftRow.tenant_id == tid, FlowDraftRow.flow_key == key))
        session.flush()
        return history


def load_earlier_flows(session: Session, since: datetime) -> dict[str, tuple[Flow, ...]]:
    """By tenant key: the flow versions that were in force at some moment after `since` but are not now (a
    call that started on one may still be in progress). One pass over the publications of flows published
    since then."""
    recent = (select(FlowPublicationRow.tenant_id, FlowPublicationRow.flow_key)
              .where(FlowPublicationRow.at >= since).distinct().subquery())
    on_recent = and_(FlowPublicationRow.tenant_id == recent.c.tenant_id,
                     FlowPublicationRow.flow_key == recent.c.flow_key)
    ends: dict[tuple[int, str, int], datetime] = {}
    previous: dict[tuple[int, str], int | None] = {}
    for tid, key, version, at in session.execute(
            select(FlowPublicationRow.tenant_id, FlowPublicationRow.flow_key, FlowPublicationRow.version,
                   FlowPublicationRow.at).join(recent, on_recent)
            .order_by(FlowPublicationRow.tenant_id, FlowPublicationRow.flow_key, FlowPublicationRow.at,
                      FlowPublicationRow.id)):
        before = previous.get((tid, key))
        if before is not None:
            ends[(tid, key, before)] = at  # `before` was in force until now
        previous[(tid, key)] = version
    keep = {(tid, key, version) for (tid, key, version), end in ends.items()
            if end >= since and version != previous[(tid, key)]}
    if not keep:
        return {}
    found: dict[str, list[Flow]] = defaultdict(list)
    on_versions = and_(FlowVersionRow.tenant_id == recent.c.tenant_id, FlowVersionRow.flow_key == recent.c.flow_key)
    for row, tenant in session.execute(
            select(FlowVersionRow, TenantRow.key).join(recent, on_versions)
            .join(TenantRow, TenantRow.id == FlowVersionRow.tenant_id)
            .order_by(FlowVersionRow.flow_key, FlowVersionRow.version)).tuples():
        if (row.tenant_id, row.flow_key, row.version) in keep:
            found[tenant].append(_version_flow(row, row.version))
    return {tenant: tuple(flows) for tenant, flows in found.items()}


# =============================================================================================
# Accounts
# =============================================================================================


class UnknownTenant(NotFound):
    """A tenant key the database does not hold."""


def tenant_id(session: Session, tenant: str) -> int:
    """The id of the tenant `tenant`; UnknownTenant (a NotFound) if the database does not hold it."""
    tid = session.scalar(select(TenantRow.id).where(TenantRow.key == tenant))
    if tid is None:
        raise UnknownTenant(f"no tenant {tenant!r}")
    return tid


def _insert_accounts(session: Session, tid: int, cfg: TenantConfig,
                     accounts: Sequence[Account]) -> tuple[dict[str, int], dict[str, int]]:
    """Insert a whole account tree; returns which account each number and user belongs to."""
    by_key = {a.key: a for a in accounts}
    if len(by_key) != len(accounts):
        raise ValueError("two accounts have the same key")
    roots = [a.key for a in accounts if a.parent is None]
    if accounts and len(roots) != 1:
        raise ValueError(f"an account tree has exactly one main account (no parent), not {len(roots)}")
    for a in accounts:
        seen = {a.key}
        parent = a.parent
        while parent is not None:
            if parent not in by_key:
                raise ValueError(f"account {a.key!r}: parent {parent!r} is not in the tree")
            if parent in seen:
                raise ValueError(f"account {a.key!r}: its parents form a cycle")
            seen.add(parent)
            parent = by_key[parent].parent
    numbers = {n.number for n in cfg.numbers}
    users = {u.key for u in cfg.users}
    for a in accounts:
        if missing := sorted(set(a.numbers) - numbers):
            raise ValueError(f"account {a.key!r}: numbers {missing} are not in the configuration")
        if missing := sorted(set(a.users) - users):
            raise ValueError(f"account {a.key!r}: users {missing} are not in the configuration")
    rows = {a.key: AccountRow(tenant_id=tid, key=a.key, name=a.name, position=i) for i, a in enumerate(accounts)}
    for a in accounts:
        rows[a.key].parent = rows[a.parent] if a.parent is not None else None
    session.add_all(rows.values())
    session.flush()  # the unit of work inserts parents before children
    number_accounts = {n: rows[a.key].id for a in accounts for n in a.numbers}
    user_accounts = {u: rows[a.key].id for a in accounts for u in a.users}
    return number_accounts, user_accounts


def add_account(session: Session, tenant: str, key: str, name: str, parent: str | None = None) -> None:
    """Add an account under `parent`, or the tenant's main account when `parent` is None."""
    with session.begin_nested():
        tid = tenant_id(session, tenant)
        parent_id: int | None = None
        if parent is None:
            if session.scalar(select(AccountRow.id).where(AccountRow.tenant_id == tid,
                                                          AccountRow.parent_id.is_(None))) is not None:
                raise ValueError(f"tenant {tenant!r} already has a main account")
        else:
            parent_id = session.scalar(select(AccountRow.id).where(AccountRow.tenant_id == tid,
                                                                   AccountRow.key == parent))
            if parent_id is None:
                raise NotFound(f"tenant {tenant!r} has no account {parent!r}")
        position = session.scalar(select(func.count()).select_from(AccountRow).where(AccountRow.tenant_id == tid))
        session.add(AccountRow(tenant_id=tid, parent_id=parent_id, key=key, name=name, position=position or 0))
        session.flush()


def assign_account(session: Session, tenant: str, account: str, *, numbers: Iterable[str] = (),
                   users: Iterable[str] = ()) -> None:
    """Put numbers and users (of the tenant's current configuration) into `account`; all or nothing."""
    numbers, users = set(numbers), set(users)
    with session.begin_nested():
        tid = tenant_id(session, tenant)
        account_id = session.scalar(select(AccountRow.id).where(AccountRow.tenant_id == tid,
                                                                AccountRow.key == account))
        if account_id is None:
            raise NotFound(f"tenant {tenant!r} has no account {account!r}")
        for row_type, column, wanted in ((NumberRow, NumberRow.number, numbers), (UserRow, UserRow.key, users)):
            if not wanted:
                continue
            done = session.execute(update(row_type).where(row_type.tenant_id == tid, column.in_(wanted))
                                   .values(account_id=account_id).returning(column)).scalars().all()
            if missing := sorted(wanted - set(done)):
                raise NotFound(f"tenant {tenant!r} has no {row_type.__tablename__} {missing}")


def load_accounts(session: Session, tenant: str) -> tuple[Account, ...]:
    """The tenant's accounts, flat and in insertion order: the form save_tenant(accounts=…) takes."""
    tid = tenant_id(session, tenant)
    rows = session.execute(
        select(AccountRow.id, AccountRow.key, AccountRow.name, AccountRow.parent_id)
        .where(AccountRow.tenant_id == tid).order_by(AccountRow.position, AccountRow.id)).all()
    key_of = {row.id: row.key for row in rows}
    numbers: dict[int, list[str]] = defaultdict(list)
    for number, account_id in session.execute(
            select(NumberRow.number, NumberRow.account_id)
            .where(NumberRow.tenant_id == tid, NumberRow.account_id.is_not(None)).order_by(NumberRow.position)):
        numbers[account_id].append(number)
    users: dict[int, list[str]] = defaultdict(list)
    for user, account_id in session.execute(
            select(UserRow.key, UserRow.account_id)
            .where(UserRow.tenant_id == tid, UserRow.account_id.is_not(None)).order_by(UserRow.position)):
        users[account_id].append(user)
    return tuple(Account(row.key, row.name, key_of.get(row.parent_id) if row.parent_id is not None else None,
                         tuple(numbers[row.id]), tuple(users[row.id])) for row in rows)


def account_tree(session: Session, tenant: str) -> AccountNode | None:
    """The tenant's main account with its sub-accounts nested, or None if it has no accounts."""
    accounts = load_accounts(session, tenant)
    children: dict[str | None, list[Account]] = defaultdict(list)
    for a in accounts:
        children[a.parent].append(a)

    def build(a: Account) -> AccountNode:
        return AccountNode(a.key, a.name, a.numbers, a.users, tuple(build(c) for c in children[a.key]))

    roots = children[None]
    return build(roots[0]) if roots else None


# =============================================================================================
# Presence
# =============================================================================================


def set_presence(session: Session, tenant: str, user: str, entry: PresenceEntry) -> None:
    """Record a presence period (now or planned ahead); one starting at the same instant is replaced."""
    with session.begin_nested():
        tid = tenant_id(session, tenant)
        if session.scalar(select(UserRow.id).where(UserRow.tenant_id == tid, UserRow.key == user)) is None:
            raise NotFound(f"tenant {tenant!r} has no user {user!r}")
        session.execute(delete(PresenceEntryRow).where(
            PresenceEntryRow.tenant_id == tid, PresenceEntryRow.user_key == user,
            PresenceEntryRow.starts_at == entry.start))
        session.add(PresenceEntryRow(tenant_id=tid, user_key=user, status=PresenceStatus(entry.status).value,
                                     starts_at=entry.start, ends_at=entry.end, message=entry.message))
        session.flush()


def clear_presence(session: Session, tenant: str, user: str, start: datetime | None = None) -> int:
    """Remove the user's presence period starting at `start`, or all of them; returns how many went."""
    with session.begin_nested():
        tid = tenant_id(session, tenant)
        query = delete(PresenceEntryRow).where(PresenceEntryRow.tenant_id == tid, PresenceEntryRow.user_key == user)
        if start is not None:
            query = query.where(PresenceEntryRow.starts_at == start)
        removed = session.execute(query.returning(PresenceEntryRow.id)).scalars().all()
    return len(removed)


def load_presence(session: Session, tenant: str | None = None) -> dict[tuple[str, str], tuple[PresenceEntry, ...]]:
    """Presence periods by (tenant key, user key), each user's in order of start (all tenants by default)."""
    query = (select(TenantRow.key, PresenceEntryRow.user_key, PresenceEntryRow.status, PresenceEntryRow.starts_at,
                    PresenceEntryRow.ends_at, PresenceEntryRow.message)
             .join(TenantRow, TenantRow.id == PresenceEntryRow.tenant_id)
             .order_by(TenantRow.key, PresenceEntryRow.user_key, PresenceEntryRow.starts_at, PresenceEntryRow.id))
    if tenant is not None:
        query = query.where(TenantRow.key == tenant)
    grouped: dict[tuple[str, str], list[PresenceEntry]] = defaultdict(list)
    for tenant_key, user_key, status, start, end, message in session.execute(query):
        grouped[(tenant_key, user_key)].append(PresenceEntry(PresenceStatus(status), start, end, message))
    return {key: tuple(entries) for key, entries in grouped.items()}


def config_stamp(session: Session) -> str:
    """A cheap fingerprint of every tenant's published configuration: it changes on each save or
    delete, so a controller polling it knows when to recompile its routing table."""
    rows = session.execute(select(TenantRow.key, TenantRow.config_version, TenantRow.updated_at)
                           .order_by(TenantRow.key)).all()
    return ";".join(f"{key}:{version}:{updated}" for key, version, updated in rows)
