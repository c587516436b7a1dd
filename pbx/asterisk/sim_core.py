"""The simulated Asterisk's state: clock, channels, endpoints, AstDB and the AMI event stream."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import struct
import time
import wave
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pbx.asterisk.amicodec import encode_message

VERSION = "22.10.1"
AMI_VERSION = "11.0.0"

# Channel states as Asterisk numbers and names them (ast_state2str).
DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7
STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy",
              8: "Dialing Offhook", 9: "Pre-ring"}

# Q.850 cause texts as ast_cause2str prints them in `Cause-txt`.
CAUSE_TXT = {0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing", 17: "User busy",
             18: "No user responding", 19: "User alerting, no answer", 21: "Call Rejected",
             26: "Answered elsewhere", 27: "Destination out of order", 31: "Normal, unspecified",
             34: "Circuit/channel congestion", 38: "Network out of order", 41: "Temporary failure",
             42: "Switching equipment congestion", 127: "Interworking, unspecified"}

# Field order of every event the simulator emits, copied from shared/asterisk/ami/*.txt.
# "@chan" is the 14-field channel block (Channel … Linkedid); "@dest:Dest" the same block with
# a prefix; a trailing "?" marks a field Asterisk leaves out when it has no value.
_CH = "@chan"
BRIDGE_FIELDS = ("BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName",
                 "BridgeNumChannels", "BridgeVideoSourceMode")
EVENT_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Newchannel": ("call,all", (_CH,)),
    "Newstate": ("call,all", (_CH,)),
    "Newexten": ("dialplan,all", (_CH, "Extension", "Application", "AppData")),
    "VarSet": ("dialplan,all", (_CH, "Variable", "Value")),
    "NewCallerid": ("call,all", (_CH, "CID-CallingPres")),
    "NewConnectedLine": ("call,all", (_CH,)),
    "LocalBridge": ("call,all", ("@one:LocalOne", "@two:LocalTwo", "Context", "Exten", "LocalOptimization")),
    "DialBegin": ("call,all", ("@chan?", "@dest:Dest", "DialString")),
    "DialEnd": ("call,all", ("@chan?", "@dest:Dest", "DialStatus")),
    "BridgeCreate": ("call,all", BRIDGE_FIELDS),
    "BridgeEnter": ("call,all", (*BRIDGE_FIELDS, _CH)),
    "BridgeLeave": ("call,all", (*BRIDGE_FIELDS, _CH)),
    "BridgeDestroy": ("call,all", BRIDGE_FIELDS),
    "HangupRequest": ("call,all", (_CH, "Cause?")),
    "SoftHangupRequest": ("call,all", (_CH, "Cause")),
    "Hangup": ("call,all", (_CH, "Cause", "Cause-txt")),
    "DeviceStateChange": ("call,all", ("Device", "State")),
    "MusicOnHoldStart": ("call,all", (_CH, "Class")),
    "MusicOnHoldStop": ("call,all", (_CH,)),
    "MixMonitorStart": ("call,all", (_CH,)),
    "MessageWaiting": ("call,all", ("@chan?", "Mailbox", "Waiting", "New", "Old")),
    "MixMonitorStop": ("call,all", (_CH,)),
    "MixMonitorMute": ("call,all", (_CH, "Direction", "State")),
    "AGIExecStart": ("agi,all", (_CH, "CommandId", "Command")),
    "AGIExecEnd": ("agi,all", (_CH, "CommandId", "Command", "ResultCode", "Result")),
    "OriginateResponse": ("call,all", ("ActionID?", "Response", "Channel", "Application?", "Data?", "Context?",
                                       "Exten?", "Reason", "Uniqueid", "CallerIDNum", "CallerIDName")),
    # Transfers (main/stasis_bridges.c, blind_transfer_to_ami / attended_transfer_to_ami): the channel blocks by
    # prefix, the bridge blocks ("Orig"/"Second" prefixed for an attended transfer) only when there is a bridge.
    "BlindTransfer": ("call,all", ("Result", "@xferer:Transferer", "@xferee:Transferee?",
                                   *(f + "?" for f in BRIDGE_FIELDS), "IsExternal", "Context", "Extension")),
    "AttendedTransfer": ("call,all", ("Result", "@orig:OrigTransferer", *("Orig" + f + "?" for f in BRIDGE_FIELDS),
                                      "@second:SecondTransferer", *("Second" + f + "?" for f in BRIDGE_FIELDS),
                                      "@xferee:Transferee?", "@target:TransferTarget?", "IsExternal", "DestType",
                                      "DestBridgeUniqueid?", "DestApp?")),
    "FullyBooted": ("system,all", ("Uptime", "LastReload", "Status")),
    "RequestBadFormat": ("security,all", ("EventTV", "Severity", "Service", "EventVersion", "SessionID",
                                          "LocalAddress", "RemoteAddress", "RequestType", "SessionTV", "AccountID")),
    "SuccessfulAuth": ("security,all", ("EventTV", "Severity", "Service", "EventVersion", "AccountID", "SessionID",
                                        "LocalAddress", "RemoteAddress", "UsingPassword", "SessionTV")),
}

log = logging.getLogger("pbx.asterisk.simulator")


class SimClock:
    """Virtual time: `now()` runs `speed` times faster than the wall clock, from `start`."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware start time")
        if speed <= 0:
            raise ValueError("SimClock speed must be positive")
        self.start = start
        self.speed = speed
        self._t0 = _monotonic()

    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return (_monotonic() - self._t0) * self.speed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed())

    def epoch(self) -> float:
        return self.start.timestamp() + self.elapsed()

    def real(self, sim_seconds: float) -> float:
        """Wall-clock seconds that `sim_seconds` of simulated time take."""
        return max(0.0, sim_seconds) / self.speed

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(self.real(sim_seconds))


