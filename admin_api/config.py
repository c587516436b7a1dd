"""Changing a tenant's configuration through the API: read it, change it, check it with the routing core,
store it as the next version and audit the change, all in one transaction. Controllers notice the new
version (pbx.live.db_reloader) and swap their routing tables; nothing is half-applied."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin_api.auth import audit
from admin_api.core import Ctx, Problem
from pbx.db import load_tenant
from pbx.db.store import change_tenant
from pbx.routing.model import TenantConfig
from pbx.routing.validate import InvalidConfig

T = TypeVar("T")
log = logging.getLogger("admin_api")

# mutate(config) → (new config, before, after): before/after are what the audit log shows
Mutation = Callable[[TenantConfig], tuple[TenantConfig, Any, Any]]
Hook = Callable[[Session, int], None]  # (session, tenant id), inside the change's transaction


def invalid(exc: InvalidConfig) -> Problem:
    """The routing core's objections, one error per problem, in the API's problem shape."""
    return Problem(422, "invalid-config", "The change would make the configuration invalid",
                   "; ".join(p.message for p in exc.problems[:5]),
                   errors=[{"field": p.where, "message": p.message, "code": p.code} for p in exc.problems])


async def read_config(ctx: Ctx) -> TenantConfig:
    from admin_api.app import ctx_of

    def read() -> TenantConfig:
        with ctx_of(ctx.request).sessions() as session:
            return load_tenant(session, ctx.who.tenant)
    # immutable, so one loaded configuration serves every request until it may have changed
    return await ctx_of(ctx.request).cached_read(ctx.who.tenant_id, "config", lambda: ctx_of(ctx.request).db(read))


async def change_config(ctx: Ctx, action: str, resource: str, ref: str, mutate: Mutation, *,
                        check: Hook | None = None, then: Hook | None = None,
                        refuse: Callable[[InvalidConfig], Problem] = invalid) -> Any:
    """Apply `mutate` to the signed-in administrator's tenant as one new configuration version.

    `mutate` raises Problem for what it refuses (404 for an unknown key, 409 for a clash); the whole
    new configuration must then pass the routing core's validation (`refuse` turns its problems into the
    answer, 422 by default). Two hooks run in the same transaction: `check(session, tenant_id)` before the
    change, under the tenant row's lock (reach, clashes), and `then(session, tenant_id)` after the new
    version is saved (account placement, presence). Two administrators changing the same tenant at once
    are serialised by that lock, so neither change is lost. Returns `after`."""
    from admin_api.app import ctx_of
    app = ctx_of(ctx.request)
    who = ctx.who

    def write() -> Any:
        with app.sessions() as session, session.begin():
            try:
                tid, _, before, after = change_tenant(session, who.tenant, mutate, by=who.login, at=app.clock(),
                                                      check=check)
            except InvalidConfig as exc:
                raise refuse(exc) from None
            except IntegrityError as exc:
                raise Problem(409, "conflict", "Conflicts with an existing object",
                              str(exc.orig).splitlines()[0]) from None
            if then is not None:
                then(session, tid)
            audit(session, who, action, resource, ref, before, after, at=app.clock())
        log.info("configuration changed", extra={"event": "config_changed", "tenant": who.tenant, "action": action,
                                                  "resource": resource, "ref": ref, "by": who.login})
        return after
    try:
        return await app.db(write)
    finally:
        app.forget_reads(who.tenant_id)  # the same request may read the new version next
