"""`pbx up`: one controller process — FastAGI server, AMI client, scheduler, health and metrics.

With no Asterisk configured (PBX_AMI_URL unset) it starts the simulator in-process, so the
whole stack runs on a laptop: simulated calls travel real sockets through the real code."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.orm import Session

from pbx.acd.model import CallbackRequest
from pbx.acd.service import AcdService
from pbx.asterisk.agi_server import FastAGIServer
from pbx.asterisk.ami import AMIAuthError, AMIClient, AMIConnectionError, backoff_delay
from pbx.asterisk.contract import ContractSettings
from pbx.asterisk.router import Router
from pbx.calls import CallLog, CallRecord, TransferError
from pbx.devices.lines import publish_line
from pbx.features import PhoneFeatures
from pbx.ivr.prompts import PromptStore
from pbx.ivr.services import PhoneServices, identify
from pbx.notifications import build_notifier, callback_message
from pbx.recording.control import LiveRecording, RecordingControl, RecordingError
from pbx.recording.index import RecordingIndex
from pbx.routing.engine import Call, Decision
from pbx.routing.model import PresenceEntry, TenantConfig
from pbx.routing.state import everyone_logged_in
from pbx.settings import Settings
from pbx.state.memory import DeviceLines
from pbx.state.store import LiveStore, MemoryStore, make_event
from pbx.stats.collector import CallRecorder
from pbx.stats.records import CallRecordStore, CallRecordWriter
from pbx.stats.schedule import ReportMailer
from pbx.tables import TableHolder, compile_from
from pbx.voicemail.messages import Message, VoicemailStore
from pbx.voicemail.notify import message_notification

log = logging.getLogger("pbx.controller")

Presences = dict[tuple[str, str], tuple[PresenceEntry, ...]]


TRANSFER_CONTEXT = "pbx-phones"  # where a transfer dials (features.conf): decided as a call from the user's phone
RELOAD_EVERY_S = 0.5  # how often the configuration stamp is polled: one small query
REPORTS_EVERY_S = 60.0  # how often due report schedules are looked for (each run is claimed once)


class Controller:
    def __init__(self, settings: Settings, configs: list[TenantConfig], presences: Presences | None = None, *,
                 clock: Callable[[], datetime] | None = None, simulator: Any = None,
                 reload: Callable[[], tuple[str, list[TenantConfig], Presences] | None] | None = None,
                 store: LiveStore | None = None, voicemail: VoicemailStore | None = None,
                 recording_index: RecordingIndex | None = None, prompts: PromptStore | None = None,
                 sessions: Callable[[], Session] | None = None) -> None:
        """`simulator`: a started-or-not SimAsterisk to drive instead of a real Asterisk.
        `reload`: called by the scheduler; returns new (stamp, configs, presences) when the
        database changed, else None. `store`: the live state shared with other controllers
        (a RedisStore); by default one in memory for this process. `voicemail`: where recorded messages
        are kept; without it they stay in the spool, logged. `recording_index`: where finished call
        recordings are listed (likewise). `prompts`: tenants' own prompts (recorded by phone here).
        `sessions`: the database call records and report schedules live in; without it, call records
        stay in memory (logged) and no reports are mailed."""
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tables = TableHolder(compile_from(configs))
        self.state = DeviceLines()  # device states → each user's line (what AMI tells us)
        # live state that decisions and the contact centre share
        self.store: LiveStore = store or MemoryStore(clock=lambda: self.clock().timestamp())
        self.calls = CallLog()
        self.sim = simulator
        self.reload = reload
        self._presences = presences or {}
        self._background: set[asyncio.Task[Any]] = set()
        self._bind_devices(configs)
        self.notifier = build_notifier(settings)
        self.voicemail = voicemail
        self.recording_index = recording_index
        self.prompts = prompts
        self.record_writer = CallRecordWriter(CallRecordStore(sessions)) if sessions is not None else None
        self.records = CallRecorder(self.calls, self.record_writer, self.state.device_owner.get, names=self._who)
        self.reports = ReportMailer(sessions, lambda: self.notifier, self.clock) if sessions is not None else None
        self.acd = AcdService(self.store, self.tables, self._switch, self.clock, trunk=settings.trunk,
                              on_callback_filed=self._callback_filed, on_event=self.records.acd)
        contract = ContractSettings(trunk=settings.trunk, spool=settings.spool)
        self.services = PhoneServices(self.tables, contract, self.clock, voicemail=voicemail, prompts=prompts,
                                      box_changed=self.update_mwi)
        self.router = Router(self.tables, self.store.view(), self.clock, contract, on_decision=self._on_decision,
                             on_route=self.acd.on_route, announcer=self.acd.announce,
                             on_recorded=self._message_recorded,
                             on_callback_result=self.acd.on_callback_result, services=self.services,
                             features=PhoneFeatures(self.acd, self.store, self.tables, self.clock, sessions=sessions))
        self.agi = FastAGIServer(self.router, host=settings.agi_host, port=settings.agi_port)
        self.recordings = RecordingControl(self._switch, Path(settings.spool), self.clock, self._recording_finished)
        self.finished_recordings: deque[LiveRecording] = deque(maxlen=100)  # the latest, for `pbx call` and tests
        self.ami: AMIClient | None = None
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.http: web.AppRunner | None = None
        self.http_port = 0
        self.started = time.monotonic()
        self.resyncs = 0

    def _bind_devices(self, configs: list[TenantConfig]) -> None:
        for cfg in configs:
            for user in cfg.users:
                for device in user.devices:
                    self.state.bind_device(device, cfg.key, user.key)

    async def _callback_filed(self, cb: CallbackRequest, source: str) -> None:
        """F-10: a new callback request goes to the queue's recipients (e-mail, SMS, webhook)."""
        message, recipients = callback_message(cb, self.tables.table, source)
        if recipients:
            await self.notifier.notify(message, recipients)

    def _on_decision(self, decision: Decision, uniqueid: str, call: Call) -> None:
        self.calls.decision(decision, uniqueid, call)
        self.records.decision(decision, uniqueid, call)

    def _switch(self) -> AMIClient | None:
        return self.ami if self.ami is not None and self.ami.connected else None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _seed_store(self) -> None:
        # A member is logged in the first time the controller sees the membership; from then on the
        # agent (or an administrator) logs in and out, and a restart leaves that choice alone.
        for (tenant, kind, key), users in everyone_logged_in(self.tables.table).items():
            for user in users:
                await self.store.seed_login(tenant, user, kind, key)
        for (tenant, user), entries in self._presences.items():
            await self.store.set_presence(tenant, user, entries)

    # --- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        start_store = getattr(self.store, "start", None)
        if start_store is not None:  # RedisStore: load the replica, follow other instances' events
            await start_store()
        await self._seed_store()
        if self.record_writer is not None:
            self.record_writer.start()
        await self.agi.start()
        if self.sim is not None:
            self.sim.set_agi_target(self.settings.agi_host, self.agi.port)
            if not getattr(self.sim, "ami_port", 0):
                await self.sim.start()
            host, port, user, secret = "127.0.0.1", self.sim.ami_port, self.sim.username, self.sim.secret
        else:
            assert self.settings.ami is not None, "PBX_AMI_URL or a simulator is needed"
            a = self.settings.ami
            host, port, user, secret = a.host, a.port, a.username, a.secret
        self.ami = AMIClient(host, port, user, secret)
        self.ami.on_event("DeviceStateChange", self._on_device_state)
        self.ami.on_event("Hangup", self._on_hangup)
        self.ami.on_event("DialEnd", self._on_dial_end)
        self.ami.on_event("BlindTransfer", self.records.blind_transfer)  # U-08: the caller's record goes on
        self.ami.on_event("AttendedTransfer", self.records.attended_transfer)
        self.ami.on_event("LocalBridge", self.records.local_pair)
        self.ami.on_reconnect(self.resync)
        self._ami_task = asyncio.create_task(self._connect_ami(), name="ami-connect")
        if self.sim is not None:  # the simulator is up already: be ready before returning
            await self._ami_task
        if self.reload is not None:
            # a published change reaches new calls within a second on every instance (issue 6)
            self.scheduler.add_job(self._reload, "interval", seconds=RELOAD_EVERY_S, id="reload-config",
                                   max_instances=1, coalesce=True)
        # retention of recordings and messages, and the sweep of abandoned prompt recordings
        self.scheduler.add_job(self._retention, "interval", hours=1, id="media-retention", max_instances=1,
                               coalesce=True)
        if self.reports is not None:  # scheduled reports by e-mail, each due run sent by one instance
            self.scheduler.add_job(self.reports.run_due, "interval", seconds=REPORTS_EVERY_S, id="report-schedules",
                                   max_instances=1, coalesce=True)
        self.scheduler.start()
        await self.acd.start()
        await self._start_http()
        log.info("controller up", extra={"event": "up", "agi_port": self.agi.port, "ami": f"{host}:{port}",
                                         "http_port": self.http_port, "simulated": self.sim is not None})

    async def _connect_ami(self) -> None:
        """The first login, retried with backoff: Asterisk may start after the controller. (Once
        logged in, the client itself reconnects and calls resync.) A wrong secret is fatal."""
        assert self.ami is not None
        attempt = 0
        while True:
            try:
                await self.ami.start()
                break
            except AMIAuthError:
                log.error("AMI login refused: check PBX_AMI_URL's user and secret", extra={"event": "ami_auth"})
                raise
            except (AMIConnectionError, OSError) as exc:
                delay = backoff_delay(attempt, 0.5, 30.0)
                attempt += 1
                log.warning("Asterisk not reachable yet", extra={"event": "ami_connect_retry", "error": repr(exc),
                                                                  "delay": round(delay, 2), "attempt": attempt})
                await asyncio.sleep(delay)
        await self.resync()

    async def stop(self) -> None:
        await self.acd.stop()
        background = list(self._background)
        for pending in background:
            pending.cancel()
        # a call that ended just now still hands its record over (in a finally) before the writer's last flush
        await asyncio.gather(*background, return_exceptions=True)
        task = getattr(self, "_ami_task", None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.http is not None:
            await self.http.cleanup()
        if self.ami is not None:
            await self.ami.stop()
        await self.agi.stop()
        if self.sim is not None:
            await self.sim.stop()
        if self.record_writer is not None:
            await self.record_writer.stop()
        await self.store.aclose()

    # --- AMI events → live state -----------------------------------------------------------
    def _on_device_state(self, message: Any) -> None:
        device, state = message.get("Device"), message.get("State")
        if device and state:
            status = self.state.device_state(device, state)
            log.debug("line status", extra={"event": "line_status", "device": device, "status": status.value})
            owner = self.state.device_owner.get(device)
            if owner is not None:  # the user's line and their phones' states, for every instance (U-06)
                self._spawn(publish_line(self.store, self.state, *owner))

    def _on_hangup(self, message: Any) -> None:
        uid = message.get("Uniqueid")
        if uid:
            record = self.calls.hangup(uid, message.get("Cause-txt") or message.get("Cause") or "", self.clock())
            if record is None:  # hung up before its first routing answer: the recorder makes its record
                record = self.records.unrouted(message, self.tables.table, self.clock())
            self._spawn(self._call_ended(uid, record))
            self._spawn(self.recordings.call_ended(uid))

    async def _call_ended(self, uid: str, record: CallRecord | None) -> None:
        """The contact centre lets go of the call (abandoned, wrap-up starts…), then its record is written."""
        try:
            await self.acd.on_hangup(uid)
        except Exception:
            log.exception("contact centre hangup failed", extra={"event": "acd_hangup_error", "call": uid})
        finally:
            if record is not None:
                self.records.ended(record)

    def _on_dial_end(self, message: Any) -> None:
        uid, status = message.get("Uniqueid"), message.get("DialStatus")
        if uid and status:
            if status == "ANSWER":
                self.records.answered(uid, message.get("DestChannel") or "", self.clock())
            self._spawn(self.acd.on_dial_end(uid, status))
            if status == "ANSWER":
                self._spawn(self._record_if_configured(uid, message.get("Channel") or "",
                                                       message.get("DestChannel") or ""))

    def _who(self, tenant: str, ref: str) -> tuple[str, str] | None:
        """(name, extension) of the tenant's user that a user key, extension, number or device names."""
        table = self.tables.table.tenants.get(tenant)
        if table is None or not ref:
            return None
        user = table.users.get(ref) or identify(table, ref)
        return (user.name, user.extension or user.key) if user is not None else None

    # --- transfers (U-08) --------------------------------------------------------------------
    async def _live_call(self, tenant: str, call_id: str, error: Callable[[str, str], Exception]
                         ) -> tuple[CallRecord, AMIClient, list[Any], Any]:
        """This tenant's call in progress, as the switch shows it: (record, AMI, every channel, the call's channel).
        Raises `error(code, message)`: not-found (no such call of this tenant, or it has just ended), or
        asterisk-unavailable."""
        record = self.calls.live.get(call_id)
        if record is None or record.tenant != tenant:
            raise error("not-found", f"no call {call_id!r} in progress")
        ami = self._switch()
        if ami is None:
            raise error("asterisk-unavailable", "Asterisk is not connected; try again shortly")
        channels = await ami.core_show_channels()
        mine = next((m for m in channels if m.get("Uniqueid") == call_id), None)
        if mine is None or not mine.get("Channel"):
            raise error("not-found", f"call {call_id!r} has ended")
        return record, ami, channels, mine

    async def transfer(self, tenant: str, call_id: str, to: str, mode: str) -> dict[str, Any]:
        """Transfer a caller the way the user on the call would from their phone: AMI BlindTransfer, or Atxfer
        (the caller waits on hold while the user's phone consults `to`; hanging up completes it), to `to` in
        the phones' context, so the target is decided as a call from that user's phone. Raises TransferError."""
        _, ami, channels, mine = await self._live_call(tenant, call_id, TransferError)
        bridge = mine.get("BridgeId") or ""
        other = next((m for m in channels if bridge and m.get("BridgeId") == bridge and m.get("Uniqueid") != call_id),
                     None)
        if other is None:
            raise TransferError("not-answered", f"call {call_id!r} is not talking with anyone to transfer it")
        channel = other.get("Channel") or ""
        device = channel.rpartition("-")[0] if channel.startswith("PJSIP/") else ""
        owner = self.state.device_owner.get(device) if device else None
        if owner is None or owner[0] != tenant:
            raise TransferError("not-a-user", f"call {call_id!r} is with {channel}, not with a user's phone")
        if mode == "blind":
            await ami.blind_transfer(channel, to, TRANSFER_CONTEXT)
        else:
            await ami.atxfer(channel, to, TRANSFER_CONTEXT)
        log.info("transfer asked for", extra={"event": "transfer_requested", "tenant": tenant, "call": call_id,
                                              "mode": mode, "to": to, "by": owner[1]})
        return {"call_id": call_id, "mode": mode, "to": to, "transferer": owner[1]}

    # --- voicemail (F-06) -------------------------------------------------------------------
    async def _message_recorded(self, dialled: str, position: str, file: str, caller: str, call_id: str) -> None:
        """A caller left a message: keep it (or discard an empty one), tell the listeners, light the lamps."""
        tenant = position.split("^", 1)[0]
        path = Path(file if file.endswith(".wav") else file + ".wav")
        spool = Path(self.settings.spool).resolve() / "voicemail" / tenant
        if not tenant or path.resolve().parent.parent != spool:
            log.warning("recording outside its tenant's voicemail spool refused", extra={
                "event": "voicemail_bad_path", "tenant": tenant, "file": file, "call": call_id})
            return
        box = path.parent.name
        if self.voicemail is None:
            log.warning("no voicemail store: message left in the spool", extra={
                "event": "voicemail_unstored", "tenant": tenant, "box": box, "file": str(path)})
            return
        message = await self.voicemail.adeposit(tenant, box, path, call_id=call_id, caller=caller, dialled=dialled,
                                                at=self.clock())
        if message is None:
            return  # empty or broken: not a message (the store logged why)
        self.records.message_left(tenant, call_id, box)
        await self.store.publish(tenant, make_event("voicemail", tenant, self.clock().timestamp(), box=box,
                                                    message=message.id, caller=caller))
        await self.update_mwi(tenant, box)
        audio = await asyncio.to_thread((self.voicemail.media_root / message.file).read_bytes)
        note, recipients = message_notification(message, self.tables.table, audio)
        if recipients:
            await self.notifier.notify(note, recipients)

    async def update_mwi(self, tenant: str, box: str) -> None:
        """Message-waiting lamps for a box ("box@tenant" in the phones' mailboxes=) from the stored counts."""
        ami = self._switch()
        if ami is None or self.voicemail is None:
            return
        new, old = await self.voicemail.acounts(tenant, box)
        try:
            await ami.mwi_update(f"{box}@{tenant}", new, old)
        except Exception as exc:  # the lamp is wrong until the next change or resync; the message is safe
            log.warning("MWI update failed", extra={"event": "mwi_failed", "tenant": tenant, "box": box,
                                                     "error": repr(exc)})

    async def mark_heard(self, tenant: str, message_id: str, heard: bool, by: str) -> Message:
        """One heard state for every listener and device; the lamps follow."""
        assert self.voicemail is not None
        message = await self.voicemail.amark_heard(tenant, message_id, heard, by)
        await self.update_mwi(tenant, message.box)
        return message

    # --- recording (F-14) -------------------------------------------------------------------
    async def _record_if_configured(self, call_id: str, channel: str, answered_by: str) -> None:
        """Continuous recording: the number dialled, the user who answered or the queue says so."""
        record = self.calls.live.get(call_id)
        if record is None or record.tenant is None or not channel:
            return
        table = self.tables.table.tenants.get(record.tenant)
        if table is None:
            return
        device = answered_by.rpartition("-")[0] if answered_by.startswith("PJSIP/") else answered_by
        owner = self.state.device_owner.get(device)
        user = owner[1] if owner is not None and owner[0] == record.tenant else None
        waiting = self.acd.callers.get(call_id)
        queue = waiting.queue if waiting is not None else None
        number = self.tables.table.numbers.get(record.dialled)
        wanted = ((number is not None and number.tenant == record.tenant and number.record)
                  or (user is not None and table.users[user].record)
                  or (queue is not None and queue in table.queues and table.queues[queue].record))
        if not wanted or self.recordings.of_call(record.tenant, call_id) is not None:
            return
        try:
            await self.recordings.start(record.tenant, call_id, channel, kind="continuous", caller=record.caller,
                                        dialled=record.dialled, user=user, queue=queue)
        except Exception as exc:  # the call goes on unrecorded; say so loudly
            log.error("continuous recording failed to start", extra={
                "event": "recording_start_failed", "tenant": record.tenant, "call": call_id, "error": repr(exc)})

    async def start_recording(self, tenant: str, call_id: str) -> LiveRecording:
        """On demand (the API): record a live call of this tenant from now."""
        record, _, _, mine = await self._live_call(tenant, call_id, RecordingError)
        channel = mine.get("Channel") or ""
        waiting = self.acd.callers.get(call_id)
        return await self.recordings.start(tenant, call_id, channel, kind="on-demand", caller=record.caller,
                                           dialled=record.dialled, user=waiting.agent if waiting else None,
                                           queue=waiting.queue if waiting else None)

    async def _recording_finished(self, rec: LiveRecording) -> None:
        self.finished_recordings.append(rec)
        if self.recording_index is None:
            log.warning("no recording index: recording left in the spool", extra={
                "event": "recording_unindexed", "tenant": rec.tenant, "file": str(rec.file)})
            return
        listed = await self.recording_index.aindex(rec.tenant, rec.file, call_id=rec.call_id, kind=rec.kind,
                                                   caller=rec.caller, dialled=rec.dialled, user=rec.user,
                                                   queue=rec.queue, started_at=rec.started_at)
        if listed is not None:
            await self.store.publish(rec.tenant, make_event("recording", rec.tenant, self.clock().timestamp(),
                                                            recording=listed.id, call=rec.call_id))

    async def _retention(self) -> None:
        """Hourly: recordings and messages older than their tenant's retention are deleted (and logged);
        prompt recordings abandoned in the spool go too."""
        now = self.clock()
        try:
            if self.recording_index is not None:
                await self.recording_index.aapply_retention(now)
            if self.voicemail is not None:
                await self.voicemail.avoicemail_retention(now)
            await asyncio.to_thread(self.services.sweep_spool)
        except Exception:
            log.exception("retention run failed", extra={"event": "retention_error"})

    async def resync(self) -> None:
        """After (re)connecting: believe Asterisk, not our memory, about lines and live calls."""
        assert self.ami is not None
        self.resyncs += 1
        try:
            channels = await self.ami.core_show_channels()
            alive = {uid for m in channels if (uid := m.get("Uniqueid"))}
            lost_calls = self.calls.keep_only(alive, self.clock())
            for record in lost_calls:
                self.records.ended(record)
            lost = len(lost_calls)
            devices: dict[str, str] = {}
            for m in await self.ami.send_action_list("DeviceStateList", {}, "DeviceStateListComplete"):
                device, state = m.get("Device"), m.get("State")
                if device and state:
                    devices[device] = state
            self.state.reset_devices(devices)
            for tenant, user in set(self.state.device_owner.values()):
                await publish_line(self.store, self.state, tenant, user)
            log.info("resynchronised with Asterisk", extra={"event": "resync", "channels": len(alive),
                                                              "lost_calls": lost, "devices": len(devices)})
        except Exception as exc:  # a resync that fails must not take the controller down
            log.warning("resync failed", extra={"event": "resync_failed", "error": repr(exc)})

    async def _reload(self) -> None:
        assert self.reload is not None
        fresh = await asyncio.to_thread(self.reload)
        if fresh is None:
            return
        _stamp, configs, presences = fresh
        try:
            table = compile_from(configs, version=self.tables.table.version + 1)
        except ValueError as exc:
            log.error("new configuration refused, keeping the table in force",
                      extra={"event": "reload_refused", "error": str(exc)})
            return
        self.tables.swap(table)
        self._bind_devices(configs)  # a published configuration may bring new phones
        for (tenant, user), entries in presences.items():
            await self.store.set_presence(tenant, user, entries)
        for tenant, user in set(self._presences) - set(presences):  # every entry of theirs was removed
            await self.store.set_presence(tenant, user, ())
        self._presences = presences

    # --- health and metrics ----------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        ami_ok = self.ami is not None and self.ami.connected
        return {
            "status": "ok" if ami_ok else "degraded",
            "ami_connected": ami_ok,
            "agi_port": self.agi.port,
            "table_version": self.tables.table.version,
            "tenants": len(self.tables.table.tenants),
            "calls_in_progress": len(self.calls.live),
            "simulated": self.sim is not None,
            "uptime_s": round(time.monotonic() - self.started, 1),
        }

    def metrics(self) -> str:
        r = self.router.stats
        lines = [
            "# TYPE pbx_decisions_total counter", f"pbx_decisions_total {r.decisions}",
            "# TYPE pbx_route_bad_requests_total counter", f"pbx_route_bad_requests_total {r.bad_requests}",
            "# TYPE pbx_route_errors_total counter", f"pbx_route_errors_total {r.errors}",
            "# TYPE pbx_decision_seconds_total counter", f"pbx_decision_seconds_total {r.latency_ns_total / 1e9:.6f}",
            "# TYPE pbx_ami_connected gauge", f"pbx_ami_connected {int(bool(self.ami and self.ami.connected))}",
            "# TYPE pbx_ami_events_total counter",
            f"pbx_ami_events_total {self.ami.metrics.events_received if self.ami else 0}",
            "# TYPE pbx_ami_resyncs_total counter", f"pbx_ami_resyncs_total {self.resyncs}",
            "# TYPE pbx_calls_in_progress gauge", f"pbx_calls_in_progress {len(self.calls.live)}",
            "# TYPE pbx_calls_finished_total counter", f"pbx_calls_finished_total {self.calls.total_finished}",
            "# TYPE pbx_routing_table_version gauge", f"pbx_routing_table_version {self.tables.table.version}",
            "# TYPE pbx_notifications_delivered_total counter",
            f"pbx_notifications_delivered_total {self.notifier.metrics.delivered}",
            "# TYPE pbx_notifications_failed_total counter",
            f"pbx_notifications_failed_total {self.notifier.metrics.failed}",
        ]
        if self.record_writer is not None:
            w = self.record_writer.metrics
            lines += ["# TYPE pbx_call_records_written_total counter", f"pbx_call_records_written_total {w.written}",
                      "# TYPE pbx_call_records_pending gauge", f"pbx_call_records_pending {self.record_writer.pending}",
                      "# TYPE pbx_call_record_write_failures_total counter",
                      f"pbx_call_record_write_failures_total {w.failures}"]
        for action, n in sorted(r.by_action.items()):
            lines.append(f'pbx_actions_total{{action="{action}"}} {n}')
        for name, value in sorted(dataclasses.asdict(self.agi.stats).items()):
            lines.append(f"pbx_agi_{name} {value}")
        if self.ami is not None:
            for name, value in sorted(dataclasses.asdict(self.ami.metrics).items()):
                lines.append(f"pbx_ami_client_{name} {value}")
        return "\n".join(lines) + "\n"

    async def _start_http(self) -> None:
        app = web.Application()

        async def health(_: web.Request) -> web.Response:
            body = self.health()
            return web.json_response(body, status=200 if body["status"] == "ok" else 503)

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(text=self.metrics(), content_type="text/plain")

        app.router.add_get("/health", health)
        app.router.add_get("/metrics", metrics)
        self.http = web.AppRunner(app, access_log=None)
        await self.http.setup()
        site = web.TCPSite(self.http, self.settings.http_host, self.settings.http_port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.http_port = sockets[0].getsockname()[1] if sockets else self.settings.http_port


def new_secret() -> str:
    return secrets.token_urlsafe(16)
