"""The `pbx` command: what-if routing, the demo, database set-up."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from pbx.routing.compile import RoutingTable, compile_table
from pbx.routing.model import PresenceEntry, PresenceStatus, TenantConfig
from pbx.routing.state import StateSnapshot, everyone_logged_in
from pbx.routing.validate import InvalidConfig
from pbx.routing.whatif import Outcome, describe, what_if
from pbx.settings import Settings

Presences = dict[tuple[str, str], tuple[PresenceEntry, ...]]


def _load(settings: Settings, seed: bool) -> tuple[list[TenantConfig], Presences]:
    from pbx.db.session import make_engine, migrate, session_factory
    from pbx.db.store import load_all, load_presence, save_tenant
    from pbx.demo import demo_accounts, demo_tenants

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            configs = load_all(session)
            if seed and not configs:
                for cfg in demo_tenants():
                    save_tenant(session, cfg, demo_accounts() if cfg.key == "exempel" else None)
                session.commit()
                configs = load_all(session)
            return configs, load_presence(session)
    finally:
        engine.dispose()


def live_state(table: RoutingTable, presences: dict[tuple[str, str], tuple[PresenceEntry, ...]],
               logged_in: str = "all") -> StateSnapshot:
    """A what-if state: presence as stored, and members logged in as asked ("all", "none", or keys)."""
    only = None if logged_in == "all" else frozenset() if logged_in == "none" else frozenset(logged_in.split(","))
    return StateSnapshot(presences=presences, members=everyone_logged_in(table, only))


def _parse_at(text: str | None, tz: ZoneInfo) -> datetime:
    if not text:
        return datetime.now(tz)
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


def _parse_presence(items: Sequence[str], tenant: str, tz: ZoneInfo, day: datetime
                    ) -> dict[tuple[str, str], tuple[PresenceEntry, ...]]:
    """--presence asa=lunch@12:00-12:45 (times local on the what-if day; no times = all day)."""
    out: dict[tuple[str, str], tuple[PresenceEntry, ...]] = {}
    for item in items:
        user, _, rest = item.partition("=")
        status, _, span = rest.partition("@")
        start = datetime.combine(day.date(), time(0), tz)
        end: datetime | None = start + timedelta(days=1)
        if span:
            a, _, b = span.partition("-")
            start = datetime.combine(day.date(), time.fromisoformat(a), tz)
            end = datetime.combine(day.date(), time.fromisoformat(b), tz) if b else None
        out[(tenant, user)] = (PresenceEntry(PresenceStatus(status), start, end),)
    return out


def print_path(table: RoutingTable, state: StateSnapshot, number: str, at: datetime, digits: Sequence[str],
               answer: bool, out: TextIO | None = None) -> None:
    write = (out or sys.stdout).write
    path = what_if(table, state, number, at, digits, outcome=Outcome(answer=answer))
    route = table.numbers.get(number)
    local = at.astimezone(table.tenants[route.tenant].tz) if route else at
    pressed = ",".join(digits) or "nothing"
    write(f"\n{number} at {local:%a %Y-%m-%d %H:%M %Z}, pressing {pressed}:\n")
    for i, decision in enumerate(path, 1):
        write(f"  {i}. {' → '.join(decision.steps)}\n")
        write(f"     ⇒ {describe(decision.action)}\n")


def cmd_what_if(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    configs, presences = _load(settings, seed=args.seed)
    try:
        table = compile_table(configs)
    except InvalidConfig as exc:
        print(exc, file=sys.stderr)
        return 2
    route = table.numbers.get(args.number)
    tz = table.tenants[route.tenant].tz if route else ZoneInfo("UTC")
    at = _parse_at(args.at, tz)
    if route and args.presence:
        presences = {**presences, **_parse_presence(args.presence, route.tenant, tz, at.astimezone(tz))}
    state = live_state(table, presences, args.logged_in)
    digits = [d for d in (args.digits or "").split(",") if d]
    print_path(table, state, args.number, at, digits, answer=not args.unanswered)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pbx.demo import ANNAT_NUMBER, GOTEBORG_NUMBER, MAIN_NUMBER, STOCKHOLM, demo_presence

    settings = Settings.from_env()
    configs, presences = _load(settings, seed=True)
    table = compile_table(configs)
    print(f"Configuration: {settings.database_url}")
    print(f"Routing table v{table.version}: {len(table.tenants)} tenants, {len(table.numbers)} numbers")
    tue = datetime(2026, 11, 24, tzinfo=STOCKHOLM)
    state = live_state(table, {**presences, **demo_presence(tue.date())})
    scenarios: list[tuple[str, datetime, list[str], bool]] = [
        (MAIN_NUMBER, tue.replace(hour=10), ["1"], False),
        (MAIN_NUMBER, tue.replace(hour=10), ["2"], True),
        (MAIN_NUMBER, tue.replace(hour=10), [], True),
        (MAIN_NUMBER, tue.replace(hour=11, minute=30), ["0"], True),
        ("+46812345610", tue.replace(hour=12, minute=20), [], True),
        (MAIN_NUMBER, tue.replace(hour=19), [], True),
        (MAIN_NUMBER, datetime(2026, 12, 24, 10, tzinfo=STOCKHOLM), [], True),
        (MAIN_NUMBER, datetime(2026, 12, 23, 13, tzinfo=STOCKHOLM), [], True),
        (GOTEBORG_NUMBER, tue.replace(hour=9), ["2"], True),
        (ANNAT_NUMBER, tue.replace(hour=9), [], True),
    ]
    for number, at, digits, answer in scenarios:
        print_path(table, state, number, at, digits, answer)
    print("\nTry your own: .venv/bin/pbx what-if --number +46812345600 --at 2026-12-24T10:00 --digits 1")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    import asyncio

    from pbx.live import run_up
    from pbx.logs import setup_logging

    settings = Settings.from_env()
    setup_logging(settings.log_level)
    configs, presences = _load(settings, seed=True)
    asyncio.run(run_up(settings, configs, presences, demo_calls=args.demo_calls, stop_after_s=args.stop_after))
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    import asyncio

    from pbx.live import run_call
    from pbx.logs import setup_logging

    settings = Settings.from_env()
    setup_logging("WARNING")
    configs, presences = _load(settings, seed=True)
    table = compile_table(configs)
    route = table.numbers.get(args.number)
    tz = table.tenants[route.tenant].tz if route else ZoneInfo("UTC")
    at = _parse_at(args.at, tz)
    keys = [d for d in (args.digits or "").split(",")] if args.digits else []
    asyncio.run(run_call(settings, configs, presences, args.number, keys, at, args.caller, args.speed,
                         answer=not args.unanswered))
    return 0


def cmd_admin_add(args: argparse.Namespace) -> int:
    """Create an administrator of the admin API (the first super administrator of a tenant comes this way)."""
    import getpass
    import os
    from datetime import UTC, datetime

    import pyotp

    from admin_api.auth import AdminStore, AuthError
    from pbx.db.session import make_engine, migrate, session_factory

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    migrate(engine)
    password = os.environ.get("PBX_ADMIN_PASSWORD") or getpass.getpass(f"password for {args.login}: ")
    store = AdminStore(session_factory(engine), lambda: datetime.now(UTC))
    try:
        _, secret = store.create_admin(args.tenant, args.login, args.name, password, args.role, rights=args.rights,
                                       account=args.account, second_factor=args.second_factor,
                                       sms_number=args.sms_number, user_key=args.user)
    except (AuthError, LookupError) as exc:
        print(f"not created: {exc}")
        return 1
    finally:
        engine.dispose()
    print(f"administrator {args.login} of {args.tenant} created ({args.role})")
    if secret:
        uri = pyotp.TOTP(secret).provisioning_uri(name=args.login, issuer_name="PBX")
        print(f"authenticator app: {uri}")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from pbx.db.session import make_engine, migrate

    engine = make_engine(Settings.from_env().database_url)
    migrate(engine)
    engine.dispose()
    print("database at head")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pbx", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("what-if", help="the path a call would take, and why")
    p.add_argument("--number", required=True, help="dialled number, E.164 (+4681234…)")
    p.add_argument("--at", help="ISO time, local to the tenant unless it has an offset (default: now)")
    p.add_argument("--digits", help="keys pressed at successive menus, comma-separated (1,2)")
    p.add_argument("--unanswered", action="store_true", help="destinations do not answer: follow overflow")
    p.add_argument("--logged-in", default="all", help="all | none | comma-separated user keys")
    p.add_argument("--presence", action="append", default=[], help="user=status[@HH:MM-HH:MM], repeatable")
    p.add_argument("--no-seed", dest="seed", action="store_false", help="do not seed the demo into an empty DB")
    p.set_defaults(func=cmd_what_if)
    p = sub.add_parser("demo", help="seed the demo tenants and show where their calls go")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("up", help="run the controller (with a simulated Asterisk unless PBX_AMI_URL is set)")
    p.add_argument("--no-demo-calls", dest="demo_calls", action="store_false",
                   help="do not place the demo calls at start (simulator only)")
    p.add_argument("--stop-after", type=float, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("admin-add", help="create an administrator (password from PBX_ADMIN_PASSWORD or asked)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--login", required=True, help="the sign-in name, usually an e-mail address")
    p.add_argument("--name", required=True)
    p.add_argument("--role", default="super_admin", choices=["super_admin", "admin", "account_admin", "custom"])
    p.add_argument("--rights", nargs="*", default=[], help="for a custom role: view numbers flows users …")
    p.add_argument("--account", help="the account an account administrator manages")
    p.add_argument("--second-factor", default="totp", choices=["none", "totp", "sms"])
    p.add_argument("--sms-number", help="+E.164, for the SMS second factor")
    p.add_argument("--user", help="the telephony user this administrator is (agents' own actions)")
    p.set_defaults(func=cmd_admin_add)
    p = sub.add_parser("call", help="place one simulated call through the whole controller and show each step")
    p.add_argument("number", help="dialled number, E.164")
    p.add_argument("--digits", help="keys pressed at successive prompts, comma-separated (2 or 1,0701234567#)")
    p.add_argument("--at", help="simulated time, ISO, local to the tenant (default: now)")
    p.add_argument("--caller", default="+46701234567")
    p.add_argument("--speed", type=float, default=50.0, help="simulated seconds per real second")
    p.add_argument("--unanswered", action="store_true", help="phones ring but nobody answers")
    p.set_defaults(func=cmd_call)
    p = sub.add_parser("db-upgrade", help="migrate the configuration database to the latest schema")
    p.set_defaults(func=cmd_db_upgrade)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
