"""The generic dialplan of asterisk-config/extensions.conf, acted out priority by priority for simulated calls."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from pbx.asterisk.contract import decode_action
from pbx.asterisk.sim_agi import AGIRunner
from pbx.asterisk.sim_core import (
    CAUSE_TXT,
    DOWN,
    RING,
    RINGING,
    UP,
    CallScript,
    Channel,
    Endpoint,
    Interrupted,
    Node,
    SimCall,
    SimStep,
    write_wav,
)

Location = tuple[str, str, int]

DIGIT_GAP_S = 0.3  # between the digits of a number the simulated caller types
BEEP_S = 0.5
RECORD_SILENCE_S = 3.0  # Record(…,3,…): stops after three seconds of silence
RING_DELAY_S = 0.1  # INVITE → 180 Ringing (or 486 Busy) on a simulated phone
FOREVER_S = 86400.0  # Dial() or WaitExten() without a timeout

# Contexts of the generic dialplan. pbx-connect is the simulator's own: a queue caller redirected
# there is connected to the agent in channel variable PBX_AGENT (see `_pbx_connect`).
CONTEXTS = ("pbx-inbound", "pbx-step", "pbx-menu", "pbx-dial", "pbx-ring", "pbx-queue", "pbx-voicemail",
            "pbx-collect", "pbx-hangup", "pbx-connect", "pbx-callback", "pbx-record", "pbx-phones")
DIALLABLE = frozenset("0123456789*#+")  # what pbx-phones' FILTER(0-9*#+,…) lets through
PHONES_CONTEXT = "pbx-phones"  # the phones' PJSIP endpoints' context: a channel to a phone is in it
# asterisk-config/features.conf: the DTMF transfer codes, and how long an attended transfer's target may ring
FEATURES = {"blindxfer": "##", "atxfer": "*2"}
ATXFER_NOANSWER_S = 15.0  # atxfernoanswertimeout
# NewCallerid's CID-CallingPres (ast_describe_caller_presentation): allowed, or prohibited by CALLERID(pres)
PRES_ALLOWED = "0 (Presentation Allowed, Not Screened)"
PRES_PROHIBITED = "32 (Presentation Prohibited, Not Screened)"


class DialplanHangup(Exception):
    """The dialplan hangs the channel up (Hangup(cause), or Dial ending a bridged call)."""

    def __init__(self, cause: int | None = None) -> None:
        super().__init__(cause)
        self.cause = cause


def extension_exists(context: str, exten: str) -> bool:
    if context == "pbx-inbound":
        return re.fullmatch(r"\+\d.+|\d.+", exten) is not None  # _+X. and _X.
    if context == "pbx-phones":
        return re.fullmatch(r"[0-9*#+].+", exten) is not None  # _[0-9*#+].
    if context == "pbx-queue":
        return exten in ("s", "t") or re.fullmatch(r"[0-9*#]", exten) is not None
    if context in ("pbx-voicemail", "pbx-callback"):
        return exten in ("s", "h")
    return context in CONTEXTS and exten == "s"


def _seconds(text: str, default: float) -> float:
    try:
        value = float(text)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class _Leg:
    """One channel Dial() rings."""

    chan: Channel
    behaviour: Endpoint
    dialstring: str  # what DialBegin reports: the part after "PJSIP/"
    label: str  # who answered, for SimCall.answered_by: the dial target ("PJSIP/anna", "PJSIP/+46…@trunk")
    ringing: bool = False


class Dialplan:
    """Runs channels through the contract: pbx-step asks the controller, pbx-<action> does it."""

    def __init__(self, node: Node, agi: AGIRunner, agi_target: Callable[[], tuple[str, int]]) -> None:
        self.node = node
        self.agi = agi
        self.agi_target = agi_target

    # --- entry ----------------------------------------------------------------------------
    def new_call(self, chan: Channel, caller: str, dialled: str, script: CallScript | None = None) -> SimCall:
        call = SimCall(caller, dialled, script or CallScript(), chan.name, chan.uniqueid, self.node.clock.now(),
                       asyncio.get_running_loop().create_future())
        chan.call = call
        self.node.calls.append(call)
        return call

    def start(self, chan: Channel, call: SimCall, location: Location) -> asyncio.Task[None]:
        return self.node.spawn(self.run(chan, call, location), name=f"sim-call-{chan.uniqueid}")

    async def run(self, chan: Channel, call: SimCall, location: Location | None) -> None:
        """Executes from `location` until the channel hangs up, following Redirects."""
        cause: int | None = None
        try:
            try:
                while location is not None:
                    try:
                        location = await self._context(chan, call, location)
                    except Interrupted as exc:
                        if exc.channel is not chan:
                            raise
                        if chan.redirect_to is not None and not chan.hangup_requested:
                            location, chan.redirect_to = chan.redirect_to, None
                            continue
                        location = None
            except DialplanHangup as end:
                cause = end.cause
            if chan.context == "pbx-voicemail" and chan.vars.get("RECORDED_FILE"):
                await self._h_recorded(chan, call)
            if chan.context == "pbx-callback":
                await self._h_callback(chan, call)
        finally:
            if not chan.gone:
                self.node.hangup(chan, cause)
            self._finish(call, chan)

    def _finish(self, call: SimCall, chan: Channel) -> None:
        if call.finished.done():
            return
        cause = chan.hangup_cause or 0
        call.hangup_cause = cause
        call.hangup_cause_txt = CAUSE_TXT.get(cause, "Unknown")
        self._step(call, "hangup", f"cause {cause} ({call.hangup_cause_txt})", value=str(cause))
        self.node.processed += 1
        call.finished.set_result(None)

    # --- helpers --------------------------------------------------------------------------
    def _step(self, call: SimCall, kind: str, details: str, args: tuple[str, ...] = (), value: str = "") -> None:
        call.steps.append(SimStep(self.node.clock.now(), kind, details, args, value))

    def _app(self, chan: Channel, context: str, exten: str, priority: int, app: str, data: str = "",
             *, dead: bool = False) -> None:
        # Asterisk checks for a hangup or an async goto (Redirect) between priorities.
        if chan.interrupted and not dead:
            raise Interrupted(chan)
        self.node.newexten(chan, context, exten, priority, app, data)

    def _set(self, chan: Channel, context: str, exten: str, priority: int, name: str, value: str) -> None:
        self._app(chan, context, exten, priority, "Set", f"{name}={value}")
        self.node.set_var(chan, name, value)

    @staticmethod
    def _field(chan: Channel, n: int) -> str:
        """${CUT(PBX_DO,^,n)}"""
        _, fields = decode_action(chan.vars.get("PBX_DO", ""))
        return fields[n - 2] if 0 <= n - 2 < len(fields) else ""

    def answer(self, chan: Channel) -> None:
        if chan.state != UP:
            self.node.set_state(chan, UP)
            if chan.on_answer is not None:
                chan.on_answer(chan)

    async def _answer_app(self, chan: Channel, context: str, priority: int) -> None:
        self._app(chan, context, "s", priority, "Answer", ",i")
        self.answer(chan)

    def _prompt_s(self, files: str) -> float:
        return self.node.prompt_s * len([f for f in files.split("&") if f])

    async def _play(self, chan: Channel, files: str, seconds: float | None = None) -> None:
        await self.node.sleep(self._prompt_s(files) if seconds is None else seconds, chan)
        self.node.set_var(chan, "PLAYBACKSTATUS", "SUCCESS")

    async def _playback(self, chan: Channel, context: str, exten: str, priority: int, files: str) -> None:
        self._app(chan, context, exten, priority, "Playback", files)
        await self._play(chan, files)

    async def _exec_if_play(self, chan: Channel, context: str, priority: int, files: str, app: str = "Playback"
                            ) -> None:
        self._app(chan, context, "s", priority, "ExecIf", f"{int(files != '')}?{app}({files})")
        if files:
            await self._play(chan, files)

    async def _moh(self, chan: Channel, seconds: float) -> None:
        self.node.emit("MusicOnHoldStart", {"Class": "default"}, chan=chan)
        try:
            await self.node.sleep(seconds, chan)
        finally:
            if not chan.gone:
                self.node.emit("MusicOnHoldStop", chan=chan)

    def _goto_step(self, chan: Channel, context: str, exten: str, priority: int) -> Location:
        self._app(chan, context, exten, priority, "Goto", "pbx-step,s,1")
        return ("pbx-step", "s", 1)

    # --- contexts -------------------------------------------------------------------------
    async def _context(self, chan: Channel, call: SimCall, location: Location) -> Location | None:
        context, exten, _priority = location  # every contract extension is entered at priority 1
        if not extension_exists(context, exten):
            # "sent to invalid extension but no invalid handler": Asterisk hangs the channel up
            chan.context, chan.exten, chan.priority = context, exten, 1
            self.node.log.warning("simulated channel %s sent to invalid extension %s,%s", chan.name, context, exten)
            raise DialplanHangup(None)
        handler = getattr(self, "_" + context.replace("-", "_"))
        result: Location | None = await handler(chan, call, exten)
        return result

    async def _pbx_inbound(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c = "pbx-inbound"
        if not exten.startswith("+"):
            self._app(chan, c, exten, 1, "Goto", f"pbx-inbound,+{exten},1")
            return (c, "+" + exten, 1)
        self._app(chan, c, exten, 1, "NoOp", f"PBX inbound {exten} from {chan.caller_num}")
        self._set(chan, c, exten, 2, "PBX_DIALLED", exten)
        self._set(chan, c, exten, 3, "PBX_POS", "")
        self._set(chan, c, exten, 4, "PBX_RESULT", "")
        self._app(chan, c, exten, 5, "Goto", "pbx-step,s,1")
        return ("pbx-step", "s", 1)

    async def _pbx_phones(self, chan: Channel, call: SimCall, exten: str) -> Location:
        """extensions.conf's pbx-phones: a call from a user's phone; ${CHANNEL(endpoint)} is the phone. A
        transfer dials here for the phone that transferred: BLINDTRANSFER (the transferee's channel) or
        ATTENDEDTRANSFER (the consultation's Local channel) names its channel, PJSIP/<endpoint>-<sequence>."""
        c = "pbx-phones"
        self._app(chan, c, exten, 1, "NoOp", f"PBX phone {chan.endpoint} dials {exten}")
        self._set(chan, c, exten, 2, "PBX_DIALLED", "".join(ch for ch in exten if ch in DIALLABLE))
        self._set(chan, c, exten, 3, "PBX_PHONE", chan.endpoint)
        xfer = chan.vars.get("ATTENDEDTRANSFER") or chan.vars.get("BLINDTRANSFER", "")
        self._set(chan, c, exten, 4, "PBX_XFER", xfer)
        phone = chan.endpoint
        self._app(chan, c, exten, 5, "ExecIf", f"{int(xfer != '')}?Set(PBX_PHONE=" + "${CUT(PBX_XFER,/,2)})")
        if xfer:
            phone = xfer.partition("/")[2]
            self.node.set_var(chan, "PBX_PHONE", phone)
        self._app(chan, c, exten, 6, "ExecIf", f"{int(xfer != '')}?Set(PBX_XFER=" + "${POP(PBX_PHONE,-)})")
        if xfer:
            phone, _, sequence = phone.rpartition("-")
            self.node.set_var(chan, "PBX_PHONE", phone)
            self.node.set_var(chan, "PBX_XFER", sequence)
        self._set(chan, c, exten, 7, "PBX_POS", f"phone:{phone}")
        self._set(chan, c, exten, 8, "PBX_RESULT", "")
        self._app(chan, c, exten, 9, "Goto", "pbx-step,s,1")
        return ("pbx-step", "s", 1)

    async def _pbx_step(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c, node = "pbx-step", self.node
        host, port = self.agi_target()
        args = [chan.vars.get("PBX_DIALLED", ""), chan.vars.get("PBX_POS", ""), chan.vars.get("PBX_RESULT", "")]
        self._set(chan, c, "s", 1, "PBX_DO", "")  # so a silent controller never replays the last action
        self._app(chan, c, "s", 2, "AGI", f"agi://{host}:{port}/route," + ",".join(args))
        outcome = await self.agi.run(chan, host, port, "route", args)
        node.set_var(chan, "AGISTATUS", outcome.status)
        do = chan.vars.get("PBX_DO", "")
        shown = ", ".join(repr(a) for a in args)
        if outcome.status == "SUCCESS":
            self._step(call, "agi", f"route({shown}) -> PBX_DO={do}", tuple(args), do)
        else:
            why = f" ({outcome.reason})" if outcome.reason else ""
            self._step(call, "agi", f"route({shown}) -> AGISTATUS={outcome.status}{why}", tuple(args), do)
        unreachable = outcome.status != "SUCCESS" or do == ""
        self._app(chan, c, "s", 3, "GotoIf", f"{int(unreachable)}?unreachable")
        if unreachable:
            self._app(chan, c, "s", 6, "NoOp", f"controller unreachable: AGISTATUS={outcome.status}")
            self._step(call, "action", "unreachable: play pbx/sv/ss-noservice, hang up with cause 41",
                       value="unreachable")
            await self._answer_app(chan, c, 7)
            await self._playback(chan, c, "s", 8, "pbx/sv/ss-noservice")
            self._app(chan, c, "s", 9, "Hangup", "41")
            raise DialplanHangup(41)
        self._set(chan, c, "s", 4, "PBX_RESULT", "")
        action, _ = decode_action(do)
        self._app(chan, c, "s", 5, "Goto", f"pbx-{action},s,1")
        self._step(call, "action", do, value=do)
        return (f"pbx-{action}", "s", 1)

    async def _pbx_menu(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c = "pbx-menu"
        play, timeout = self._field(chan, 2), self._field(chan, 4)
        await self._answer_app(chan, c, 1)
        self._app(chan, c, "s", 2, "Read", f"PBX_RESULT,{play},1,,1,{timeout}")
        await self._read(chan, call, play, 1, _seconds(timeout, 10.0))
        return self._goto_step(chan, c, "s", 3)

    async def _pbx_collect(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c = "pbx-collect"
        play, most, timeout = self._field(chan, 2), self._field(chan, 3), self._field(chan, 4)
        await self._answer_app(chan, c, 1)
        self._app(chan, c, "s", 2, "Read", f"PBX_RESULT,{play},{most},,1,{timeout}")
        await self._read(chan, call, play, int(most) if most.isdigit() and int(most) > 0 else 255,
                         _seconds(timeout, 10.0))
        return self._goto_step(chan, c, "s", 3)

    async def _read(self, chan: Channel, call: SimCall, play: str, max_digits: int, timeout: float) -> None:
        """Read(): the prompt plays until the first key; each key must come within `timeout` of
        the prompt's end or of the previous key; '#' ends the input."""
        node, script = self.node, call.script
        keys = script.keys[call.keys_used] if call.keys_used < len(script.keys) else ""
        call.keys_used += 1
        start = node.clock.elapsed()
        deadline = self._prompt_s(play) + timeout
        digits, status, at = "", "TIMEOUT", script.key_delay_s
        for i, key in enumerate(keys):
            if i:
                deadline, at = at + timeout, at + DIGIT_GAP_S
            if at > deadline:  # too late: Read has already given up
                await node.sleep(deadline - (node.clock.elapsed() - start), chan)
                status = "OK" if digits else "TIMEOUT"
                break
            await node.sleep(at - (node.clock.elapsed() - start), chan)
            status = "OK"
            if key == "#":
                break
            digits += key
            if len(digits) >= max_digits:
                break
        else:
            await node.sleep(deadline - (node.clock.elapsed() - start), chan)
            status = "OK" if digits else "TIMEOUT"
        node.set_var(chan, "PBX_RESULT", digits)
        node.set_var(chan, "READSTATUS", status)
        self._step(call, "result", f"PBX_RESULT={digits}" + (" (timeout)" if status == "TIMEOUT" else ""),
                   value=digits)

    async def _pbx_dial(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c = "pbx-dial"
        play, dialstring, ring = self._field(chan, 2), self._field(chan, 3), self._field(chan, 4)
        self._app(chan, c, "s", 1, "GotoIf", f"{int(play == '')}?dial")
        if play:
            await self._answer_app(chan, c, 2)
            await self._playback(chan, c, "s", 3, play)
        caller_id = self._field(chan, 5)
        self._app(chan, c, "s", 4, "ExecIf", f"{int(caller_id != '')}?Set(CALLERID(num)={caller_id})")
        if caller_id:
            self._set_caller_num(chan, caller_id, PRES_ALLOWED)
        self._app(chan, c, "s", 5, "ExecIf", f"{int(caller_id == 'anonymous')}?Set(CALLERID(pres)=prohib)")
        if caller_id == "anonymous":
            self._set_caller_num(chan, caller_id, PRES_PROHIBITED)
        self._app(chan, c, "s", 6, "Dial", f"{dialstring},{ring},t")
        status = await self.dial(chan, call, dialstring, _seconds(ring, FOREVER_S), options="t")
        self._set(chan, c, "s", 7, "PBX_RESULT", status)
        self._step(call, "result", f"PBX_RESULT={status}", value=status)
        return self._goto_step(chan, c, "s", 8)

    def _set_caller_num(self, chan: Channel, number: str, presentation: str) -> None:
        """Set(CALLERID(num)=…) / Set(CALLERID(pres)=…): the channel's caller ID changes, and says so."""
        chan.caller_num = number
        self.node.emit("NewCallerid", {"CID-CallingPres": presentation}, chan=chan)

    async def _pbx_ring(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c, node = "pbx-ring", self.node
        play, members, overflow, waitplay = (self._field(chan, n) for n in (2, 3, 4, 5))
        await self._answer_app(chan, c, 1)
        await self._exec_if_play(chan, c, 2, play)
        self._set(chan, c, "s", 3, "PBX_MEMBERS", members)
        end = int(node.clock.epoch()) + int(_seconds(overflow, 0.0))
        self._set(chan, c, "s", 4, "PBX_END", str(end))
        while True:  # label "round"
            self._app(chan, c, "s", 5, "GotoIf", f"{int(members == '')}?wait")
            if members:
                await self._ring_round(chan, call, c, members.split(";"), end)  # an answer ends the call there
            now = int(node.clock.epoch())
            self._app(chan, c, "s", 14, "ExecIf", f"{int(waitplay != '' and now < end)}?Playback({waitplay})")
            if waitplay and now < end:
                await self._play(chan, waitplay)
            left = end - int(node.clock.epoch())
            self._set(chan, c, "s", 15, "PBX_LEFT", str(left))
            self._app(chan, c, "s", 16, "ExecIf", f"{int(left > 0)}?MusicOnHold(default,{min(left, 20)})")
            if left > 0:
                await self._moh(chan, min(left, 20))
            again = int(node.clock.epoch()) < end
            self._app(chan, c, "s", 17, "GotoIf", f"{int(again)}?round")
            if not again:
                break
        self._set(chan, c, "s", 18, "PBX_RESULT", "TIMEOUT")
        self._step(call, "result", "PBX_RESULT=TIMEOUT", value="TIMEOUT")
        return self._goto_step(chan, c, "s", 19)

    async def _ring_round(self, chan: Channel, call: SimCall, c: str, parts: list[str], end: int) -> None:
        """One pass over the members (the While loop); a member who answers is bridged and the call ends."""
        node = self.node
        i = 1
        self._set(chan, c, "s", 6, "PBX_I", "1")
        while True:
            more = i <= len(parts) and int(node.clock.epoch()) < end
            self._app(chan, c, "s", 7, "While", str(int(more)))
            if not more:
                return
            member = parts[i - 1]
            self._set(chan, c, "s", 8, "PBX_M", member)
            target, _, ring = member.partition("~")
            left = end - int(node.clock.epoch())
            self._set(chan, c, "s", 9, "PBX_LEFT", str(left))
            ring_s = min(int(_seconds(ring, FOREVER_S)), left)  # never rings past the overflow time
            self._app(chan, c, "s", 10, "Dial", f"{target},{ring_s},mt")
            status = await self.dial(chan, call, target, ring_s, moh=True, options="t")
            self._app(chan, c, "s", 11, "GotoIf", f"{int(status == 'ANSWER')}?answered")
            i += 1
            self._set(chan, c, "s", 12, "PBX_I", str(i))
            self._app(chan, c, "s", 13, "EndWhile")


    async def _pbx_queue(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c = "pbx-queue"
        if exten == "s":
            play, tick = self._field(chan, 2), self._field(chan, 4)
            await self._answer_app(chan, c, 1)
            self._app(chan, c, "s", 2, "ExecIf", f"{int(play != '')}?Background({play})")
            key = await self._queue_wait(chan, call, self._prompt_s(play), _seconds(tick, 10.0))
            exten = key or "t"
        result = "TICK" if exten == "t" else f"KEY:{exten}"
        self._set(chan, c, exten, 1, "PBX_RESULT", result)
        self._step(call, "result", f"PBX_RESULT={result}", value=result)
        return self._goto_step(chan, c, exten, 2)

    async def _queue_wait(self, chan: Channel, call: SimCall, play_s: float, tick_s: float) -> str:
        """Background(PLAY) then WaitExten(TICK): the scripted queue key that falls due, or "" (t)."""
        node = self.node
        pending = sorted(call.script.queue_keys)[call.queue_keys_used:]
        key_at: float | None = None
        if pending and re.fullmatch(r"[0-9*#]", pending[0][1]):
            key_at = max(0.0, pending[0][0] - call.queue_waited)
        start = node.clock.elapsed()
        try:
            if key_at is not None and key_at < play_s:
                await node.sleep(key_at, chan)  # a key during the announcement ends Background at once
            else:
                if play_s:
                    await node.sleep(play_s, chan)
                self._app(chan, "pbx-queue", "s", 3, "WaitExten", f"{tick_s:g},m(default)")
                wait = tick_s if key_at is None or key_at >= play_s + tick_s else key_at - play_s
                await self._moh(chan, wait)
                if key_at is None or key_at >= play_s + tick_s:
                    return ""
        finally:
            call.queue_waited += node.clock.elapsed() - start
        call.queue_keys_used += 1
        return pending[0][1]

    async def _beep_and_record(self, chan: Channel, c: str, play: str, file: str, options: str) -> str:
        """Priorities 1–4 of pbx-voicemail and pbx-record: answer, play, beep, Record(FILE.wav,options)
        opening its (empty) file; returns the file's path."""
        await self._answer_app(chan, c, 1)
        await self._exec_if_play(chan, c, 2, play)
        self._app(chan, c, "s", 3, "Playback", "beep")
        await self._play(chan, "beep", BEEP_S)
        self._app(chan, c, "s", 4, "Record", f"{file}.wav,{options}")
        path = f"{file}.wav"
        try:
            write_wav(path, 0)
        except OSError as exc:  # Record cannot open the file: the application fails, the call ends
            self.node.log.warning("simulated Record cannot write %s: %s", path, exc)
            raise DialplanHangup(None) from exc
        return path

    async def _pbx_voicemail(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c, node = "pbx-voicemail", self.node
        play, file = self._field(chan, 2), self._field(chan, 3)
        path = await self._beep_and_record(chan, c, play, file, "3,300,k")
        node.set_var(chan, "RECORDED_FILE", file)
        call.recording = path
        started = node.clock.elapsed()
        try:
            await node.sleep(call.script.message_s + RECORD_SILENCE_S, chan)
        finally:
            # option k keeps what was recorded when the caller hangs up; the trailing silence is trimmed
            spoken = min(call.script.message_s, node.clock.elapsed() - started)
            write_wav(path, spoken)
        node.set_var(chan, "RECORD_STATUS", "SILENCE")
        await self._hand_over_recording(chan, call, c, "s", 5, dead=False)
        self._set(chan, c, "s", 6, "RECORDED_FILE", "")
        self._set(chan, c, "s", 7, "PBX_RESULT", "RECORDED")
        self._step(call, "result", f"PBX_RESULT=RECORDED ({path}, {spoken:g} s)", value="RECORDED")
        return self._goto_step(chan, c, "s", 8)

    async def _pbx_record(self, chan: Channel, call: SimCall, exten: str) -> Location:
        """extensions.conf's pbx-record: a prompt spoken by phone; the caller ends it with # after
        `message_s`. Hanging up mid-way discards the file (Record without option k)."""
        c, node = "pbx-record", self.node
        play, file, most = self._field(chan, 2), self._field(chan, 3), self._field(chan, 4)
        path = await self._beep_and_record(chan, c, play, file, f"5,{most}")
        spoken = min(call.script.message_s, _seconds(most, 120.0))
        try:
            await node.sleep(spoken, chan)
        except Interrupted:
            os.unlink(path)
            raise
        write_wav(path, spoken)
        node.set_var(chan, "RECORDED_FILE", file)
        node.set_var(chan, "RECORD_STATUS", "DTMF")
        call.recording = path
        self._set(chan, c, "s", 5, "PBX_RESULT", "RECORDED")
        self._step(call, "result", f"PBX_RESULT=RECORDED ({path}, {spoken:g} s)", value="RECORDED")
        return self._goto_step(chan, c, "s", 6)

    async def _pbx_callback(self, chan: Channel, call: SimCall, exten: str) -> Location:
        """extensions.conf's pbx-callback: the agent answered the controller's Originate; they hear
        whom they call back, then the customer is dialled through the trunk."""
        c = "pbx-callback"
        number, trunk = chan.vars.get("PBX_CALLBACK", ""), chan.vars.get("PBX_TRUNK", "trunk")
        await self._answer_app(chan, c, 1)
        await self._playback(chan, c, "s", 2, "pbx/sv/callback-to")
        await self._playback(chan, c, "s", 3, "&".join(f"digits/{d}" for d in number if d.isdigit()))
        self._app(chan, c, "s", 4, "Dial", f"PJSIP/{number}@{trunk},60")
        self._step(call, "action", f"callback: dial {number}", value=f"callback^{number}")
        status = await self.dial(chan, call, f"PJSIP/{number}@{trunk}", 60.0)
        self._step(call, "result", f"DIALSTATUS={status}", value=status)
        self._app(chan, c, "s", 5, "Hangup")
        raise DialplanHangup(16)

    async def _h_callback(self, chan: Channel, call: SimCall) -> None:
        """exten h of pbx-callback: report the customer's DIALSTATUS to the controller."""
        host, port = self.agi_target()
        args = [chan.vars.get("PBX_CALL", ""), chan.vars.get("DIALSTATUS", "")]
        self._app(chan, "pbx-callback", "h", 1, "AGI", f"agi://{host}:{port}/callback-result," + ",".join(args),
                  dead=True)
        outcome = await self.agi.run(chan, host, port, "callback-result", args)
        self._step(call, "agi", f"callback-result({', '.join(repr(a) for a in args)}) -> AGISTATUS={outcome.status}",
                   tuple(args))

    async def _h_recorded(self, chan: Channel, call: SimCall) -> None:
        """exten h of pbx-voicemail: hand a message cut short by a hangup to the controller."""
        await self._hand_over_recording(chan, call, "pbx-voicemail", "h", 1, dead=True)

    async def _hand_over_recording(self, chan: Channel, call: SimCall, c: str, exten: str, priority: int, *,
                                   dead: bool) -> None:
        host, port = self.agi_target()
        args = [chan.vars.get("PBX_DIALLED", ""), chan.vars.get("PBX_POS", ""), chan.vars["RECORDED_FILE"]]
        agi = f"AGI(agi://{host}:{port}/recorded," + ",".join(args) + ")"
        self._app(chan, c, exten, priority, "ExecIf" if dead else "AGI", f"1?{agi}" if dead else agi[4:-1],
                  dead=dead)
        outcome = await self.agi.run(chan, host, port, "recorded", args)
        self.node.set_var(chan, "AGISTATUS", outcome.status)
        shown = ", ".join(repr(a) for a in args)
        self._step(call, "agi", f"recorded({shown}) -> AGISTATUS={outcome.status}", tuple(args))

    async def _pbx_hangup(self, chan: Channel, call: SimCall, exten: str) -> Location:
        c = "pbx-hangup"
        play, cause = self._field(chan, 2), self._field(chan, 3)
        self._app(chan, c, "s", 1, "GotoIf", f"{int(play == '')}?end")
        if play:
            await self._answer_app(chan, c, 2)
            await self._playback(chan, c, "s", 3, play)
        self._app(chan, c, "s", 4, "Hangup", cause)
        raise DialplanHangup(int(cause) if cause.isdigit() and int(cause) > 0 else 16)

    async def _pbx_connect(self, chan: Channel, call: SimCall, exten: str) -> Location:
        """extensions.conf's pbx-connect: a waiting caller redirected here once an agent is reserved.
        Dial(${PBX_AGENT},${PBX_RING_S}) (bare endpoint names get PJSIP/), then like pbx-dial."""
        c = "pbx-connect"
        agents = [a for a in chan.vars.get("PBX_AGENT", "").split("&") if a]
        dialstring = "&".join(a if "/" in a else f"PJSIP/{a}" for a in agents)
        ring = chan.vars.get("PBX_RING_S", "30")
        await self._answer_app(chan, c, 1)
        self._app(chan, c, "s", 2, "Dial", f"{dialstring},{ring},t")
        status = await self.dial(chan, call, dialstring, _seconds(ring, 30.0), options="t")
        self._set(chan, c, "s", 3, "PBX_RESULT", status)
        self._step(call, "result", f"PBX_RESULT={status}", value=status)
        return self._goto_step(chan, c, "s", 4)

    # --- Dial() ---------------------------------------------------------------------------
    def request(self, caller: Channel | None, target: str, *, uniqueid: str | None = None) -> _Leg | None:
        """ast_request(): a channel to a simulated phone or the trunk, or None (CHANUNAVAIL)."""
        node = self.node
        tech, _, rest = target.partition("/")
        if tech.upper() != "PJSIP" or not rest:
            return None
        resource, _, host = rest.partition("@")
        name = host or resource
        behaviour = node.endpoints.get(resource) if host and resource in node.endpoints else node.endpoints.get(name)
        if behaviour is None or behaviour.unavailable:
            return None
        chan = node.new_channel(f"PJSIP/{name}-{node.next_channel_number('PJSIP')}", f"PJSIP/{name}", state=DOWN,
                                context="pbx-inbound" if name == "trunk" else PHONES_CONTEXT, exten="s",
                                caller_num=caller.caller_num if caller else "",
                                caller_name=caller.caller_name if caller else "",
                                uniqueid=uniqueid, linkedid=caller.linkedid if caller else None)
        chan.endpoint = name
        return _Leg(chan, behaviour, rest, target)

    async def dial(self, chan: Channel, call: SimCall, dialstring: str, ring_s: float, *, moh: bool = False,
                   options: str = "") -> str:
        """Dial(): rings every target at once; returns DIALSTATUS. An answered call is bridged and,
        when it ends, ends the caller's call too (Dial without the g option). `options` "t": the called
        party may transfer with features.conf's DTMF codes (an AMI transfer needs no option)."""
        node = self.node
        legs = [leg for leg in (self.request(chan, t) for t in dialstring.split("&") if t) if leg is not None]
        if not legs:
            node.set_var(chan, "DIALSTATUS", "CHANUNAVAIL")
            return "CHANUNAVAIL"
        for leg in legs:
            node.emit("DialBegin", {"DialString": leg.dialstring}, chan=chan, dest=leg.chan)
        if moh:
            node.emit("MusicOnHoldStart", {"Class": "default"}, chan=chan)
        start = node.clock.elapsed()
        pending, busy, winner, status = list(legs), 0, None, ""
        try:
            while pending and winner is None:
                # the next thing to happen: a phone rings, says busy, answers, or time runs out
                events: list[tuple[float, int, str, _Leg | None]] = [(ring_s, 1 << 30, "timeout", None)]
                for n, p in enumerate(pending):
                    b = p.behaviour
                    if b.busy:
                        events.append((RING_DELAY_S, n, "busy", p))
                    elif not p.ringing:
                        events.append((RING_DELAY_S, n, "ring", p))
                    elif b.answer_after_s is not None:
                        events.append((max(RING_DELAY_S, b.answer_after_s), n, "answer", p))
                at, _, what, hit = min(events, key=lambda e: (e[0], e[1]))
                try:
                    await node.sleep(at - (node.clock.elapsed() - start), chan, *(p.chan for p in pending))
                except Interrupted as exc:
                    if exc.channel is chan:
                        status = "CANCEL"
                        raise
                    gone = next(p for p in pending if p.chan is exc.channel)  # hung up under us (AMI)
                    pending.remove(gone)
                    node.emit("DialEnd", {"DialStatus": "CHANUNAVAIL"}, chan=chan, dest=gone.chan)
                    node.hangup(gone.chan, None, soft=False)
                    continue
                if what == "timeout":
                    status = "NOANSWER"
                    break
                assert hit is not None
                if what == "ring":
                    hit.ringing = True
                    node.set_state(hit.chan, RINGING)
                elif what == "busy":
                    pending.remove(hit)
                    busy += 1
                    node.emit("DialEnd", {"DialStatus": "BUSY"}, chan=chan, dest=hit.chan)
                    node.hangup(hit.chan, 17, soft=False)
                else:
                    winner = hit
                    pending.remove(hit)
                    callee = hit.chan
                    callee.connected_num, callee.connected_name = chan.caller_num, chan.caller_name
                    node.set_state(callee, UP)
                    node.emit("DialEnd", {"DialStatus": "ANSWER"}, chan=chan, dest=callee)
        finally:
            for rest in pending:  # the rest: timed out, cancelled, or answered elsewhere
                node.emit("DialEnd", {"DialStatus": "CANCEL" if winner or status == "CANCEL" else "NOANSWER"},
                          chan=chan, dest=rest.chan)
                node.hangup(rest.chan, 26 if winner else 16, soft=False)
            if moh and not chan.gone:
                node.emit("MusicOnHoldStop", chan=chan)
            if status == "CANCEL":
                node.set_var(chan, "DIALSTATUS", "CANCEL")
        if winner is None:
            status = status or ("BUSY" if busy else "CHANUNAVAIL")
            node.set_var(chan, "DIALSTATUS", status)
            return status
        self.answer(chan)
        node.set_var(chan, "DIALSTATUS", "ANSWER")
        call.answered_by = winner.label
        await self._bridge(chan, call, winner, callee_transfers="t" in options)
        return "ANSWER"  # not reached: _bridge ends the call

    async def _bridge(self, chan: Channel, call: SimCall, leg: _Leg, *, callee_transfers: bool = False) -> None:
        """The caller `chan` (running the dialplan) talks with the answered `leg` until either hangs up. A
        transfer may change who `chan` talks with: the called phone's DTMF (features.conf; Dial option t:
        `callee_transfers`) or AMI BlindTransfer/Atxfer on either channel (see `_blind` and `_attended`)."""
        node = self.node
        bridge = _Bridge(node.new_bridge_id(), chan, leg.chan, leg.behaviour, node.clock.elapsed())
        node.emit("BridgeCreate", node.bridge_values(bridge.id, 0))
        leg.chan.bridge = chan.bridge = bridge.id
        node.emit("BridgeEnter", node.bridge_values(bridge.id, 1), chan=leg.chan)
        node.emit("BridgeEnter", node.bridge_values(bridge.id, 2), chan=chan)
        self._step(call, "result", f"answered by {leg.label}", value="ANSWER")
        keys_at = (node.clock.elapsed() + leg.behaviour.transfer_after_s
                   if callee_transfers and leg.behaviour.transfer else None)
        while True:
            callee = bridge.callee
            due = bridge.talk_end if keys_at is None else min(bridge.talk_end, keys_at)
            try:
                await node.sleep(due - node.clock.elapsed(), chan, callee)
            except Interrupted as exc:
                who = exc.channel
                if who is chan and chan.swapped_out:  # a Local half optimised away: the far end lives on elsewhere
                    chan.bridge = ""
                    raise DialplanHangup(16) from None
                if who.transfer is not None and not who.hangup_requested and who.redirect_to is None:
                    kind, exten, context = who.transfer
                    who.transfer = None
                    if kind == "blind":
                        await self._blind(bridge, who, exten, context)
                    else:
                        await self._attended(bridge, call, who, exten, context)
                    continue
                if who is chan:  # the caller hung up or was redirected: the callee goes too
                    node.emit("BridgeLeave", node.bridge_values(bridge.id, 1), chan=chan)
                    node.emit("BridgeLeave", node.bridge_values(bridge.id, 0), chan=callee)
                    chan.bridge = callee.bridge = ""
                    node.hangup(callee, 16)
                    node.emit("BridgeDestroy", node.bridge_values(bridge.id, 0))
                    raise
                break  # the callee hung up
            if keys_at is not None and due == keys_at:
                keys, keys_at = bridge.behaviour.transfer if bridge.behaviour else "", None
                await self._dtmf_transfer(bridge, call, callee, keys)
                continue
            node.request_hangup(callee, remote=True)  # the far end has said what it had to say
            break
        callee = bridge.callee
        node.emit("BridgeLeave", node.bridge_values(bridge.id, 1), chan=callee)
        callee.bridge = ""
        node.hangup(callee, 16 if callee.remote_hangup else None, soft=False)
        node.emit("BridgeLeave", node.bridge_values(bridge.id, 0), chan=chan)
        chan.bridge = ""
        node.emit("BridgeDestroy", node.bridge_values(bridge.id, 0))
        raise DialplanHangup(16)

    # --- transfers ------------------------------------------------------------------------
    async def _dtmf_transfer(self, bridge: _Bridge, call: SimCall, xferer: Channel, keys: str) -> None:
        """The called phone pressed a features.conf code and a number: to TRANSFER_CONTEXT, else its own context.
        A number that is no extension there fails the transfer; the call goes on."""
        context = xferer.vars.get("TRANSFER_CONTEXT") or xferer.context
        for kind, code in (("blind", FEATURES["blindxfer"]), ("attended", FEATURES["atxfer"])):
            if keys.startswith(code):
                exten = keys[len(code):]
                if not extension_exists(context, exten):
                    self.node.log.info("simulated transfer to %s@%s: no such extension", exten, context)
                    return
                if kind == "blind":
                    await self._blind(bridge, xferer, exten, context)
                else:
                    await self._attended(bridge, call, xferer, exten, context)
                return

    async def _blind(self, bridge: _Bridge, xferer: Channel, exten: str, context: str) -> None:
        """ast_bridge_transfer_blind: the other party goes to exten@context (BLINDTRANSFER names the transferer),
        the transferer leaves and hangs up. The caller's own channel moves on through the dialplan (an async
        goto), a called party gets a dialplan of its own."""
        node, caller = self.node, bridge.caller
        xferee = bridge.callee if xferer is caller else caller
        node.emit("BlindTransfer", {"Result": "Success", **node.bridge_values(bridge.id, 2), "IsExternal": "No",
                                    "Context": context, "Extension": exten}, blocks={"xferer": xferer,
                                                                                      "xferee": xferee})
        node.set_var(xferee, "BLINDTRANSFER", xferer.name)
        node.emit("BridgeLeave", node.bridge_values(bridge.id, 1), chan=xferer)
        xferer.bridge = ""
        node.hangup(xferer, 16)
        node.emit("BridgeLeave", node.bridge_values(bridge.id, 0), chan=xferee)
        xferee.bridge = ""
        node.emit("BridgeDestroy", node.bridge_values(bridge.id, 0))
        if xferee is caller:
            caller.redirect_to = (context, exten, 1)
            raise Interrupted(caller)  # Dial() returns; the channel goes on at the transfer's destination
        moved = self.new_call(xferee, xferee.caller_num, exten)
        self.start(xferee, moved, (context, exten, 1))
        raise DialplanHangup(16)  # the transferer was the caller: its Dial() ends, and so does its call

    def _local_pair(self, xferer: Channel, exten: str, context: str) -> tuple[Channel, Channel]:
        """bridge_basic.c dial_transfer: Local/exten@context, requested by the transferer, who is named in
        TRANSFERERNAME and ATTENDEDTRANSFER; the ;2 half gets a copy of the ;1 half's variables."""
        node = self.node
        base = f"Local/{exten}@{context}-{node.next_channel_number('Local')}"
        device = f"Local/{exten}@{context}"
        one = node.new_channel(base + ";1", device, state=DOWN, context=context, exten=exten,
                               caller_num=xferer.caller_num, caller_name=xferer.caller_name, linkedid=xferer.linkedid)
        two = node.new_channel(base + ";2", device, state=RING, context=context, exten=exten,
                               caller_num=xferer.caller_num, caller_name=xferer.caller_name, linkedid=xferer.linkedid)
        for name in ("TRANSFERERNAME", "ATTENDEDTRANSFER"):
            node.set_var(one, name, xferer.name)
        for name, value in one.vars.items():
            node.set_var(two, name, value)
        node.emit("LocalBridge", {"Context": context, "Exten": exten, "LocalOptimization": "Yes"}, one=one, two=two)
        one.peer, two.peer = two, one

        def answered(_: Channel) -> None:
            node.set_state(one, UP)
            one.wake()

        two.on_answer = answered
        return one, two

    async def _attended(self, bridge: _Bridge, call: SimCall, xferer: Channel, exten: str, context: str) -> None:
        """An attended transfer by the called party (bridge_basic.c): the caller waits on hold while the transferer
        consults exten@context through a Local channel. The target answers: the transferer talks (the phone's
        consult_s), hangs up, and the transfer completes (AttendedTransfer). No answer within atxfernoanswertimeout,
        or the target is gone: the transferer is back with the caller."""
        node, caller = self.node, bridge.caller
        if xferer is caller:  # not emulated: the caller's own attended transfer (Dial option T)
            node.log.warning("simulated attended transfer by the calling party is not emulated: %s", xferer.name)
            return
        behaviour = bridge.behaviour or Endpoint()
        node.emit("BridgeLeave", node.bridge_values(bridge.id, 1), chan=xferer)
        xferer.bridge = ""
        node.emit("MusicOnHoldStart", {"Class": "default"}, chan=caller)
        one, two = self._local_pair(xferer, exten, context)
        consult = self.new_call(two, xferer.caller_num, exten)
        self.start(two, consult, (context, exten, 1))
        deadline = node.clock.elapsed() + ATXFER_NOANSWER_S
        while one.state != UP and not (one.gone or one.hangup_requested):
            left = deadline - node.clock.elapsed()
            if left <= 0:
                break
            try:
                await node.sleep(left, one, xferer, caller)
            except Interrupted as exc:
                if exc.channel is caller and (caller.hangup_requested or caller.redirect_to is not None):
                    node.hangup(one, 16)
                    node.hangup(xferer, 16)
                    raise
                if exc.channel is xferer and xferer.hangup_requested:
                    break
        if one.state != UP or xferer.gone or xferer.hangup_requested:
            self._back(bridge, xferer, one)
            return
        target = node.new_bridge_id()
        node.emit("BridgeCreate", node.bridge_values(target, 0))
        xferer.bridge = one.bridge = target
        node.emit("BridgeEnter", node.bridge_values(target, 1), chan=xferer)
        node.emit("BridgeEnter", node.bridge_values(target, 2), chan=one)
        try:
            await node.sleep(behaviour.consult_s, one, xferer, caller)
        except Interrupted as exc:
            if exc.channel is caller and (caller.hangup_requested or caller.redirect_to is not None):
                for c in (one, xferer):
                    node.emit("BridgeLeave", node.bridge_values(target, 0), chan=c)
                    c.bridge = ""
                    node.hangup(c, 16)
                node.emit("BridgeDestroy", node.bridge_values(target, 0))
                raise
            if exc.channel is one or not xferer.hangup_requested:  # the target hung up: back to the caller
                node.emit("BridgeLeave", node.bridge_values(target, 1), chan=one)
                one.bridge = ""
                node.emit("BridgeLeave", node.bridge_values(target, 0), chan=xferer)
                node.emit("BridgeDestroy", node.bridge_values(target, 0))
                self._back(bridge, xferer, one)
                return
        self._complete(bridge, call, xferer, one, two, target)

    def _back(self, bridge: _Bridge, xferer: Channel, one: Channel) -> None:
        """The consultation failed: the Local channel goes; the transferer, if still there, talks with the caller
        again (the rest of their conversation)."""
        node, caller = self.node, bridge.caller
        if not one.gone:
            node.hangup(one, 16)
        if not caller.gone:
            node.emit("MusicOnHoldStop", chan=caller)
        if xferer.gone or xferer.hangup_requested:
            bridge.callee = xferer  # the bridge loop sees the hangup and ends the call
            return
        xferer.bridge = bridge.id
        node.emit("BridgeEnter", node.bridge_values(bridge.id, 2), chan=xferer)

    def _complete(self, bridge: _Bridge, call: SimCall, xferer: Channel, one: Channel, two: Channel, target: str
                  ) -> None:
        """The transferer hung up: the target's bridge merges into the caller's (AttendedTransfer, DestType Bridge),
        the transferer goes; then the Local pair optimises itself away when its far half is bridged, leaving the
        caller with whoever answered."""
        node, caller = self.node, bridge.caller
        node.emit("AttendedTransfer", {
            "Result": "Success", **node.bridge_values(bridge.id, 1, "Orig"), **node.bridge_values(target, 2, "Second"),
            "IsExternal": "No", "DestType": "Bridge", "DestBridgeUniqueid": bridge.id},
            blocks={"orig": xferer, "second": xferer, "xferee": caller, "target": one})
        node.emit("BridgeLeave", node.bridge_values(target, 1), chan=xferer)
        xferer.bridge = ""
        node.hangup(xferer, 16, soft=False)
        node.emit("BridgeLeave", node.bridge_values(target, 0), chan=one)
        node.emit("BridgeDestroy", node.bridge_values(target, 0))
        node.emit("MusicOnHoldStop", chan=caller)
        one.bridge = bridge.id
        node.emit("BridgeEnter", node.bridge_values(bridge.id, 2), chan=one)
        bridge.callee, bridge.behaviour, bridge.talk_end = one, None, node.clock.elapsed() + FOREVER_S
        call.answered_by = one.name
        far = next((c for c in node.channels.values() if two.bridge and c.bridge == two.bridge and c is not two), None)
        if far is None:
            return  # the ;2 half is not bridged (a prompt, voicemail): the caller hears it through the Local pair
        inner = two.bridge
        node.emit("BridgeLeave", node.bridge_values(inner, 1), chan=far)
        node.emit("BridgeLeave", node.bridge_values(inner, 0), chan=two)
        node.emit("BridgeDestroy", node.bridge_values(inner, 0))
        node.emit("BridgeLeave", node.bridge_values(bridge.id, 1), chan=one)
        far.bridge, one.bridge, two.bridge = bridge.id, "", ""
        node.emit("BridgeEnter", node.bridge_values(bridge.id, 2), chan=far)
        one.swapped_out = two.swapped_out = True
        node.hangup(one, 16, soft=False)  # the ;2 half follows, leaving its far end alone
        behaviour = node.endpoints.get(far.endpoint) or Endpoint()
        bridge.callee, bridge.behaviour = far, behaviour
        call.answered_by = f"PJSIP/{far.endpoint}" if far.endpoint else far.name
        bridge.talk_end = node.clock.elapsed() + behaviour.talk_s


@dataclass
class _Bridge:
    """A two-party bridge a Dial() made: the caller runs the dialplan, the callee may change by a transfer."""

    id: str
    caller: Channel
    callee: Channel
    behaviour: Endpoint | None  # the callee's, when it is a phone
    started: float
    talk_end: float = 0.0

    def __post_init__(self) -> None:
        if not self.talk_end:
            self.talk_end = self.started + (self.behaviour.talk_s if self.behaviour else FOREVER_S)
