"""The dialplan contract: how a decision travels to Asterisk and how the call's position comes back.

Asterisk asks `AGI(agi://controller/route,${PBX_DIALLED},${PBX_POS},${PBX_RESULT})`; the
controller answers with two variables, PBX_POS (where the call is: opaque to the dialplan) and
PBX_DO (what to do next: `action^field^field…`, read with CUT(PBX_DO,^,n)). The generic
dialplan in asterisk-config/extensions.conf executes PBX_DO in context `pbx-<action>` and asks
again with PBX_RESULT set. Pure: no I/O here, so the simulator and the tests share it.

PBX_DO by action (PLAY = prompt files joined by '&', played first; a prompt key `file:/abs/path`
plays that file, which is how a listener hears a voicemail message):
  menu^PLAY^DIGITS^TIMEOUT_S              Read one key → PBX_RESULT (empty on timeout)
  dial^PLAY^DIALSTRING^RING_S[^CALLERID]  Dial → PBX_RESULT=${DIALSTATUS}; CALLERID (optional, calls from
                                          phones): Set(CALLERID(num)=…) first: through the trunk the number the
                                          user chose (U-04) or `anonymous` (presentation prohibited); inside,
                                          the caller's extension
  ring^PLAY^MEMBERS^OVERFLOW_S^WAITPLAY   answer group; MEMBERS = dial~ring_s;dial~ring_s (in
                                          order; one entry when parallel; empty = wait with music)
                                          → ANSWER, or TIMEOUT at the overflow time
  queue^PLAY^QUEUE^TICK_S^CALLBACK_KEY    wait with music; TICK every TICK_S, KEY:<k> on a key;
                                          the ACD moves a caller to pbx-connect (AMI Setvar
                                          PBX_AGENT/PBX_RING_S + Redirect); an agent who does not
                                          answer sends them back (NOANSWER…) keeping their place
  voicemail^PLAY^FILE                     Record(FILE.wav) → RECORDED (the message is FILE.wav)
  record^PLAY^FILE^MAX_S                  Record(FILE.wav) up to MAX_S, ended by # → RECORDED (a
                                          prompt recorded by phone; the controller takes it from there)
  collect^PLAY^MAX_DIGITS^TIMEOUT_S       Read up to MAX_DIGITS ending with # → PBX_RESULT
  hangup^PLAY^CAUSE                       Hangup(CAUSE) after PLAY

Calls from users' phones enter context `pbx-phones` (the PJSIP endpoints' context), which sets
PBX_DIALLED to the digits dialled (only 0-9 * # +: FILTER) and PBX_POS to `phone:<endpoint>` from
${CHANNEL(endpoint)}: who calls is Asterisk's word, never what the phone sent. The controller keeps
that mark as the position's seventh field (`tenant^flow^node^target^attempt^entered^phone:anna`) on every
later step, so each step of the call knows its caller (pbx.routing.phone decides them), and the first
field is still the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pbx.ivr.say import expand
from pbx.routing.compile import RoutingTable
from pbx.routing.engine import (
    Call,
    CollectNumber,
    Decision,
    Dial,
    EnterQueue,
    Hangup,
    PlayMenu,
    RecordPrompt,
    RingGroup,
    Service,
    Voicemail,
)
from pbx.routing.model import is_e164
from pbx.routing.phone import ANONYMOUS, leaves_by_trunk

SEP = "^"
# Q.850 causes the dialplan hangs up with.
CAUSES = {"normal": 16, "unallocated": 1, "failure": 41, "busy": 17, "rejected": 21}
PHONE_MARK = "phone:"  # the last field of a phone call's position: phone:<endpoint>


@dataclass(frozen=True, slots=True)
class ContractSettings:
    trunk: str = "trunk"  # PJSIP endpoint that carries calls to the public network
    spool: str = "/var/spool/pbx"  # where Asterisk records voicemail messages
    sounds: str = "pbx"  # sounds directory prefix (under Asterisk's sounds dir)


class ContractError(ValueError):
    """Bytes from Asterisk that do not follow the contract (a tampered or broken channel)."""


def encode_position(d: Decision) -> str:
    fields = (d.tenant or "", d.flow or "", d.node or "", d.target or "", str(d.attempt), str(d.entered))
    return SEP.join(fields)


def split_phone_position(position: str) -> tuple[str, str | None]:
    """(the ordinary position, the calling endpoint) of a phone call's PBX_POS; (position, None) otherwise."""
    head, _, last = position.rpartition(SEP)
    if not last.startswith(PHONE_MARK):
        return position, None
    return head, last[len(PHONE_MARK):]


def phone_position(position: str, endpoint: str) -> str:
    """PBX_POS of a step of a call from `endpoint`: the ordinary position with the phone mark after it."""
    return f"{position}{SEP}{PHONE_MARK}{endpoint}"


