"""AMI actions on channels, recordings and AstDB for the simulator, and the per-connection session state."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from datetime import datetime

from pbx.asterisk.amicodec import AMIMessage, encode_message
from pbx.asterisk.sim_agi import AGIRunner
from pbx.asterisk.sim_core import Channel, Node, write_wav
from pbx.asterisk.sim_dialplan import FEATURES
from pbx.asterisk.sim_originate import OriginateRequest, OriginateResult, Originator

Pairs = list[tuple[str, str]]
TRUE = ("yes", "true", "y", "t", "1", "on")


def parse_callerid(text: str) -> tuple[str, str]:
    """`"Name" <number>` → (number, name), as ast_callerid_parse reads the CallerID header."""
    m = re.fullmatch(r'\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*', text)
    if m:
        return m[3], (m[1] if m[1] is not None else m[2] or "")
    text = text.strip()
    return (text, "") if re.fullmatch(r"[+0-9*#]+", text) else ("", text.strip('"'))


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Session:
    """One AMI connection. Events wait while an action runs and follow its response, as Asterisk's
    session thread sends them (transcript 04: the sync Originate's events after its Success)."""

    def __init__(self, writer: asyncio.StreamWriter, number: int, opened: datetime) -> None:
        self.writer = writer
        self.authenticated = False
        self.username = ""
        self.mask: frozenset[str] | None = None
        self.busy = False
        self.pending: list[bytes] = []
        self.closing = False
        self.id = f"0x7fe7{0x54002050 + number * 0x1000:08x}"
        self.opened = opened
        sock = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local = f"IPV4/TCP/{sock[0]}/{sock[1]}"
        self.remote = f"IPV4/TCP/{peer[0]}/{peer[1]}"

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def deliver(self, classes: frozenset[str], data: bytes) -> None:
        if not self.authenticated or self.closing:
            return
        if self.mask is not None and not (classes & self.mask):
            return
        if self.busy:
            self.pending.append(data)
        else:
            self.write(data)

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        for data in pending:
            self.write(data)


class ChannelActions:
    """Originate, Redirect, Hangup, variables, channel lists, MixMonitor and AstDB; mixed into the server."""

    node: Node
    originator: Originator
    agi: AGIRunner

    # --- message building -----------------------------------------------------------------
    @staticmethod
    def _response(msg: AMIMessage, status: str, message: str | None = None, extra: Iterable[tuple[str, str]] = ()
                  ) -> bytes:
        pairs: Pairs = [("Response", status)]
        action_id = msg.get("ActionID")
        if action_id:
            pairs.append(("ActionID", action_id))
        if message is not None:
            pairs.append(("Message", message))
        pairs.extend(extra)
        return encode_message(pairs)

    @staticmethod
    def _list_start(msg: AMIMessage, message: str) -> bytes:
        pairs: Pairs = [("Response", "Success")]
        if msg.get("ActionID"):
            pairs.append(("ActionID", msg.get("ActionID", "")))
        pairs += [("EventList", "start"), ("Message", message)]
        return encode_message(pairs)

    @staticmethod
    def _list_item(msg: AMIMessage, event: str, fields: Pairs, *, id_last: bool = False) -> bytes:
        action_id: Pairs = [("ActionID", msg.get("ActionID", ""))] if msg.get("ActionID") else []
        body = fields + action_id if id_last else action_id + fields
        return encode_message([("Event", event), *body])

    @staticmethod
    def _list_end(msg: AMIMessage, event: str, count: int, extra: Iterable[tuple[str, str]] = ()) -> bytes:
        pairs: Pairs = [("Event", event)]
        if msg.get("ActionID"):
            pairs.append(("ActionID", msg.get("ActionID", "")))
        pairs += [("EventList", "Complete"), ("ListItems", str(count)), *extra]
        return encode_message(pairs)

    # --- calls ----------------------------------------------------------------------------
    async def _on_originate(self, session: Session, msg: AMIMessage) -> None:
        name = msg.get("Channel") or ""
        if not name:
            session.write(self._response(msg, "Error", "Channel not specified"))
            return
        priority = msg.get("Priority") or "1"
        if not priority.isdigit():
            session.write(self._response(msg, "Error", "Invalid priority"))
            return
        timeout = msg.get("Timeout") or "30000"
        try:
            timeout_ms = int(timeout)
        except ValueError:
            session.write(self._response(msg, "Error", "Invalid timeout"))
            return
        if "/" not in name:
            session.write(self._response(msg, "Error", "Invalid channel"))
            return
        application, exten, context = msg.get("Application") or "", msg.get("Exten") or "", msg.get("Context") or ""
        is_async = (msg.get("Async") or "").lower() in TRUE
        if not application and not (exten and context) and not is_async:
            session.write(self._response(msg, "Error", "Originate with 'Exten' requires 'Context' and 'Priority'"))
            return
        num, cid_name = parse_callerid(msg.get("CallerID") or "")
        variables = []
        for header in msg.getall("Variable"):
            for part in header.split(","):
                var, sep, value = part.partition("=")
                if sep and var:
                    variables.append((var.strip(), value))
        req = OriginateRequest(name, context, exten, int(priority), application, msg.get("Data") or "",
                               (timeout_ms if timeout_ms > 0 else 30000) / 1000, num, cid_name, variables,
                               msg.get("ChannelId") or "", msg.get("OtherChannelId") or "")
        if is_async:
            session.write(self._response(msg, "Success", "Originate successfully queued"))
            self.node.spawn(self._originate_async(req, msg), name="sim-originate")
            return
        # A task of its own: a client that goes away mid-Originate must not orphan the new channels.
        result = await asyncio.shield(self.node.spawn(self.originator.originate(req), name="sim-originate"))
        if result.ok:
            session.write(self._response(msg, "Success", "Originate successfully queued"))
        else:
            session.write(self._response(msg, "Error", "Originate failed"))
        if result.after is not None:
            result.after()

    async def _originate_async(self, req: OriginateRequest, msg: AMIMessage) -> None:
        result: OriginateResult = await self.originator.originate(req)
        chan = result.channel if result.ok else None
        values = {"Response": "Success" if result.ok else "Failure",
                  "Channel": chan.name if chan else req.channel, "Reason": str(result.reason),
                  "Uniqueid": chan.uniqueid if chan else (req.channel_id or "<unknown>"),
                  "CallerIDNum": req.caller_num or "<unknown>", "CallerIDName": req.caller_name or "<unknown>"}
        if msg.get("ActionID"):
            values["ActionID"] = msg.get("ActionID", "")
        if req.application:
            values.update(Application=req.application, Data=req.data)
        else:
            values.update(Context=req.context, Exten=req.exten)
        self.node.emit("OriginateResponse", values)
        if result.after is not None:
            result.after()

    async def _on_redirect(self, session: Session, msg: AMIMessage) -> None:
        name = msg.get("Channel") or ""
        if not name:
            session.write(self._response(msg, "Error", "Channel not specified"))
            return
        chan = self.node.find(name)
        if chan is None:
            session.write(self._response(msg, "Error", f"Channel does not exist: {name}"))
            return
        priority = msg.get("Priority") or "1"
        if not priority.isdigit():
            session.write(self._response(msg, "Error", "Invalid priority"))
            return
        context = msg.get("Context") or chan.context
        exten = msg.get("Exten") or chan.exten
        self.node.redirect(chan, context, exten, int(priority))
        session.write(self._response(msg, "Success", "Redirect successful"))

    # --- transfers (manager.c action_blind_transfer / action_atxfer) ---------------------------
    def _transferer(self, session: Session, msg: AMIMessage) -> tuple[Channel, str] | None:
        name, exten = msg.get("Channel") or "", msg.get("Exten") or ""
        if not name:
            session.write(self._response(msg, "Error", "No channel specified"))
            return None
        if not exten:
            session.write(self._response(msg, "Error", "No extension specified"))
            return None
        chan = self.node.find(name)
        if chan is None or chan.gone:
            session.write(self._response(msg, "Error", "Channel specified does not exist"))
            return None
        return chan, exten

    async def _on_blindtransfer(self, session: Session, msg: AMIMessage) -> None:
        found = self._transferer(session, msg)
        if found is None:
            return
        chan, exten = found
        context = msg.get("Context") or chan.context
        if not chan.bridge:  # AST_BRIDGE_TRANSFER_INVALID: not bridged; the event says so too
            self.node.emit("BlindTransfer", {"Result": "Invalid", "IsExternal": "No", "Context": context,
                                             "Extension": exten}, blocks={"xferer": chan})
            session.write(self._response(msg, "Error", "Transfer invalid"))
            return
        chan.transfer = ("blind", exten, context)  # the bridge carries it out (sim_dialplan._blind)
        chan.wake()
        session.write(self._response(msg, "Success", "Transfer succeeded"))

    async def _on_atxfer(self, session: Session, msg: AMIMessage) -> None:
        found = self._transferer(session, msg)
        if found is None:
            return
        chan, exten = found
        if not FEATURES.get("atxfer"):
            session.write(self._response(msg, "Error", "No attended transfer feature code found"))
            return
        if msg.get("Context"):
            self.node.set_var(chan, "TRANSFER_CONTEXT", msg.get("Context") or "")
        # Asterisk queues the atxfer code and the digits as DTMF on the channel: only a bridge acts on them
        if chan.bridge:
            chan.transfer = ("attended", exten, chan.vars.get("TRANSFER_CONTEXT") or chan.context)
            chan.wake()
        session.write(self._response(msg, "Success", "Atxfer successfully queued"))

    async def _on_hangup(self, session: Session, msg: AMIMessage) -> None:
        name = msg.get("Channel") or ""
        if not name:
            session.write(self._response(msg, "Error", "No channel specified"))
            return
        text = msg.get("Cause") or ""
        cause = int(text) if text.isdigit() and int(text) > 0 else None
        if len(name) > 2 and name.startswith("/") and name.endswith("/"):
            try:
                pattern = re.compile(name[1:-1])
            except re.error:
                session.write(self._response(msg, "Error", "Invalid regex"))
                return
            doomed = [c for c in self.node.channels.values() if pattern.search(c.name)]
            session.write(self._list_start(msg, "Channels hung up will follow"))
            for chan in doomed:
                self.node.request_hangup(chan, cause, announce=False)
                session.write(self._list_item(msg, "ChannelHungup", [("Channel", chan.name)], id_last=True))
            session.write(self._list_end(msg, "ChannelsHungupListComplete", len(doomed)))
            return
        found = self.node.find(name)
        if found is None:
            session.write(self._response(msg, "Error", "No such channel"))
            return
        self.node.request_hangup(found, cause, announce=False)
        session.write(self._response(msg, "Success", "Channel Hungup"))

    async def _on_setvar(self, session: Session, msg: AMIMessage) -> None:
        variable, name = msg.get("Variable") or "", msg.get("Channel") or ""
        if not variable:
            session.write(self._response(msg, "Error", "No variable specified"))
            return
        value = msg.get("Value") or ""
        if not name:
            self.node.globals[variable] = value
            session.write(self._response(msg, "Success", "Variable Set"))
            return
        chan = self.node.find(name)
        if chan is None:
            session.write(self._response(msg, "Error", "No such channel"))
            return
        self.agi.set_variable(chan, variable, value)
        session.write(self._response(msg, "Success", "Variable Set"))

    async def _on_getvar(self, session: Session, msg: AMIMessage) -> None:
        variable, name = msg.get("Variable") or "", msg.get("Channel") or ""
        if not variable:
            session.write(self._response(msg, "Error", "No variable specified"))
            return
        if name:
            chan = self.node.find(name)
            if chan is None:
                session.write(self._response(msg, "Error", "No such channel"))
                return
            value = self.agi.lookup(chan, variable)
        else:
            value = self.node.globals.get(variable)
        session.write(self._response(msg, "Success", None, [("Variable", variable), ("Value", value or "")]))

    async def _on_coreshowchannels(self, session: Session, msg: AMIMessage) -> None:
        now = self.node.clock.elapsed()
        channels = list(self.node.channels.values())
        session.write(self._list_start(msg, "Channels will follow"))
        for c in channels:
            session.write(self._list_item(msg, "CoreShowChannel", [
                *c.block(), ("Application", c.app), ("ApplicationData", c.app_data),
                ("Duration", _duration(now - c.created)), ("BridgeId", c.bridge)]))
        session.write(self._list_end(msg, "CoreShowChannelsComplete", len(channels)))

    async def _on_status(self, session: Session, msg: AMIMessage) -> None:
        name = msg.get("Channel") or ""
        if name:
            found = self.node.find(name)
            if found is None:
                session.write(self._response(msg, "Error", "No such channel"))
                return
            channels = [found]
        else:
            channels = list(self.node.channels.values())
        now = self.node.clock.elapsed()
        session.write(self._list_start(msg, "Channel status will follow"))
        for c in channels:
            fmt = "slin" if c.tech == "Local" else "ulaw"
            session.write(self._list_item(msg, "Status", [
                ("Privilege", "Call"), *c.block(), ("Type", c.tech), ("DNID", c.dnid),
                ("EffectiveConnectedLineNum", c.connected_num or "<unknown>"),
                ("EffectiveConnectedLineName", c.connected_name or "<unknown>"), ("TimeToHangup", "0"),
                ("BridgeID", c.bridge), ("Application", c.app), ("Data", c.app_data), ("Nativeformats", f"({fmt})"),
                ("Readformat", fmt), ("Readtrans", ""), ("Writeformat", fmt), ("Writetrans", ""), ("Callgroup", "0"),
                ("Pickupgroup", "0"), ("Seconds", str(int(now - c.created)))], id_last=True))
        session.write(self._list_end(msg, "StatusComplete", len(channels), [("Items", str(len(channels)))]))

    async def _on_devicestatelist(self, session: Session, msg: AMIMessage) -> None:
        devices = sorted({*self.node.devices, *(c.device for c in self.node.channels.values()
                                                 if not c.device.startswith("Local/"))})
        session.write(self._list_start(msg, "Device State Changes will follow"))
        for device in devices:
            session.write(self._list_item(msg, "DeviceStateChange",
                                          [("Device", device), ("State", self.node.device_state(device))]))
        session.write(self._list_end(msg, "DeviceStateListComplete", len(devices)))

    async def _on_queuepause(self, session: Session, msg: AMIMessage) -> None:
        # The simulated node has no app_queue members (queues live in the controller), so every
        # interface is unknown to it, as in transcript 03.
        if not msg.get("Interface"):
            session.write(self._response(msg, "Error", "Need 'Interface' and 'Paused' parameters."))
        else:
            session.write(self._response(msg, "Error", "Interface not found"))

    # --- recordings -----------------------------------------------------------------------
    async def _on_mixmonitor(self, session: Session, msg: AMIMessage) -> None:
        name = msg.get("Channel") or ""
        if not name:
            session.write(self._response(msg, "Error", "No channel specified"))
            return
        chan = self.node.find(name)
        if chan is None:
            session.write(self._response(msg, "Error", "No such channel"))
            return
        file = msg.get("File") or f"{chan.uniqueid}.wav"
        files = [file, *re.findall(r"[rt]\(([^)]*)\)", msg.get("Options") or "")]
        started = self.node.clock.elapsed()
        for path in files:
            try:
                write_wav(path, 0)  # the 44-byte header MixMonitor leaves until audio arrives
            except OSError as exc:
                self.node.log.warning("MixMonitor cannot write %s: %s", path, exc)
            chan.mixmonitors.append((path, started))
        session.write(self._response(msg, "Success"))
        self.node.set_var(chan, "MIXMONITOR_FILENAME", file)
        self.node.emit("MixMonitorStart", chan=chan)

    async def _on_mixmonitormute(self, session: Session, msg: AMIMessage) -> None:
        name, state = msg.get("Channel") or "", msg.get("State") or ""
        if not name:
            session.write(self._response(msg, "Error", "No channel specified"))
            return
        if not state:
            session.write(self._response(msg, "Error", "No state specified"))
            return
        chan = self.node.find(name)
        if chan is None:
            session.write(self._response(msg, "Error", "No such channel"))
            return
        if not chan.mixmonitors:
            session.write(self._response(msg, "Error", "Cannot set mute flag"))
            return
        session.write(self._response(msg, "Success"))
        muted = state.lower() in TRUE
        now = self.node.clock.elapsed()
        if muted and not any(end < 0 for _, end in chan.mutes):
            chan.mutes.append([now, -1.0])
        elif not muted:
            for span in chan.mutes:
                if span[1] < 0:
                    span[1] = now
        self.node.emit("MixMonitorMute", {"Direction": msg.get("Direction") or "both",
                                          "State": "1" if muted else "0"}, chan=chan)

    async def _on_stopmixmonitor(self, session: Session, msg: AMIMessage) -> None:
        name = msg.get("Channel") or ""
        if not name:
            session.write(self._response(msg, "Error", "No channel specified"))
            return
        chan = self.node.find(name)
        if chan is None:
            session.write(self._response(msg, "Error", "No such channel"))
            return
        if not chan.mixmonitors:
            session.write(self._response(msg, "Error", "Could not stop MixMonitor"))
            return
        path, started = chan.mixmonitors.pop(0)
        try:
            self.node.finish_recording(chan, path, started)
        except OSError as exc:
            self.node.log.warning("MixMonitor cannot write %s: %s", path, exc)
        session.write(self._response(msg, "Success"))
        self.node.emit("MixMonitorStop", chan=chan)

    # --- AstDB ----------------------------------------------------------------------------
    def _family_key(self, session: Session, msg: AMIMessage, *, key_needed: bool = True) -> tuple[str, str] | None:
        family, key = msg.get("Family") or "", msg.get("Key") or ""
        if not family:
            session.write(self._response(msg, "Error", "No family specified"))
            return None
        if key_needed and not key:
            session.write(self._response(msg, "Error", "No key specified"))
            return None
        return family, key

    async def _on_dbput(self, session: Session, msg: AMIMessage) -> None:
        fk = self._family_key(session, msg)
        if fk is not None:
            self.node.db.setdefault(fk[0], {})[fk[1]] = msg.get("Val") or ""
            session.write(self._response(msg, "Success", "Updated database successfully"))

    async def _on_dbget(self, session: Session, msg: AMIMessage) -> None:
        fk = self._family_key(session, msg)
        if fk is None:
            return
        value = self.node.db.get(fk[0], {}).get(fk[1])
        if value is None:
            session.write(self._response(msg, "Error", "Database entry not found"))
            return
        session.write(self._list_start(msg, "Result will follow"))
        session.write(self._list_item(msg, "DBGetResponse", [("Family", fk[0]), ("Key", fk[1]), ("Val", value)],
                                      id_last=True))
        session.write(self._list_end(msg, "DBGetComplete", 1))

    async def _on_dbgettree(self, session: Session, msg: AMIMessage) -> None:
        family, key = msg.get("Family") or "", msg.get("Key") or ""
        prefix = "/" + "/".join(p for p in (family, key) if p)
        entries = sorted((f"/{fam}/{k}", v) for fam, tree in self.node.db.items() for k, v in tree.items())
        entries = [(k, v) for k, v in entries if prefix == "/" or k == prefix or k.startswith(prefix + "/")]
        if not entries:
            session.write(self._response(msg, "Error", "Database entry not found"))
            return
        session.write(self._list_start(msg, "Result will follow"))
        for k, v in entries:
            session.write(self._list_item(msg, "DBGetTreeResponse", [("Key", k), ("Val", v)], id_last=True))
        session.write(self._list_end(msg, "DBGetTreeComplete", len(entries)))

    # --- external MWI (res_mwi_external_ami) ---------------------------------------------------
    async def _on_mwiupdate(self, session: Session, msg: AMIMessage) -> None:
        mailbox = msg.get("Mailbox") or ""
        if not mailbox:
            session.write(self._response(msg, "Error", "Missing mailbox parameter in request"))
            return
        counts = []
        for header in ("OldMessages", "NewMessages"):
            text = msg.get(header) or ""
            if text and not re.match(r"^\s*\d+", text):  # sscanf("%u")
                session.write(self._response(msg, "Error", f"Invalid {header}: {text}"))
                return
            counts.append(int(re.match(r"^\s*(\d+)", text).group(1)) if text else 0)  # type: ignore[union-attr]
        old, new = counts
        self.node.mwi[mailbox] = (new, old)
        session.write(self._response(msg, "Success"))
        self.node.emit("MessageWaiting", {"Mailbox": mailbox, "Waiting": "1" if new else "0", "New": str(new),
                                          "Old": str(old)})

    async def _on_dbdel(self, session: Session, msg: AMIMessage) -> None:
        fk = self._family_key(session, msg)
        if fk is None:
            return
        if self.node.db.get(fk[0], {}).pop(fk[1], None) is None:
            session.write(self._response(msg, "Error", "Database entry could not be deleted"))
        else:
            session.write(self._response(msg, "Success", "Key deleted successfully"))

    async def _on_dbdeltree(self, session: Session, msg: AMIMessage) -> None:
        fk = self._family_key(session, msg, key_needed=False)
        if fk is None:
            return
        tree = self.node.db.get(fk[0], {})
        doomed = [k for k in tree if not fk[1] or k == fk[1] or k.startswith(fk[1] + "/")]
        for k in doomed:
            del tree[k]
        if doomed:
            session.write(self._response(msg, "Success", "Key tree deleted successfully"))
        else:
            session.write(self._response(msg, "Error", "Database entry not found"))
