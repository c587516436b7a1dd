"""Engines, sessions and schema migration for the configuration database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str | URL) -> URL:
    """The URL with a driver we ship: plain `postgresql://` (and Heroku's `postgres://`) mean psycopg 3.

    SQLAlchemy's default PostgreSQL driver is psycopg2, which is not a dependency.
    """
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url`; for SQLite, creates the file's directory and sets the connection up properly."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)  # the controller is long-running; the server may restart
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # Python's sqlite3 module (before 3.12's autocommit attribute) issues BEGIN lazily, only before
    # DML, which silently breaks SAVEPOINT (used by save_tenant) and transactional DDL. The
    # SQLAlchemy-documented fix: take transaction control away from the driver and emit BEGIN
    # ourselves. Foreign keys are off by default in SQLite; the cascades depend on them.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    #
    # A transaction that reads and then writes cannot wait for SQLite's write lock (it would deadlock
    # with another such transaction), so under concurrent writers it fails at once with "database is
    # locked". An explicit `session.begin()` is how this code base says "I will write": those
    # transactions start with BEGIN IMMEDIATE, take the write lock first and wait for it (busy
    # timeout). Reads (autobegin) stay deferred, and in WAL mode they never wait for a writer.
    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


WRITE_OPTION = "pbx_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000


# SQLite's busy handler waits for a lock by sleeping, up to 100 ms at a time: under many concurrent
# writers that sleep, not the work, sets the latency. Writers of one process therefore queue on a
# lock of their own first (one per database file); the busy timeout still covers other processes.
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(engine: Engine) -> threading.Lock:
    key = str(engine.url.database)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


class PbxSession(Session):
    """A Session whose explicit `begin()` takes SQLite's write lock up front (see _configure_sqlite)."""

    def begin(self, nested: bool = False) -> SessionTransaction:
        transaction = super().begin(nested=nested)
        if not nested and isinstance(self.bind, Engine) and self.bind.dialect.name == "sqlite":
            lock = _write_lock(self.bind)
            lock.acquire()
            self.info["pbx_write"] = (transaction, lock)
            try:
                self.connection(execution_options={WRITE_OPTION: True})
            except BaseException:
                self.info.pop("pbx_write", None)
                lock.release()
                raise
        return transaction


@event.listens_for(PbxSession, "after_transaction_end")
def _release_write_lock(session: Session, transaction: SessionTransaction) -> None:
    held = session.info.get("pbx_write")
    if held is not None and held[0] is transaction:
        del session.info["pbx_write"]
        held[1].release()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: callers hand loaded values on after committing; our public API
    # returns plain dataclasses anyway, so nothing goes stale behind their back.
    return sessionmaker(engine, expire_on_commit=False, class_=PbxSession)


T = TypeVar("T")

# Database work runs off the event loop on a few threads of its own, per engine. Measured with the admin API
# bench (bench/api.py): on SQLite, where writes queue on one lock anyway, one thread doubles write throughput
# against asyncio's default pool (527 against 271-377 writes/s), because the pool's idle threads only
# contend for the GIL and the lock; PostgreSQL, where statements wait on the server, does best with two (writes
# on this 2-core machine, PostgreSQL on the same host: 1 thread 248/s p99 372 ms, 2: 354-356/s p99 216-257 ms,
# 3: 295/s p99 295 ms, 6: 249/s p99 415 ms).
# Slow work that is not database work (sending mail, converting audio, building workbooks) stays on
# asyncio.to_thread, so it never holds these threads up.
_EXECUTORS: weakref.WeakKeyDictionary[Engine, ThreadPoolExecutor] = weakref.WeakKeyDictionary()
_EXECUTORS_GUARD = threading.Lock()
DB_THREADS = {"sqlite": 1}
DB_THREADS_DEFAULT = 2


def _executor(engine: Engine) -> ThreadPoolExecutor:
    with _EXECUTORS_GUARD:
        executor = _EXECUTORS.get(engine)
        if executor is None:
            threads = DB_THREADS.get(engine.dialect.name, DB_THREADS_DEFAULT)
            executor = _EXECUTORS[engine] = ThreadPoolExecutor(threads, thread_name_prefix="db")
        return executor


async def in_db(sessions: Callable[[], Session], fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` on the database threads of `sessions`' engine, with the caller's context variables
    (as asyncio.to_thread does). Only for work that is database work: it shares those threads. A session
    factory without an engine of its own runs on asyncio's default pool."""
    engine = getattr(sessions, "kw", {}).get("bind")
    if not isinstance(engine, Engine):
        return await asyncio.to_thread(fn, *args, **kwargs)
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor(engine), call)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for our migrations, independent of the working directory and alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(url_or_engine: str | URL | Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` (the newest by default), in one transaction where the backend allows."""
    engine = url_or_engine if isinstance(url_or_engine, Engine) else make_engine(url_or_engine)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        if engine is not url_or_engine:
            engine.dispose()
