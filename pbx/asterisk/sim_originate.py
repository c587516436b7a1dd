"""AMI Originate for the simulator: Local channel pairs and calls to simulated phones, as Asterisk 22 reports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pbx.asterisk.sim_core import DOWN, RING, RINGING, UP, Channel, Interrupted, Node
from pbx.asterisk.sim_dialplan import FOREVER_S, RING_DELAY_S, Dialplan, extension_exists

# OriginateResponse Reason: what the outgoing channel last reported (ast_control_frame_type).
ANSWERED, FAILED, HUNG_UP, NO_ANSWER, BUSY_REASON = 4, 0, 1, 3, 5
CALLING_PRES = "0 (Presentation Allowed, Not Screened)"


@dataclass
class OriginateRequest:
    """The headers of an Originate action, parsed."""

    channel: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    timeout_s: float = 30.0
    caller_num: str = ""
    caller_name: str = ""
    variables: list[tuple[str, str]] = field(default_factory=list)
    channel_id: str = ""
    other_id: str = ""


@dataclass
class OriginateResult:
    ok: bool
    reason: int
    channel: Channel | None = None
    after: Callable[[], None] | None = None  # events Asterisk sends after the OriginateResponse


class Originator:
    def __init__(self, node: Node, dialplan: Dialplan) -> None:
        self.node = node
        self.dialplan = dialplan

    async def originate(self, req: OriginateRequest) -> OriginateResult:
        """Returns once the outgoing channel answered (the call then goes on by itself) or failed."""
        tech, _, resource = req.channel.partition("/")
        if any(self.node.uniqueid_taken(i) for i in (req.channel_id, req.other_id) if i):
            return OriginateResult(False, FAILED)  # transcript 18: ChannelId clashes with a live channel
        if tech.lower() == "local" and resource:
            return await self._local(req, resource)
        if tech.upper() == "PJSIP" and resource:
            return await self._pjsip(req)
        return OriginateResult(False, FAILED)  # no such channel technology (transcript 04b, Bogus/123)

    def _caller_id(self, chan: Channel, req: OriginateRequest, *, connected_first: bool) -> None:
        if not (req.caller_num or req.caller_name):
            return
        chan.caller_num, chan.caller_name = req.caller_num, req.caller_name
        if connected_first:
            chan.connected_num, chan.connected_name = req.caller_num, req.caller_name
        self.node.emit("NewCallerid", {"CID-CallingPres": CALLING_PRES}, chan=chan)
        chan.connected_num, chan.connected_name = req.caller_num, req.caller_name
        self.node.emit("NewConnectedLine", chan=chan)

    async def _local(self, req: OriginateRequest, resource: str) -> OriginateResult:
        node = self.node
        exten, _, context = resource.partition("@")
        context = context.split("/")[0] or "default"
        base = f"Local/{exten}@{context}-{node.next_channel_number('Local')}"
        device = f"Local/{exten}@{context}"
        one = node.new_channel(base + ";1", device, state=DOWN, context=context, exten=exten,
                               uniqueid=req.channel_id or None)
        two = node.new_channel(base + ";2", device, state=RING, context=context, exten=exten,
                               uniqueid=req.other_id or None, linkedid=one.uniqueid)
        node.newexten(one, context, exten, 1, "AppDial2", "(Outgoing Line)")
        for name, value in reversed(req.variables):  # the ;1 half gets them last first (transcript 05)
            node.set_var(one, name, value)
        self._caller_id(one, req, connected_first=False)
        for name, value in req.variables:
            node.set_var(two, name, value)
        self._caller_id(two, req, connected_first=True)
        if not extension_exists(context, exten):  # transcript 04b: both halves die before the LocalBridge
            node.hangup(two, 0, soft=False, device=False)
            node.hangup(one, 0, soft=False, device=False)

            def invalid() -> None:
                for _ in (one, two):
                    node.emit("DeviceStateChange", {"Device": device, "State": "INVALID"})

            return OriginateResult(False, FAILED, after=invalid)
        node.emit("LocalBridge", {"Context": context, "Exten": exten, "LocalOptimization": "Yes"}, one=one, two=two)
        one.peer, two.peer = two, one
        node.emit("DialBegin", {"DialString": f"{exten}@{context}"}, dest=one)

        def answered(_: Channel) -> None:
            node.set_state(one, UP)
            node.emit("DialEnd", {"DialStatus": "ANSWER"}, dest=one)
            one.wake()

        two.on_answer = answered
        dialled = two.vars.get("PBX_DIALLED", exten) if context == "pbx-step" else exten
        self.dialplan.start(two, self.dialplan.new_call(two, req.caller_num, dialled), (context, exten, 1))
        start = node.clock.elapsed()
        while one.state != UP:
            if one.gone or one.interrupted or two.gone:
                if not one.gone:
                    node.hangup(one, None, soft=False)
                return OriginateResult(False, HUNG_UP)
            left = req.timeout_s - (node.clock.elapsed() - start)
            if left <= 0:
                node.hangup(one, 0, soft=False)  # the ;2 half follows (HangupRequest)
                return OriginateResult(False, FAILED)
            try:
                await node.sleep(left, one)
            except Interrupted:
                pass  # answered, or hung up: the loop looks
        node.spawn(self._run_outgoing(one, req), name=f"sim-originate-{one.uniqueid}")
        return OriginateResult(True, ANSWERED, one)

    async def _pjsip(self, req: OriginateRequest) -> OriginateResult:
        node = self.node
        leg = self.dialplan.request(None, req.channel, uniqueid=req.channel_id or None)
        if leg is None:
            return OriginateResult(False, FAILED)
        chan, behaviour = leg.chan, leg.behaviour
        for name, value in req.variables:
            node.set_var(chan, name, value)
        self._caller_id(chan, req, connected_first=False)
        try:
            await node.sleep(RING_DELAY_S, chan)
            if behaviour.busy:
                node.hangup(chan, 17, soft=False)
                return OriginateResult(False, BUSY_REASON)
            node.set_state(chan, RINGING)
            answer = behaviour.answer_after_s
            if answer is None or answer > req.timeout_s:
                await node.sleep(req.timeout_s - RING_DELAY_S, chan)
                node.hangup(chan, 0, soft=False)
                return OriginateResult(False, NO_ANSWER)
            await node.sleep(answer - RING_DELAY_S, chan)
        except Interrupted:
            node.hangup(chan, None, soft=False)
            return OriginateResult(False, HUNG_UP)
        node.set_state(chan, UP)
        node.spawn(self._far_end(chan, behaviour.talk_s), name=f"sim-far-end-{chan.uniqueid}")
        node.spawn(self._run_outgoing(chan, req), name=f"sim-originate-{chan.uniqueid}")
        return OriginateResult(True, ANSWERED, chan)

    async def _far_end(self, chan: Channel, talk_s: float) -> None:
        try:
            await self.node.sleep(talk_s, chan)
        except Interrupted:
            return
        self.node.request_hangup(chan, remote=True)

    async def _run_outgoing(self, chan: Channel, req: OriginateRequest) -> None:
        """The answered outgoing channel runs the Application, or the dialplan at Context/Exten."""
        node = self.node
        cause: int | None = 0  # an application that ends leaves no cause (transcript 04)
        try:
            if req.application:
                app = req.application.lower()
                if app == "wait":
                    try:
                        seconds = float(req.data or 0)
                    except ValueError:
                        seconds = 0.0
                    await node.sleep(seconds, chan)
                elif app == "playback":
                    await node.sleep(node.prompt_s * max(1, len([f for f in req.data.split("&") if f])), chan)
                    node.set_var(chan, "PLAYBACKSTATUS", "SUCCESS")
                else:  # any other application: the channel stays until someone hangs it up
                    await node.sleep(FOREVER_S, chan)
            elif extension_exists(req.context, req.exten):
                call = self.dialplan.new_call(chan, chan.caller_num, chan.vars.get("PBX_DIALLED", req.exten))
                await self.dialplan.run(chan, call, (req.context, req.exten, req.priority))
                return
        except Interrupted:
            if chan.redirect_to is not None and not chan.hangup_requested:
                location, chan.redirect_to = chan.redirect_to, None
                call = self.dialplan.new_call(chan, chan.caller_num, chan.vars.get("PBX_DIALLED", location[1]))
                await self.dialplan.run(chan, call, location)
                return
            cause = None
        finally:
            if not chan.gone:
                node.hangup(chan, cause, soft=False)
