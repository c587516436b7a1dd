"""SQLite under concurrent writers: transactions that read and then write must wait their turn, not fail
with "database is locked" (the admin API writes from many threads at once)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, update

from pbx.db import make_engine, session_factory

META = MetaData()
COUNTER = Table("counter", META, Column("id", Integer, primary_key=True), Column("n", Integer, nullable=False))


def test_read_then_write_transactions_from_many_threads_all_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    META.create_all(engine)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        session.execute(COUNTER.insert().values(id=1, n=0))
    errors: list[BaseException] = []

    def bump(times: int) -> None:
        try:
            for _ in range(times):
                with sessions() as session, session.begin():
                    n = session.scalar(select(COUNTER.c.n).where(COUNTER.c.id == 1))  # read …
                    assert n is not None
                    session.execute(update(COUNTER).where(COUNTER.c.id == 1).values(n=n + 1))  # … then write
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(25,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sessions() as session:
        assert session.scalar(select(COUNTER.c.n)) == 200  # no update lost, none failed
        assert session.execute(select(1)).scalar() == 1
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_failed_write_transaction_lets_the_next_one_in(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    META.create_all(engine)
    sessions = session_factory(engine)
    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        session.execute(COUNTER.insert().values(id=1, n=0))
        raise RuntimeError("the handler failed half-way")
    done = threading.Event()

    def write() -> None:
        with sessions() as session, session.begin():
            session.execute(COUNTER.insert().values(id=2, n=5))
        done.set()
    threading.Thread(target=write, daemon=True).start()
    assert done.wait(10), "the write lock was not given back after the rollback"
    with sessions() as session:
        assert session.execute(select(COUNTER.c.id, COUNTER.c.n)).all() == [(2, 5)]  # the failed insert is gone


def test_database_work_runs_on_the_engines_own_threads_with_the_callers_context(db_url: str) -> None:
    """in_db: one thread per SQLite file (its writes queue on one lock anyway), a few for PostgreSQL; never
    asyncio's default pool, which slow work that is not database work (mail, audio) may fill."""
    import asyncio
    import contextvars

    from pbx.db import in_db
    from pbx.db.session import DB_THREADS, DB_THREADS_DEFAULT

    who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")
    engine = make_engine(db_url)
    sessions = session_factory(engine)

    def where(n: int) -> tuple[str, str, int]:
        with sessions() as session:
            assert session.scalar(select(1)) == 1
        return threading.current_thread().name, who.get(), n

    async def main() -> list[tuple[str, str, int]]:
        who.set("anna")
        return list(await asyncio.gather(*(in_db(sessions, where, n) for n in range(20))))

    try:
        results = asyncio.run(main())
    finally:
        engine.dispose()
    assert [n for _, _, n in results] == list(range(20))
    assert {w for _, w, _ in results} == {"anna"}
    threads = {name for name, _, _ in results}
    assert all(name.startswith("db") for name in threads), threads
    assert len(threads) <= DB_THREADS.get(engine.dialect.name, DB_THREADS_DEFAULT)
    if engine.dialect.name == "sqlite":
        assert len(threads) == 1


def test_a_session_factory_without_an_engine_runs_on_the_default_pool() -> None:
    import asyncio

    from pbx.db import in_db

    async def main() -> str:
        return await in_db(lambda: None, lambda: threading.current_thread().name)  # type: ignore[arg-type,return-value]

    assert not asyncio.run(main()).startswith("db")
