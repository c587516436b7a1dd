"""A simulated Asterisk 22 node for tests, the demo and benchmarks: real AMI and FastAGI sockets, the same bytes.

What it emulates (see the sim_* modules):
- AMI (sim_ami): banner, Login/Logoff, Ping, Events, CoreSettings, CoreStatus, Command (a few CLI
  commands), ListCommands, Originate (sync/Async, Local/… and PJSIP/…, ChannelId clashes),
  Redirect, Hangup (also /regex/), Setvar, Getvar, MixMonitor, MixMonitorMute, StopMixMonitor, BlindTransfer,
  Atxfer (manager.c's answers and errors),
  DBPut/DBGet/DBGetTree/DBDel/DBDelTree, CoreShowChannels, Status, DeviceStateList; every other
  action answers "Invalid/unknown command", as a removed one (PauseMonitor) does.
- Calls (sim_dialplan): asterisk-config/extensions.conf acted out priority by priority, with the
  events Asterisk sends (Newchannel, Newexten, VarSet, Newstate, DialBegin/End, Bridge*,
  MusicOnHold*, HangupRequest, SoftHangupRequest, Hangup, DeviceStateChange, AGIExecStart/End).
- Calls from users' phones (`place_phone_call`): a PJSIP channel of the endpoint in context pbx-phones,
  ${CHANNEL(endpoint)} the phone; pbx-dial's Set(CALLERID(num)=…) changes the caller ID (NewCallerid).
- Transfers (sim_dialplan, U-08): in a call Dial() bridged, features.conf's DTMF codes pressed by the called
  phone (Endpoint.transfer: "##201" blind, "*2201" attended; Dial option t) or AMI BlindTransfer/Atxfer on
  either party. Blind: BlindTransfer event, the transferer hangs up, the other party goes to exten@context with
  BLINDTRANSFER set. Attended (by the called party): the caller on hold (MusicOnHoldStart), a Local pair
  Local/exten@context-N;1/;2 (LocalBridge; ATTENDEDTRANSFER/TRANSFERERNAME) runs the dialplan; answered, the
  transferer consults for Endpoint.consult_s and hangs up: AttendedTransfer (DestType Bridge), the bridges
  merge and the Local pair optimises itself away, leaving the caller with the answerer. No answer within
  atxfernoanswertimeout (15 s) or the target gone: the transferer is back with the caller, no event.
- FastAGI (sim_agi): a real connection per pbx-step, the environment of agi/001_route, res_agi's
  replies (510, 511 in dead mode, 520 usage) and the HANGUP line.
- pbx-connect, which extensions.conf lacks: a queue caller Redirected there is Dial()led to the
  endpoint(s) in channel variable PBX_AGENT (ring time PBX_RING_S, default 30), then, like
  pbx-dial, back to pbx-step with the DIALSTATUS unless answered.

Not emulated: app_queue and agents (queues live in the controller; QueuePause answers
"Interface not found"), VoiceMail()/MWI, Challenge (MD5) login and per-user permissions,
an attended transfer by the calling party (Dial option T is not used: callers from the trunk are
outsiders), completing an attended transfer while its target still rings (a transferer who hangs
up then ends the call; Asterisk with atxferdropcall=no would call them back), the atxferabort,
threeway and swap codes, LocalOptimizationBegin/End events, Bridge actions, DTMF events,
PJSIPShow*, SIP and media (recordings are a faint tone of the right length), AGI SET
CONTEXT/EXTENSION/PRIORITY and key presses inside AGI STREAM FILE/GET DATA, Redirect to a
priority other than 1, CDR and queue_log.

Choices where the transcripts are silent: a phone's hangup after talking reports cause 16;
a caller's own hangup reports cause 0 like a real SIP BYE (transcript 17); a timed-out Dial()
hangs its callees up with 16, the losers of a parallel Dial() with 26 (answered elsewhere).

Time is simulated (SimClock): a call that lasts minutes runs in a second at speed 200.
"""

from __future__ import annotations

import asyncio
import logging

from pbx.asterisk.sim_agi import AGIRunner
from pbx.asterisk.sim_ami import AMIServer
from pbx.asterisk.sim_core import (
    EVENT_TEMPLATES,
    RING,
    CallScript,
    Channel,
    Endpoint,
    Node,
    SimCall,
    SimClock,
    SimStep,
)
from pbx.asterisk.sim_dialplan import Dialplan
from pbx.asterisk.sim_originate import Originator

__all__ = ["EVENT_TEMPLATES", "CallScript", "Channel", "Endpoint", "SimAsterisk", "SimCall", "SimClock", "SimStep"]


