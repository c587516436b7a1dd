"""Removing a tenant for good: its configuration and rows, then every file it had (F-04, F-06, F-14).

The rows go first, in one transaction (voicemail messages, recordings, prompts and the deletion log go
with the tenant row: ON DELETE CASCADE). Only then are the files removed, so no row ever names a file
that is gone; a file that cannot be removed is logged and left where nothing can reach it any more.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from pbx.db.store import delete_tenant
from pbx.media import check_key

__all__ = ["purge_tenant", "tenant_directories"]

log = logging.getLogger("pbx.tenants")


def tenant_directories(tenant: str, *, media: Path, prompts: Path, spool: Path) -> list[Path]:
    """Every directory that holds only this tenant's files."""
    check_key(tenant, "tenant")
    return [media / tenant, prompts / "t" / tenant, spool / "voicemail" / tenant, spool / "prompts" / tenant,
            spool / "recordings" / tenant]


def purge_tenant(sessions: Callable[[], Session], tenant: str, *, media: Path, prompts: Path, spool: Path) -> bool:
    """Delete the tenant with all its data and files; False if there was no such tenant (nothing changes)."""
    directories = tenant_directories(tenant, media=media, prompts=prompts, spool=spool)
    with sessions() as session, session.begin():
        if not delete_tenant(session, tenant):
            return False
    for directory in directories:
        try:
            shutil.rmtree(directory)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.error("a deleted tenant's files could not be removed", extra={
                "event": "tenant_files_left", "tenant": tenant, "path": str(directory), "error": repr(exc)})
    log.info("tenant deleted with its files", extra={"event": "tenant_purged", "tenant": tenant})
    return True
