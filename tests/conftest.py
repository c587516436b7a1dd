"""Shared test fixtures: databases on both backends (SQLite files and a real, throwaway PostgreSQL)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from pbx.db.models import Base
from pbx.db.session import make_engine, migrate, normalise_url

try:
    from tests import redis_server
    from tests.pg import PostgresUnavailable, find_bindir, throwaway_postgres

    # the browser tests' fixtures (tests/test_web_*.py: a running site, Chromium, a page), found by name
    from tests.web_world import browser, page, site
except ImportError:  # pytest run without the repository root on sys.path puts tests/ there instead
    import redis_server  # type: ignore[no-redef]
    from pg import PostgresUnavailable, find_bindir, throwaway_postgres  # type: ignore[no-redef]
    from web_world import browser, page, site  # type: ignore[no-redef]  # noqa: F401

BACKENDS = ("sqlite", "postgresql")


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database for this session: $PBX_TEST_POSTGRES_URL, or a server started just for us."""
    given = os.environ.get("PBX_TEST_POSTGRES_URL")
    if given:
        yield normalise_url(given).render_as_string(hide_password=False)
        return
    try:
        find_bindir()
    except PostgresUnavailable as exc:
        # Never skip: a suite that silently drops its PostgreSQL half proves nothing about production.
        pytest.fail(str(exc), pytrace=False)
    with throwaway_postgres() as url:
        yield url


class _Schemas:
    """Private PostgreSQL schemas, one per use: a clean namespace even on a server we were given."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.names: list[str] = []

    def new(self) -> str:
        """The URL of a new, empty schema (it becomes the connection's search_path)."""
        name = f"pbx_test_{os.getpid()}_{len(self.names)}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        self.names.append(name)
        url = normalise_url(self.url).update_query_dict({"options": f"-csearch_path={name}"})
        return url.render_as_string(hide_password=False)

    def close(self) -> None:
        with self.engine.begin() as conn:
            for name in self.names:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def _pg_schemas(postgres_url: str) -> Iterator[_Schemas]:
    schemas = _Schemas(postgres_url)
    try:
        yield schemas
    finally:
        schemas.close()


@pytest.fixture(scope="session")
def _pg_migrated(_pg_schemas: _Schemas) -> Iterator[tuple[str, Engine]]:
    """One migrated schema for the whole session (migrating per test would cost far more than emptying)."""
    url = _pg_schemas.new()
    engine = make_engine(url)
    try:
        migrate(engine)
        yield url, engine
    finally:
        engine.dispose()


def _empty_postgres(engine: Engine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


# --- SQLite -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (a copy is much cheaper than a migration)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "pbx.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


# --- what tests use ---------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated database without any rows, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "pbx.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_migrated"), path)
        return f"sqlite:///{path}"
    url, engine = request.getfixturevalue("_pg_migrated")
    _empty_postgres(engine)
    return str(url)


@pytest.fixture(params=BACKENDS)
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database with no tables at all (for migration tests), on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blank' / 'pbx.sqlite3'}"
    schemas: _Schemas = request.getfixturevalue("_pg_schemas")
    return schemas.new()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a migrated, empty database (both backends); whatever is not committed is rolled back."""
    with Session(engine) as session:
        yield session


# --- Redis -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for this session: $PBX_TEST_REDIS_URL, or a redis-server started just for us."""
    given = os.environ.get("PBX_TEST_REDIS_URL")
    if given:
        yield given
        return
    try:
        redis_server.find_redis_server()
    except redis_server.RedisUnavailable as exc:
        # Never skip: a suite that silently drops its Redis half proves nothing about production.
        pytest.fail(str(exc), pytrace=False)
    with redis_server.throwaway_redis() as url:
        yield url
