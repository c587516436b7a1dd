"""Users' phones provisioned into Asterisk through PJSIP realtime: the rows Asterisk reads (on SQLite and
PostgreSQL), the admin API's device operations over real HTTP, tenant isolation and the audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pbx.db import delete_tenant, load_tenant, save_tenant
from pbx.db.models import AuditRow, TenantRow
from pbx.demo import annat, demo_accounts, exempel
from pbx.devices.models import DeviceRow, PsAorRow, PsAuthRow, PsEndpointRow
from pbx.devices.provision import DeviceTaken, endpoint_id, provision
from pbx.routing.model import UserConfig
from tests.admin_world import World, problem, run, signed_in

API = "/api/v1"
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ha1(username: str, realm: str, password: str) -> str:
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def _tid(session: Session, key: str) -> int:
    tid = session.scalar(select(TenantRow.id).where(TenantRow.key == key))
    assert tid is not None
    return tid


def _with_device(session: Session, tenant: str, user: str, dial: str) -> None:
    """The tenant's configuration with `dial` among `user`'s phones, saved as the next version."""
    cfg = load_tenant(session, tenant)
    users = tuple(replace(u, devices=(*u.devices, dial)) if u.key == user else u for u in cfg.users)
    save_tenant(session, replace(cfg, users=users, version=cfg.version + 1))


def _rows(session: Session, endpoint: str) -> tuple[Any, Any, Any]:
    return (session.get(PsEndpointRow, endpoint), session.get(PsAuthRow, endpoint), session.get(PsAorRow, endpoint))


# --- the rows Asterisk reads (both backends) -------------------------------------------------------


def test_a_provisioned_phone_is_an_endpoint_auth_and_aor_with_only_the_digest_of_its_password(
        session: Session) -> None:
    save_tenant(session, exempel(), demo_accounts())
    save_tenant(session, replace(annat(), users=(UserConfig("anna", "Anna på Annat"),)))
    made = provision(session, _tid(session, "exempel"), "exempel", "anna", "desk", label="Skrivbord", at=AT)
    _with_device(session, "exempel", "anna", "PJSIP/exempel-desk")
    session.commit()

    endpoint, auth, aor = _rows(session, "exempel-desk")
    assert endpoint is not None and auth is not None and aor is not None
    assert (endpoint.context, endpoint.aors, endpoint.auth, endpoint.tenantid) == \
        ("pbx-phones", "exempel-desk", "exempel-desk", "exempel")
    assert (auth.auth_type, auth.username, auth.realm) == ("md5", "exempel-desk", "exempel")
    assert auth.md5_cred == ha1("exempel-desk", "exempel", made.password)
    assert aor.max_contacts == 1 and aor.remove_existing == "yes"
    assert len(made.password) == 20 and made.password.isalnum()
    # the password itself is nowhere in the tables Asterisk or anyone else reads
    for row in (endpoint, auth, aor, made.device):
        assert made.password not in json.dumps({c: str(getattr(row, c)) for c in row.__table__.columns.keys()})
    device = session.scalar(select(DeviceRow).where(DeviceRow.endpoint == "exempel-desk"))
    assert device is not None and (device.user_key, device.name, device.label) == ("anna", "desk", "Skrivbord")


def test_endpoint_ids_are_unique_across_tenants(session: Session) -> None:
    save_tenant(session, exempel(), demo_accounts())
    save_tenant(session, replace(annat(), users=(UserConfig("anna", "Anna på Annat"),)))
    first = provision(session, _tid(session, "exempel"), "exempel", "anna", "desk", at=AT)
    second = provision(session, _tid(session, "annat"), "annat", "anna", "desk", at=AT)
    assert (first.device.endpoint, second.device.endpoint) == ("exempel-desk", "annat-desk")
    with pytest.raises(DeviceTaken):
        provision(session, _tid(session, "exempel"), "exempel", "bjorn", "desk", at=AT)
    # a device name cannot hold the separator, so "a-b" + "c" and "a" + "b-c" can never both exist
    with pytest.raises(ValueError, match="no hyphen"):
        endpoint_id("a", "b-c")
    assert endpoint_id("a-b", "c") == "a-b-c"
    session.commit()
    # and the database refuses a second row of the same id whatever wrote it
    session.add(PsEndpointRow(id="annat-desk", context="elsewhere"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_a_phone_the_configuration_drops_leaves_asterisk_with_the_save(session: Session) -> None:
    save_tenant(session, exempel(), demo_accounts())
    save_tenant(session, annat())
    tid = _tid(session, "exempel")
    provision(session, tid, "exempel", "anna", "desk", at=AT)
    _with_device(session, "exempel", "anna", "PJSIP/exempel-desk")
    provision(session, tid, "exempel", "bjorn", "soft", at=AT)
    _with_device(session, "exempel", "bjorn", "PJSIP/exempel-soft")
    session.commit()
    # a save that keeps Anna's phone keeps it; Björn's phone, taken off his devices, goes with that save
    cfg = load_tenant(session, "exempel")
    users = tuple(replace(u, devices=tuple(d for d in u.devices if d != "PJSIP/exempel-soft")) for u in cfg.users)
    save_tenant(session, replace(cfg, users=users, version=cfg.version + 1))
    session.commit()
    assert all(r is not None for r in _rows(session, "exempel-desk"))
    assert _rows(session, "exempel-soft") == (None, None, None)
    # deleting the tenant takes its phones out of Asterisk's tables too
    delete_tenant(session, "exempel")
    session.commit()
    assert _rows(session, "exempel-desk") == (None, None, None)
    assert session.scalar(select(DeviceRow.id)) is None


# --- the API -------------------------------------------------------------------------------------


async def call(c: ClientSession, w: World, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with c.request(method, f"{w.base}{API}{path}", **kw) as r:
        body = await r.json() if r.content_type.endswith("json") else await r.read()
        return r.status, body


def _db(w: World, endpoint: str) -> tuple[Any, Any, Any]:
    with w.ctx.sessions() as session:
        rows = _rows(session, endpoint)
        for row in rows:
            if row is not None:
                session.expunge(row)
        return rows


def test_devices_are_added_listed_reset_and_removed_through_the_api_and_audited(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            status, made = await call(c, w, "POST", "/users/anna/devices", json={"name": "desk",
                                                                                 "label": "Skrivbordet"})
            assert status == 201, made
            assert (made["username"], made["dial"], made["realm"]) == ("exempel-desk", "PJSIP/exempel-desk", "exempel")
            first = made["password"]
            _, auth, _ = _db(w, "exempel-desk")
            assert auth.md5_cred == ha1("exempel-desk", "exempel", first)
            # the user's configuration names the phone; the list shows it beside the phone configured by hand
            status, user = await call(c, w, "GET", "/users/anna")
            assert user["devices"] == ["PJSIP/anna", "PJSIP/exempel-desk"]
            status, page = await call(c, w, "GET", "/users/anna/devices")
            assert status == 200 and page["total"] == 2
            by_dial = {d["dial"]: d for d in page["items"]}
            assert by_dial["PJSIP/anna"]["provisioned"] is False and by_dial["PJSIP/anna"]["name"] is None
            desk = by_dial["PJSIP/exempel-desk"]
            assert desk["provisioned"] is True and desk["label"] == "Skrivbordet" and "password" not in desk
            assert desk["line"] is None  # no controller in this API process: no live state to show
            status, only = await call(c, w, "GET", "/users/anna/devices", params={"provisioned": "true"})
            assert [d["name"] for d in only["items"]] == ["desk"]
            async with c.get(f"{w.base}{API}/users/anna/devices", params={"format": "csv"}) as r:
                assert r.status == 200 and "PJSIP/exempel-desk" in await r.text()
            status, one = await call(c, w, "GET", "/users/anna/devices/desk")
            assert status == 200 and one["username"] == "exempel-desk"

            # the same name twice, or a name with the separator, is refused and changes nothing
            status, body = await call(c, w, "POST", "/users/bjorn/devices", json={"name": "desk"})
            assert status == 409 and body["errors"][0]["field"] == "body.name"
            status, body = await call(c, w, "POST", "/users/bjorn/devices", json={"name": "a-b"})
            assert status == 422 and body["errors"][0]["field"] == "body.name"
            status, body = await call(c, w, "POST", "/users/nobody/devices", json={"name": "x"})
            assert status == 404
            status, bjorn = await call(c, w, "GET", "/users/bjorn")
            assert bjorn["devices"] == ["PJSIP/bjorn"]

            status, again = await call(c, w, "POST", "/users/anna/devices/desk/password")
            assert status == 200 and again["password"] != first and again["username"] == "exempel-desk"
            _, auth, _ = _db(w, "exempel-desk")
            assert auth.md5_cred == ha1("exempel-desk", "exempel", again["password"])

            status, _ = await call(c, w, "DELETE", "/users/anna/devices/desk")
            assert status == 204
            assert _db(w, "exempel-desk") == (None, None, None)
            status, user = await call(c, w, "GET", "/users/anna")
            assert user["devices"] == ["PJSIP/anna"]
            await problem(await c.get(f"{w.base}{API}/users/anna/devices/desk"), 404)

            status, log = await call(c, w, "GET", "/audit", params={"per_page": "500"})
            entries = [e for e in log["items"] if e["resource"] in ("device", "device_password")]
            assert [(e["action"], e["resource"], e["ref"], e["actor"]) for e in entries] == [
                ("create", "device", "anna/desk", "boss@exempel.se"),
                ("update", "device_password", "anna/desk", "boss@exempel.se"),
                ("delete", "device", "anna/desk", "boss@exempel.se")]
            assert entries[0]["before"] is None and entries[0]["after"]["username"] == "exempel-desk"
            assert entries[2]["before"]["dial"] == "PJSIP/exempel-desk" and entries[2]["after"] is None
        # no password, and no digest of one, ever reaches the audit log
        with w.ctx.sessions() as session:
            text = json.dumps([[r.before, r.after] for r in session.scalars(select(AuditRow))])
        assert first not in text and again["password"] not in text and "md5" not in text
    run(tmp_path, body)


def test_removing_a_user_or_taking_a_phone_off_them_removes_it_from_asterisk(tmp_path: Path) -> None:
    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as c:
            status, _ = await call(c, w, "POST", "/users", json={"key": "frida", "name": "Frida", "extension": "501",
                                                               "account": "stockholm"})
            assert status == 201
            for user, name in (("frida", "soft"), ("bjorn", "desk")):
                status, made = await call(c, w, "POST", f"/users/{user}/devices", json={"name": name})
                assert status == 201, made
            # PATCH /users (admin_api/accounts.py) takes Björn's phone off his devices: the save prunes it
            status, _ = await call(c, w, "PATCH", "/users/bjorn", json={"devices": ["PJSIP/bjorn"]})
            assert status == 200
            assert _db(w, "exempel-desk") == (None, None, None)
            status, _ = await call(c, w, "DELETE", "/users/frida")
            assert status == 204
            assert _db(w, "exempel-soft") == (None, None, None)
            with w.ctx.sessions() as session:
                assert session.scalar(select(DeviceRow.id)) is None
    run(tmp_path, body)


def test_tenant_isolation_and_account_reach_for_every_device_operation(tmp_path: Path) -> None:
    """For every verb: another tenant's administrator gets 404 for Exempel's user and phone exactly like for a
    missing one; Göteborg's account administrator cannot reach Stockholm's Anna, but does reach Göteborg's David;
    a viewer cannot change phones."""
    ops: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/users/{u}/devices", {}), ("GET", "/users/{u}/devices/{d}", {}),
        ("POST", "/users/{u}/devices", {"json": {"name": "other"}}), ("POST", "/users/{u}/devices/{d}/password", {}),
        ("DELETE", "/users/{u}/devices/{d}", {}), ("GET", "/users/{u}/line", {})]

    async def body(w: World) -> None:
        async with await signed_in(w, "boss@exempel.se") as boss:
            for user, name in (("anna", "desk"), ("david", "gbg")):
                status, made = await call(boss, w, "POST", f"/users/{user}/devices", json={"name": name})
                assert status == 201, made
        before = _db(w, "exempel-desk")
        async with await signed_in(w, "admin@annat.se") as other:
            for method, path, kw in ops:
                await problem(await other.request(method, f"{w.base}{API}" + path.format(u="anna", d="desk"), **kw),
                              404)
            # Annat's own Anna and her phone "desk" are another user and another endpoint
            status, _ = await call(other, w, "POST", "/users", json={"key": "anna", "name": "Anna på Annat"})
            assert status == 201
            status, theirs = await call(other, w, "POST", "/users/anna/devices", json={"name": "desk"})
            assert status == 201 and theirs["username"] == "annat-desk"
            status, page = await call(other, w, "GET", "/users/anna/devices")
            assert [d["dial"] for d in page["items"]] == ["PJSIP/annat-desk"]
        assert _db(w, "exempel-desk")[1].md5_cred == before[1].md5_cred  # untouched by Annat
        async with await signed_in(w, "gbg@exempel.se") as gbg:
            for method, path, kw in ops:
                await problem(await gbg.request(method, f"{w.base}{API}" + path.format(u="anna", d="desk"), **kw),
                              404)
            status, page = await call(gbg, w, "GET", "/users/david/devices")
            assert status == 200 and "PJSIP/exempel-gbg" in [d["dial"] for d in page["items"]]
            status, reset = await call(gbg, w, "POST", "/users/david/devices/gbg/password")
            assert status == 200 and reset["password"]
        async with await signed_in(w, "viewer@exempel.se") as viewer:
            status, _ = await call(viewer, w, "GET", "/users/anna/devices")
            assert status == 200
            for method, path, kw in ops[2:5]:
                await problem(await viewer.request(method, f"{w.base}{API}" + path.format(u="anna", d="desk"), **kw),
                              403)
        assert _db(w, "exempel-desk")[1].md5_cred == before[1].md5_cred
    run(tmp_path, body)
