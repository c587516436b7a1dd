"""Alembic environment of pbx.db: runs on the connection pbx.db.session.migrate hands over, or on a URL."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from pbx.db.models import Base
from pbx.db.session import make_engine, normalise_url
from pbx.settings import Settings

config = context.config
target_metadata = Base.metadata

# Only the `alembic` command line has an ini file; programmatic runs must not reconfigure the
# application's logging (and disable_existing_loggers=False keeps loggers created before us).
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    """The database for the command line: `-x url=…`, else sqlalchemy.url in alembic.ini, else the
    application's own setting (PBX_DATABASE_URL, default SQLite under ./var), so both agree."""
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    return url or Settings.from_env().database_url


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_offline() -> None:
    _configure(url=normalise_url(_url()), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
