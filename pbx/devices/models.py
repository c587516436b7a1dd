"""The PJSIP realtime tables Asterisk reads its phones from (sorcery: ps_endpoints, ps_auths, ps_aors), and which
user of which tenant each provisioned phone belongs to (devices).

The ps_* tables carry only columns of Asterisk's own realtime schema (contrib/ast-db-manage, config migrations
43956d550a44 and 655054a68ad5 for `tenantid`), because sorcery applies every non-NULL column of a row as an
option of the object, and an option it does not know makes the whole endpoint fail to load. Asterisk's schema
uses enums (yes/no…) and short VARCHARs; here they are plain strings, which every realtime driver reads the same.
Ownership is kept beside them in `devices`, keyed by the user's key: a configuration save replaces the user rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pbx.db.models import NO_ID_REUSE, Base


class PsEndpointRow(Base):
    __tablename__ = "ps_endpoints"

    id: Mapped[str] = mapped_column(primary_key=True)  # "<tenant>-<device>": unique across tenants
    transport: Mapped[str | None]
    aors: Mapped[str | None]
    auth: Mapped[str | None]
    context: Mapped[str | None]
    disallow: Mapped[str | None]
    allow: Mapped[str | None]
    direct_media: Mapped[str | None]
    force_rport: Mapped[str | None]
    rewrite_contact: Mapped[str | None]
    rtp_symmetric: Mapped[str | None]
    dtmf_mode: Mapped[str | None]
    language: Mapped[str | None]
    tenantid: Mapped[str | None]  # Asterisk 20.8+/21.3+: the channel's TENANTID


class PsAuthRow(Base):
    __tablename__ = "ps_auths"

    id: Mapped[str] = mapped_column(primary_key=True)
    auth_type: Mapped[str | None]
    md5_cred: Mapped[str | None]  # md5("username:realm:password"); the password itself is never stored
    realm: Mapped[str | None]
    username: Mapped[str | None]


class PsAorRow(Base):
    __tablename__ = "ps_aors"

    id: Mapped[str] = mapped_column(primary_key=True)
    max_contacts: Mapped[int | None]
    remove_existing: Mapped[str | None]
    qualify_frequency: Mapped[int | None]


class DeviceRow(Base):
    """A phone provisioned for a user: its name in the tenant, and the endpoint (= auth = aor id) it is."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_key: Mapped[str]
    name: Mapped[str]
    endpoint: Mapped[str] = mapped_column(unique=True)
    label: Mapped[str]
    created_at: Mapped[datetime]
    password_set_at: Mapped[datetime]