def _monotonic() -> float:
    return time.monotonic()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How a simulated phone (or the trunk) behaves when dialled."""

    answer_after_s: float | None = 2.0  # None: rings until the caller gives up
    busy: bool = False  # answers the INVITE with 486
    unavailable: bool = False  # not registered: Dial gets CHANUNAVAIL, device state UNAVAILABLE
    talk_s: float = 5.0  # after answering, talks this long, then hangs up
    # A transfer by the person at this phone once bridged (features.conf: "##" then the number = blind,
    # "*2" then the number = attended), `transfer_after_s` into the conversation; for an attended one they
    # talk `consult_s` with the colleague who answered, then hang up, which completes the transfer.
    transfer: str = ""
    transfer_after_s: float = 3.0
    consult_s: float = 3.0


@dataclass(slots=True)
class CallScript:
    """What the simulated caller does."""

    keys: list[str] = field(default_factory=list)  # per menu/collect prompt, in order; "" = no key
    key_delay_s: float = 1.0  # sim seconds into a prompt when the key is pressed
    queue_keys: list[tuple[float, str]] = field(default_factory=list)  # (sim s waited in queue, key)
    hangup_after_s: float | None = None  # the caller hangs up then, wherever the call is
    message_s: float = 5.0  # how long the caller speaks when asked to leave a message


@dataclass(frozen=True, slots=True)
class SimStep:
    """One thing that happened to a simulated call, for tests and `pbx call`."""

    at: datetime
    kind: str  # "agi" | "action" | "result" | "hangup"
    details: str
    args: tuple[str, ...] = ()  # agi: the request's arguments (dialled, position, result)
    value: str = ""  # agi: PBX_DO received; action: PBX_DO; result: PBX_RESULT; hangup: the cause


@dataclass(eq=False)
class SimCall:
    """A call the simulator runs through the dialplan contract; `await call.finished` or `call.wait()`."""

    caller: str
    dialled: str
    script: CallScript
    channel: str
    uniqueid: str
    started_at: datetime
    finished: asyncio.Future[None]
    steps: list[SimStep] = field(default_factory=list)
    hangup_cause: int | None = None
    hangup_cause_txt: str = ""
    answered_by: str | None = None  # the endpoint that answered a dial, ring group or agent connect
    recording: str | None = None  # path of the message recorded by pbx-voicemail
    keys_used: int = 0
    queue_keys_used: int = 0
    queue_waited: float = 0.0  # sim seconds spent in pbx-queue, what CallScript.queue_keys count

    async def wait(self) -> SimCall:
        await asyncio.shield(self.finished)
        return self

    @property
    def results(self) -> list[str]:
        return [s.value for s in self.steps if s.kind == "result"]

    @property
    def actions(self) -> list[str]:
        return [s.value for s in self.steps if s.kind == "action"]


class Interrupted(Exception):
    """A channel being waited on was hung up or redirected (see Channel.hangup_requested)."""

    def __init__(self, channel: Channel) -> None:
        super().__init__(channel.name)
        self.channel = channel


class Channel:
    """One live channel: what AMI events and AGI environments describe."""

    def __init__(self, name: str, uniqueid: str, linkedid: str, device: str, state: int, context: str, exten: str,
                 caller_num: str, caller_name: str, created: float) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.device = device  # "PJSIP/anna", "Local/100@ctx": what DeviceStateChange reports
        self.tech = name.partition("/")[0]
        self.state = state
        self.context = context
        self.exten = exten
        self.priority = 1
        self.caller_num = caller_num
        self.caller_name = caller_name
        self.connected_num = ""
        self.connected_name = ""
        self.language = "en"
        self.accountcode = ""
        self.dnid = ""
        self.vars: dict[str, str] = {}
        self.app = ""
        self.app_data = ""
        self.created = created  # sim seconds since the clock's start
        self.bridge: str = ""
        self.peer: Channel | None = None  # the other half of a Local channel
        self.call: SimCall | None = None
        self.endpoint: str = ""  # the endpoint this channel reaches (outbound PJSIP), or ""
        self.gone = False
        self.hangup_requested = False
        self.hangup_cause: int | None = None  # cause asked for by whoever hung up (None: Asterisk's default)
        self.remote_hangup = False  # hung up by the far end (a BYE), not by Asterisk
        self.redirect_to: tuple[str, str, int] | None = None
        self.mixmonitors: list[tuple[str, float]] = []  # (file, started at)
        self.mutes: list[list[float]] = []  # [muted at, unmuted at (-1: still muted)]: silence in the recording
        self.on_answer: Callable[[Channel], None] | None = None  # Local ;2 answered → ;1 and the originate
        # a transfer asked for while bridged (AMI BlindTransfer/Atxfer, or the phone's DTMF): (kind, exten, context)
        self.transfer: tuple[str, str, str] | None = None
        self.swapped_out = False  # a Local half optimised away by a transfer: its far end lives on in another bridge
        self._waiters: list[asyncio.Future[Channel | None]] = []

    @property
    def interrupted(self) -> bool:
        return self.hangup_requested or self.redirect_to is not None

    def wake(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(self)

    def add_waiter(self, fut: asyncio.Future[Channel | None]) -> None:
        self._waiters.append(fut)

    def remove_waiter(self, fut: asyncio.Future[Channel | None]) -> None:
        try:
            self._waiters.remove(fut)
        except ValueError:
            pass

    def block(self, prefix: str = "") -> list[tuple[str, str]]:
        """The channel fields every channel event carries, in Asterisk's order."""
        return [
            (prefix + "Channel", self.name),
            (prefix + "ChannelState", str(self.state)),
            (prefix + "ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (prefix + "CallerIDNum", self.caller_num or "<unknown>"),
            (prefix + "CallerIDName", self.caller_name or "<unknown>"),
            (prefix + "ConnectedLineNum", self.connected_num or "<unknown>"),
            (prefix + "ConnectedLineName", self.connected_name or "<unknown>"),
            (prefix + "Language", self.language),
            (prefix + "AccountCode", self.accountcode),
            (prefix + "Context", self.context),
            (prefix + "Exten", self.exten),
            (prefix + "Priority", str(self.priority)),
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Linkedid", self.linkedid),
        ]

    def __repr__(self) -> str:
        return f"<Channel {self.name} {self.uniqueid} {STATE_DESC.get(self.state)}>"


EventSink = Callable[[str, frozenset[str], bytes], None]


class Node:
    """Everything one simulated Asterisk knows; the AMI server, the dialplan and FastAGI act on it."""

    def __init__(self, clock: SimClock, logger: logging.Logger | None = None, prompt_s: float = 2.0,
                 keep_calls: int = 10000) -> None:
        self.clock = clock
        self.log = logger or log
        self.prompt_s = prompt_s  # simulated length of every prompt file
        self.channels: dict[str, Channel] = {}
        self.by_uid: dict[str, Channel] = {}
        self.endpoints: dict[str, Endpoint] = {"trunk": Endpoint()}
        self.devices: dict[str, str] = {}  # device → last reported state
        self.db: dict[str, dict[str, str]] = {}  # family → key → value (AstDB)
        self.mwi: dict[str, tuple[int, int]] = {}  # mailbox → (new, old), as res_mwi_external keeps them
        self.globals: dict[str, str] = {}
        self.sinks: list[EventSink] = []
        self.calls: deque[SimCall] = deque(maxlen=keep_calls)  # a long benchmark must not grow without end
        self.processed = 0
        self.started_epoch = clock.epoch()
        self._uid_seq = 100000  # six digits until 999999: no uniqueid is a prefix of another
        self._tech_seq: dict[str, int] = {}
        self._bridge_seq = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        for name in self.endpoints:
            self.devices[f"PJSIP/{name}"] = "NOT_INUSE"

    # --- tasks and time -------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name or None)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("simulator task failed", exc_info=task.exception())

    async def sleep(self, sim_seconds: float, *watch: Channel) -> None:
        """Sleeps in simulated time; raises Interrupted as soon as a watched channel is hung up
        or redirected (at once if one already is)."""
        for chan in watch:
            if chan.interrupted:
                raise Interrupted(chan)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Channel | None] = loop.create_future()
        timer = loop.call_later(self.clock.real(sim_seconds), _resolve, fut)
        for chan in watch:
            chan.add_waiter(fut)
        try:
            who = await fut
        finally:
            timer.cancel()
            for chan in watch:
                chan.remove_waiter(fut)
        if who is not None:
            raise Interrupted(who)

    async def nap(self, sim_seconds: float, chan: Channel) -> bool:
        """Waits up to `sim_seconds`; True as soon as the channel is woken (hung up, redirected)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Channel | None] = loop.create_future()
        timer = loop.call_later(self.clock.real(sim_seconds), _resolve, fut)
        chan.add_waiter(fut)
        try:
            return await fut is not None
        finally:
            timer.cancel()
            chan.remove_waiter(fut)

    # --- events ---------------------------------------------------------------------------
    def emit(self, name: str, values: Mapping[str, str] | None = None, *, chan: Channel | None = None,
             dest: Channel | None = None, one: Channel | None = None, two: Channel | None = None,
             blocks: Mapping[str, Channel | None] | None = None) -> None:
        """Builds one event from its template and hands it to every AMI session. `blocks`: further channel
        blocks by the template's name for them (a transfer's xferer, xferee, orig, second, target)."""
        if not self.sinks:
            return  # nobody listens: skip the encoding
        privilege, template = EVENT_TEMPLATES[name]
        values = values or {}
        blocks = {"chan": chan, "dest": dest, "one": one, "two": two, **(blocks or {})}
        pairs: list[tuple[str, str]] = [("Event", name), ("Privilege", privilege)]
        for token in template:
            optional = token.endswith("?")
            key = token[:-1] if optional else token
            if key.startswith("@"):
                which, _, prefix = key[1:].partition(":")
                c = blocks.get(which)
                if c is None:
                    if optional:
                        continue
                    raise ValueError(f"{name} needs channel {which}")
                pairs.extend(c.block(prefix))
            elif key in values:
                pairs.append((key, values[key]))
            elif not optional:
                raise ValueError(f"{name} needs {key}")
        data = encode_message(pairs)
        classes = frozenset(privilege.split(","))
        for sink in list(self.sinks):
            sink(name, classes, data)

    # --- channels -------------------------------------------------------------------------
    def next_uniqueid(self) -> str:
        self._uid_seq += 1
        return f"{int(self.clock.epoch())}.{self._uid_seq}"

    def next_channel_number(self, tech: str) -> str:
        n = self._tech_seq.get(tech, 0) + 1
        self._tech_seq[tech] = n
        return f"{n:08x}"

    def uniqueid_taken(self, wanted: str) -> bool:
        """Asterisk finds channels by uniqueid prefix, so a new id that starts a live one clashes."""
        w = wanted.lower()
        return any(uid.lower().startswith(w) for uid in self.by_uid)

    def new_channel(self, name: str, device: str, *, state: int, context: str, exten: str, caller_num: str = "",
                    caller_name: str = "", uniqueid: str | None = None, linkedid: str | None = None,
                    announce: bool = True) -> Channel:
        uid = uniqueid or self.next_uniqueid()
        chan = Channel(name, uid, linkedid or uid, device, state, context, exten, caller_num, caller_name,
                       self.clock.elapsed())
        self.channels[name] = chan
        self.by_uid[uid] = chan
        if announce:
            self.emit("Newchannel", chan=chan)
        return chan

    def find(self, name_or_uid: str) -> Channel | None:
        return self.channels.get(name_or_uid) or self.by_uid.get(name_or_uid)

    def set_state(self, chan: Channel, state: int) -> None:
        if chan.state == state or chan.gone:
            return
        chan.state = state
        self.emit("Newstate", chan=chan)
        self.update_device(chan.device)

    def set_var(self, chan: Channel, name: str, value: str) -> None:
        chan.vars[name] = value
        if not chan.gone:
            self.emit("VarSet", {"Variable": name, "Value": value}, chan=chan)

    def newexten(self, chan: Channel, context: str, exten: str, priority: int, app: str, data: str = "") -> None:
        chan.context, chan.exten, chan.priority = context, exten, priority
        chan.app, chan.app_data = app, data
        self.emit("Newexten", {"Extension": exten, "Application": app, "AppData": data}, chan=chan)

    def request_hangup(self, chan: Channel, cause: int | None = None, *, remote: bool = False,
                       announce: bool = True) -> None:
        """Asks the channel to hang up (the caller's BYE, the far end, the other Local half, AMI
        Hangup with announce=False): whoever runs the channel notices at its next wait and calls
        `hangup`. A BYE's HangupRequest has no Cause (transcript 17)."""
        if chan.gone or chan.hangup_requested:
            return
        chan.hangup_requested = True
        chan.remote_hangup = remote
        if cause is not None:
            chan.hangup_cause = cause
        if announce:
            self.emit("HangupRequest", {} if remote else {"Cause": str(cause or 0)}, chan=chan)
        chan.wake()

    def redirect(self, chan: Channel, context: str, exten: str, priority: int) -> None:
        chan.redirect_to = (context, exten, priority)
        chan.wake()

    def hangup(self, chan: Channel, cause: int | None = None, *, soft: bool = True, device: bool = True) -> int:
        """Destroys the channel: SoftHangupRequest (when the dialplan or a bridge ends it), a
        HangupRequest to the other half of a Local channel, Hangup, device state. Returns the cause
        the Hangup event reported."""
        if chan.gone:
            return chan.hangup_cause or 0
        if cause is None:
            # A far end that hung up (BYE) or an AMI Hangup without Cause leaves the cause unset: 0.
            cause = chan.hangup_cause if chan.hangup_cause is not None else (0 if chan.hangup_requested else 16)
        if soft:
            self.emit("SoftHangupRequest", {"Cause": str(cause if cause else 16)}, chan=chan)
        peer = chan.peer
        if peer is not None and not peer.gone:
            self.request_hangup(peer, cause)
        self.stop_mixmonitors(chan)
        chan.gone = True
        chan.hangup_cause = cause
        self.emit("Hangup", {"Cause": str(cause), "Cause-txt": CAUSE_TXT.get(cause, "Unknown")}, chan=chan)
        self.channels.pop(chan.name, None)
        self.by_uid.pop(chan.uniqueid, None)
        if device:
            self.update_device(chan.device)
        chan.wake()
        return cause

    # --- devices --------------------------------------------------------------------------
    def device_state(self, device: str) -> str:
        states = [c.state for c in self.channels.values() if c.device == device]
        endpoint = self.endpoints.get(device.partition("/")[2]) if device.startswith("PJSIP/") else None
        if not states:
            return "UNAVAILABLE" if endpoint is not None and endpoint.unavailable else "NOT_INUSE"
        inuse = any(s in (UP, RING, 2, 3) for s in states)
        ringing = any(s == RINGING for s in states)
        if ringing:
            return "RINGINUSE" if inuse else "RINGING"
        return "INUSE"

    def update_device(self, device: str) -> None:
        state = self.device_state(device)
        if device.startswith("Local/"):
            # Local devices report every change of either half (see transcripts 04–07), unfiltered.
            self.emit("DeviceStateChange", {"Device": device, "State": state})
            return
        if self.devices.get(device) != state:
            self.devices[device] = state
            self.emit("DeviceStateChange", {"Device": device, "State": state})

    def set_endpoint(self, name: str, behaviour: Endpoint) -> None:
        if name[:6].upper() == "PJSIP/":  # "PJSIP/anna" and "anna" name the same phone
            name = name[6:]
        self.endpoints[name] = behaviour
        self.update_device(f"PJSIP/{name}")

    # --- bridges and recordings -----------------------------------------------------------
    def new_bridge_id(self) -> str:
        self._bridge_seq += 1
        # Asterisk uses a UUID; a fixed pattern keeps the simulator deterministic.
        return f"5a1b0000-0000-4000-8000-{self._bridge_seq:012x}"

    def bridge_values(self, bridge_id: str, count: int, prefix: str = "") -> dict[str, str]:
        values = {"BridgeUniqueid": bridge_id, "BridgeType": "basic", "BridgeTechnology": "simple_bridge",
                  "BridgeCreator": "<unknown>", "BridgeName": "<unknown>", "BridgeNumChannels": str(count),
                  "BridgeVideoSourceMode": "none"}
        return {prefix + k: v for k, v in values.items()}

    def stop_mixmonitors(self, chan: Channel) -> None:
        for path, started in chan.mixmonitors:
            try:
                self.finish_recording(chan, path, started)
            except OSError as exc:  # Asterisk logs and goes on when it cannot write a recording
                self.log.warning("MixMonitor could not write %s: %s", path, exc)
        chan.mixmonitors.clear()
        chan.mutes.clear()

    def finish_recording(self, chan: Channel, path: str, started: float) -> None:
        """What MixMonitor leaves: audio from start to now, silence where it was muted (MixMonitorMute)."""
        now = self.clock.elapsed()
        quiet = [(max(a, started) - started, (now if b < 0 else b) - started) for a, b in chan.mutes]
        write_wav(path, now - started, silent=quiet)


def _resolve(fut: asyncio.Future[Channel | None]) -> None:
    if not fut.done():
        fut.set_result(None)


def write_wav(path: str, seconds: float, *, rate: int = 8000, silent: Sequence[tuple[float, float]] = ()) -> None:
    """A valid 8 kHz mono 16-bit WAV of `seconds` of quiet speech-band noise (parent dirs created), with
    digital silence over the `silent` (start, end) spans, in seconds from the start."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    frames = max(0, int(seconds * rate))
    one_second = _tone(rate)
    audio = bytearray(one_second * (frames // rate) + one_second[: (frames % rate) * 2])
    for start, end in silent:
        a, b = max(0, int(start * rate)) * 2, min(frames, int(end * rate)) * 2
        if b > a:
            audio[a:b] = bytes(b - a)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(audio)


@cache
def _tone(rate: int) -> bytes:
    # A faint 300 Hz tone: not digital silence, so "is there audio?" checks see something.
    return b"".join(struct.pack("<h", int(200 * math.sin(2 * math.pi * 300 * i / rate))) for i in range(rate))
