"""Flow versions: a call in progress finishes on the flow version it started on, while new calls get the
published one; publish, roll back and delete in the database; every controller instance sees a publish on
its next poll of the configuration stamp."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from pbx.asterisk.contract import call_from_args, encode_position
from pbx.controller import RELOAD_EVERY_S
from pbx.db import (
    Conflict,
    NotFound,
    delete_flow,
    flow_history,
    load_tenant,
    make_engine,
    migrate,
    publish_flow,
    save_draft,
    save_tenant,
    session_factory,
)
from pbx.db.models import FlowVersionRow
from pbx.demo import MAIN_NUMBER, STOCKHOLM, exempel
from pbx.live import DbReloader, db_reloader
from pbx.routing import Call, Decision, EnterQueue, PlayMenu, RingGroup, Voicemail, compile_table, decide
from pbx.routing.compile import RoutingTable
from pbx.routing.model import Flow, GroupNode, Menu, TenantConfig
from pbx.routing.state import StateSnapshot, everyone_logged_in
from pbx.routing.validate import InvalidConfig
from pbx.settings import Settings

TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)


def _huvud(cfg: TenantConfig) -> Flow:
    return next(f for f in cfg.flows if f.key == "huvud")


def pressing_1_leaves_a_message_for_ekonomi(flow: Flow, version: int = 0) -> Flow:
    """The main flow with keys 1 and 3 swapped: 1 leads to Ekonomi's voicemail, 3 to the sales group."""
    nodes = tuple(replace(n, choices={**n.choices, "1": "ekonomi", "3": "salj"}) if isinstance(n, Menu) else n
                  for n in flow.nodes)
    return replace(flow, nodes=nodes, version=version)


def state_for(table: RoutingTable) -> StateSnapshot:
    return StateSnapshot(members=everyone_logged_in(table))


def press(table: RoutingTable, at_menu: Decision, digits: str) -> Decision:
    """What the controller does when Asterisk comes back from the menu: the position travels in PBX_POS."""
    call = call_from_args([MAIN_NUMBER, encode_position(at_menu), digits], "+46701234567")
    return decide(table, state_for(table), call, TUE_10)


def new_call(table: RoutingTable) -> Decision:
    return decide(table, state_for(table), Call(MAIN_NUMBER, "+46701234567"), TUE_10)


# --- the routing table ---------------------------------------------------------------------------


def test_a_caller_in_the_menu_during_a_publish_gets_the_menu_they_heard() -> None:
    v1 = exempel()
    v1 = v1.with_flow(replace(_huvud(v1), version=1))
    before = compile_table([v1])
    at_menu = new_call(before)
    assert isinstance(at_menu.action, PlayMenu) and at_menu.flow == "huvud@1" and at_menu.node == "meny"
    assert "huvud@1" in encode_position(at_menu)

    v2 = replace(v1.with_flow(pressing_1_leaves_a_message_for_ekonomi(_huvud(v1), 2)), version=2,
                 earlier_flows=(_huvud(v1),))
    after = compile_table([v2])
    old = press(after, at_menu, "1")
    assert isinstance(old.action, RingGroup) and old.action.group == "salj"  # what version 1 promised
    assert old.flow == "huvud@1"
    fresh = new_call(after)
    assert fresh.flow == "huvud@2" and "(version 2)" in fresh.steps[0]
    pressed = press(after, fresh, "1")
    assert isinstance(pressed.action, Voicemail) and pressed.action.box == "ekonomi"


