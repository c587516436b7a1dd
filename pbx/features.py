"""Feature codes dialled from phones, carried out through the same services and stores the admin API uses.

pbx.routing.phone decides what a code means (pure); this does it: agents log in, out and pause through
AcdService (as the API's agent actions do), presence goes to the database and the live store (as the API's
presence endpoints do), forwarding becomes the next configuration version (as a user change through the API
does, validated by the routing core and audited), and the routing table in force follows at once. Without a
database (the demo's in-memory mode) presence and forwarding live in the live store and the table only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pbx.acd.service import AcdService, AgentError
from pbx.db import in_db
from pbx.db.codec import target_to_text
from pbx.db.models import AuditRow, TenantRow
from pbx.db.store import change_tenant, clear_presence, load_presence, set_presence
from pbx.routing.model import Forwarding, PresenceEntry, Target, TenantConfig, UserConfig
from pbx.routing.phone import Feature
from pbx.routing.validate import InvalidConfig
from pbx.state.store import LiveStore
from pbx.tables import TableHolder

log = logging.getLogger("pbx.features")

PHONE_PAUSE_REASON = "Paus (telefon)"


class PhoneFeatures:
    """`await features(feature)` → the prompts the phone hears: `feature.done` when it worked, else why not."""

    def __init__(self, acd: AcdService, store: LiveStore, tables: TableHolder, clock: Callable[[], datetime], *,
                 sessions: Callable[[], Session] | None = None) -> None:
        self.acd = acd
        self.store = store
        self.tables = tables
        self.clock = clock
        self.sessions = sessions

    async def __call__(self, feature: Feature) -> tuple[str, ...]:
        tenant, user, by = feature.tenant, feature.user, f"phone:{feature.user}"
        try:
            if feature.kind in ("login", "logout", "pause", "unpause") and not self.acd.memberships(tenant, user):
                raise AgentError("not-a-member", f"{user!r} is in no queue or answer group")
            if feature.kind == "login":
                await self.acd.agent_login(tenant, user, feature.member, by=by)
            elif feature.kind == "logout":
                await self.acd.agent_logout(tenant, user, feature.member, by=by)
            elif feature.kind == "pause":
                await self.acd.agent_pause(tenant, user, PHONE_PAUSE_REASON, by=by)
            elif feature.kind == "unpause":
                await self.acd.agent_unpause(tenant, user, by=by)
            elif feature.kind == "presence-set":
                assert feature.presence is not None
                await self._set_presence(tenant, user, feature.presence)
            elif feature.kind == "presence-clear":
                await self._clear_presence(tenant, user)
            else:
                await self._forward(tenant, user, feature.target if feature.kind == "forward-on" else None)
        except AgentError as exc:
            log.info("feature code refused", extra={"event": "feature_refused", "tenant": tenant, "user": user,
                                                     "feature": feature.kind, "code": exc.code})
            return ("agent-not-member",) if exc.code == "not-a-member" else ("service-failed",)
        except InvalidConfig as exc:
            log.info("feature code refused", extra={"event": "feature_refused", "tenant": tenant, "user": user,
                                                     "feature": feature.kind, "error": str(exc)})
            return ("feature-invalid",)
        log.info("feature code done", extra={"event": "feature_done", "tenant": tenant, "user": user,
                                              "feature": feature.kind, "member": feature.member})
        return feature.done

    # --- presence (U-05): the database and the live store, as the API's presence endpoints ---------------
    async def _set_presence(self, tenant: str, user: str, entry: PresenceEntry) -> None:
        if self.sessions is None:
            kept = [e for e in await self.store.presence_entries(tenant, user) if e.start != entry.start]
            await self.store.set_presence(tenant, user, sorted([*kept, entry], key=lambda e: e.start))
            return

        def write(session: Session) -> None:
            set_presence(session, tenant, user, entry)
            _audit(session, tenant, user, "create", "presence", user, None, _presence_json(entry), self.clock())
        await self._tell_store(tenant, user, write)

    async def _clear_presence(self, tenant: str, user: str) -> None:
        """The periods in force now go; those planned for later stay."""
        now = self.clock()
        if self.sessions is None:
            entries = await self.store.presence_entries(tenant, user)
            await self.store.set_presence(tenant, user, [e for e in entries if not e.active_at(now)])
            return

        def write(session: Session) -> None:
            for entry in load_presence(session, tenant).get((tenant, user), ()):
                if entry.active_at(now):
                    clear_presence(session, tenant, user, entry.start)
                    _audit(session, tenant, user, "delete", "presence", user, _presence_json(entry), None, now)
        await self._tell_store(tenant, user, write)

    async def _tell_store(self, tenant: str, user: str, write: Callable[[Session], None]) -> None:
        assert self.sessions is not None
        sessions = self.sessions

        def run() -> tuple[PresenceEntry, ...]:
            with sessions() as session, session.begin():
                write(session)
            with sessions() as session:
                return load_presence(session, tenant).get((tenant, user), ())
        await self.store.set_presence(tenant, user, await in_db(sessions, run))

    # --- forwarding (U-07): a configuration change like the API's, then the table in force ----------------
    async def _forward(self, tenant: str, user: str, target: Target | None) -> None:
        table = self.tables.table
        if self.sessions is None:
            old = table.tenants[tenant].users[user]
            new = _forwarded(old, target)
            self.tables.swap(table.with_user(tenant, new))
            return
        sessions = self.sessions
        at = self.clock()

        def forwarded(current: TenantConfig) -> tuple[TenantConfig, UserConfig, UserConfig]:
            old = next(u for u in current.users if u.key == user)
            new = _forwarded(old, target)
            return replace(current, users=tuple(new if u.key == user else u for u in current.users)), old, new

        def run() -> tuple[UserConfig, int]:
            with sessions() as session, session.begin():  # serialised with the API's changes of the tenant
                _, cfg, old, new = change_tenant(session, tenant, forwarded, by=f"phone:{user}", at=at)
                _audit(session, tenant, user, "update", "user", user, {"forwarding": {"always": target_to_text(
                    old.forwarding.always)}}, {"forwarding": {"always": target_to_text(target)}}, at)
            return new, cfg.version
        new, version = await in_db(sessions, run)
        # this instance at once; the others when they notice the new version (pbx.live's reloader)
        table = self.tables.table
        if tenant in table.tenants and user in table.tenants[tenant].users:
            self.tables.swap(table.with_user(tenant, replace(table.tenants[tenant].users[user],
                                                             forwarding=new.forwarding), version))


def _forwarded(user: UserConfig, target: Target | None) -> UserConfig:
    fw = user.forwarding
    return replace(user, forwarding=Forwarding(target, fw.on_busy, fw.on_no_answer, fw.no_answer_after_s))


def _presence_json(entry: PresenceEntry) -> dict[str, str | None]:
    return {"status": entry.status.value, "from": entry.start.isoformat(),
            "until": entry.end.isoformat() if entry.end else None, "message": entry.message}


def _audit(session: Session, tenant: str, user: str, action: str, resource: str, ref: str, before: object,
           after: object, at: datetime) -> None:
    """The audit entry of a change made by phone, in the change's transaction; the actor is the phone's user."""
    tid = session.scalar(select(TenantRow.id).where(TenantRow.key == tenant))
    session.add(AuditRow(tenant_id=tid, at=at, actor=f"phone:{user}", action=action, resource=resource, ref=ref,
                         before=before, after=after))
