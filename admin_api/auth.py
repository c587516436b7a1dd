"""Who may sign in and what they may do (A-01…A-03): administrators, sessions, bearer tokens, two factors.

Passwords are hashed with argon2id. A session (browser, cookie) or a bearer token (integration) is
`pbx_<id>.<secret>`: the id finds the row, only the secret's SHA-256 is stored, so a database leak
gives no usable token. A session of someone with a second factor (an authenticator app's TOTP code, or
a code sent by SMS through the pluggable gateway) is not valid until the code is given.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from admin_api.limits import LoginLimiter as LoginLimiter  # moved there; old imports keep working
from pbx.db.models import AccountRow, AdminRow, AdminTokenRow, AuditRow, TenantRow, UserRow
from pbx.db.store import NotFound, tenant_id

log = logging.getLogger("admin_api.auth")

RIGHTS = ("view", "numbers", "flows", "users", "agents", "voicemail", "recordings", "prompts", "reports", "admins")
ROLES = ("super_admin", "admin", "account_admin", "custom")
ROLE_RIGHTS: dict[str, frozenset[str]] = {
    "super_admin": frozenset(RIGHTS),
    "admin": frozenset(RIGHTS),
    "account_admin": frozenset({"view", "numbers", "users", "agents"}),
}
SESSION_TTL = timedelta(hours=12)
UNVERIFIED_TTL = timedelta(minutes=10)  # a session waiting for its second factor
SMS_CODE_DIGITS = 6

_hasher = PasswordHasher()  # argon2id, the library's defaults (RFC 9106 low-memory profile)
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class AuthError(Exception):
    """`code`: bad-credentials, second-factor-required, bad-code, rate-limited, forbidden, conflict, invalid."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field  # the request field at fault ("body.role"), when one is


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in administrator of one request."""

    admin_id: int
    login: str
    name: str
    tenant: str
    tenant_id: int
    role: str
    rights: frozenset[str]
    account_id: int | None
    accounts: frozenset[int] | None  # the account subtree they may reach; None: the whole tenant
    token_id: str
    kind: str  # session | bearer
    user_key: str | None

    def can(self, right: str) -> bool:
        return right in self.rights


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    if not token.startswith("pbx_") or "." not in token:
        return None
    token_id, _, secret = token[4:].partition(".")
    return (token_id, secret) if token_id and secret else None


def rights_of(role: str, rights: Iterable[str]) -> frozenset[str]:
    if role == "custom":
        return frozenset(r for r in rights if r in RIGHTS)
    return ROLE_RIGHTS[role]


def subtree(session: Session, tenant_id: int, account_id: int) -> frozenset[int]:
    """An account and every account under it."""
    children: dict[int | None, list[int]] = {}
    for aid, parent in session.execute(select(AccountRow.id, AccountRow.parent_id)
                                       .where(AccountRow.tenant_id == tenant_id)).tuples():
        children.setdefault(parent, []).append(aid)
    seen, todo = {account_id}, [account_id]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return frozenset(seen)


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    token_id: str
    second_factor: str  # none | totp | sms
    verified: bool
    sms_code: str | None = None  # to send (SMS factor): never stored in clear


class AdminStore:
    """Administrators and their tokens, in the configuration database."""

    def __init__(self, sessions: Callable[[], Session], clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    # --- administrators ------------------------------------------------------------------------

    def create_admin(self, tenant: str, login: str, name: str, password: str, role: str, *,
                     rights: Iterable[str] = (), account: str | None = None, second_factor: str = "none",
                     sms_number: str | None = None, user_key: str | None = None) -> tuple[int, str | None]:
        """A new administrator; returns (id, TOTP secret to show once, when the factor is totp)."""
        if role not in ROLES:
            raise AuthError("invalid", f"role must be one of {', '.join(ROLES)}")
        if second_factor not in ("none", "totp", "sms"):
            raise AuthError("invalid", "second factor must be none, totp or sms")
        if second_factor == "sms" and not sms_number:
            raise AuthError("invalid", "an SMS second factor needs a number")
        if len(password) < 10:
            raise AuthError("invalid", "a password has at least 10 characters")
        unknown = set(rights) - set(RIGHTS)
        if unknown:
            raise AuthError("invalid", f"unknown rights {sorted(unknown)}")
        secret = pyotp.random_base32() if second_factor == "totp" else None
        with self.sessions() as session, session.begin():
            tid = tenant_id(session, tenant)
            account_id = None
            if account is not None:
                account_id = session.scalar(select(AccountRow.id).where(AccountRow.tenant_id == tid,
                                                                        AccountRow.key == account))
                if account_id is None:
                    raise AuthError("invalid", f"tenant has no account {account!r}")
            if role == "account_admin" and account_id is None:
                raise AuthError("invalid", "an account administrator needs an account")
            if session.scalar(select(AdminRow.id).where(AdminRow.login == login.lower())) is not None:
                raise AuthError("conflict", f"login {login!r} is taken")
            row = AdminRow(tenant_id=tid, account_id=account_id, login=login.lower(), name=name,
                           password_hash=_hasher.hash(password), role=role, rights=sorted(set(rights)),
                           second_factor=second_factor, totp_secret=secret, sms_number=sms_number,
                           user_key=user_key, created_at=self.clock(), disabled=False)
            session.add(row)
            session.flush()
            return row.id, secret

    def super_admins(self, session: Session, tenant_id: int) -> int:
        return session.scalar(select(func.count()).select_from(AdminRow).where(
            AdminRow.tenant_id == tenant_id, AdminRow.role == "super_admin", AdminRow.disabled.is_(False))) or 0

    # --- administrators managed by administrators (the API) ------------------------------------
    #
    # The rules, in one place: only holders of the right "admins" get here (the API checks that);
    # nobody grants what they do not hold themself (a role's rights must be a subset of the granter's),
    # so only a super administrator makes, promotes, changes or removes a super administrator; someone
    # bound to an account subtree sees and manages only administrators bound inside it, and creates only
    # such; at least one super administrator always remains; nobody deletes themself. Every change and its
    # audit entry share one transaction; the audit shows no password hash and no second-factor secret.

    def list_admins(self, by: Principal) -> list[dict[str, Any]]:
        with self.sessions() as session:
            keys = _account_keys(session, by.tenant_id)
            rows = session.scalars(select(AdminRow).where(AdminRow.tenant_id == by.tenant_id).order_by(AdminRow.id))
            return [admin_view(r, keys) for r in rows if _reaches(by, r)]

    def get_admin(self, by: Principal, admin_id: int) -> dict[str, Any]:
        with self.sessions() as session:
            return admin_view(self._reachable(session, by, admin_id), _account_keys(session, by.tenant_id))

    def add_admin(self, by: Principal, *, login: str, name: str, password: str, role: str,
                  rights: Iterable[str] = (), account: str | None = None, second_factor: str = "none",
                  sms_number: str | None = None, user: str | None = None) -> tuple[dict[str, Any], str | None]:
        """A new administrator of `by`'s tenant; returns (its view, the TOTP secret to show once)."""
        if len(password) < 10:
            raise AuthError("invalid", "a password has at least 10 characters", "body.password")
        with self.sessions() as session, session.begin():
            _lock_tenant(session, by.tenant_id)
            account_id = self._grantable(session, by, role, rights, account)
            _check_factor(second_factor, sms_number)
            _check_user(session, by.tenant_id, user)
            if session.scalar(select(AdminRow.id).where(AdminRow.login == login.lower())) is not None:
                raise AuthError("conflict", f"the login {login.lower()!r} is taken", "body.login")
            secret = pyotp.random_base32() if second_factor == "totp" else None
            row = AdminRow(tenant_id=by.tenant_id, account_id=account_id, login=login.lower(), name=name,
                           password_hash=_hasher.hash(password), role=role,
                           rights=sorted(set(rights)) if role == "custom" else [], second_factor=second_factor,
                           totp_secret=secret, sms_number=sms_number if second_factor == "sms" else None,
                           user_key=user, created_at=self.clock(), disabled=False)
            session.add(row)
            session.flush()
            view = admin_view(row, _account_keys(session, by.tenant_id))
            audit(session, by, "create", "admin", row.login, None, view, at=self.clock())
        log.info("administrator created", extra={"event": "admin_created", "login": row.login, "role": role,
                                                  "by": by.login})
        return view, secret

    def update_admin(self, by: Principal, admin_id: int, changes: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Change name, role, rights, account, user, password or second factor (`reset_second_factor`: a new
        TOTP secret). Returns (the view, a new TOTP secret to show once, if one was made)."""
        if "password" in changes and len(changes["password"]) < 10:
            raise AuthError("invalid", "a password has at least 10 characters", "body.password")
        with self.sessions() as session, session.begin():
            _lock_tenant(session, by.tenant_id)
            row = self._reachable(session, by, admin_id, write=True)
            keys = _account_keys(session, by.tenant_id)
            before = admin_view(row, keys)
            role = changes.get("role", row.role)
            rights = changes.get("rights", row.rights if role == "custom" else [])
            account = changes["account"] if "account" in changes else (
                keys.get(row.account_id) if row.account_id is not None and role in ("account_admin", "custom")
                else None)
            if {"role", "rights", "account"} & changes.keys():
                row.account_id = self._grantable(session, by, role, rights, account)
                demoted = row.role == "super_admin" and role != "super_admin"
                if demoted and self.super_admins(session, by.tenant_id) <= 1:
                    raise AuthError("conflict", "this is the last super administrator: one always remains",
                                    "body.role")
                row.role = role
                row.rights = sorted(set(rights)) if role == "custom" else []
            if "name" in changes:
                row.name = changes["name"]
            if "user" in changes:
                _check_user(session, by.tenant_id, changes["user"])
                row.user_key = changes["user"]
            factor = changes.get("second_factor", row.second_factor)
            sms = changes.get("sms_number", row.sms_number)
            _check_factor(factor, sms)
            secret = None
            if factor == "totp" and (row.second_factor != "totp" or changes.get("reset_second_factor")):
                secret = pyotp.random_base32()
            reset = secret is not None or factor != row.second_factor or "password" in changes or (
                factor == "sms" and sms != row.sms_number)
            row.second_factor = factor
            row.sms_number = sms if factor == "sms" else None
            row.totp_secret = secret if secret is not None else (row.totp_secret if factor == "totp" else None)
            if secret is not None:  # the steps used guard the old secret's codes only
                row.totp_last_step = None
            if "password" in changes:
                row.password_hash = _hasher.hash(changes["password"])
            if reset and row.id != by.admin_id:
                # new credentials: the sessions opened with the old ones end (tokens for integrations stay)
                session.execute(delete(AdminTokenRow).where(AdminTokenRow.admin_id == row.id,
                                                            AdminTokenRow.kind == "session"))
            session.flush()
            after = admin_view(row, keys)
            audit(session, by, "update", "admin", row.login, before,
                  {**after, **({"password": "changed"} if "password" in changes else {}),
                   **({"second_factor_reset": True} if secret is not None else {})}, at=self.clock())
        return after, secret

    def delete_admin(self, by: Principal, admin_id: int) -> None:
        with self.sessions() as session, session.begin():
            _lock_tenant(session, by.tenant_id)
            row = self._reachable(session, by, admin_id, write=True)
            if row.id == by.admin_id:
                raise AuthError("conflict", "nobody deletes themself: ask another administrator")
            if row.role == "super_admin" and self.super_admins(session, by.tenant_id) <= 1:
                raise AuthError("conflict", "this is the last super administrator: one always remains")
            before = admin_view(row, _account_keys(session, by.tenant_id))
            session.execute(delete(AdminTokenRow).where(AdminTokenRow.admin_id == row.id))
            session.delete(row)
            audit(session, by, "delete", "admin", before["login"], before, None, at=self.clock())
        log.info("administrator deleted", extra={"event": "admin_deleted", "login": before["login"], "by": by.login})

    def _reachable(self, session: Session, by: Principal, admin_id: int, write: bool = False) -> AdminRow:
        """An administrator `by` may see: same tenant and, if `by` is bound to accounts, bound inside them.
        Anything else is not found, exactly like an id that does not exist. To change one, `by` must hold
        every right they hold."""
        row = session.get(AdminRow, admin_id)
        if row is None or row.tenant_id != by.tenant_id or not _reaches(by, row):
            raise NotFound(f"administrator {admin_id}")
        if write and row.role == "super_admin" and by.role != "super_admin":
            raise AuthError("forbidden", "only a super administrator changes a super administrator")
        if write and not rights_of(row.role, row.rights or []) <= by.rights:
            raise AuthError("forbidden", "you cannot change an administrator who holds rights you do not")
        return row

    def _grantable(self, session: Session, by: Principal, role: str, rights: Iterable[str],
                   account: str | None) -> int | None:
        """The account id for an administrator `by` may make with this role, rights and account."""
        rights = set(rights)
        if role not in ROLES:
            raise AuthError("invalid", f"role must be one of {', '.join(ROLES)}", "body.role")
        if unknown := rights - set(RIGHTS):
            raise AuthError("invalid", f"unknown rights {sorted(unknown)}", "body.rights")
        if role != "custom" and rights:
            raise AuthError("invalid", "only the custom role has its own set of rights", "body.rights")
        if role == "super_admin" and by.role != "super_admin":
            raise AuthError("forbidden", "only a super administrator makes a super administrator")
        if extra := rights_of(role, rights) - by.rights:
            raise AuthError("forbidden", f"you cannot grant rights you do not hold: {sorted(extra)}")
        if account is None:
            if role == "account_admin":
                raise AuthError("invalid", "an account administrator needs an account", "body.account")
            if by.accounts is not None:
                raise AuthError("forbidden", "you manage administrators of your own accounts only: give an account")
            return None
        if role in ("super_admin", "admin"):
            raise AuthError("invalid", f"the role {role} administers the whole tenant: give no account",
                            "body.account")
        account_id = session.scalar(select(AccountRow.id).where(AccountRow.tenant_id == by.tenant_id,
                                                                AccountRow.key == account))
        if account_id is None or (by.accounts is not None and account_id not in by.accounts):
            raise AuthError("invalid", f"there is no account {account!r}", "body.account")
        return account_id

    # --- signing in ----------------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> AdminRow | None:
        """The administrator with this login and password, or None. Takes as long for an unknown login."""
        with self.sessions() as session:
            row = session.scalar(select(AdminRow).where(AdminRow.login == login.lower()))
            if row is None or row.disabled:
                try:
                    _hasher.verify(_DUMMY_HASH, password)
                except VerificationError:
                    pass
                return None
            try:
                _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            session.expunge(row)
            return row

    def open(self, admin: AdminRow, kind: str, name: str = "", ttl: timedelta | None = SESSION_TTL) -> NewSession:
        """A session (waiting for the second factor, if there is one) or a bearer token."""
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        verified = kind == "bearer" or admin.second_factor == "none"
        code = None
        if not verified and admin.second_factor == "sms":
            code = "".join(secrets.choice("0123456789") for _ in range(SMS_CODE_DIGITS))
        now = self.clock()
        expires = now + (ttl if verified or ttl is None else min(ttl, UNVERIFIED_TTL)) if ttl is not None else None
        with self.sessions() as session, session.begin():
            session.add(AdminTokenRow(id=token_id, admin_id=admin.id, kind=kind, secret_sha256=hash_secret(secret),
                                      name=name, created_at=now, expires_at=expires, verified=verified,
                                      pending_code_sha256=hash_secret(code) if code else None, last_used_at=None))
        return NewSession(f"pbx_{token_id}.{secret}", token_id, admin.second_factor if not verified else "none",
                          verified, code)

    def _token(self, session: Session, token: str) -> tuple[AdminTokenRow, AdminRow] | None:
        parts = split_token(token)
        if parts is None:
            return None
        row = session.get(AdminTokenRow, parts[0])
        if row is None or not hmac.compare_digest(row.secret_sha256, hash_secret(parts[1])):
            return None
        if row.expires_at is not None and row.expires_at <= self.clock():
            return None
        admin = session.get(AdminRow, row.admin_id)
        if admin is None or admin.disabled:
            return None
        return row, admin

    def verify(self, token: str, code: str) -> bool:
        """The second factor for a session; True once it is verified (and it lives its full time)."""
        with self.sessions() as session, session.begin():
            found = self._token(session, token)
            if found is None:
                return False
            row, admin = found
            if row.verified:
                return True
            ok = False
            if admin.second_factor == "totp" and admin.totp_secret:
                ok = self._totp_once(session, admin.id, code)
            elif admin.second_factor == "sms" and row.pending_code_sha256:
                ok = hmac.compare_digest(row.pending_code_sha256, hash_secret(code))
            if ok:
                row.verified = True
                row.pending_code_sha256 = None
                row.expires_at = self.clock() + SESSION_TTL
            return ok

    def _totp_once(self, session: Session, admin_id: int, code: str) -> bool:
        """A TOTP code of the current time step or one either side (clocks drift), accepted once (RFC 6238 §5.2):
        a code whose step is not newer than the last one accepted is refused. The administrator's row is read
        under its lock (FOR UPDATE; SQLite's writers are serialised by BEGIN IMMEDIATE), so two verifications
        racing with one code, in two sessions or on two API instances, cannot both pass."""
        admin = session.scalar(select(AdminRow).where(AdminRow.id == admin_id).with_for_update()
                               .execution_options(populate_existing=True))
        if admin is None or not admin.totp_secret:
            return False
        totp = pyotp.TOTP(admin.totp_secret)
        now = totp.timecode(self.clock())
        for step in (now + 1, now, now - 1):
            if admin.totp_last_step is not None and step <= admin.totp_last_step:
                continue
            if hmac.compare_digest(totp.generate_otp(step), code):
                admin.totp_last_step = step
                return True
        log.info("TOTP code refused", extra={"event": "totp_refused", "login": admin.login,
                                              "replayed": any(hmac.compare_digest(totp.generate_otp(s), code)
                                                              for s in (now + 1, now, now - 1))})
        return False

    def resolve(self, token: str, *, allow_unverified: bool = False) -> Principal | None:
        with self.sessions() as session, session.begin():
            found = self._token(session, token)
            if found is None:
                return None
            row, admin = found
            if not row.verified and not allow_unverified:
                return None
            now = self.clock()
            if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
                row.last_used_at = now  # at most once a minute: reads stay reads
            tenant = session.get(TenantRow, admin.tenant_id)
            assert tenant is not None
            accounts = subtree(session, admin.tenant_id, admin.account_id) if admin.account_id is not None else None
            return Principal(admin.id, admin.login, admin.name, tenant.key, admin.tenant_id, admin.role,
                             rights_of(admin.role, admin.rights), admin.account_id, accounts, row.id, row.kind,
                             admin.user_key)

    def revoke(self, principal: Principal, token_id: str) -> bool:
        """Remove one of the principal's own tokens or sessions."""
        with self.sessions() as session, session.begin():
            row = session.get(AdminTokenRow, token_id)
            if row is None or row.admin_id != principal.admin_id:
                return False
            session.delete(row)
            return True

    def tokens(self, principal: Principal) -> list[dict[str, Any]]:
        with self.sessions() as session:
            rows = session.scalars(select(AdminTokenRow).where(AdminTokenRow.admin_id == principal.admin_id,
                                                               AdminTokenRow.kind == "bearer")
                                   .order_by(AdminTokenRow.created_at))
            return [{"id": r.id, "name": r.name, "created_at": r.created_at, "expires_at": r.expires_at,
                     "last_used_at": r.last_used_at} for r in rows]


def admin_view(row: AdminRow, account_keys: dict[int, str]) -> dict[str, Any]:
    """What the API shows of an administrator (and the audit log records): never a hash or a secret."""
    return {"id": row.id, "login": row.login, "name": row.name, "role": row.role,
            "rights": sorted(rights_of(row.role, row.rights or [])), "custom_rights": list(row.rights or []),
            "account": account_keys.get(row.account_id) if row.account_id is not None else None,
            "second_factor": row.second_factor, "user": row.user_key, "created_at": row.created_at,
            "disabled": row.disabled}


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _reaches(by: Principal, row: AdminRow) -> bool:
    return by.accounts is None or (row.account_id is not None and row.account_id in by.accounts)


def _account_keys(session: Session, tenant_id: int) -> dict[int, str]:
    return dict(session.execute(select(AccountRow.id, AccountRow.key).where(AccountRow.tenant_id == tenant_id))
                .tuples().all())


def _lock_tenant(session: Session, tenant_id: int) -> None:
    # two administrators changing administrators at once: one waits (PostgreSQL), so the last super
    # administrator cannot be removed by two requests that each saw another one
    session.scalar(select(TenantRow.id).where(TenantRow.id == tenant_id).with_for_update())


def _check_factor(factor: str, sms_number: str | None) -> None:
    if factor not in ("none", "totp", "sms"):
        raise AuthError("invalid", "second factor must be none, totp or sms", "body.second_factor")
    if factor == "sms" and not sms_number:
        raise AuthError("invalid", "an SMS second factor needs a number", "body.sms_number")


def _check_user(session: Session, tenant_id: int, user: str | None) -> None:
    if user is not None and session.scalar(select(UserRow.id).where(UserRow.tenant_id == tenant_id,
                                                                   UserRow.key == user)) is None:
        raise AuthError("invalid", f"there is no user {user!r}", "body.user")


def audit(session: Session, principal: Principal, action: str, resource: str, ref: str, before: Any = None,
          after: Any = None, at: datetime | None = None) -> None:
    """One entry in the tenant's audit log, in the caller's transaction: the change and its record go together.
    `before` and `after` are stored JSON-ready (dates as text, tuples as lists)."""
    session.add(AuditRow(tenant_id=principal.tenant_id, at=at or datetime.now().astimezone(), actor=principal.login,
                         action=action, resource=resource, ref=ref, before=_plain(before), after=_plain(after)))