def test_a_call_on_a_version_no_longer_kept_continues_on_the_published_one() -> None:
    v1 = exempel()
    v1 = v1.with_flow(replace(_huvud(v1), version=1))
    at_menu = new_call(compile_table([v1]))
    v2 = replace(v1.with_flow(pressing_1_leaves_a_message_for_ekonomi(_huvud(v1), 2)), version=2)
    after = compile_table([v2])  # version 1 is not among the earlier flows any more
    gone = press(after, at_menu, "1")
    assert isinstance(gone.action, Voicemail) and gone.action.box == "ekonomi" and gone.flow == "huvud@2"
    assert any("version 1 is no longer kept: continuing on version 2" in s for s in gone.steps)
    # a position from before flows had numbers (no "@") goes on in the published version too
    legacy = at_menu._replace(flow="huvud")
    old_style = press(after, legacy, "2")
    assert isinstance(old_style.action, EnterQueue) and old_style.flow == "huvud@2"


def test_an_earlier_version_that_hands_calls_to_a_removed_group_is_not_kept() -> None:
    v1 = exempel()
    v1 = v1.with_flow(replace(_huvud(v1), version=1))
    at_menu = new_call(compile_table([v1]))
    # version 2 stops using the sales group, and the group itself is removed
    v2 = replace(v1.with_flow(pressing_1_leaves_a_message_for_ekonomi(_huvud(v1), 2)), version=2,
                 groups=(), earlier_flows=(_huvud(v1),))
    without_sales = tuple(replace(n, choices={k: v for k, v in n.choices.items() if v != "salj"})
                          if isinstance(n, Menu) else n
                          for n in _huvud(v2).nodes if not isinstance(n, GroupNode) and n.key != "vm-salj")
    v2 = v2.with_flow(replace(_huvud(v2), nodes=without_sales))
    after = compile_table([v2])
    assert "huvud@1" not in after.tenants["exempel"].flows.earlier
    pressed = press(after, at_menu, "1")  # no KeyError on the missing group: today's flow answers
    assert isinstance(pressed.action, Voicemail) and pressed.action.box == "ekonomi"


# --- the database: versions, drafts, publish, roll back, delete ----------------------------------


def test_saving_numbers_each_changed_flow_and_keeps_unchanged_ones(session: Session) -> None:
    cfg = exempel()
    t0 = datetime(2026, 11, 24, 8, tzinfo=UTC)
    save_tenant(session, cfg, at=t0)
    loaded = load_tenant(session, "exempel")
    assert {f.key: f.version for f in loaded.flows} == {"huvud": 1, "goteborg": 1, "rostbrevlada": 1, "inspelning": 1}
    save_tenant(session, loaded, at=t0 + timedelta(hours=1))  # nothing changed: no new version
    assert len(flow_history(session, "exempel", "huvud").publications) == 1
    changed = cfg.with_flow(pressing_1_leaves_a_message_for_ekonomi(_huvud(cfg)))
    save_tenant(session, changed, by="import", at=t0 + timedelta(hours=2))
    history = flow_history(session, "exempel", "huvud")
    assert history.published == 2 and [v.version for v in history.versions] == [1, 2]
    assert [(p.version, p.by) for p in history.publications] == [(1, "system"), (2, "import")]
    assert history.version(1).flow == _huvud(cfg) and history.version(2).flow == _huvud(changed)
    assert flow_history(session, "exempel", "goteborg").published == 1


