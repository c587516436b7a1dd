"""Phone services (ServiceNode): listening to voicemail (U-02) and recording prompts (F-04) by phone.

The routing core is pure and stops at a service node with a `Service` action; the router hands that to
`PhoneServices`, which reads live data (messages, the recorded file) and answers with an ordinary action
(a menu, a recording, a number to key in, a hang-up). The service's place travels in the call's
position like every other step (`target`), so any controller instance can answer the next step:

    vm:<ms>:<rank>:<µs>:<id> at the options menu of message <id>, in a session begun at <ms> (epoch
                             ms); (rank, µs, id) orders the messages (new before saved, oldest first),
                             so "next" survives messages that come, go or change folder meanwhile;
                             a message heard since <ms> is not offered again among the saved ones
    pr:code                  waiting for the number of the prompt to record
    pr:rec:<code>            recording it
    pr:review:<code>         hearing it back: keep, record again, hear again or cancel

Callers are known by their caller ID: a user's fixed or mobile number, extension or device. A listener
hears the messages of their personal box and of every shared box that lists them; a service node with
`users` lets only those users in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from pbx.asterisk.contract import ContractSettings, prompt_spool_file
from pbx.db.store import NotFound
from pbx.ivr.audio import AudioRejected
from pbx.ivr.prompts import PromptStore
from pbx.routing.compile import TenantTable
from pbx.routing.engine import Call, CollectNumber, Decision, Hangup, PlayMenu, RecordPrompt, Service
from pbx.routing.model import ServiceNode, UserConfig
from pbx.tables import TableHolder
from pbx.voicemail.messages import Message, VoicemailStore

__all__ = ["PhoneServices", "identify", "listener_boxes"]

log = logging.getLogger("pbx.ivr.services")

OPTIONS_TIMEOUT_S = 6
MENU_ATTEMPTS = 3
PROMPT_MAX_S = 120
# replay, save, next, keep as new, delete, end. Not # for the end: Read() takes # as "no more digits"
# and gives an empty result, the same as no key at all.
VM_KEYS = "12357*"
REVIEW_KEYS = "123*"  # keep, record again, hear again, cancel

BoxChanged = Callable[[str, str], Awaitable[None]]


def _normal(number: str, home_cc: str) -> str:
    """A caller ID as E.164 when it is a national number (0701234567 → +46701234567)."""
    if number.startswith("00"):
        return "+" + number[2:]
    if number.startswith("0") and number[1:].isdigit():
        return f"+{home_cc}{number[1:]}"
    return number


def identify(tenant: TenantTable, caller: str) -> UserConfig | None:
    """The tenant's user calling from `caller` (number, extension or device), or None."""
    if not caller:
        return None
    number = _normal(caller, tenant.home_cc)
    for user in tenant.users.values():
        if number in (user.fixed_number, user.mobile_number) or caller == user.extension or any(
                device.rpartition("/")[2] == caller for device in user.devices):
            return user
    return None


def listener_boxes(tenant: TenantTable, user: UserConfig, only: str | None = None) -> tuple[str, ...]:
    """The boxes `user` may listen to: their own and the shared ones that list them (just `only`, if given)."""
    boxes = [b.key for b in tenant.boxes.values() if b.key == user.voicemail or user.key in b.listeners]
    return tuple(b for b in boxes if only is None or b == only)


def _order(message: Message) -> tuple[int, int, str]:
    return (0 if message.folder == "new" else 1, int(message.received_at.timestamp() * 1_000_000), message.id)


def _vm_state(session_ms: int, message: Message) -> str:
    rank, micros, id_ = _order(message)
    return f"vm:{session_ms}:{rank}:{micros}:{id_}"


def _parse_vm(target: str) -> tuple[int, tuple[int, int, str]] | None:
    """(session start in epoch ms, the current message's place) from a `vm:` state."""
    parts = target.split(":")
    if len(parts) != 5 or parts[0] != "vm" or not all(p.isdigit() for p in parts[1:4]):
        return None
    return int(parts[1]), (int(parts[2]), int(parts[3]), parts[4])


