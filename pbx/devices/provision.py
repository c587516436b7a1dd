"""Provisioning users' phones into Asterisk through PJSIP realtime: rows in ps_endpoints, ps_auths and ps_aors,
written in the same transaction as the configuration change that gives the user the phone.

Asterisk reads an endpoint from these tables when it needs it (a REGISTER, an INVITE, a Dial), so a new or changed
phone needs no `pjsip reload` and disturbs no call; every Asterisk node reads the same database.

A phone's endpoint id, auth id, aor id and SIP username are all `<tenant>-<device>`. Device names cannot hold a
hyphen and tenant keys can, so the id splits at its last hyphen into exactly one (tenant, device): no two tenants'
phones can share an id. The password is generated here, shown once, and stored only as md5_cred =
md5("<username>:<realm>:<password>") with the tenant's key as the realm, so a credential is bound to its tenant.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pbx.devices.models import DeviceRow, PsAorRow, PsAuthRow, PsEndpointRow
from pbx.routing.model import TenantConfig

log = logging.getLogger(__name__)

PHONES_CONTEXT = "pbx-phones"  # asterisk-config/extensions.conf: calls from users' phones
DEVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")  # no hyphen: see the module docstring
PASSWORD_ALPHABET = string.ascii_letters + string.digits  # what every phone's keypad and web page accept
PASSWORD_LENGTH = 20  # about 119 bits
CODECS = "g722,alaw,ulaw,opus"


class DeviceTaken(Exception):
    """The endpoint id is already provisioned (by this tenant or, for a hand-made row, anyone)."""


@dataclass(frozen=True, slots=True)
class Provisioned:
    device: DeviceRow
    password: str  # shown once


def endpoint_id(tenant: str, name: str) -> str:
    if not DEVICE_NAME.match(name):
        raise ValueError(f"device name {name!r}: lower-case letters, digits and _ (no hyphen), at most 32")
    return f"{tenant}-{name}"


def dial_string(endpoint: str) -> str:
    """How the configuration (UserConfig.devices) and the routing core name the phone."""
    return f"PJSIP/{endpoint}"


def md5_cred(username: str, realm: str, password: str) -> str:
    # HA1 of RFC 2617 digest authentication, which Asterisk's md5_cred holds; not used as a password hash
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def provision(session: Session, tenant_id: int, tenant: str, user: str, name: str, *, label: str = "",
              language: str | None = None, at: datetime) -> Provisioned:
    """Create the phone `name` of `user` in Asterisk's realtime tables; the caller puts its dial string in the
    user's configuration in the same transaction."""
    endpoint = endpoint_id(tenant, name)
    if session.get(PsEndpointRow, endpoint) is not None or session.get(PsAuthRow, endpoint) is not None \
            or session.get(PsAorRow, endpoint) is not None:
        raise DeviceTaken(endpoint)
    password = new_password()
    session.add_all([
        PsEndpointRow(id=endpoint, aors=endpoint, auth=endpoint, context=PHONES_CONTEXT, disallow="all", allow=CODECS,
                      direct_media="no", force_rport="yes", rewrite_contact="yes", rtp_symmetric="yes",
                      dtmf_mode="rfc4733", language=language, tenantid=tenant),
        PsAuthRow(id=endpoint, auth_type="md5", md5_cred=md5_cred(endpoint, tenant, password), realm=tenant,
                  username=endpoint),
        # one registration per device (a desk phone and a softphone are two devices); qualify so that an
        # unreachable phone turns UNAVAILABLE, which line status shows
        PsAorRow(id=endpoint, max_contacts=1, remove_existing="yes", qualify_frequency=60),
    ])
    device = DeviceRow(tenant_id=tenant_id, user_key=user, name=name, endpoint=endpoint, label=label, created_at=at,
                       password_set_at=at)
    session.add(device)
    session.flush()
    log.info("device provisioned", extra={"event": "device_provisioned", "tenant": tenant, "user": user,
                                          "endpoint": endpoint})
    return Provisioned(device, password)


def reset_password(session: Session, device: DeviceRow, tenant: str, *, at: datetime) -> str:
    """A new password for the phone (shown once); the old one stops working at the phone's next challenge."""
    password = new_password()
    auth = session.get(PsAuthRow, device.endpoint)
    if auth is None:  # a row lost by hand: put it back
        auth = PsAuthRow(id=device.endpoint, auth_type="md5", realm=tenant, username=device.endpoint)
        session.add(auth)
    auth.auth_type, auth.realm, auth.username = "md5", tenant, device.endpoint
    auth.md5_cred = md5_cred(device.endpoint, tenant, password)
    device.password_set_at = at
    session.flush()
    log.info("device password reset", extra={"event": "device_password_reset", "tenant": tenant,
                                             "endpoint": device.endpoint})
    return password


def _remove(session: Session, endpoints: Iterable[str]) -> None:
    gone = list(endpoints)
    if not gone:
        return
    for model in (PsEndpointRow, PsAuthRow, PsAorRow):
        session.execute(delete(model).where(model.id.in_(gone)))
    session.execute(delete(DeviceRow).where(DeviceRow.endpoint.in_(gone)))


def prune(session: Session, tenant_id: int, cfg: TenantConfig) -> list[str]:
    """Remove the provisioned phones the configuration no longer gives their user (the user was deleted, or the
    phone taken off the user's devices): Asterisk stops accepting them at once. Called by every save of a
    tenant's configuration (pbx.db.store.save_tenant), so no path can leave a phone registered to nobody.
    Returns the endpoints removed."""
    kept = {(u.key, d) for u in cfg.users for d in u.devices}
    rows = session.execute(select(DeviceRow.user_key, DeviceRow.endpoint).where(DeviceRow.tenant_id == tenant_id))
    gone = [endpoint for user, endpoint in rows if (user, dial_string(endpoint)) not in kept]
    _remove(session, gone)
    if gone:
        log.info("devices removed", extra={"event": "devices_removed", "tenant": cfg.key, "endpoints": gone})
    return gone


def remove_tenant_devices(session: Session, tenant_id: int) -> None:
    """Before a tenant is deleted: its phones leave Asterisk's tables too (the devices rows cascade by themselves,
    the ps_* rows have no tenant column Asterisk would accept a foreign key on)."""
    _remove(session, session.scalars(select(DeviceRow.endpoint).where(DeviceRow.tenant_id == tenant_id)))