def test_a_draft_is_published_then_an_earlier_version_again(session: Session) -> None:
    t0 = datetime(2026, 11, 24, 8, tzinfo=UTC)
    cfg = exempel()
    save_tenant(session, cfg, at=t0)
    with pytest.raises(NotFound):
        publish_flow(session, "exempel", "huvud", by="boss", at=t0)  # no draft yet
    draft = pressing_1_leaves_a_message_for_ekonomi(_huvud(cfg))
    _, saved = save_draft(session, "exempel", draft, by="boss", at=t0 + timedelta(minutes=1))
    assert saved.version is None and saved.based_on == 1
    assert load_tenant(session, "exempel").flows[0] == _huvud(cfg)  # a draft changes nothing in force

    done = publish_flow(session, "exempel", "huvud", by="boss", at=t0 + timedelta(minutes=2))
    assert (done.before, done.after, done.config_version) == (1, 2, cfg.version + 1)
    assert load_tenant(session, "exempel").flows[0] == draft
    assert flow_history(session, "exempel", "huvud").draft is None

    back = publish_flow(session, "exempel", "huvud", 1, by="gbg", at=t0 + timedelta(minutes=3))
    assert (back.before, back.after) == (2, 1)
    loaded = load_tenant(session, "exempel")
    assert loaded.flows[0] == _huvud(cfg) and loaded.flows[0].version == 1 and loaded.version == cfg.version + 2
    history = flow_history(session, "exempel", "huvud")
    assert [(p.version, p.by, p.at) for p in history.publications] == [
        (1, "system", t0), (2, "boss", t0 + timedelta(minutes=2)), (1, "gbg", t0 + timedelta(minutes=3))]
    with pytest.raises(Conflict):
        publish_flow(session, "exempel", "huvud", 1, by="boss", at=t0)
    with pytest.raises(NotFound):
        publish_flow(session, "exempel", "huvud", 7, by="boss", at=t0)


def test_an_invalid_draft_is_refused_and_nothing_changes(session: Session) -> None:
    t0 = datetime(2026, 11, 24, 8, tzinfo=UTC)
    cfg = exempel()
    save_tenant(session, cfg, at=t0)
    flow = _huvud(cfg)
    broken = replace(flow, nodes=tuple(replace(n, choices={**n.choices, "4": "nowhere"}) if isinstance(n, Menu) else n
                                       for n in flow.nodes))
    save_draft(session, "exempel", broken, by="boss", at=t0)
    with pytest.raises(InvalidConfig) as refused:
        publish_flow(session, "exempel", "huvud", by="boss", at=t0)
    assert [(p.where, p.code) for p in refused.value.problems] == [("flow huvud node meny", "dangling-reference")]
    assert load_tenant(session, "exempel").version == cfg.version
    history = flow_history(session, "exempel", "huvud")
    assert history.published == 1 and history.draft is not None and len(history.publications) == 1


def test_a_flow_a_number_points_at_cannot_be_deleted(session: Session) -> None:
    t0 = datetime(2026, 11, 24, 8, tzinfo=UTC)
    cfg = exempel()
    save_tenant(session, cfg, at=t0)
    with pytest.raises(Conflict, match=MAIN_NUMBER.replace("+", r"\+")):
        delete_flow(session, "exempel", "huvud", by="boss", at=t0)
    unused = replace(cfg, numbers=tuple(n for n in cfg.numbers if n.flow != "goteborg"))
    save_tenant(session, unused, at=t0)
    delete_flow(session, "exempel", "goteborg", by="boss", at=t0 + timedelta(minutes=1))
    assert [f.key for f in load_tenant(session, "exempel").flows] == ["huvud", "rostbrevlada", "inspelning"]
    with pytest.raises(NotFound):
        flow_history(session, "exempel", "goteborg")
    # its versions stay, and a new flow of that key goes on numbering after them
    save_draft(session, "exempel", replace(_huvud(cfg), key="goteborg"), by="boss", at=t0, new=True)
    assert publish_flow(session, "exempel", "goteborg", by="boss", at=t0 + timedelta(minutes=2)).after == 2


# --- every instance, through the database reloader -----------------------------------------------


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def reloaders(db_url: str) -> Iterator[Callable[..., DbReloader]]:
    """db_reloader for the test's database (one per controller instance), closed after the test."""
    made: list[DbReloader] = []

    def make(clock: Callable[[], datetime] | None = None) -> DbReloader:
        made.append(db_reloader(Settings(database_url=db_url, log_level="INFO"), clock))
        return made[-1]
    try:
        yield make
    finally:
        for reloader in made:
            reloader.close()