class SimAsterisk:
    """One simulated Asterisk node: an AMI server, FastAGI requests to the controller, and calls."""

    def __init__(self, *, agi_host: str = "127.0.0.1", agi_port: int, clock: SimClock, ami_host: str = "127.0.0.1",
                 ami_port: int = 0, username: str = "pbx", secret: str = "pbx-secret",
                 logger: logging.Logger | None = None, auth_failure_delay_s: float = 1.0,
                 prompt_s: float = 2.0, keep_calls: int = 10000) -> None:
        """`auth_failure_delay_s`: real seconds before a wrong password is answered (Asterisk: 1).
        `prompt_s`: simulated length of every prompt file. `keep_calls`: how many finished calls
        `calls` remembers."""
        self.clock = clock
        self.username = username
        self.secret = secret
        self.node = Node(clock, logger, prompt_s, keep_calls)
        self._agi_target = (agi_host, agi_port)
        self.node.globals["PBX_AGI"] = f"{agi_host}:{agi_port}"
        self.agi = AGIRunner(self.node)
        self.dialplan = Dialplan(self.node, self.agi, lambda: self._agi_target)
        self.originator = Originator(self.node, self.dialplan)
        self.ami = AMIServer(self.node, self.originator, self.agi, host=ami_host, port=ami_port, username=username,
                             secret=secret, auth_failure_delay_s=auth_failure_delay_s)
        self._running = False

    # --- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await self.ami.start()
        self._running = True

    async def stop(self) -> None:
        """Closes the AMI server and every connection, hangs up every call, cancels every task."""
        self._running = False
        await self.ami.stop()
        tasks = list(self.node.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for chan in list(self.node.channels.values()):
            self.node.hangup(chan, 16, soft=False)
        for call in self.node.calls:
            if not call.finished.done():
                call.finished.set_result(None)

    async def __aenter__(self) -> SimAsterisk:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ami_port(self) -> int:
        """The port the AMI server listens on; 0 until started."""
        return self.ami.port if self._running else 0

    def set_agi_target(self, host: str, port: int) -> None:
        """Where pbx-step's AGI() connects: ${PBX_AGI} of the dialplan."""
        self._agi_target = (host, port)
        self.node.globals["PBX_AGI"] = f"{host}:{port}"

    # --- the world around Asterisk --------------------------------------------------------
    def endpoint(self, name: str, behaviour: Endpoint | None = None) -> Endpoint:
        """Registers (or replaces) a simulated phone `PJSIP/<name>`. "trunk" is the default for
        external numbers; an endpoint named after a number ("+4670…") overrides it for that number."""
        behaviour = behaviour or Endpoint()
        self.node.set_endpoint(name, behaviour)
        return behaviour

    async def place_call(self, caller: str, dialled: str, script: CallScript | None = None) -> SimCall:
        """A call from the trunk to `dialled`; returns at once, `await call.finished` for the end."""
        node = self.node
        script = script or CallScript()
        chan = node.new_channel(f"PJSIP/trunk-{node.next_channel_number('PJSIP')}", "PJSIP/trunk", state=RING,
                                context="pbx-inbound", exten=dialled, caller_num=caller)
        chan.dnid = dialled
        call = self.dialplan.new_call(chan, caller, dialled, script)
        if script.hangup_after_s is not None:
            node.spawn(self._caller_hangs_up(chan, script.hangup_after_s), name=f"sim-bye-{chan.uniqueid}")
        self.dialplan.start(chan, call, ("pbx-inbound", dialled, 1))
        return call

    async def place_phone_call(self, endpoint: str, dialled: str, script: CallScript | None = None, *,
                               caller: str | None = None) -> SimCall:
        """A call from the user's phone `endpoint` (PJSIP, context pbx-phones) to `dialled`: an extension, a number
        or a feature code. `caller`: the caller ID the phone sends (default: the endpoint's name). Returns at once."""
        node = self.node
        script = script or CallScript()
        endpoint = endpoint.removeprefix("PJSIP/")
        number = endpoint if caller is None else caller
        chan = node.new_channel(f"PJSIP/{endpoint}-{node.next_channel_number('PJSIP')}", f"PJSIP/{endpoint}",
                                state=RING, context="pbx-phones", exten=dialled, caller_num=number)
        chan.endpoint = endpoint  # ${CHANNEL(endpoint)}
        chan.dnid = dialled
        node.update_device(chan.device)
        call = self.dialplan.new_call(chan, number, dialled, script)
        if script.hangup_after_s is not None:
            node.spawn(self._caller_hangs_up(chan, script.hangup_after_s), name=f"sim-bye-{chan.uniqueid}")
        self.dialplan.start(chan, call, ("pbx-phones", dialled, 1))
        return call

    async def _caller_hangs_up(self, chan: Channel, after_s: float) -> None:
        deadline = self.clock.elapsed() + after_s
        while not chan.gone and not chan.hangup_requested:
            left = deadline - self.clock.elapsed()
            if left <= 0:
                self.node.request_hangup(chan, remote=True)
                return
            await self.node.nap(left, chan)  # woken early by a Redirect: keep counting

    @property
    def channels(self) -> list[Channel]:
        """Live channels, oldest first."""
        return list(self.node.channels.values())

    @property
    def calls(self) -> list[SimCall]:
        """The calls run through the dialplan contract (placed, or originated into it), oldest first."""
        return list(self.node.calls)

    @property
    def db(self) -> dict[str, dict[str, str]]:
        """AstDB: family → key → value (shared by AMI DB* and AGI DATABASE)."""
        return self.node.db

    async def drop_ami_clients(self) -> None:
        """Fault injection: cuts every AMI connection, as a network failure would."""
        await self.ami.drop_clients()