class PhoneServices:
    """Answers a `Service` decision with the next real action. Failing data (database down, a message
    deleted under the listener) ends the service politely, never with silence."""

    def __init__(self, tables: TableHolder, settings: ContractSettings, clock: Callable[[], datetime], *,
                 voicemail: VoicemailStore | None = None, prompts: PromptStore | None = None,
                 box_changed: BoxChanged | None = None) -> None:
        self.tables = tables
        self.settings = settings
        self.clock = clock
        self.voicemail = voicemail
        self.prompts = prompts
        self.box_changed = box_changed

    async def __call__(self, decision: Decision, call: Call, uniqueid: str) -> Decision:
        action = decision.action
        assert isinstance(action, Service)
        tenant = self.tables.table.tenants.get(decision.tenant or "")
        flow = tenant.flows.get(decision.flow or "") if tenant is not None else None
        node = flow.nodes.get(decision.node or "") if flow is not None else None
        if tenant is None or not isinstance(node, ServiceNode):
            return _end(decision, ("ss-noservice",), "the service node is gone")
        user = identify(tenant, call.caller)
        if user is None or (node.users and user.key not in node.users):
            log.info("phone service refused", extra={"event": "service_refused", "tenant": tenant.key,
                                                      "service": node.service, "caller": call.caller})
            return _end(decision, (*action.prompts, "service-refused"), f"caller {call.caller or '?'} is not allowed")
        try:
            if node.service == "voicemail":
                return await self._voicemail(decision, call, tenant, user, node)
            return await self._prompts(decision, call, tenant, user, node, uniqueid)
        except NotFound as exc:
            return _end(decision, ("service-failed",), str(exc))

    # --- voicemail ----------------------------------------------------------------------------------

    async def _voicemail(self, d: Decision, call: Call, tenant: TenantTable, user: UserConfig,
                         node: ServiceNode) -> Decision:
        if self.voicemail is None:
            return _end(d, ("service-failed",), "no voicemail store")
        boxes = listener_boxes(tenant, user, node.box)
        if not boxes:
            return _end(d, (*d.action.prompts, "vm-no-box"), f"{user.name} listens to no voicemail box")
        messages = await self._messages(tenant, boxes)
        state = _parse_vm(call.target or "")
        if state is None:  # a new session: the counts, then the first message
            session = int(self.clock().timestamp() * 1000)
            new = sum(1 for m in messages if m.folder == "new")
            intro = (*d.action.prompts, "vm-new-count", f"number:{new}", "vm-saved-count",
                     f"number:{len(messages) - new}")
            if not messages:
                return _end(d, (*intro, "goodbye"), f"{user.name} has no messages")
            return await self._play(d, tenant, user, session, messages[0], intro, header=True)
        session, place = state
        current = next((m for m in messages if m.id == place[2]), None)
        key = call.result
        if current is not None and key in ("1", "2", "5", "7"):
            if key == "1":
                return await self._play(d, tenant, user, session, current, (), header=False)
            if key == "2":
                await self.voicemail.asave(tenant.key, current.id)
                said = "vm-saved"
            elif key == "5":
                await self.voicemail.amark_heard(tenant.key, current.id, False, user.key)
                said = "vm-kept-new"
            else:
                await self.voicemail.adelete(tenant.key, current.id, user.key, "deleted by phone")
                said = "vm-deleted"
            await self._changed(tenant.key, current.box)
            return await self._next(d, tenant, user, boxes, session, place, (said,))
        if key == "3" or (current is None and key in ("1", "2", "5", "7")):
            return await self._next(d, tenant, user, boxes, session, place, ())
        if key == "*":
            return _end(d, ("goodbye",), "the listener ended")
        attempt = d.attempt + 1
        if attempt >= MENU_ATTEMPTS:
            return _end(d, ("goodbye",), "no choice at the message options")
        again = ("menu-timeout",) if not key else ("menu-invalid",)
        return _replace(d, PlayMenu(again, "vm-options", VM_KEYS, OPTIONS_TIMEOUT_S, attempt), call.target, attempt,
                        f"{'no key' if not key else f'invalid key {key}'}: the options again")

    async def _messages(self, tenant: TenantTable, boxes: tuple[str, ...]) -> list[Message]:
        assert self.voicemail is not None
        return sorted([m for box in boxes for m in await self.voicemail.amessages(tenant.key, box)], key=_order)

    async def _next(self, d: Decision, tenant: TenantTable, user: UserConfig, boxes: tuple[str, ...], session: int,
                    place: tuple[int, int, str], said: tuple[str, ...]) -> Decision:
        """The message after `place`, as the boxes are now; saved messages heard in this session are done."""
        later = [m for m in await self._messages(tenant, boxes) if _order(m) > place and not (
            m.folder == "saved" and m.heard_at is not None and m.heard_at.timestamp() * 1000 >= session)]
        if not later:
            return _end(d, (*said, "vm-no-more", "goodbye"), "no more messages")
        first_saved = later[0].folder == "saved" and place[0] == 0
        return await self._play(d, tenant, user, session, later[0],
                                (*said, *(("vm-saved-messages",) if first_saved else ())), header=True)

    async def _play(self, d: Decision, tenant: TenantTable, user: UserConfig, session: int, message: Message,
                    before: tuple[str, ...], *, header: bool) -> Decision:
        """The message (who and when first, unless replayed), then its options. It counts as heard from now."""
        assert self.voicemail is not None
        path = (await self.voicemail.aaudio_path(tenant.key, message.id)).resolve()
        prompts = list(before)
        if header:
            prompts.extend(_header(message, tenant, self.clock()))
        prompts.append(f"file:{path}")
        if not message.heard:
            message = await self.voicemail.amark_heard(tenant.key, message.id, True, user.key)
            await self._changed(tenant.key, message.box)
        action = PlayMenu(tuple(prompts), "vm-options", VM_KEYS, OPTIONS_TIMEOUT_S, 0)
        return _replace(d, action, _vm_state(session, message), 0, f"play message {message.id} of box {message.box}")

    async def _changed(self, tenant: str, box: str) -> None:
        if self.box_changed is not None:
            try:
                await self.box_changed(tenant, box)
            except Exception as exc:  # the lamp is late; the listener goes on
                log.warning("box change not passed on", extra={"event": "service_box_changed_failed",
                                                                "tenant": tenant, "box": box, "error": repr(exc)})

    # --- prompts ------------------------------------------------------------------------------------

    async def _prompts(self, d: Decision, call: Call, tenant: TenantTable, user: UserConfig, node: ServiceNode,
                       uniqueid: str) -> Decision:
        if self.prompts is None:
            return _end(d, ("service-failed",), "no prompt store")
        target, result = call.target or "", call.result
        spool = Path(prompt_spool_file(tenant.key, uniqueid, self.settings) + ".wav")
        stage, _, code = target.removeprefix("pr:").partition(":")
        if not target:
            return _replace(d, CollectNumber(d.action.prompts, "prompt-enter-code", "", None), "pr:code", 0,
                            "ask which prompt to record")
        if stage == "code":
            if result in node.prompts:
                return _replace(d, RecordPrompt(("prompt-record",), PROMPT_MAX_S), f"pr:rec:{result}", 0,
                                f"record prompt {node.prompts[result]}")
            attempt = d.attempt + 1
            if not result or attempt >= MENU_ATTEMPTS:
                spool.unlink(missing_ok=True)
                return _end(d, ("goodbye",), "no prompt chosen")
            return _replace(d, CollectNumber(("menu-invalid",), "prompt-enter-code", "", None), "pr:code", attempt,
                            f"no prompt has code {result}")
        if code not in node.prompts:
            return _end(d, ("service-failed",), f"prompt code {code!r} is no longer configured")
        if stage == "rec":
            if result != "RECORDED" or not spool.is_file():
                return _replace(d, CollectNumber(("prompt-not-recorded",), "prompt-enter-code", "", None), "pr:code",
                                0, "nothing was recorded")
            return self._review(d, spool, code, ())
        if stage != "review":
            return _end(d, ("service-failed",), f"unknown place {target!r}")
        if result == "1":
            key = node.prompts[code]
            try:
                await self.prompts.astore_recording(tenant.key, key, spool, by=user.key)
            except AudioRejected as exc:
                log.info("prompt recorded by phone rejected", extra={
                    "event": "prompt_phone_rejected", "tenant": tenant.key, "prompt": key, "reason": exc.reason})
                return _replace(d, RecordPrompt(("prompt-rejected", "prompt-record"), PROMPT_MAX_S), f"pr:rec:{code}",
                                0, f"the recording is not usable ({exc.reason}): record again")
            except FileNotFoundError:
                return _replace(d, CollectNumber(("prompt-not-recorded",), "prompt-enter-code", "", None), "pr:code",
                                0, "the recording is gone")
            return _replace(d, CollectNumber(("prompt-stored",), "prompt-enter-code", "", None), "pr:code", 0,
                            f"prompt {key} stored")
        if result == "2":
            return _replace(d, RecordPrompt(("prompt-record",), PROMPT_MAX_S), f"pr:rec:{code}", 0, "record again")
        if result == "3":
            return self._review(d, spool, code, ())
        if result == "*":
            spool.unlink(missing_ok=True)
            return _replace(d, CollectNumber(("prompt-cancelled",), "prompt-enter-code", "", None), "pr:code", 0,
                            "recording discarded")
        attempt = d.attempt + 1
        if attempt >= MENU_ATTEMPTS:
            spool.unlink(missing_ok=True)
            return _end(d, ("goodbye",), "no choice: recording discarded")
        again = ("menu-timeout",) if not result else ("menu-invalid",)
        return _replace(d, PlayMenu(again, "prompt-review", REVIEW_KEYS, OPTIONS_TIMEOUT_S, attempt),
                        f"pr:review:{code}", attempt, "the review options again")

    def sweep_spool(self, older_than_s: float = 3600.0, now_s: float | None = None) -> int:
        """Remove prompt recordings left in the spool by callers who hung up before keeping or cancelling
        them (an hour is far longer than any review). Returns how many were removed. Ages are by the
        files' modification times, so `now_s` is wall-clock epoch seconds (default: now)."""
        now = time.time() if now_s is None else now_s
        root = Path(self.settings.spool) / "prompts"
        removed = 0
        for path in root.glob("*/*.wav") if root.is_dir() else ():
            try:
                if now - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            log.info("abandoned prompt recordings removed", extra={"event": "prompt_spool_swept", "files": removed})
        return removed

    def _review(self, d: Decision, spool: Path, code: str, before: tuple[str, ...]) -> Decision:
        action = PlayMenu((*before, f"file:{spool}"), "prompt-review", REVIEW_KEYS, OPTIONS_TIMEOUT_S, 0)
        return _replace(d, action, f"pr:review:{code}", 0, "play the recording back")