def test_two_instances_see_a_publish_on_their_next_poll_and_calls_in_progress_keep_their_version(
        sessions: sessionmaker[Session], reloaders: Callable[..., DbReloader]) -> None:
    assert RELOAD_EVERY_S < 1.0  # "within a second": each instance polls the stamp this often
    t0 = datetime.now(UTC)
    cfg = exempel()
    with sessions() as session, session.begin():
        save_tenant(session, cfg, at=t0)
    first, second = reloaders(), reloaders()
    assert first() is None and second() is None  # both started with what is stored

    with sessions() as session:
        at_menu = new_call(compile_table([load_tenant(session, "exempel")]))
    assert at_menu.flow == "huvud@1"

    with sessions() as session, session.begin():
        save_draft(session, "exempel", pressing_1_leaves_a_message_for_ekonomi(_huvud(cfg)), by="boss", at=t0)
        publish_flow(session, "exempel", "huvud", by="boss", at=t0)

    for reload in (first, second):
        fresh = reload()
        assert fresh is not None, "the stamp changed, so the next poll reloads"
        _stamp, configs, _presences = fresh
        (exempel_cfg,) = [c for c in configs if c.key == "exempel"]
        assert _huvud(exempel_cfg).version == 2
        assert [(f.key, f.version) for f in exempel_cfg.earlier_flows] == [("huvud", 1)]
        table = compile_table(configs)
        in_progress = press(table, at_menu, "1")
        assert isinstance(in_progress.action, RingGroup) and in_progress.flow == "huvud@1"
        new = press(table, new_call(table), "1")
        assert isinstance(new.action, Voicemail) and new.action.box == "ekonomi" and new.flow == "huvud@2"
        assert reload() is None  # nothing changed since


def test_a_restarted_instance_reloads_at_once_when_calls_may_be_on_earlier_versions(
        sessions: sessionmaker[Session], reloaders: Callable[..., DbReloader]) -> None:
    t0 = datetime(2026, 11, 24, 8, tzinfo=UTC)
    cfg = exempel()
    with sessions() as session, session.begin():
        save_tenant(session, cfg, at=t0)
        save_tenant(session, cfg.with_flow(pressing_1_leaves_a_message_for_ekonomi(_huvud(cfg))),
                    at=t0 + timedelta(hours=1))
    soon = reloaders(lambda: t0 + timedelta(hours=2))
    fresh = soon()  # the controller's own configuration lacks version 1, which a call may still be on
    assert fresh is not None
    assert [(f.key, f.version) for c in fresh[1] for f in c.earlier_flows] == [("huvud", 1)]
    later = reloaders(lambda: t0 + timedelta(hours=14))
    assert later() is None  # version 1 went out of force 13 hours ago: no call is still on it


# --- the migration -------------------------------------------------------------------------------


def test_the_migration_makes_every_stored_flow_version_1(blank_db_url: str) -> None:
    migrate(blank_db_url, "0005")
    engine = make_engine(blank_db_url)
    try:
        with engine.begin() as conn:
            tid = conn.execute(text(
                "INSERT INTO tenants (key, name, timezone, language, config_version, updated_at) "
                "VALUES ('gammal', 'Gammal AB', 'Europe/Stockholm', 'sv', 4, CURRENT_TIMESTAMP) RETURNING id")).scalar()
            fid = conn.execute(text(
                "INSERT INTO flows (tenant_id, position, key, name, entry) VALUES (:t, 0, 'in', 'In', 'hej') "
                "RETURNING id"), {"t": tid}).scalar()
            conn.execute(text(
                "INSERT INTO flow_nodes (flow_id, position, key, kind, name, params) VALUES "
                "(:f, 0, 'hej', 'hangup', 'Hej', :p)"), {"f": fid, "p": '{"prompt": "welcome"}'})
        migrate(engine)
        with Session(engine) as session:
            flow = load_tenant(session, "gammal").flows[0]
            history = flow_history(session, "gammal", "in")
            assert flow.version == 1 and history.published == 1
            assert history.version(1).flow == flow and history.publications[0].by == "migration"
            assert session.scalar(select(FlowVersionRow.created_by)) == "migration"
    finally:
        engine.dispose()
