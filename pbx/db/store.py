"""Tenant configuration, account trees and presence periods in SQL: save and load, both ways without loss.

Transactions belong to the caller: nothing here commits. Writes run in a SAVEPOINT, so a write
that fails leaves the caller's transaction usable and the previous data untouched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from pbx.db.codec import node_from_params, node_to_params, target_from_text, target_to_text
from pbx.db.models import (
    CONFIG_TABLES,
    AccountRow,
    Base,
    FlowNodeRow,
    FlowRow,
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


class NotFound(LookupError):
    """A tenant, user, account or number that the database does not hold."""


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


def save_tenant(session: Session, cfg: TenantConfig, accounts: Sequence[Account] | None = None) -> None:
    """Insert or replace the whole configuration of tenant `cfg.key`, atomically.

    The version stored is `cfg.version`; nothing is bumped here. `accounts`, when given, replaces
    the tenant's account tree and says which numbers and users belong to which account; when
    None, the tree is kept and numbers and users stay in the accounts they were in (by number
    and user key). Prompt audio paths and presence periods are kept too.
    """
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
        else:
            session.execute(update(table).where(table.c.id == tid).values(**values))
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
        session.add_all(_config_rows(tid, cfg, number_accounts, user_accounts, prompt_files))
        session.flush()
    _forget_tenant(session, tid)


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
                 prompt_files: Mapping[str, str]) -> list[Base]:
    rows: list[Base] = []
    rows += [NumberRow(tenant_id=tid, position=i, number=n.number, flow_key=n.flow, user_key=n.user, via=n.via,
                       label=n.label, account_id=number_accounts.get(n.number), record=n.record)
             for i, n in enumerate(cfg.numbers)]
    rows += [PromptRow(tenant_id=tid, position=i, key=p.key, name=p.name, language=p.language,
                       file_path=prompt_files.get(p.key))
             for i, p in enumerate(cfg.prompts)]
    rows += [_schedule_row(tid, i, s) for i, s in enumerate(cfg.schedules)]
    rows += [FlowRow(tenant_id=tid, position=i, key=f.key, name=f.name, entry=f.entry,
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
        record=u.record,
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
                tuple(node_from_params(n.kind, n.key, n.name, n.params) for n in row.nodes))


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
# Accounts
# =============================================================================================


def _tenant_id(session: Session, tenant: str) -> int:
    tid = session.scalar(select(TenantRow.id).where(TenantRow.key == tenant))
    if tid is None:
        raise NotFound(f"no tenant {tenant!r}")
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
        tid = _tenant_id(session, tenant)
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
        tid = _tenant_id(session, tenant)
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
    tid = _tenant_id(session, tenant)
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
        tid = _tenant_id(session, tenant)
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
        tid = _tenant_id(session, tenant)
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
