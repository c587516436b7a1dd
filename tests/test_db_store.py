"""The configuration store on SQLite and PostgreSQL: exact round trips, isolation, atomic replace, migrations."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, func, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from pbx.db import (
    Account,
    AccountNode,
    NotFound,
    account_tree,
    add_account,
    assign_account,
    clear_presence,
    delete_tenant,
    load_accounts,
    load_all,
    load_for_number,
    load_presence,
    load_tenant,
    make_engine,
    migrate,
    save_tenant,
    set_presence,
)
from pbx.db.codec import node_from_params, node_to_params
from pbx.db.models import Base, FlowNodeRow, PresenceRuleRow, ScheduleExceptionIntervalRow, UserDeviceRow
from pbx.routing.model import (
    Announcement,
    BarringClass,
    CallbackNode,
    ExternalNode,
    Flow,
    Forwarding,
    GroupConfig,
    GroupMember,
    GroupNode,
    HangupNode,
    Menu,
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
    parse_intervals,
    weekly_hours,
)
from pbx.routing.validate import validate_tenant

ROOT = Path(__file__).resolve().parent.parent
STOCKHOLM = ZoneInfo("Europe/Stockholm")
MAIN = "+46812345600"
JOUR = "+46812345699"
ANNA_MOBILE = "+46701111111"
ANNAT = "+46851234500"

# --- the configurations under test -----------------------------------------------------------


def rich() -> TenantConfig:
    """Exempel AB with every node kind and every optional field set somewhere (and left default elsewhere)."""
    weekday = "08:00-12:00,12:45-17:00"
    kontorstid = ScheduleConfig(
        key="kontorstid",
        name="Kontorstid",
        timezone="Europe/Stockholm",
        weekly=weekly_hours({"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday,
                             "fri": "08:00-12:00,12:45-15:00"}),
        exceptions=(
            ScheduleException(date(2026, 12, 23), parse_intervals("08:00-12:00"), "Dagen före julafton"),
            ScheduleException(date(2026, 8, 14), (), "Kick-off", holiday=True),
            ScheduleException(date(2000, 4, 30), parse_intervals("08:00-10:00,10:30-13:00"), "Valborg",
                              recurs_yearly=True),
        ),
        holidays=HolidayTemplate("SE", ("public", "de_facto"), exclude=("12-26",)),
        override=Override(ScheduleState.CLOSED, datetime(2026, 6, 19, 17, 0, tzinfo=STOCKHOLM), "Personalfest"),
    )
    jour = ScheduleConfig("jour", "Jour", "Europe/Helsinki", weekly=((Interval(0, 1440),),) * 7,
                          override=Override(ScheduleState.OPEN, None))
    users = (
        UserConfig("anna", "Anna Andersson", extension="201", kind="both", fixed_number="+46812345601",
                   mobile_number=ANNA_MOBILE, devices=("PJSIP/anna", "PJSIP/anna-softphone"), voicemail="anna",
                   forwarding=Forwarding(on_busy=Target("voicemail", "anna"), on_no_answer=Target("user", "bjorn"),
                                         no_answer_after_s=15),
                   presence_rules=(PresenceRule(PresenceStatus.LUNCH, Target("group", "salj"), applies_to="fixed"),
                                   PresenceRule(PresenceStatus.VACATION, None, applies_to="mobile", announce=False)),
                   barred=frozenset({BarringClass.INTERNATIONAL, BarringClass.PREMIUM}), call_waiting=True),
        UserConfig("bjorn", "Björn Berg", extension="202", devices=("PJSIP/bjorn",)),
        UserConfig("cecilia", "Cecilia Ek", extension="203"),
        UserConfig("david", "David Dahl", extension="301", devices=("PJSIP/david",)),
        UserConfig("eva", "Eva Ström", extension="302",
                   forwarding=Forwarding(always=Target("external", "+46701234567"))),
        UserConfig("asa", "Åsa Öberg", extension="100", fixed_number="+46812345610",
                   presence_rules=(PresenceRule(PresenceStatus.LUNCH, Target("user", "david")),),
                   forwarding=Forwarding(on_no_answer=Target("voicemail", "vaxel"), no_answer_after_s=25)),
        UserConfig("olle", "Olle Östlund", extension="401", voicemail="olle", barred=frozenset(BarringClass),
                   presence_rules=(PresenceRule(PresenceStatus.MEETING, Target("queue", "support")),)),
        UserConfig("praktikant", "Pia Praktikant", kind="mobile", mobile_number="+46709999999"),
    )
    huvud = Flow("huvud", "Stockholm huvudnummer", "valkommen", (
        Announcement("valkommen", "welcome", "oppet", name="Välkommen"),
        ScheduleSwitch("oppet", "kontorstid", open="meny", closed="stangt", holiday="helg", override="stangt",
                       name="Kontorstid?"),
        # Choices deliberately out of key order: the order is the administrator's, and must survive.
        Menu("meny", "huvudmeny", {"1": "salj", "2": "support", "3": "ekonomi", "0": "reception", "9": "extern",
                                   "*": "callback", "#": "lagg-pa"},
             timeout_next="support", invalid_next="support", timeout_s=7, attempts=2, invalid_prompt=None,
             name="Huvudmeny"),
        GroupNode("salj", "salj", overflow="vm-salj", name="Sälj"),
        QueueNode("support", "support", overflow="vm-support"),
        VoicemailNode("ekonomi", "ekonomi", name="Ekonomi"),
        UserNode("reception", "asa", next="vm-vaxel", name="Växeln"),
        ExternalNode("extern", "+46317654300", next="vm-vaxel"),
        CallbackNode("callback", queue="support", next="tack"),
        HangupNode("tack", "callback-confirm"),
        HangupNode("lagg-pa"),
        Announcement("stangt", "closed", "vm-vaxel", name="Vi har stängt"),
        Announcement("helg", "holiday", "vm-vaxel"),
        VoicemailNode("vm-salj", "salj"),
        VoicemailNode("vm-support", "support"),
        VoicemailNode("vm-vaxel", "vaxel"),
    ))
    jour_flow = Flow("jour", "Jour", "jour-schema", (
        ScheduleSwitch("jour-schema", "jour", open="vip", closed="mobil"),
        QueueNode("vip", "vip", overflow="mobil"),
        UserNode("mobil", "anna", via="mobile", next="vm-anna"),
        VoicemailNode("vm-anna", "anna"),
    ))
    services = Flow("tjanster", "Tjänster", "tjanster-meny", (
        Menu("tjanster-meny", "welcome", {"1": "lyssna", "2": "spela-in"}, timeout_next="lyssna",
             invalid_next="lyssna"),
        ServiceNode("lyssna", "voicemail", name="Röstbrevlådan"),
        ServiceNode("spela-in", "prompts", users=("asa", "anna"), prompts={"1": "huvudmeny", "20": "halsning-salj"}),
    ))
    return TenantConfig(
        key="exempel",
        name="Exempel AB",
        timezone="Europe/Stockholm",
        language="sv",
        version=7,
        numbers=(
            NumberConfig(MAIN, flow="huvud", label="Stockholm"),
            NumberConfig(JOUR, flow="jour", label="Jour"),
            NumberConfig("+46812345601", user="anna", label="Anna direkt"),
            NumberConfig(ANNA_MOBILE, user="anna", via="mobile", label="Anna mobil"),
        ),
        flows=(huvud, jour_flow, services),
        schedules=(kontorstid, jour),
        users=users,
        groups=(
            GroupConfig("salj", "Sälj", (GroupMember("anna", 20), GroupMember("bjorn", 15), GroupMember("cecilia")),
                        waiting_prompt="vantmusik"),
            GroupConfig("alla", "Alla", (GroupMember("praktikant"), GroupMember("david"), GroupMember("eva")),
                        strategy="parallel", overflow_after_s=30, overflow_when_empty=False),
        ),
        queues=(
            QueueConfig("support", "Support", ("david", "eva"), callback_key="1"),
            QueueConfig("vip", "VIP", ("olle", "anna"), strategy="priority", wrapup_s=0, announce_every_s=60,
                        max_wait_s=120, join_empty=True, priority=5),
        ),
        boxes=(
            VoicemailBoxConfig("salj", "Sälj", listeners=("anna", "bjorn", "cecilia"), greeting="halsning-salj",
                               email=("salj@exempel.se",)),
            VoicemailBoxConfig("support", "Support", listeners=("david", "eva")),
            VoicemailBoxConfig("ekonomi", "Ekonomi", listeners=("olle",)),
            VoicemailBoxConfig("vaxel", "Växel", listeners=("asa", "anna")),
            VoicemailBoxConfig("olle", "Olle Östlund", shared=False, listeners=("olle",)),
            VoicemailBoxConfig("anna", "Anna Andersson", shared=False, listeners=("anna",),
                               email=("anna@exempel.se", "anna@example.com")),
        ),
        prompts=(
            PromptConfig("huvudmeny", "Tryck 1 för försäljning, 2 för support, 3 för ekonomi, 0 för växeln"),
            PromptConfig("welcome-en", "Welcome to Exempel", language="en"),
            PromptConfig("vantmusik", "Väntmusik"),
            PromptConfig("halsning-salj", "Hälsning Sälj"),
        ),
        fallback=Target("voicemail", "vaxel"),
    )


def annat() -> TenantConfig:
    """The second tenant, deliberately reusing Exempel's per-tenant keys with different content."""
    return TenantConfig(
        key="annat",
        name="Annat AB",
        timezone="Europe/Oslo",
        language="en",
        numbers=(NumberConfig(ANNAT, flow="huvud", label="main number"),),
        flows=(Flow("huvud", "Enkel", "hej", (
            Announcement("hej", "huvudmeny", "oppet"),
            ScheduleSwitch("oppet", "kontorstid", open="anna", closed="vaxel"),
            UserNode("anna", "anna", next="vaxel"),
            VoicemailNode("vaxel", "vaxel"),
        )),),
        schedules=(ScheduleConfig("kontorstid", "Dagtid", "Europe/Oslo", weekly_hours({"mon": "09:00-16:00"})),),
        users=(UserConfig("anna", "Anna Annat", extension="10"),),
        groups=(GroupConfig("salj", "Sales", (GroupMember("anna"),)),),
        queues=(QueueConfig("support", "Support", ("anna",)),),
        boxes=(VoicemailBoxConfig("vaxel", "Info"),),
        prompts=(PromptConfig("huvudmeny", "Hello", language="en"),),
    )


