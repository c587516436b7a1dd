"""The configuration database: SQLAlchemy models, sessions, Alembic migrations, and the config store."""

from pbx.db.session import make_engine, migrate, session_factory
from pbx.db.store import (
    Account,
    AccountNode,
    NotFound,
    account_tree,
    add_account,
    assign_account,
    clear_presence,
    config_stamp,
    delete_tenant,
    load_accounts,
    load_all,
    load_for_number,
    load_presence,
    load_tenant,
    save_tenant,
    set_presence,
)

__all__ = [
    "Account",
    "AccountNode",
    "NotFound",
    "account_tree",
    "add_account",
    "assign_account",
    "clear_presence",
    "config_stamp",
    "delete_tenant",
    "load_accounts",
    "load_all",
    "load_for_number",
    "load_presence",
    "load_tenant",
    "make_engine",
    "migrate",
    "save_tenant",
    "session_factory",
    "set_presence",
]