def call_from_args(args: Sequence[str], caller: str = "") -> Call:
    """The Call from the route request's arguments: (dialled, position, result)."""
    if not args or not args[0]:
        raise ContractError("route request without the dialled number (agi_arg_1)")
    dialled = args[0]
    position = args[1] if len(args) > 1 else ""
    result = args[2] if len(args) > 2 else ""
    if caller in ("unknown", "<unknown>"):
        caller = ""
    if not position:
        return Call(dialled, caller)
    parts = position.split(SEP)
    if len(parts) != 6:
        raise ContractError(f"position {position!r} has {len(parts)} fields, expected 6")
    tenant, flow, node, target, attempt, entered = parts
    try:
        attempt_n, entered_n = int(attempt), int(entered)
    except ValueError:
        raise ContractError(f"position {position!r} has a non-numeric attempt or time") from None
    return Call(dialled, caller, tenant or None, flow or None, node or None, target or None, attempt_n, result,
                entered_n)


def prompt_files(prompts: Sequence[str], table: RoutingTable, tenant: str | None, settings: ContractSettings) -> str:
    """Prompt keys → sound files: the tenant's own prompts, spoken times, then the defaults."""
    t = table.tenants.get(tenant or "")
    language = t.language if t is not None else "sv"
    own = t.prompts if t is not None else frozenset()
    files: list[str] = []
    for key in prompts:
        if key.startswith("file:"):  # a recording (a voicemail message, a prompt to review), played as it is
            path = key[5:]
            if not path.startswith("/") or "&" in path or "," in path:
                raise ContractError(f"file {path!r} cannot be played (absolute, without '&' or ',')")
            files.append(path.removesuffix(".wav"))
        elif key in own:
            files.append(f"{settings.sounds}/t/{tenant}/{key}")
        else:  # a default prompt, or a number/time/wait spoken from words (pbx.ivr.say)
            files.extend(f"{settings.sounds}/{language}/{word}" for word in expand(key, language))
    return "&".join(files)


def prompt_spool_file(tenant: str, uniqueid: str, settings: ContractSettings) -> str:
    """Where Asterisk records a prompt spoken by phone (without .wav), one file per call."""
    return f"{settings.spool}/prompts/{tenant}/{uniqueid.replace('/', '_')}"


def dial_string(targets: Sequence[str], settings: ContractSettings) -> str:
    """Endpoints as they are; E.164 numbers (and emergency short numbers) leave through the trunk."""
    return "&".join(f"PJSIP/{t}@{settings.trunk}" if leaves_by_trunk(t) else t for t in targets)


def encode_action(d: Decision, table: RoutingTable, uniqueid: str, settings: ContractSettings,
                  caller_id: str | None = None) -> str:
    """PBX_DO for a decision (see the module docstring). `caller_id`: what a dial from a phone presents."""
    a = d.action

    def play(extra: Sequence[str] = ()) -> str:
        return prompt_files((*a.prompts, *extra), table, d.tenant, settings)

    if isinstance(a, PlayMenu):
        fields = ["menu", play((a.prompt,)), a.digits, str(a.timeout_s)]
    elif isinstance(a, Dial):
        fields = ["dial", play(), dial_string(a.targets, settings), str(a.ring_s)]
        if caller_id:
            if caller_id != ANONYMOUS and not is_e164(caller_id) and not caller_id.isdigit():
                raise ContractError(f"caller ID {caller_id!r} is neither +E.164, an extension nor {ANONYMOUS}")
            fields.append(caller_id)
    elif isinstance(a, RingGroup):
        if a.strategy == "parallel" and a.members:
            targets = [t for m in a.members for t in m.targets]
            members = f"{dial_string(targets, settings)}~{a.overflow_after_s}"
        else:
            members = ";".join(f"{dial_string(m.targets, settings)}~{m.ring_s}" for m in a.members)
        wait = prompt_files((a.waiting_prompt,), table, d.tenant, settings) if a.waiting_prompt else ""
        fields = ["ring", play(), members, str(a.overflow_after_s), wait]
    elif isinstance(a, EnterQueue):
        fields = ["queue", play(), a.queue, str(a.announce_every_s), a.callback_key or ""]
    elif isinstance(a, Voicemail):
        extra = (a.greeting,) if a.greeting else ()
        path = f"{settings.spool}/voicemail/{d.tenant}/{a.box}/{uniqueid.replace('/', '_')}"
        fields = ["voicemail", play(extra), path]
    elif isinstance(a, CollectNumber):
        fields = ["collect", play((a.prompt,)), "20", "10"]
    elif isinstance(a, RecordPrompt):
        fields = ["record", play(), prompt_spool_file(d.tenant or "", uniqueid, settings), str(a.max_s)]
    elif isinstance(a, Service):
        raise ContractError(f"phone service {a.service!r} was not resolved to an action")
    else:
        assert isinstance(a, Hangup)
        fields = ["hangup", play(), str(CAUSES.get(a.cause, 16))]
    for value in fields:
        if SEP in value or "\n" in value or '"' in value:
            raise ContractError(f"value {value!r} cannot travel in PBX_DO")
    return SEP.join(fields)


def decode_action(text: str) -> tuple[str, list[str]]:
    """(action, fields after it): how the dialplan (and the simulator) read PBX_DO."""
    action, *fields = text.split(SEP)
    return action, fields