def save(session: Session, *configs: TenantConfig) -> None:
    for cfg in configs:
        save_tenant(session, cfg)
    session.commit()


def fresh(engine: Engine) -> Session:
    """A second session: what another controller instance would read."""
    return Session(engine)


@contextmanager
def counting_queries(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count(session: Session, row_type: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(row_type)) or 0


# --- the fixtures themselves are sound --------------------------------------------------------


def test_fixture_configurations_are_valid_and_use_every_node_kind() -> None:
    assert validate_tenant(rich()) == []
    assert validate_tenant(annat()) == []
    assert {node.kind for flow in rich().flows for node in flow.nodes} == set(NodeKind)


# --- codec (no database) ----------------------------------------------------------------------


@pytest.mark.parametrize("node", [n for f in rich().flows for n in f.nodes], ids=lambda n: f"{n.kind}-{n.key}")
def test_every_node_kind_survives_json(node: object) -> None:
    params = json.loads(json.dumps(node_to_params(node)))  # type: ignore[arg-type]
    assert node_from_params(node.kind, node.key, node.name, params) == node  # type: ignore[attr-defined]


def test_menu_choices_keep_their_order_through_the_codec() -> None:
    menu = next(n for n in rich().flows[0].nodes if isinstance(n, Menu))
    back = node_from_params("menu", menu.key, menu.name, json.loads(json.dumps(node_to_params(menu))))
    assert isinstance(back, Menu)
    assert list(back.choices) == ["1", "2", "3", "0", "9", "*", "#"]


def test_codec_refuses_unknown_kinds_and_fields() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        node_from_params("teleport", "x", "", {})
    with pytest.raises(ValueError, match="unknown fields"):
        node_from_params("hangup", "x", "", {"prompt": None, "colour": "red"})


# --- round trips ------------------------------------------------------------------------------


def test_rich_tenant_round_trips_exactly(session: Session, engine: Engine) -> None:
    cfg = rich()
    save(session, cfg)
    assert load_tenant(session, "exempel") == cfg
    with fresh(engine) as other:
        loaded = load_tenant(other, "exempel")
    assert loaded == cfg
    # Field by field too, so a failure names the field rather than dumping two whole tenants.
    for f in dataclasses.fields(cfg):
        assert getattr(loaded, f.name) == getattr(cfg, f.name), f.name
    menu = loaded.flows[0].nodes[2]
    assert isinstance(menu, Menu) and list(menu.choices) == ["1", "2", "3", "0", "9", "*", "#"]
    assert [u.key for u in loaded.users] == [u.key for u in cfg.users]


def test_instants_come_back_as_the_same_instant_in_utc(session: Session) -> None:
    save(session, rich())
    override = load_tenant(session, "exempel").schedules[0].override
    assert override is not None and override.until is not None
    assert override.until == datetime(2026, 6, 19, 15, 0, tzinfo=UTC)
    assert override.until.utcoffset() is not None and override.until.tzinfo == UTC


def test_saving_again_replaces_the_whole_configuration(session: Session, engine: Engine) -> None:
    cfg = rich()
    save(session, cfg)
    smaller = dataclasses.replace(
        cfg, version=8, name="Exempel Aktiebolag", numbers=cfg.numbers[1:], flows=cfg.flows[1:2],
        schedules=cfg.schedules[::-1], users=cfg.users[::-1], prompts=cfg.prompts[:1], fallback=None)
    save(session, smaller)
    with fresh(engine) as other:
        assert load_tenant(other, "exempel") == smaller
        # The replaced rows' children went with them: no leftovers from the old flows or users.
        assert count(other, FlowNodeRow) == len(smaller.flows[0].nodes)
        assert count(other, UserDeviceRow) == sum(len(u.devices) for u in smaller.users)
        assert count(other, PresenceRuleRow) == sum(len(u.presence_rules) for u in smaller.users)
        assert count(other, ScheduleExceptionIntervalRow) == 3


def test_two_tenants_with_the_same_keys_stay_apart(session: Session, engine: Engine) -> None:
    save(session, rich(), annat())
    with fresh(engine) as other:
        assert load_tenant(other, "annat") == annat()
        assert load_tenant(other, "exempel") == rich()
        assert load_all(other) == [annat(), rich()]
        fragment = load_for_number(other, ANNAT)
        assert fragment is not None and fragment.name == "Annat AB"
        assert fragment.users == annat().users and fragment.flows == annat().flows
    assert delete_tenant(session, "annat") is True
    session.commit()
    with fresh(engine) as other:
        assert load_all(other) == [rich()]
        assert load_for_number(other, ANNAT) is None
        with pytest.raises(NotFound):
            load_tenant(other, "annat")
    assert delete_tenant(session, "annat") is False


def test_a_failed_replace_leaves_the_old_configuration_whole(session: Session, engine: Engine) -> None:
    save(session, rich(), annat())
    # Valid rows first, then a number Annat AB already owns: the save fails after it has deleted
    # and re-inserted part of Exempel's configuration.
    stolen = dataclasses.replace(rich(), version=8, numbers=(*rich().numbers, NumberConfig(ANNAT, flow="jour")))
    with pytest.raises(IntegrityError):
        save_tenant(session, stolen)
    # The same session carries on (the save was a savepoint), and sees the old configuration.
    assert load_tenant(session, "exempel") == rich()
    session.commit()
    with fresh(engine) as other:
        assert load_tenant(other, "exempel") == rich()
        assert load_tenant(other, "annat") == annat()


def test_loading_costs_the_same_queries_however_big_the_tenants(session: Session, engine: Engine) -> None:
    small = rich()
    big = dataclasses.replace(
        small, flows=small.flows + tuple(dataclasses.replace(small.flows[0], key=f"kopia-{i}") for i in range(10)),
        users=small.users + tuple(UserConfig(f"u{i}", f"User {i}", devices=(f"PJSIP/u{i}",)) for i in range(50)))
    save(session, small)
    with counting_queries(engine) as one_small:
        load_tenant(session, "exempel")
    with counting_queries(engine) as one_tenant:
        load_all(session)
    save(session, big, *(dataclasses.replace(small, key=f"t{i}", numbers=()) for i in range(5)))
    with counting_queries(engine) as one_big:
        assert load_tenant(session, "exempel") == big
    with counting_queries(engine) as six_tenants:
        assert len(load_all(session)) == 6
    assert len(one_big) == len(one_small)
    assert len(six_tenants) == len(one_tenant)


def test_unknown_tenant_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        load_tenant(session, "finns-inte")
    assert load_all(session) == []


# --- load_for_number: the per-call baseline ---------------------------------------------------


def _only(cfg: TenantConfig, number: str, **keys: set[str]) -> TenantConfig:
    """`cfg` cut down to one number and the named objects, in the configuration's own order."""
    def pick(items: tuple[object, ...], kind: str) -> tuple[object, ...]:
        return tuple(item for item in items if item.key in keys.get(kind, set()))  # type: ignore[attr-defined]

    return dataclasses.replace(
        cfg, numbers=tuple(n for n in cfg.numbers if n.number == number),
        flows=pick(cfg.flows, "flows"), schedules=pick(cfg.schedules, "schedules"),  # type: ignore[arg-type]
        users=pick(cfg.users, "users"), groups=pick(cfg.groups, "groups"),  # type: ignore[arg-type]
        queues=pick(cfg.queues, "queues"), boxes=pick(cfg.boxes, "boxes"),  # type: ignore[arg-type]
        prompts=pick(cfg.prompts, "prompts"))  # type: ignore[arg-type]


def test_load_for_number_brings_the_flow_and_what_it_refers_to_and_nothing_else(session: Session) -> None:
    save(session, rich(), annat())
    fragment = load_for_number(session, JOUR)
    # jour → schedule jour, queue vip (olle, anna), anna's box; then what those users lead to
    # (anna: bjorn, group salj; olle: queue support; the fallback box vaxel: asa → david).
    assert fragment == _only(
        rich(), JOUR, flows={"jour"}, schedules={"jour"}, groups={"salj"}, queues={"vip", "support"},
        users={"anna", "bjorn", "cecilia", "david", "eva", "asa", "olle"}, boxes={"anna", "vaxel", "olle"},
        prompts={"vantmusik"})
    assert validate_tenant(fragment) == []  # closed: it names nothing it lacks


def test_load_for_number_of_a_direct_number_brings_the_user_and_no_flow(session: Session) -> None:
    save(session, rich())
    fragment = load_for_number(session, ANNA_MOBILE)
    assert fragment == _only(rich(), ANNA_MOBILE, users={"anna", "bjorn", "cecilia", "asa", "david"},
                             groups={"salj"}, boxes={"anna", "vaxel"}, prompts={"vantmusik"})
    assert fragment is not None and fragment.numbers[0].via == "mobile"
    assert validate_tenant(fragment) == []


def test_load_for_number_of_an_unknown_number_is_none(session: Session) -> None:
    save(session, rich())
    assert load_for_number(session, "+46800000000") is None


def test_load_for_number_of_the_main_number_uses_few_queries(session: Session, engine: Engine) -> None:
    save(session, rich())
    with counting_queries(engine) as statements:
        fragment = load_for_number(session, MAIN)
    assert fragment is not None and [f.key for f in fragment.flows] == ["huvud"]
    assert len(statements) <= 16, statements


# --- accounts ---------------------------------------------------------------------------------


def test_account_tree_groups_numbers_and_users_and_survives_a_save(session: Session, engine: Engine) -> None:
    save(session, rich(), annat())
    add_account(session, "exempel", "exempel", "Exempel AB")
    add_account(session, "exempel", "sthlm", "Stockholm", parent="exempel")
    add_account(session, "exempel", "gbg", "Göteborg", parent="exempel")
    add_account(session, "exempel", "gbg-lager", "Lagret", parent="gbg")
    add_account(session, "annat", "annat", "Annat AB")
    assign_account(session, "exempel", "sthlm", numbers=[MAIN, "+46812345601"], users=["anna", "asa"])
    assign_account(session, "exempel", "gbg", numbers=[JOUR], users=["david"])
    session.commit()
    expected = AccountNode("exempel", "Exempel AB", children=(
        AccountNode("sthlm", "Stockholm", numbers=(MAIN, "+46812345601"), users=("anna", "asa")),
        AccountNode("gbg", "Göteborg", numbers=(JOUR,), users=("david",), children=(
            AccountNode("gbg-lager", "Lagret"),)),
    ))
    assert account_tree(session, "exempel") == expected
    assert account_tree(session, "annat") == AccountNode("annat", "Annat AB")

    # A new configuration version keeps each number and user in its account.
    save(session, dataclasses.replace(rich(), version=8))
    with fresh(engine) as other:
        assert account_tree(other, "exempel") == expected


def test_saving_with_accounts_replaces_the_tree(session: Session) -> None:
    save(session, rich())
    add_account(session, "exempel", "gammal", "Gammal")
    tree = (Account("exempel", "Exempel AB", users=("olle",)),
            Account("gbg", "Göteborg", parent="exempel", numbers=(JOUR,), users=("david", "eva")))
    save_tenant(session, rich(), accounts=tree)
    session.commit()
    assert load_accounts(session, "exempel") == tree
    assert account_tree(session, "exempel") == AccountNode("exempel", "Exempel AB", users=("olle",), children=(
        AccountNode("gbg", "Göteborg", numbers=(JOUR,), users=("david", "eva")),))


def test_account_mistakes_are_refused_and_change_nothing(session: Session) -> None:
    save(session, rich())
    add_account(session, "exempel", "exempel", "Exempel AB")
    add_account(session, "exempel", "sthlm", "Stockholm", parent="exempel")
    session.commit()
    with pytest.raises(ValueError, match="main account"):
        add_account(session, "exempel", "andra", "Andra huvudkontot")
    with pytest.raises(NotFound):
        add_account(session, "exempel", "x", "X", parent="finns-inte")
    with pytest.raises(NotFound):
        assign_account(session, "exempel", "sthlm", numbers=[MAIN, "+46899999999"])
    with pytest.raises(ValueError, match="cycle"):
        save_tenant(session, rich(), accounts=(Account("a", "A"), Account("b", "B", parent="c"),
                                                Account("c", "C", parent="b")))
    with pytest.raises(ValueError, match="not in the configuration"):
        save_tenant(session, rich(), accounts=(Account("a", "A", users=("nobody",)),))
    assert account_tree(session, "exempel") == AccountNode("exempel", "Exempel AB", children=(
        AccountNode("sthlm", "Stockholm"),))
    assert load_tenant(session, "exempel") == rich()


# --- presence ---------------------------------------------------------------------------------


def test_presence_periods_are_set_and_loaded_per_user(session: Session, engine: Engine) -> None:
    save(session, rich(), annat())
    lunch = PresenceEntry(PresenceStatus.LUNCH, datetime(2026, 3, 2, 12, 0, tzinfo=STOCKHOLM),
                          datetime(2026, 3, 2, 12, 45, tzinfo=STOCKHOLM), "Lunch")
    vacation = PresenceEntry(PresenceStatus.VACATION, datetime(2026, 7, 1, tzinfo=STOCKHOLM),
                             datetime(2026, 7, 29, tzinfo=STOCKHOLM), "Semester")
    busy = PresenceEntry(PresenceStatus.BUSY, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # until changed
    set_presence(session, "exempel", "asa", vacation)  # planned ahead, saved before the earlier one
    set_presence(session, "exempel", "asa", lunch)
    set_presence(session, "annat", "anna", busy)
    session.commit()
    with fresh(engine) as other:
        assert load_presence(other) == {("exempel", "asa"): (lunch, vacation), ("annat", "anna"): (busy,)}
        assert load_presence(other, "annat") == {("annat", "anna"): (busy,)}
        loaded = load_presence(other)[("exempel", "asa")][0]
        assert loaded.start.tzinfo == UTC and loaded.active_at(datetime(2026, 3, 2, 11, 30, tzinfo=UTC))

    # Setting a period that starts at the same instant replaces it.
    longer = dataclasses.replace(lunch, end=datetime(2026, 3, 2, 13, 0, tzinfo=STOCKHOLM), message="Lång lunch")
    set_presence(session, "exempel", "asa", longer)
    # Publishing a new configuration does not wipe anybody's presence.
    save(session, dataclasses.replace(rich(), version=8))
    assert load_presence(session, "exempel") == {("exempel", "asa"): (longer, vacation)}

    assert clear_presence(session, "exempel", "asa", start=vacation.start) == 1
    assert clear_presence(session, "exempel", "asa") == 1
    session.commit()
    assert load_presence(session, "exempel") == {}


def test_presence_needs_a_known_user_and_an_aware_time(session: Session) -> None:
    save(session, rich())
    entry = PresenceEntry(PresenceStatus.AWAY, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    with pytest.raises(NotFound):
        set_presence(session, "exempel", "nobody", entry)
    with pytest.raises(NotFound):
        set_presence(session, "finns-inte", "anna", entry)
    with pytest.raises(StatementError, match="naive datetime"):
        set_presence(session, "exempel", "anna", dataclasses.replace(entry, start=datetime(2026, 3, 2, 8, 0)))
    assert load_presence(session) == {}


def test_deleting_a_tenant_removes_its_presence_and_accounts(session: Session) -> None:
    save(session, rich(), annat())
    add_account(session, "exempel", "exempel", "Exempel AB")
    set_presence(session, "exempel", "anna", PresenceEntry(PresenceStatus.AWAY, datetime(2026, 1, 1, tzinfo=UTC)))
    set_presence(session, "annat", "anna", PresenceEntry(PresenceStatus.AWAY, datetime(2026, 1, 1, tzinfo=UTC)))
    delete_tenant(session, "exempel")
    session.commit()
    assert list(load_presence(session)) == [("annat", "anna")]
    save(session, rich())
    assert account_tree(session, "exempel") is None


# --- engines and migrations -------------------------------------------------------------------


def test_sqlite_engine_makes_its_directory_and_enforces_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'pbx.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def _alembic(url: str, *args: str) -> None:
    """The alembic command line with the repository's alembic.ini, as an administrator would run it."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "-x", f"url={url}", *args],
        capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr


def test_migrations_build_the_models_schema_and_downgrade_to_nothing(blank_db_url: str) -> None:
    migrate(blank_db_url)
    engine = make_engine(blank_db_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
            # The committed migration and the models describe the same schema.
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        _alembic(blank_db_url, "downgrade", "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        _alembic(blank_db_url, "upgrade", "head")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_the_demo_tenants_round_trip_with_caller_ids_and_ring_rules(session: Session, engine: Engine) -> None:
    from pbx.demo import annat, exempel
    demo = exempel()
    assert next(u for u in demo.users if u.key == "asa").outbound_caller_id == "main"
    # Björn rings his desk phone, then his softphone, 10 s each; Anna presents her mobile number
    users = tuple(dataclasses.replace(u, devices=("PJSIP/bjorn", "PJSIP/bjorn-soft"), ring="sequential",
                                      ring_each_s=10) if u.key == "bjorn" else
                  dataclasses.replace(u, outbound_caller_id="mobile") if u.key == "anna" else u for u in demo.users)
    cfg = dataclasses.replace(demo, users=users)
    assert validate_tenant(cfg) == []
    save(session, cfg, annat())
    with fresh(engine) as other:
        loaded = load_tenant(other, "exempel")
        assert load_tenant(other, "annat") == annat()
    assert loaded == cfg
    bjorn = next(u for u in loaded.users if u.key == "bjorn")
    assert (bjorn.ring, bjorn.ring_each_s, bjorn.devices) == ("sequential", 10, ("PJSIP/bjorn", "PJSIP/bjorn-soft"))
    assert [u.outbound_caller_id for u in loaded.users if u.outbound_caller_id] == ["mobile", "main"]
    save(session, demo)  # and back: the plain demo, parallel ringing and the default caller IDs
    with fresh(engine) as other:
        assert load_tenant(other, "exempel") == demo