def _header(message: Message, tenant: TenantTable, now: datetime) -> list[str]:
    """"From 0701…, received today at 14:05" (yesterday, or N days ago)."""
    prompts: list[str] = []
    if message.caller:
        home = f"+{tenant.home_cc}"
        national = "0" + message.caller[len(home):] if message.caller.startswith(home) else message.caller
        if national.lstrip("+").isdigit():  # "anonymous" or a name is not read out (nor can it be)
            prompts.extend(("vm-from", f"digits:{national.lstrip('+')}"))
    received = message.received_at.astimezone(tenant.tz)
    days = (now.astimezone(tenant.tz).date() - received.date()).days
    if days <= 0:
        prompts.append("vm-received-today")
    elif days == 1:
        prompts.append("vm-received-yesterday")
    else:
        prompts.extend(("vm-received", f"number:{days}", "vm-days-ago"))
    prompts.append(f"time:{received:%H:%M}")
    return prompts


def _replace(d: Decision, action: PlayMenu | CollectNumber | RecordPrompt | Hangup, target: str | None, attempt: int,
             why: str) -> Decision:
    return d._replace(action=action, target=target, attempt=attempt, trace=(*d.trace, ("{}", why)))


def _end(d: Decision, prompts: tuple[str, ...], why: str) -> Decision:
    return _replace(d, Hangup(prompts), None, 0, f"{why}: hang up")
